// SPDX-License-Identifier: GPL-2.0-only OR MIT
// Every poll policy in include/lazyidle/policy/ against the same contract:
//   - it satisfies the poll_policy concept;
//   - no budget exceeds the cap it documents (budget_cap_ns(B));
//   - hostile outcomes (0, 2^63, u64_max, a clock that stepped back, B = 0 or
//     huge, budgets it never gave) are absorbed without UB (run this under
//     UBSan: the sanitizer build does);
//   - on random and adversarial idle sequences, for B in {10, 20, 50, 100} us,
//     its cost stays within worst_case_ratio_q10() * OPT: per idle for a
//     deterministic per-idle bound, over the sequence plus one idle's slack
//     for an amortized one, and for a bound on the expectation within a
//     Hoeffding margin (the draws are independent of the idles);
//   - a policy that reports "unbounded" (u32_max) really is beaten by more
//     than 3x somewhere, so the label is not hiding a bound.
//
// To add a policy: include it, add it to LAZYIDLE_ALL_POLL_POLICIES, and if
// it is not default-constructible, teach policy_factory how to make one.
#include <doctest/doctest.h>

#include <initializer_list>
#include <string>

#include <cmath>
#include <concepts>
#include <vector>

#include <lazyidle/concepts.hpp>
#include <lazyidle/cost.hpp>
#include <lazyidle/policy/break_even.hpp>
#include <lazyidle/policy/distribution_threshold.hpp>
#include <lazyidle/policy/fixed.hpp>
#include <lazyidle/policy/haltpoll.hpp>
#include <lazyidle/policy/kvm.hpp>
#include <lazyidle/policy/prediction_augmented.hpp>
#include <lazyidle/policy/randomized.hpp>

using namespace lazyidle;

// Exact products for the checks; the core itself never divides 128-bit values.
__extension__ typedef unsigned __int128 u128;

// Extend this list with every new policy header.
#define LAZYIDLE_ALL_POLL_POLICIES                                                                \
  fixed_poll, kvm_grow_shrink, haltpoll_grow_shrink, break_even, randomized_break_even, \
      prediction_augmented, distribution_threshold

