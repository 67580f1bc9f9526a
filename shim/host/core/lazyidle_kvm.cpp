// SPDX-License-Identifier: GPL-2.0-only OR MIT
//
// The lazyidle core compiled into kvm.ko (out-of-tree build only; the in-tree
// form is a C port, see docs/host-patch.md). This translation unit includes
// no kernel header: it sees only the freestanding core and exports four C
// functions over plain integers and an opaque, caller-allocated state block.
// The C side (virt/kvm/halt_poll_policy.c from the patch series) keeps that
// block per vCPU in a side table, measures the wake latency, and calls us
// from kvm_vcpu_halt().
//
// Policies (module parameter kvm.halt_poll_policy):
//   1  lazyidle::default_governor: the library's default predictor + policy
//   2  governor<last_value_predictor, kvm_grow_shrink>: the core's model of
//      6.1's grow/shrink, run through the same glue; must match stock
//      (0 is stock KVM code and never reaches this file)

#include <lazyidle/lazyidle.hpp>
#include <lazyidle/policy/kvm.hpp>

using lazyidle::u32;
using lazyidle::u64;

// Placement new without <new> (no std headers in the kernel build).
inline void* operator new(decltype(sizeof 0), void* where) noexcept { return where; }

namespace {

using default_gov = lazyidle::default_governor;
using kvm_gov = lazyidle::governor<lazyidle::last_value_predictor, lazyidle::kvm_grow_shrink>;

struct vcpu_policy {
  u32 kind;
  union {
    default_gov def;
    kvm_gov kvm;
  };
  vcpu_policy() : kind(0) {}
};

static_assert(sizeof(vcpu_policy) <= 128, "per-vCPU policy state must stay small");
static_assert(alignof(vcpu_policy) <= 16, "the C side aligns the block to 16 bytes");

}  // namespace

extern "C" {

// Declared first, as virt/kvm/halt_poll_policy.h declares them (a kernel
// header this translation unit cannot include): Linux 6.12 builds with
// -Wmissing-declarations.
bool kvm_lazyidle_has_policy(unsigned int kind);
unsigned int kvm_lazyidle_state_size(void);
void kvm_lazyidle_init(void* state, unsigned int kind);
u64 kvm_lazyidle_select(void* state, u64 block_cost_ns, u64 max_ns, u64 bound_ns);
void kvm_lazyidle_reflect(void* state, u64 idle_ns, u64 halt_ns);

// The halt_poll_policy values this core implements (0, stock, is KVM's own).
bool kvm_lazyidle_has_policy(unsigned int kind) { return kind == 1 || kind == 2; }

unsigned int kvm_lazyidle_state_size(void) { return sizeof(vcpu_policy); }

// (Re)initialise the block for policy `kind` (1 or 2). Unknown kinds fall
// back to 1.
void kvm_lazyidle_init(void* state, unsigned int kind) {
  auto* p = new (state) vcpu_policy;
  if (kind == 2) {
    p->kind = 2;
    new (&p->kvm) kvm_gov{};
  } else {
    p->kind = 1;
    new (&p->def) default_gov{};
  }
}

// kvm_vcpu_halt() entry: the poll window for this halt. block_cost_ns is the
// vCPU's measured block cost (wake-to-run latency, ns), max_ns the
// halt_poll_ns ceiling (per VM or module), bound_ns the time to the next
// known wake event or ~0.
u64 kvm_lazyidle_select(void* state, u64 block_cost_ns, u64 max_ns, u64 bound_ns) {
  auto* p = static_cast<vcpu_policy*>(state);
  u64 budget;
  if (p->kind == 2) {
    lazyidle::kvm_grow_shrink::parameters params;
    params.max_poll_ns = lazyidle::sat_u32(max_ns);
    // The ceiling is a live module parameter: keep the policy's copy
    // current. A change restarts the window from 0 (stock keeps it and
    // clips it at the next halt): the one known difference from stock.
    if (p->kvm.policy().params().max_poll_ns != params.max_poll_ns)
      p->kvm.policy() = lazyidle::kvm_grow_shrink{params};
    budget = p->kvm.select(block_cost_ns, bound_ns).poll_budget_ns;
  } else {
    budget = p->def.select(block_cost_ns, bound_ns).poll_budget_ns;
  }
  return budget < max_ns ? budget : max_ns;
}

// kvm_vcpu_halt() exit. idle_ns: from the halt to the wakeup event (the
// core's y; the delay from the event to the vCPU running again is the block
// cost, not idle). halt_ns: to the vCPU running again, polling included, the
// figure 6.1's grow/shrink uses, so the kvm model gets exactly that.
void kvm_lazyidle_reflect(void* state, u64 idle_ns, u64 halt_ns) {
  auto* p = static_cast<vcpu_policy*>(state);
  if (p->kind == 2)
    p->kvm.reflect(halt_ns);
  else
    p->def.reflect(idle_ns);
}

}  // extern "C"
