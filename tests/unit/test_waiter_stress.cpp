// SPDX-License-Identifier: GPL-2.0-only OR MIT
// 10^6 hand-offs between two threads through lazyidle::waiter with random
// poll budgets; a lost wakeup aborts via the watchdog. Scale with
// LAZYIDLE_STRESS_HANDOFFS (the long ctest configuration runs 10^8).
#include <doctest/doctest.h>

#include "waiter_stress.hpp"

TEST_CASE("no lost wakeup in 10^6 hand-offs, random poll budgets") {
  stress::config cfg;
  cfg.ignore_system_load = true;  // pause-spin path; the yield path has its own tests
  cfg.handoffs_per_pair = stress::env_or("LAZYIDLE_STRESS_HANDOFFS", 1'000'000) / 2;
  const auto r = stress::run(cfg);
  CHECK(r.premature == 0);
  CHECK(r.waits == r.waits_seen);
  // The jittered budgets must actually exercise the park path, or this test
  // proves nothing about the protocol.
  CHECK(r.parks > 0);
  CHECK(r.wakes > 0);
  CHECK(r.polled > 0);
}

TEST_CASE("no lost wakeup when every wait parks (budget 0)") {
  stress::config cfg;
  cfg.handoffs_per_pair = stress::env_or("LAZYIDLE_STRESS_PARK_HANDOFFS", 50'000) / 2;
  cfg.jitter_ns = 0;
  const auto r = stress::run(cfg);
  CHECK(r.premature == 0);
  CHECK(r.waits == r.waits_seen);
  CHECK(r.parks > 0);
}
