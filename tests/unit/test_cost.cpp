// SPDX-License-Identifier: GPL-2.0-only OR MIT
// The one cost model (DESIGN §3), worked by hand.
#include <doctest/doctest.h>

#include <lazyidle/cost.hpp>

using namespace lazyidle;

TEST_CASE("block cost: B = B_cpu + w*L (+ F when trapping to the host)") {
  cost_model model;
  model.block_cpu_ns = 5000;
  model.wake_latency_ns = 10000;
  model.latency_weight_q10 = q10_one / 2;
  model.fpu_save_ns = 700;
  CHECK(model.block_cost() == 10000);
  CHECK(model.block_cost(true) == 10700);
  model.latency_weight_q10 = 0;  // CPU-only currency
  CHECK(model.block_cost() == 5000);
}

TEST_CASE("decision cost and OPT for an idle of length y") {
  const duration_ns b = 20000;
  CHECK(decision_cost(5000, 10000, b) == 5000);    // woke while polling: y
  CHECK(decision_cost(10000, 10000, b) == 10000);  // boundary counts as caught
  CHECK(decision_cost(10001, 10000, b) == 30000);  // p + B
  CHECK(decision_cost(1000000, 0, b) == 20000);    // blocked at once
  CHECK(optimal_cost(5000, b) == 5000);
  CHECK(optimal_cost(50000, b) == 20000);
  CHECK(decision_cost(u64_max, u64_max - 1, b) == u64_max);  // saturates
}

TEST_CASE("ledger sums and reports the empirical competitive ratio") {
  cost_ledger ledger;
  CHECK(ledger.ratio_permille() == 1000);
  ledger.add(5000, 20000, 20000);    // cost 5000, OPT 5000
  ledger.add(100000, 20000, 20000);  // cost 40000, OPT 20000
  CHECK(ledger.decision_cost_ns == 45000);
  CHECK(ledger.optimal_cost_ns == 25000);
  CHECK(ledger.ratio_permille() == 1800);
  CHECK(ledger.polled_wakeups == 1);
  CHECK(ledger.poll_ns == 25000);
  cost_ledger other;
  other.add(1000, 0, 20000);  // blocked at once on a 1 µs idle: cost 20000, OPT 1000
  ledger.merge(other);
  CHECK(ledger.idles == 3);
  CHECK(ledger.ratio_permille() == 65000 * 1000 / 26000);
}

TEST_CASE("a blocked idle is told without the wake latency its clock includes") {
  // 30 us polled, halted, woken 20 us later, 10 us wake latency: the clock reads 60 us.
  CHECK(idle_before_wakeup(60000, 30000, 10000) == 50000);
  // Caught by polling: no latency, told as measured.
  CHECK(idle_before_wakeup(12000, 12000, 0) == 12000);
  // An over-estimated latency stops at the time polled, never below it (nor below 0).
  CHECK(idle_before_wakeup(35000, 30000, 10000) == 30000);
  CHECK(idle_before_wakeup(4000, 0, 10000) == 0);
  static_assert(idle_before_wakeup(60000, 30000, 10000) == 50000);
}
