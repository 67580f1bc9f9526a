// SPDX-License-Identifier: GPL-2.0-only OR MIT
//
// Distribution threshold: poll for the budget that would have been cheapest
// on the recent idles, but only while that has paid for its own risks.
//
// Learning. The policy keeps a histogram_predictor of the idles it has seen
// (fed in reflect(), where the true length y is known) and proposes
// T = best_threshold(B): the fixed budget minimising the recent total cost.
// On a stationary distribution that is the hindsight-best fixed threshold of
// DESIGN §3 up to bin resolution: block at once when idles are mostly longer
// than B, poll just past the short mode of a bimodal stream, poll through
// everything when idles are short.
//
// Order. Idles come in phases (a burst of messages, then a pause), and a
// fixed threshold cannot see them. So the policy also learns two numbers,
// P(next idle > B | previous idle > B) and P(next idle > B | previous
// <= B), as 1/16-weight averages, and when they differ by a quarter or more
// it prices the histogram for the mix expected next: the short part and the
// long part keep their remembered shapes, reweighted to 1 - p and p. After
// a long idle in a pause that says "block at once"; after a short one in a
// burst, "poll through the burst's idles". When the two numbers are close
// (independent idles) it keeps the unconditional answer, so noise is not
// followed.
//
// A next-timer bound b at or below B, when the layer has one, makes the
// budget B: every idle that ends by the timer (late timers included, up
// to B - b) then costs y = OPT, and B carries no risk against break-even.
// Not b itself: timers fire a few us late, and blocking just before a
// wakeup is the one expensive mistake. A farther bound changes nothing.
//
// The guard. Trusting T blindly has no worst case: if the history says
// "block at once" and the next idle is 1 ns, we pay B for a 1 ns idle. So
// the policy measures itself against break-even (poll exactly B, cost at
// most 2 * OPT on every idle). After every idle it knows what it paid and
// what break-even would have paid (full information: y is known) and keeps
// an allowance
//
//   A += cost_break_even * (1 + 1/16) - cost_paid,   capped at 16 * B,
//
// a savings account of how far it is ahead of break-even, plus a 1/16
// tithe. Before each idle it asks what T can lose against break-even on
// the worst possible idle:
//
//   T < B : an idle just past T costs T + B where break-even paid ~T: up to B
//   T > B : an idle past T costs T + B where break-even paid 2B:      T - B
//
// and plays T only if the allowance covers that loss: a T below B needs
// A >= B (otherwise it plays B), a T above B is cut to B + A. So A never
// goes negative, and since capping only ever lowers it, on every prefix of
// every sequence
//
//   sum(cost) <= (1 + 1/16) * sum(cost_break_even) <= 2.125 * sum(OPT).
//
// That is the bound worst_case_ratio_q10() reports: an aggregate bound, the
// metric lazyidle reports everywhere. A single idle can cost more (B for a
// 1 ns idle after a run of long ones), but only once the policy has saved
// at least that much. The tithe is what lets it start, and restart after a
// bad phase: playing break-even earns cost_break_even / 16 per idle, so
// trust returns after a few dozen idles. The cap keeps trust recent: a
// long good phase buys at most 16 B of losses in the next bad one.
//
// State: the allowance (u32 ns), the histogram (41 bytes), the previous
// idle's class and the two probabilities (u8 each): 48 bytes.
#ifndef LAZYIDLE_POLICY_DISTRIBUTION_THRESHOLD_HPP
#define LAZYIDLE_POLICY_DISTRIBUTION_THRESHOLD_HPP

#include "../arith.hpp"
#include "../cost.hpp"
#include "../predictor/histogram.hpp"
#include "../vocabulary.hpp"

namespace lazyidle {

class distribution_threshold {
 public:
  static constexpr const char* name = "distribution_threshold";
  static constexpr u32 tithe_shift = 4;       // epsilon = 1/16 of break-even's cost
  static constexpr u32 allowance_cap_in_b = 16;
  // Condition on the previous idle only when P(long | previous long) and
  // P(long | previous short) differ by at least a quarter: on independent
  // idles the two estimates differ by noise alone (about 0.12 at 1/16
  // weight), and following noise costs up to 2% against the best fixed
  // threshold; real phases differ by far more.
  static constexpr u32 persistence_gate_q8 = 64;

  constexpr duration_ns budget(const poll_request& request) const {
    return guarded(proposal(request), request.block_cost_ns);
  }