namespace {

template <class Policy>
struct policy_factory {
  static Policy make() { return Policy{}; }
};
template <>
struct policy_factory<fixed_poll> {
  static fixed_poll make() { return fixed_poll{20000}; }
};

// How a policy's worst_case_ratio_q10() is meant (see the file comment).
template <class Policy>
constexpr bool bound_in_expectation() {
  if constexpr (requires { Policy::bound_in_expectation; }) return Policy::bound_in_expectation;
  return false;
}
template <class Policy>
constexpr bool bound_is_amortized() {
  if constexpr (requires { Policy::bound_is_amortized; }) return Policy::bound_is_amortized;
  // Its header documents an aggregate bound (sum over every prefix), but does
  // not (yet) say so with a bound_is_amortized member.
  if constexpr (std::same_as<Policy, distribution_threshold>) return true;
  return false;
}

constexpr duration_ns block_costs[] = {10000, 20000, 50000, 100000};

struct run_totals {
  u128 cost = 0;
  u128 opt = 0;
  u64 idles = 0;
  u64 worst_idle_q10 = 0;          // max over idles of cost / OPT
  bool per_idle_bound_held = true;  // cost * 1024 <= ratio * OPT on every idle
  bool cap_held = true;
};

// Runs one idle through the policy and accounts it. The prediction handed to
// the policy is whatever the sequence says (right, wrong or lying).
template <class Policy>
void run_idle(Policy& policy, duration_ns y, duration_ns predicted, duration_ns block_cost, run_totals& totals) {
  poll_request request;
  request.block_cost_ns = block_cost;
  request.predicted.expected_ns = predicted;
  const duration_ns budget = policy.budget(request);
  if (budget > policy.budget_cap_ns(block_cost)) totals.cap_held = false;
  idle_outcome outcome;
  outcome.idle_ns = y;
  outcome.budget_ns = budget;
  outcome.block_cost_ns = block_cost;
  outcome.predicted.expected_ns = predicted;
  policy.reflect(outcome);
  const u64 cost = decision_cost(y, budget, block_cost);
  const u64 opt = optimal_cost(y, block_cost);
  totals.cost += cost;
  totals.opt += opt;
  totals.idles += 1;
  const u32 ratio = policy.worst_case_ratio_q10();
  if (static_cast<u128>(cost) * q10_one > static_cast<u128>(ratio) * opt)
    totals.per_idle_bound_held = false;
  if (opt != 0) totals.worst_idle_q10 = max_of(totals.worst_idle_q10, mul_div(cost, q10_one, opt));
}

// Oblivious sequences: fixed before any budget is drawn. Each family is
// 20000 idles; predictions come from the previous idle (last value) or lie.
enum class family { uniform, log_uniform, bimodal, just_above_b, just_above_smallest, phases, lying };
constexpr family all_families[] = {family::uniform,      family::log_uniform,         family::bimodal,
                                   family::just_above_b, family::just_above_smallest, family::phases,
                                   family::lying};

struct idle_and_prediction {
  duration_ns y;
  duration_ns predicted;
};

std::vector<idle_and_prediction> make_sequence(family kind, duration_ns block_cost, u64 seed) {
  splitmix64 rng{seed};
  std::vector<idle_and_prediction> sequence;
  duration_ns previous = 0;
  for (int i = 0; i < 20000; ++i) {
    duration_ns y = 0;
    switch (kind) {
      case family::uniform: y = rng.next() % (3 * block_cost); break;
      case family::log_uniform: y = (rng.next() % 1024) << (rng.next() % 12); break;  // 0 .. ~2 ms
      case family::bimodal: y = rng.next() % 4 ? block_cost / 5 : 5 * block_cost; break;
      case family::just_above_b: y = block_cost + 1; break;
      // Just above randomized break-even's smallest threshold (~B/150),
      // where its expected cost peaks relative to OPT.
      case family::just_above_smallest: y = randomized_break_even::threshold(0, block_cost) + 1; break;
      case family::phases: y = (i / 500) % 2 ? 4 * block_cost + rng.next() % block_cost : rng.next() % (block_cost / 4); break;
      case family::lying: y = rng.next() % (3 * block_cost); break;
    }
    const duration_ns predicted = kind == family::lying ? (y >= block_cost ? 0 : no_bound) : previous;
    sequence.push_back({y, predicted});
    previous = y;
  }
  return sequence;
}

// Hostile inputs: durations a broken clock or a confused caller can produce.
constexpr duration_ns hostile[] = {0,         1,         999,        10000,        200000,
                                   1ull << 32, 1ull << 63, u64_max - 999, u64_max - 1, u64_max};

}  // namespace

TEST_CASE_TEMPLATE("poll policy: satisfies the concept and names itself", Policy, LAZYIDLE_ALL_POLL_POLICIES) {
  static_assert(check_poll_policy<Policy>());
#if defined(__cpp_concepts)
  static_assert(poll_policy<Policy>);
#endif
  static_assert(requires(const Policy& p) {
    { p.budget_cap_ns(duration_ns{}) } -> std::same_as<duration_ns>;
  }, "conformance: a poll policy documents its cap as duration_ns budget_cap_ns(duration_ns block_cost) const");
  const char* name = Policy::name;
  REQUIRE(name != nullptr);
  CHECK(name[0] != '\0');
  const Policy policy = policy_factory<Policy>::make();
  CHECK(policy.worst_case_ratio_q10() >= q10_one);  // nobody beats OPT
  MESSAGE(std::string(name) << ": sizeof " << sizeof(Policy) << ", worst_case_ratio_q10 " << policy.worst_case_ratio_q10());
}

TEST_CASE_TEMPLATE("poll policy: hostile outcomes and backwards clocks are absorbed, budgets stay capped", Policy,
                   LAZYIDLE_ALL_POLL_POLICIES) {
  Policy policy = policy_factory<Policy>::make();
  u64 steps = 0;
  for (duration_ns block_cost : {0ull, 1ull, 10000ull, 1ull << 63, u64_max}) {
    for (duration_ns predicted : {0ull, block_cost, no_bound}) {
      for (duration_ns y : hostile) {
        for (duration_ns claimed_budget : {0ull, 10000ull, u64_max}) {
          poll_request request;
          request.block_cost_ns = block_cost;
          request.predicted.expected_ns = predicted;
          const duration_ns budget = policy.budget(request);
          CHECK(budget <= policy.budget_cap_ns(block_cost));
          idle_outcome outcome;  // a budget the policy never gave, on purpose
          outcome.idle_ns = y;
          outcome.budget_ns = claimed_budget;
          outcome.block_cost_ns = block_cost;
          outcome.predicted.expected_ns = predicted;
          policy.reflect(outcome);
          ++steps;
        }
      }
    }
  }
  CHECK(steps == 5 * 3 * 10 * 3);
  // A clock stepping back: decreasing idles, each followed by the wrapped
  // end - start a backwards step of 1 us produces.
  run_totals totals;
  for (duration_ns y = 300000; y >= 7001; y -= 7001) {
    run_idle(policy, y, 300000 - y, 20000, totals);
    run_idle(policy, u64_max - 999, y, 20000, totals);  // 0 - 1000, wrapped
  }
  CHECK(totals.cap_held);
}

