// SPDX-License-Identifier: GPL-2.0-only OR MIT
// Both threads of a pair pinned to one CPU: the notifier can only run when
// the waiter gives the CPU up, so this is where a broken park or a
// spin-forever bug shows. Run with the shared-CPU yield guard on (the
// default) and off (pure spin-then-park on one CPU).
#include <doctest/doctest.h>

#include "waiter_stress.hpp"

TEST_CASE("pinned to one CPU, shared-CPU guard on") {
  stress::config cfg;
  cfg.pin_cpu = 0;
  cfg.ignore_system_load = true;  // the oversubscription guard would take precedence on a busy machine
  cfg.handoffs_per_pair = stress::env_or("LAZYIDLE_STRESS_PINNED_HANDOFFS", 200'000) / 2;
  const auto r = stress::run(cfg);
  CHECK(r.premature == 0);
  CHECK(r.waits == r.waits_seen);
  CHECK(r.yield_waits > 0);
}

TEST_CASE("pinned to one CPU, shared-CPU guard off") {
  stress::config cfg;
  cfg.pin_cpu = 0;
  cfg.yield_on_shared_cpu = false;
  cfg.ignore_system_load = true;
  cfg.handoffs_per_pair = stress::env_or("LAZYIDLE_STRESS_PINNED_HANDOFFS", 200'000) / 20;
  const auto r = stress::run(cfg);
  CHECK(r.premature == 0);
  CHECK(r.waits == r.waits_seen);
  CHECK(r.parks > 0);
  CHECK(r.yield_waits == 0);
}
