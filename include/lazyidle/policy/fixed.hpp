// SPDX-License-Identifier: GPL-2.0-only OR MIT
//
// Fixed poll: spin for one constant budget, then block, whatever happened
// before. This is what most userspace locks do (glibc's adaptive mutex, absl,
// libstdc++ atomic::wait; DESIGN §5) and the baseline every adaptive policy
// must beat. It has no competitive bound: the cost of a miss is p + B while
// OPT can be as small as p, so the ratio (p + B) / min(p, B) grows without
// limit as B and p move apart, and p = 0 ("always block") pays B for an idle
// of 1 ns. worst_case_ratio_q10() therefore reports u32_max; ratio_for_q10(B)
// gives the bound once B is known.
#ifndef LAZYIDLE_POLICY_FIXED_HPP
#define LAZYIDLE_POLICY_FIXED_HPP

#include "../arith.hpp"
#include "../vocabulary.hpp"

namespace lazyidle {

class fixed_poll {
 public:
  static constexpr const char* name = "fixed";

  constexpr explicit fixed_poll(duration_ns budget_ns) : budget_ns_(budget_ns) {}

  constexpr duration_ns budget(const poll_request&) const { return budget_ns_; }
  constexpr void reflect(const idle_outcome&) {}
  constexpr void reset() {}
  constexpr u32 worst_case_ratio_q10() const { return u32_max; }

  // Never polls longer than the constant it was given.
  constexpr duration_ns budget_cap_ns(duration_ns /*block_cost_ns*/) const { return budget_ns_; }

  // The bound for one known B: the worst idle ends just after the budget,
  // costing p + B against OPT = min(p, B), a ratio of 1 + max(p, B) / min(p, B).
  // Rounded up so it stays a bound; u32_max when it does not fit (p = 0
  // included: an idle of 1 ns costs B).
  constexpr u32 ratio_for_q10(duration_ns block_cost_ns) const {
    const duration_ns shorter = min_of(budget_ns_, block_cost_ns);
    const duration_ns longer = max_of(budget_ns_, block_cost_ns);
    if (shorter == 0) return longer == 0 ? q10_one : u32_max;
    const u64 scaled = sat_mul(longer, q10_one);
    if (scaled == u64_max) return u32_max;
    const u64 quotient_rounded_up = scaled / shorter + (scaled % shorter != 0 ? 1 : 0);
    return sat_u32(sat_add(q10_one, quotient_rounded_up));
  }

 private:
  duration_ns budget_ns_;
};

}  // namespace lazyidle

#endif
