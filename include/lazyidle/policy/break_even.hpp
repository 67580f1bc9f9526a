// SPDX-License-Identifier: GPL-2.0-only OR MIT
//
// Deterministic break-even (ski rental): poll for exactly B, the block cost,
// then block. If the idle ends before B we paid y = OPT; if not we paid
// B + B = 2 * OPT. No deterministic rule has a better worst case (Karlin,
// Manasse, Rudolph, Sleator 1988), which is why every other policy here is
// judged against this one. It needs no state and ignores predictions.
#ifndef LAZYIDLE_POLICY_BREAK_EVEN_HPP
#define LAZYIDLE_POLICY_BREAK_EVEN_HPP

#include "../vocabulary.hpp"

namespace lazyidle {

class break_even {
 public:
  static constexpr const char* name = "break_even";
  constexpr duration_ns budget(const poll_request& request) const { return request.block_cost_ns; }
  constexpr void reflect(const idle_outcome&) {}
  constexpr void reset() {}
  constexpr u32 worst_case_ratio_q10() const { return 2 * q10_one; }
  constexpr duration_ns budget_cap_ns(duration_ns block_cost_ns) const { return block_cost_ns; }
};

}  // namespace lazyidle

#endif