TEST_CASE_TEMPLATE("poll policy: cost within worst_case_ratio * OPT over B = 10..100 us", Policy,
                   LAZYIDLE_ALL_POLL_POLICIES) {
  for (duration_ns block_cost : block_costs) {
    for (family kind : all_families) {
      CAPTURE(block_cost);
      CAPTURE(static_cast<int>(kind));
      Policy policy = policy_factory<Policy>::make();
      run_totals totals;
      for (const auto& step : make_sequence(kind, block_cost, 1000 + static_cast<u64>(kind)))
        run_idle(policy, step.y, step.predicted, block_cost, totals);
      CHECK(totals.cap_held);
      const u32 ratio = policy.worst_case_ratio_q10();
      if (ratio == u32_max) continue;
      const u128 bound_total = totals.opt * ratio;  // in Q10
      if (bound_in_expectation<Policy>()) {
        // Hoeffding: each idle's cost lies in an interval of width <= 2B, so
        // P(sum - E[sum] >= 2B sqrt(n ln(1/delta) / 2)) <= delta; delta = 1e-12.
        const double slack = 2.0 * static_cast<double>(block_cost) *
                             std::sqrt(static_cast<double>(totals.idles) * std::log(1e12) / 2.0);
        CHECK(static_cast<double>(totals.cost) * q10_one <= static_cast<double>(bound_total) + slack * q10_one);
      } else if (bound_is_amortized<Policy>()) {
        const u128 one_idle = sat_add(policy.budget_cap_ns(block_cost), block_cost);
        CHECK(totals.cost * q10_one <= bound_total + one_idle * q10_one);
      } else {
        CHECK(totals.per_idle_bound_held);
      }
    }
  }
}

TEST_CASE_TEMPLATE("poll policy: deterministic bounds hold against an adaptive adversary; unbounded is honest", Policy,
                   LAZYIDLE_ALL_POLL_POLICIES) {
  u64 worst_q10 = 0;
  for (duration_ns block_cost : block_costs) {
    Policy policy = policy_factory<Policy>::make();
    run_totals totals;
    splitmix64 rng{block_cost};
    for (int i = 0; i < 5000; ++i) {
      // The adversary sees the budget and ends the idle 1 ns after it. A
      // bound on the expectation does not cover this adversary (it sees the
      // draw), so only the deterministic and unbounded policies face it.
      Policy probe = policy;
      const duration_ns predicted = rng.next() % 2 ? 0 : no_bound;
      poll_request request;
      request.block_cost_ns = block_cost;
      request.predicted.expected_ns = predicted;
      const duration_ns y = sat_add(probe.budget(request), 1);
      run_idle(policy, y, predicted, block_cost, totals);
    }
    CHECK(totals.cap_held);
    worst_q10 = max_of(worst_q10, totals.worst_idle_q10);
    const u32 ratio = policy.worst_case_ratio_q10();
    if (ratio != u32_max && !bound_in_expectation<Policy>()) {
      if (bound_is_amortized<Policy>()) {
        const u128 one_idle = sat_add(policy.budget_cap_ns(block_cost), block_cost);
        CHECK(totals.cost * q10_one <= totals.opt * ratio + one_idle * q10_one);
      } else {
        CHECK(totals.per_idle_bound_held);
      }
    }
  }
  if (Policy{policy_factory<Policy>::make()}.worst_case_ratio_q10() == u32_max) CHECK(worst_q10 > 3 * q10_one);
  MESSAGE(std::string(Policy::name) << ": worst idle against the adaptive adversary " << worst_q10 << "/1024 * OPT");
}
