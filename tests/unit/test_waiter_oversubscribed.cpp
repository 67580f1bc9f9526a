// SPDX-License-Identifier: GPL-2.0-only OR MIT
// Four pairs (eight threads) on however many CPUs the machine has (two
// here): threads are preempted mid-protocol, between setting PARKED and
// sleeping, between the notifier's check and its wake.
#include <doctest/doctest.h>

#include <thread>

#include "waiter_stress.hpp"

TEST_CASE("oversubscribed: 4 pairs, no lost wakeup") {
  stress::config cfg;
  cfg.pairs = 4;
  cfg.handoffs_per_pair = stress::env_or("LAZYIDLE_STRESS_OVERSUBSCRIBED_HANDOFFS", 200'000) / 2 / cfg.pairs;
  const auto r = stress::run(cfg);
  CHECK(r.handoffs == 2 * cfg.handoffs_per_pair * cfg.pairs);
  CHECK(r.parks > 0);
}
