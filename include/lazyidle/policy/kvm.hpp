// SPDX-License-Identifier: GPL-2.0-only OR MIT
//
// KVM host halt polling, as in Linux 6.1 virt/kvm/kvm_main.c. Each vCPU
// keeps one poll window (vcpu->halt_poll_ns). When the guest halts,
// kvm_vcpu_halt() first clips the window to the module's halt_poll_ns
// (200 us on x86), polls for that long, then blocks. Afterwards it looks at
// halt_ns, the WHOLE halt as the guest saw it, polling included:
//
//   halt_ns <= window                  the poll caught the wakeup: keep it
//   window != 0 && halt_ns > max       a long block: shrink_halt_poll_ns()
//   window < max && halt_ns < max      a short halt the window missed:
//                                      grow_halt_poll_ns()
//
// grow multiplies by halt_poll_ns_grow (2) and starts from
// halt_poll_ns_grow_start (10 us); it does not cap, the clip at the next halt
// does. shrink divides by halt_poll_ns_shrink and drops anything below
// grow_start to 0; 6.1's default shrink is 0, which means "reset to 0", so
// one long halt throws away all the growth. Later kernels (6.11+) default to
// 2. A window of 0 is never shrunk and halts of exactly max neither grow nor
// shrink it. Left out: invalid wakeups (they always shrink),
// single_task_running() (stop polling when another task wants the CPU) and
// the guest's MSR_KVM_POLL_CONTROL opt-out; a caller models those by not
// calling budget(). The window ignores B entirely, so the policy has no
// competitive bound (a 1 ns halt after a long one costs B).
#ifndef LAZYIDLE_POLICY_KVM_HPP
#define LAZYIDLE_POLICY_KVM_HPP

#include "../arith.hpp"
#include "../vocabulary.hpp"

namespace lazyidle {

class kvm_grow_shrink {
 public:
  static constexpr const char* name = "kvm_grow_shrink";

  // The kernel's module parameters, u32 like the kernel's unsigned int.
  struct parameters {
    u32 max_poll_ns = 200000;     // halt_poll_ns (KVM_HALT_POLL_NS_DEFAULT on x86)
    u32 grow = 2;                 // halt_poll_ns_grow
    u32 grow_start_ns = 10000;    // halt_poll_ns_grow_start
    u32 shrink = 0;               // halt_poll_ns_shrink: 0 in 6.1, 2 from 6.11
  };
  static constexpr parameters linux_6_1() { return {}; }
  static constexpr parameters linux_6_11() {
    parameters p;
    p.shrink = 2;
    return p;
  }

  constexpr kvm_grow_shrink() = default;
  constexpr explicit kvm_grow_shrink(const parameters& params) : params_(params) {}

  // kvm_vcpu_halt() entry: clip the window to the current maximum, poll for it.
  constexpr duration_ns budget(const poll_request&) {
    if (window_ns_ > params_.max_poll_ns) window_ns_ = params_.max_poll_ns;
    return window_ns_;
  }

  // kvm_vcpu_halt() exit. halt_ns is the whole idle (idle_ns), not the
  // blocked part: the kernel measures from before the poll loop.
  constexpr void reflect(const idle_outcome& outcome) {
    const duration_ns halt_ns = outcome.idle_ns;
    const u32 max = params_.max_poll_ns;
    if (max == 0) {
      window_ns_ = 0;
    } else if (halt_ns <= window_ns_) {
      // polled successfully (or would have): keep the window
    } else if (window_ns_ != 0 && halt_ns > max) {
      shrink();
    } else if (window_ns_ < max && halt_ns < max) {
      grow();
    }
  }

  constexpr void reset() { window_ns_ = 0; }
  constexpr u32 worst_case_ratio_q10() const { return u32_max; }
  constexpr duration_ns budget_cap_ns(duration_ns /*block_cost_ns*/) const { return params_.max_poll_ns; }

  // vcpu->halt_poll_ns as the kernel stores it: after a grow it may exceed
  // max until the next halt clips it.
  constexpr u32 window_ns() const { return window_ns_; }
  constexpr const parameters& params() const { return params_; }

 private:
  // grow_halt_poll_ns(). The kernel multiplies in unsigned int and can wrap
  // with a huge max; we saturate instead, the only intended difference.
  constexpr void grow() {
    if (params_.grow == 0) return;
    u32 value = sat_u32(static_cast<u64>(window_ns_) * params_.grow);
    if (value < params_.grow_start_ns) value = params_.grow_start_ns;
    window_ns_ = value;
  }

  // shrink_halt_poll_ns()
  constexpr void shrink() {
    u32 value = params_.shrink == 0 ? 0 : window_ns_ / params_.shrink;
    if (value < params_.grow_start_ns) value = 0;
    window_ns_ = value;
  }

  parameters params_{};
  u32 window_ns_ = 0;  // vcpu->halt_poll_ns, 0 when the vCPU is created
};

}  // namespace lazyidle

#endif
