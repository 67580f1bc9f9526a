// SPDX-License-Identifier: GPL-2.0-only OR MIT
//
// Governor: one CPU's (or one waiter's) decision loop.
//
//   select(B, bound)  predictor.predict(bound) -> prediction
//                     policy.budget({prediction, B, bound}) -> poll budget
//   ...the caller polls up to the budget, then blocks; then measures y...
//   reflect(y)        predictor.observe(y), policy.reflect(outcome)
//
// B is passed in on every call, not stored in the policy, because each layer
// learns it online (a guest from halt wake lateness, a waiter from timing its
// own futex round trips) and it moves. The governor remembers just enough of
// its last decision to teach both halves, packed in 16 bytes so the default
// per-CPU state stays within a cache line.
#ifndef LAZYIDLE_GOVERNOR_HPP
#define LAZYIDLE_GOVERNOR_HPP

#include "arith.hpp"
#include "concepts.hpp"

namespace lazyidle {

struct governor_decision {
  duration_ns poll_budget_ns = 0;
  prediction predicted{};
};

template <class Predictor, class Policy>
class governor {
  static_assert(check_predictor<Predictor>());
  static_assert(check_poll_policy<Policy>());

 public:
  using predictor_type = Predictor;
  using policy_type = Policy;

  constexpr governor() = default;
  constexpr governor(const Predictor& predictor, const Policy& policy) : predictor_(predictor), policy_(policy) {}

  constexpr governor_decision select(duration_ns block_cost_ns, duration_ns bound_ns = no_bound) {
    const prediction predicted = predictor_.predict(bound_ns);
    const duration_ns budget = policy_.budget({predicted, block_cost_ns, bound_ns});
    last_budget_ns_ = sat_u32(budget);
    last_block_cost_ns_ = sat_u32(block_cost_ns);
    last_bound_ns_ = sat_u32(bound_ns);
    last_expected_ns_ = sat_u32(predicted.expected_ns);
    return {budget, predicted};
  }

  // idle_ns: the whole idle period that followed the last select(), polling
  // included, as the caller measured it.
  constexpr void reflect(duration_ns idle_ns) {
    const duration_ns bound = last_bound_ns_ == u32_max ? no_bound : last_bound_ns_;
    predictor_.observe({idle_ns, bound});
    idle_outcome outcome;
    outcome.idle_ns = idle_ns;
    outcome.budget_ns = last_budget_ns_ == u32_max ? no_bound : last_budget_ns_;
    outcome.block_cost_ns = last_block_cost_ns_;
    outcome.predicted.expected_ns = last_expected_ns_ == u32_max ? no_bound : last_expected_ns_;
    policy_.reflect(outcome);
  }

  constexpr void reset() {
    predictor_.reset();
    policy_.reset();
    last_budget_ns_ = last_block_cost_ns_ = last_expected_ns_ = 0;
    last_bound_ns_ = u32_max;
  }

  constexpr const Predictor& predictor() const { return predictor_; }
  constexpr const Policy& policy() const { return policy_; }
  constexpr Predictor& predictor() { return predictor_; }
  constexpr Policy& policy() { return policy_; }

 private:
  [[no_unique_address]] Predictor predictor_{};
  [[no_unique_address]] Policy policy_{};
  // Saturated at u32_max (4.29 s): a budget or bound that long is "forever"
  // for a poll decision, and halving the record keeps the state small.
  u32 last_budget_ns_ = 0;
  u32 last_block_cost_ns_ = 0;
  u32 last_bound_ns_ = u32_max;
  u32 last_expected_ns_ = 0;
};

}  // namespace lazyidle

#endif
