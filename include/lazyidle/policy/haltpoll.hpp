// SPDX-License-Identifier: GPL-2.0-only OR MIT
//
// Guest haltpoll, as in Linux 6.1 drivers/cpuidle/governors/haltpoll.c. Each
// CPU keeps a poll limit (dev->poll_limit_ns), 0 when the device is enabled.
// haltpoll_select() polls for the limit (state 0) and halts (state 1) when the
// poll ran out; with a limit of 0 it halts at once. haltpoll_reflect() adjusts
// the limit only after a halt, in adjust_poll_limit(), and only from the
// halt's own residency (block_ns), not the time spent polling before it:
//
//   limit < block_ns <= guest_halt_poll_ns   grow: limit * grow, at least
//                                            grow_start (50 us), at most
//                                            guest_halt_poll_ns (200 us)
//   block_ns > guest_halt_poll_ns            shrink: limit / shrink (0 when
//                                            shrink is 0), if allow_shrink
//
// A wakeup caught while polling changes nothing. Unlike KVM's host rule,
// shrinking never snaps to 0 below grow_start (200 -> 100 -> 50 -> 25 -> 12
// us...), grow caps itself, and the comparison is on the halt alone, so an
// idle of limit + 150 us leaves a 200 us limit untouched. The limit ignores
// B, so the policy has no competitive bound.
#ifndef LAZYIDLE_POLICY_HALTPOLL_HPP
#define LAZYIDLE_POLICY_HALTPOLL_HPP

#include "../arith.hpp"
#include "../vocabulary.hpp"

namespace lazyidle {

class haltpoll_grow_shrink {
 public:
  static constexpr const char* name = "haltpoll_grow_shrink";

  // The governor's module parameters (all in ns, whatever the kernel's
  // "value in us" comment on grow_start says).
  struct parameters {
    u32 max_poll_ns = 200000;     // guest_halt_poll_ns
    u32 grow = 2;                 // guest_halt_poll_grow
    u32 shrink = 2;               // guest_halt_poll_shrink
    u32 grow_start_ns = 50000;    // guest_halt_poll_grow_start
    bool allow_shrink = true;     // guest_halt_poll_allow_shrink
  };

  constexpr haltpoll_grow_shrink() = default;
  constexpr explicit haltpoll_grow_shrink(const parameters& params) : params_(params) {}

  // haltpoll_select(): poll for the limit, then halt; 0 means halt at once.
  constexpr duration_ns budget(const poll_request&) const { return limit_ns_; }

  // haltpoll_reflect(): only an idle that reached the halt state adjusts the
  // limit, with the halt's residency (the idle minus the poll budget).
  constexpr void reflect(const idle_outcome& outcome) {
    if (outcome.woke_while_polling()) return;
    adjust_poll_limit(outcome.blocked_ns());
  }

  constexpr void reset() { limit_ns_ = 0; }
  constexpr u32 worst_case_ratio_q10() const { return u32_max; }
  // grow clamps to guest_halt_poll_ns and shrink only lowers the limit.
  constexpr duration_ns budget_cap_ns(duration_ns /*block_cost_ns*/) const { return params_.max_poll_ns; }

  constexpr u32 limit_ns() const { return limit_ns_; }
  constexpr const parameters& params() const { return params_; }

 private:
  // adjust_poll_limit()
  constexpr void adjust_poll_limit(duration_ns block_ns) {
    if (block_ns > limit_ns_ && block_ns <= params_.max_poll_ns) {
      // The kernel multiplies a u64 and stores it in an unsigned int; the
      // clamp to max below makes the truncation unreachable for sane
      // parameters, and we saturate rather than truncate.
      u32 value = sat_u32(static_cast<u64>(limit_ns_) * params_.grow);
      if (value < params_.grow_start_ns) value = params_.grow_start_ns;
      if (value > params_.max_poll_ns) value = params_.max_poll_ns;
      limit_ns_ = value;
    } else if (block_ns > params_.max_poll_ns && params_.allow_shrink) {
      limit_ns_ = params_.shrink == 0 ? 0 : limit_ns_ / params_.shrink;
    }
  }

  parameters params_{};
  u32 limit_ns_ = 0;  // dev->poll_limit_ns, 0 from haltpoll_enable_device()
};

}  // namespace lazyidle

#endif