  // What the histogram asks for, or B when a next-timer bound says the idle
  // will be over by then (see the top of this file).
  constexpr duration_ns proposal(const poll_request& request) const {
    const duration_ns learned = learned_threshold(request.block_cost_ns);
    if (request.bound_ns == no_bound) return learned;
    return request.bound_ns <= request.block_cost_ns ? request.block_cost_ns : learned;
  }

  // The histogram's best threshold for the mix of short (<= B) and long
  // idles expected after the previous one: the shapes of the two parts are
  // the remembered ones, their weights P(long | previous short or long).
  constexpr duration_ns learned_threshold(duration_ns block_cost_ns) const {
    const u32 after_short = long_after_q8_[0], after_long = long_after_q8_[1];
    const u32 persistence = after_long > after_short ? after_long - after_short : after_short - after_long;
    if (persistence < persistence_gate_q8) return histogram_.best_threshold(block_cost_ns);
    // The bin holding B counts as short when most of it lies below B.
    const u32 boundary = histogram_predictor::bin_of(block_cost_ns);
    const u32 split = boundary + (histogram_predictor::representative(boundary) < block_cost_ns ? 1 : 0);
    return histogram_.best_threshold_for_mix(block_cost_ns, split, long_after_q8_[previous_long_]);
  }

  constexpr void reflect(const idle_outcome& outcome) {
    histogram_.observe({outcome.idle_ns, no_bound});
    const duration_ns block = outcome.block_cost_ns;
    const u32 was_long = outcome.idle_ns > block ? 1 : 0;
    long_after_q8_[previous_long_] = step_toward(long_after_q8_[previous_long_], was_long ? 256 : 0);
    previous_long_ = static_cast<u8>(was_long);
    const duration_ns break_even_cost = decision_cost(outcome.idle_ns, block, block);
    const duration_ns paid = decision_cost(outcome.idle_ns, outcome.budget_ns, block);
    const u64 earned = sat_add(allowance_ns_, sat_add(break_even_cost, break_even_cost >> tithe_shift));
    // sat_sub floors at zero; with budgets from guarded() the floor is never
    // reached (the risk check guarantees paid - break_even <= allowance).
    allowance_ns_ = sat_u32(min_of(sat_sub(earned, paid), sat_mul(block, allowance_cap_in_b)));
  }

  constexpr void reset() { *this = distribution_threshold{}; }

  // The bound holds for the sum over every prefix of the idles, not per
  // idle (see the top of this file).
  static constexpr bool bound_is_amortized = true;

  // Aggregate bound: 2 * (1 + 2^-tithe_shift) in Q10 (2176 = 2.125).
  constexpr u32 worst_case_ratio_q10() const { return 2 * (q10_one + (q10_one >> tithe_shift)); }

  // The learned threshold after the risk check: what budget() plays.
  // The allowance was capped against the B of past idles; capping it again
  // against today's B keeps every budget within budget_cap_ns(B).
  constexpr duration_ns guarded(duration_ns learned_ns, duration_ns block_cost_ns) const {
    const duration_ns usable = min_of<duration_ns>(allowance_ns_, sat_mul(block_cost_ns, allowance_cap_in_b));
    if (learned_ns < block_cost_ns) return usable >= block_cost_ns ? learned_ns : block_cost_ns;
    return min_of(learned_ns, sat_add(block_cost_ns, usable));
  }

  // No budget exceeds B plus the largest allowance: 17 B.
  constexpr duration_ns budget_cap_ns(duration_ns block_cost_ns) const {
    return sat_mul(block_cost_ns, allowance_cap_in_b + 1);
  }

  constexpr const histogram_predictor& histogram() const { return histogram_; }
  constexpr duration_ns allowance_ns() const { return allowance_ns_; }

 private:
  // EWMA with weight 1/16, rounded to nearest so it settles within 8/256 of
  // 0 or 1 instead of sticking 16/256 short of one end.
  static constexpr u8 step_toward(u8 probability_q8, i32 target_q8) {
    const i32 delta = target_q8 - probability_q8;
    const i32 next = probability_q8 + (delta + (delta < 0 ? -8 : 8)) / 16;
    return static_cast<u8>(clamp_to<i32>(next, 0, 255));
  }

  u32 allowance_ns_ = 0;
  histogram_predictor histogram_{};
  u8 previous_long_ = 0;         // was the last idle longer than its B?
  u8 long_after_q8_[2] = {128, 128};  // P(next idle long | previous short, long), Q8
};

}  // namespace lazyidle

#endif
