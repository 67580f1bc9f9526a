// SPDX-License-Identifier: GPL-2.0-only OR MIT
// Fixed poll: a constant budget, and the bound it has once B is known.
#include <doctest/doctest.h>

#include <initializer_list>

#include <lazyidle/cost.hpp>
#include <lazyidle/policy/fixed.hpp>

using namespace lazyidle;

TEST_CASE("fixed: the budget is the constant, whatever the request or history") {
  fixed_poll policy{25000};
  poll_request request;
  request.block_cost_ns = 10000;
  request.predicted.expected_ns = 1;
  CHECK(policy.budget(request) == 25000);
  idle_outcome outcome;
  outcome.idle_ns = 1000000;
  outcome.budget_ns = 25000;
  policy.reflect(outcome);
  request.block_cost_ns = 100000;
  request.predicted.expected_ns = no_bound;
  CHECK(policy.budget(request) == 25000);
  CHECK(policy.budget_cap_ns(1) == 25000);
  CHECK(policy.worst_case_ratio_q10() == u32_max);  // no bound without B
  static_assert(fixed_poll{7}.budget({}) == 7);
}

TEST_CASE("fixed: ratio_for_q10 is 1 + max(p, B) / min(p, B), rounded up") {
  CHECK(fixed_poll{20000}.ratio_for_q10(10000) == 3 * q10_one);  // p = 2B
  CHECK(fixed_poll{10000}.ratio_for_q10(30000) == 4 * q10_one);  // B = 3p
  CHECK(fixed_poll{10000}.ratio_for_q10(10000) == 2 * q10_one);  // break-even
  CHECK(fixed_poll{3}.ratio_for_q10(10) == 1024 + 3414);         // 1 + 10/3
  CHECK(fixed_poll{0}.ratio_for_q10(10000) == u32_max);          // always block
  CHECK(fixed_poll{0}.ratio_for_q10(0) == q10_one);              // nothing costs anything
  CHECK(fixed_poll{1}.ratio_for_q10(u64_max) == u32_max);        // does not fit
}

TEST_CASE("fixed: no idle costs more than ratio_for_q10(B) * OPT, and the worst idle reaches it") {
  for (duration_ns budget : {1000ull, 5000ull, 20000ull, 150000ull}) {
    fixed_poll policy{budget};
    for (duration_ns block_cost : {10000ull, 20000ull, 50000ull, 100000ull}) {
      const u64 bound_q10 = policy.ratio_for_q10(block_cost);
      u64 worst_q10 = 0;
      for (duration_ns y = 0; y < 4 * (budget + block_cost); y += 97) {
        const u64 cost = decision_cost(y, budget, block_cost);
        const u64 opt = optimal_cost(y, block_cost);
        CHECK(cost * q10_one <= bound_q10 * opt);
        if (opt != 0) worst_q10 = max_of(worst_q10, cost * q10_one / opt);
      }
      // y = p + 1 is the adversary's choice: it reaches the bound to within
      // the 1 ns it had to add (bound * p / (p + 1)) and the Q10 roundings.
      const u64 adversarial = decision_cost(budget + 1, budget, block_cost) * q10_one /
                              optimal_cost(budget + 1, block_cost);
      CHECK(adversarial <= bound_q10);
      CHECK(adversarial + bound_q10 / (budget + 1) + 2 >= bound_q10);
      CHECK(worst_q10 <= bound_q10);
    }
  }
}
