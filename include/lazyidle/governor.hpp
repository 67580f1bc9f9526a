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
// per-CPU state stays within a cache line: the budget and B for the policy,
// the bound for the predictor, the prediction for the policy's outcome.
// With Predictor = void the policy keeps the history itself and learns from
// y, B and its own budget, so the record keeps only those 8 bytes and the
// other 8 are the policy's (distribution_threshold spends 6 of them); its
// outcome then carries no prediction (predicted.expected_ns = no_bound).
#ifndef LAZYIDLE_GOVERNOR_HPP
#define LAZYIDLE_GOVERNOR_HPP

#include "arith.hpp"
#include "concepts.hpp"
#include "predictor/histogram.hpp"

namespace lazyidle {

struct governor_decision {
  duration_ns poll_budget_ns = 0;
  prediction predicted{};
};

namespace detail {
// Predictor = void: the policy already keeps the history (distribution
// threshold owns a histogram), so the governor predicts from the policy's
// copy instead of keeping a second one of the same idles.
template <class Predictor, class Policy>
struct predictor_slot {
  static_assert(check_predictor<Predictor>());
  [[no_unique_address]] Predictor own{};
  constexpr const Predictor& get(const Policy&) const { return own; }
  constexpr void observe(const idle_sample& sample) { own.observe(sample); }
  constexpr void reset() { own.reset(); }
};
template <class Policy>
struct predictor_slot<void, Policy> {
  static_assert(check_predictor<remove_cvref_t<decltype(declval<const Policy&>().histogram())>>(),
                "governor<void, Policy>: Policy needs a histogram() accessor returning a predictor");
  constexpr const auto& get(const Policy& policy) const { return policy.histogram(); }
  constexpr void observe(const idle_sample&) {}  // the policy's reflect() feeds it
  constexpr void reset() {}
};

// The last decision, saturated at u32_max (4.29 s): a budget or bound that
// long is "forever" for a poll decision, and halving the record keeps the
// state small. Full: for a governor with its own predictor.
template <bool Full>
struct decision_record {
  u32 budget_ns = 0;
  u32 block_cost_ns = 0;
  u32 bound_ns = u32_max;
  u32 expected_ns = 0;
  constexpr void save(duration_ns budget, duration_ns block_cost, duration_ns bound, duration_ns expected) {
    budget_ns = sat_u32(budget);
    block_cost_ns = sat_u32(block_cost);
    bound_ns = sat_u32(bound);
    expected_ns = sat_u32(expected);
  }
  constexpr duration_ns budget() const { return budget_ns == u32_max ? no_bound : budget_ns; }
  constexpr duration_ns bound() const { return bound_ns == u32_max ? no_bound : bound_ns; }
  constexpr duration_ns expected() const { return expected_ns == u32_max ? no_bound : expected_ns; }
};
// Predictor = void: nothing to teach but the policy, which reads only y, B
// and the budget.
template <>
struct decision_record<false> {
  u32 budget_ns = 0;
  u32 block_cost_ns = 0;
  constexpr void save(duration_ns budget, duration_ns block_cost, duration_ns, duration_ns) {
    budget_ns = sat_u32(budget);
    block_cost_ns = sat_u32(block_cost);
  }
  constexpr duration_ns budget() const { return budget_ns == u32_max ? no_bound : budget_ns; }
  static constexpr duration_ns bound() { return no_bound; }
  static constexpr duration_ns expected() { return no_bound; }
};
}  // namespace detail

// The predictor to pair with a policy when the caller has no preference:
// the policy's own history when it keeps one, otherwise a histogram.
template <class Policy>
struct default_predictor_for {
  using type = histogram_predictor;
};
template <class Policy>
  requires requires(const Policy& policy) { policy.histogram(); }
struct default_predictor_for<Policy> {
  using type = void;
};
template <class Policy>
using default_predictor_for_t = typename default_predictor_for<Policy>::type;

template <class Predictor, class Policy>
class governor {
  static_assert(check_poll_policy<Policy>());

 public:
  using predictor_type = Predictor;
  using policy_type = Policy;

  // Constrained so that asking whether a governor over a policy that needs
  // arguments (fixed_poll) is default-constructible answers "no" instead of
  // instantiating policy_'s initializer (a hard error in clang 14).
  constexpr governor()
    requires requires { Policy{}; }
  = default;
  constexpr explicit governor(const Policy& policy) : policy_(policy) {}
  template <class P = Predictor>
  constexpr governor(const P& predictor, const Policy& policy) : predictor_{predictor}, policy_(policy) {}

  constexpr governor_decision select(duration_ns block_cost_ns, duration_ns bound_ns = no_bound) {
    const prediction predicted = predictor().predict(bound_ns);
    const duration_ns budget = policy_.budget({predicted, block_cost_ns, bound_ns});
    last_.save(budget, block_cost_ns, bound_ns, predicted.expected_ns);
    return {budget, predicted};
  }

  // idle_ns: the whole idle period that followed the last select(), polling
  // included, as the caller measured it.
  constexpr void reflect(duration_ns idle_ns) {
    predictor_.observe({idle_ns, last_.bound()});  // no-op when the policy keeps the history
    idle_outcome outcome;
    outcome.idle_ns = idle_ns;
    outcome.budget_ns = last_.budget();
    outcome.block_cost_ns = last_.block_cost_ns;
    outcome.predicted.expected_ns = last_.expected();
    policy_.reflect(outcome);
  }

  constexpr void reset() {
    predictor_.reset();
    policy_.reset();
    last_ = {};
  }

  constexpr const auto& predictor() const { return predictor_.get(policy_); }
  constexpr const Policy& policy() const { return policy_; }
  constexpr Policy& policy() { return policy_; }

 private:
  [[no_unique_address]] detail::predictor_slot<Predictor, Policy> predictor_{};
  [[no_unique_address]] Policy policy_{};
  detail::decision_record<!detail::is_same<Predictor, void>> last_{};
};

}  // namespace lazyidle

#endif
