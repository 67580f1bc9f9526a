// SPDX-License-Identifier: GPL-2.0-only OR MIT
// Deterministic break-even: never more than 2 * OPT, and 2 is reached.
#include <doctest/doctest.h>

#include <initializer_list>

#include <lazyidle/arith.hpp>
#include <lazyidle/cost.hpp>
#include <lazyidle/policy/break_even.hpp>

using namespace lazyidle;

namespace {

duration_ns run_one(break_even& policy, duration_ns y, duration_ns block_cost) {
  poll_request request;
  request.block_cost_ns = block_cost;
  const duration_ns budget = policy.budget(request);
  idle_outcome outcome;
  outcome.idle_ns = y;
  outcome.budget_ns = budget;
  outcome.block_cost_ns = block_cost;
  policy.reflect(outcome);
  return decision_cost(y, budget, block_cost);
}

}  // namespace

TEST_CASE("break-even polls exactly B and reports 2.0") {
  break_even policy;
  poll_request request;
  request.block_cost_ns = 12345;
  CHECK(policy.budget(request) == 12345);
  CHECK(policy.worst_case_ratio_q10() == 2 * q10_one);
  CHECK(policy.budget_cap_ns(12345) == 12345);
}

TEST_CASE("break-even never exceeds 2 * OPT, on random and adversarial idles") {
  splitmix64 rng{42};
  for (duration_ns block_cost : {10000ull, 20000ull, 50000ull, 100000ull}) {
    break_even policy;
    cost_ledger ledger;
    u64 worst_q10 = 0;
    for (int i = 0; i < 20000; ++i) {
      duration_ns y = 0;
      switch (i % 4) {
        case 0: y = rng.next() % (3 * block_cost); break;        // uniform around B
        case 1: y = block_cost + 1; break;                       // the adversary's idle
        case 2: y = rng.next() % 64; break;                      // very short
        default: y = rng.next() % (1000 * block_cost); break;   // very long
      }
      const u64 cost = run_one(policy, y, block_cost);
      const u64 opt = optimal_cost(y, block_cost);
      CHECK(cost <= 2 * opt);
      if (opt != 0) worst_q10 = max_of(worst_q10, cost * q10_one / opt);
      ledger.add(y, block_cost, block_cost);
    }
    CHECK(ledger.ratio_permille() <= 2000);
    CHECK(worst_q10 == 2 * q10_one);  // y = B + 1 costs exactly 2B = 2 * OPT
  }
}
