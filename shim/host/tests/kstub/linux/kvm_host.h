/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * Userspace stand-in for the parts of <linux/kvm_host.h> (and what it pulls
 * in) that virt/kvm/halt_poll_policy.c uses, so wake_stamp.c can compile
 * the patched file itself and drive its stamp protocol with a fake clock.
 * Atomics are the compiler's (sequentially consistent, at least as strong
 * as the kernel's cmpxchg64/xchg).
 */
#ifndef LAZYIDLE_KSTUB_KVM_HOST_H
#define LAZYIDLE_KSTUB_KVM_HOST_H
#include <linux/types.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define U64_MAX UINT64_MAX
#define __weak __attribute__((weak))
#define __aligned(n) __attribute__((aligned(n)))
#define GFP_KERNEL_ACCOUNT 0
#define READ_ONCE(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define WRITE_ONCE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
#define xchg(p, v) __atomic_exchange_n((p), (v), __ATOMIC_SEQ_CST)
#define cmpxchg64(p, o, n) ({ __typeof__(*(p)) _o = (o); \
	__atomic_compare_exchange_n((p), &_o, (n), 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); _o; })
#define min(a, b) ((a) < (b) ? (a) : (b))

static inline void *kzalloc(size_t n, int gfp) { (void)gfp; return calloc(1, n); }
static inline void kfree(const void *p) { free((void *)p); }

/* The fake clock the test sets. */
extern u64 kstub_now_ns;
static inline u64 ktime_get_ns(void) { return kstub_now_ns; }

struct kvm { int userspace_pid; };
struct kvm_halt_poll_state;
struct kvm_vcpu {
	struct kvm *kvm;
	int vcpu_id;
	unsigned int halt_poll_ns;
	struct kvm_halt_poll_state *halt_poll_state;
};
u64 kvm_vcpu_wake_latency_ns(struct kvm_vcpu *vcpu);
u64 kvm_arch_vcpu_halt_bound_ns(struct kvm_vcpu *vcpu);
#endif
