// SPDX-License-Identifier: GPL-2.0-only OR MIT
//
// Prediction-augmented break-even (Purohit, Svitkina, Kumar, "Improving
// Online Algorithms via ML Predictions", NeurIPS 2018, deterministic
// ski-rental algorithm). A predictor says how long the idle will be (y^).
// With a trust parameter lambda in (0, 1]:
//
//   y^ >= B  (worth blocking)   block early, after lambda * B of polling
//   y^ <  B  (worth polling)    poll on, up to B / lambda, before blocking
//
// Whatever the prediction, one idle costs at most (1 + 1/lambda) * OPT: an
// early block pays lambda*B + B against OPT >= lambda*B, a late one pays
// B/lambda + B against OPT = B. When the prediction is on the right side of B
// it costs at most (1 + lambda) * OPT. lambda = 1 is plain break-even; small
// lambda trusts the predictor more and risks more. Wei and Zhang (NeurIPS
// 2020) show no deterministic rule has a better trade-off.
//
// lambda (Q10) adapts inside [lambda_min, lambda_max] to what the
// predictions have been worth. Once an idle is over, y is known, so the
// policy can price both ends of its range on that idle: the fully trusting
// decision (lambda_min) and the distrusting one (lambda_max = 1 is
// break-even). The prediction's value on that idle is
//
//   value = (cost_at_lambda_max - cost_at_lambda_min) / B     in Q10,
//
// clamped to [-2, 1]: positive when trusting it would have saved, negative
// when it would have cost, 0 when it did not matter (a short idle that
// either rule polls through). A running score averages it over ~16 idles,
// score += (value - score) / 16, and lambda follows the score: lambda_max
// while the score is <= 0, lambda_min once the prediction saves B/16 per
// idle on average, linear in between. Scoring on cost rather than on "was
// y on the predicted side of B" matters: on i.i.d. bimodal idles a
// last-value predictor is on the right side 5 times in 8 yet loses money,
// because its misses (poll to B/lambda, then block) cost more than its hits
// save. Measured on 20000 such idles (B/5 three times in four, else 5B;
// B = 10 us): a side-count rule 1.87 * OPT, break-even 1.62, this rule 1.62;
// on phased idles, where last-value is right, 1.45 against break-even's 1.89.
// The score starts at 0: no trust until the predictor has earned it.
// Because every idle is decided with some lambda >= lambda_min, the
// per-idle bound 1 + 1/lambda_min holds for every idle, for any predictor
// and any sequence; worst_case_ratio_q10() reports it. The default
// lambda_min = 0.5 gives 3.0 (1.5 when the predictions are right);
// lambda_max = 1.0 is break-even's 2.0. A prediction of no_bound ("no
// wakeup in sight") reads as long.
#ifndef LAZYIDLE_POLICY_PREDICTION_AUGMENTED_HPP
#define LAZYIDLE_POLICY_PREDICTION_AUGMENTED_HPP

#include "../arith.hpp"
#include "../cost.hpp"
#include "../vocabulary.hpp"

namespace lazyidle {

class prediction_augmented {
 public:
  static constexpr const char* name = "prediction_augmented";

  struct parameters {
    u32 lambda_min_q10 = q10_one / 2;  // most trust: worst case 1 + 1/0.5 = 3
    u32 lambda_max_q10 = q10_one;      // least trust: break-even
  };

  // The average saving per idle, as a fraction of B, at which trust is full.
  static constexpr i32 full_trust_value_q10 = q10_one / 16;
  static constexpr u32 score_shift = 4;  // average over ~16 idles

  constexpr prediction_augmented() = default;
  // Out-of-range trust is clamped into 1..1024 with min <= max, so the
  // bound is always finite.
  constexpr explicit prediction_augmented(const parameters& params)
      : lambda_min_q10_(static_cast<u16>(clamp_to<u32>(params.lambda_min_q10, 1, q10_one))),
        lambda_max_q10_(static_cast<u16>(clamp_to<u32>(params.lambda_max_q10, lambda_min_q10_, q10_one))) {}

  constexpr duration_ns budget(const poll_request& request) const {
    return budget_at(lambda_q10(), request.predicted.expected_ns, request.block_cost_ns);
  }

  constexpr void reflect(const idle_outcome& outcome) {
    const duration_ns block_cost = outcome.block_cost_ns;
    if (block_cost == 0) return;  // every rule costs 0: nothing to learn
    const duration_ns predicted = outcome.predicted.expected_ns;
    const u64 distrusting = decision_cost(outcome.idle_ns, budget_at(lambda_max_q10_, predicted, block_cost), block_cost);
    const u64 trusting = decision_cost(outcome.idle_ns, budget_at(lambda_min_q10_, predicted, block_cost), block_cost);
    const i32 value = distrusting >= trusting
                          ? static_cast<i32>(min_of<u64>(mul_div(distrusting - trusting, q10_one, block_cost), q10_one))
                          : -static_cast<i32>(min_of<u64>(mul_div(trusting - distrusting, q10_one, block_cost), 2 * q10_one));
    // Arithmetic shift (defined in C++20): the average moves 1/16 of the way.
    score_q10_ += (value - score_q10_) >> score_shift;
  }

  constexpr void reset() { score_q10_ = 0; }

  // 1 + 1/lambda_min in Q10, rounded up.
  constexpr u32 worst_case_ratio_q10() const {
    const u32 inverse = (q10_one * q10_one + lambda_min_q10_ - 1u) / lambda_min_q10_;
    return q10_one + inverse;
  }

  // The late block at B / lambda is the longest poll.
  constexpr duration_ns budget_cap_ns(duration_ns block_cost_ns) const {
    return mul_div(block_cost_ns, q10_one, lambda_min_q10_);
  }

  // Trust for the next decision, from the score.
  constexpr u32 lambda_q10() const {
    const i32 earned = clamp_to<i32>(score_q10_, 0, full_trust_value_q10);
    const u32 range = static_cast<u32>(lambda_max_q10_ - lambda_min_q10_);
    return lambda_max_q10_ - range * static_cast<u32>(earned) / static_cast<u32>(full_trust_value_q10);
  }
  constexpr i32 score_q10() const { return score_q10_; }
  constexpr u32 lambda_min_q10() const { return lambda_min_q10_; }
  constexpr u32 lambda_max_q10() const { return lambda_max_q10_; }

  // Purohit et al.'s rule for one lambda.
  static constexpr duration_ns budget_at(u32 lambda_q10, duration_ns predicted_ns, duration_ns block_cost_ns) {
    if (predicted_ns >= block_cost_ns) {
      // ceil(lambda * B), rounded up because a shorter early block would
      // break 1 + 1/lambda. B is split at 1024 so nothing overflows.
      const u64 whole = (block_cost_ns >> 10) * lambda_q10;
      return whole + (((block_cost_ns & (q10_one - 1)) * lambda_q10 + q10_one - 1) >> 10);
    }
    // floor(B / lambda), for the same reason; saturates for a huge B.
    return mul_div(block_cost_ns, q10_one, lambda_q10);
  }

 private:
  u16 lambda_min_q10_ = q10_one / 2;
  u16 lambda_max_q10_ = q10_one;
  i32 score_q10_ = 0;  // running average value of the predictions, Q10 of B
};

}  // namespace lazyidle

#endif
