// SPDX-License-Identifier: GPL-2.0-only OR MIT
// Twice as many pairs as CPUs, every thread spinning or handing off: threads
// are preempted mid-protocol, between setting PARKED and sleeping, between
// the notifier's check and its wake. The machine is oversubscribed by
// construction, so the guards (runnable threads > CPUs, the poller limit,
// the thread's own run delay) must fire, and no wakeup may be lost.
#include <doctest/doctest.h>

#include <thread>

#include "waiter_stress.hpp"

TEST_CASE("oversubscribed: 2 pairs per CPU, the guards fire, no lost wakeup") {
  stress::config cfg;
  const unsigned cpus = std::max(1u, std::thread::hardware_concurrency());
  cfg.pairs = 2 * cpus;
  cfg.handoffs_per_pair = stress::env_or("LAZYIDLE_STRESS_OVERSUBSCRIBED_HANDOFFS", 200'000) / 2 / cfg.pairs;
  const auto r = stress::run(cfg);
  CHECK(r.premature == 0);
  CHECK(r.waits == r.waits_seen);
  CHECK(r.parks > 0);
  // 4 x CPUs threads that spin: more runnable threads than CPUs for most of
  // the run, and never more pollers than usable CPUs at once.
  CHECK(r.guarded > 0);
}
