/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every difference between the kernels lazyidle.ko builds against (Debian's
 * 6.1 and 6.12; docs/guest-shim.md, "Kernels"), one entry each, with the
 * upstream commit that made it. Nothing else in the module tests a kernel
 * version.
 */
#ifndef LAZYIDLE_COMPAT_H
#define LAZYIDLE_COMPAT_H

#include <linux/cpuidle.h>
#include <linux/irqflags.h>
#include <linux/lockdep.h>
#include <linux/version.h>
#include <linux/context_tracking.h>

/*
 * Leaving and re-entering RCU around the halt of a CPUIDLE_FLAG_RCU_IDLE
 * state, with IRQs disabled on entry and on return. v6.3, a01353cf1896
 * ("cpuidle: Fix ct_idle_*() usage") added ct_cpuidle_enter()/exit(); before
 * it a driver open-codes the same sequence as 6.1's default_idle_call()
 * does (lockdep/irq-tracing state first, then RCU).
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
static __always_inline void lazyidle_rcu_idle_halt(void)
{
	ct_cpuidle_enter();
	raw_safe_halt();
	raw_local_irq_disable();
	ct_cpuidle_exit();
}
#else
static __always_inline void lazyidle_rcu_idle_halt(void)
{
	trace_hardirqs_on_prepare();
	lockdep_hardirqs_on_prepare();
	ct_idle_enter();
	lockdep_hardirqs_on(_THIS_IP_);
	raw_safe_halt();
	raw_local_irq_disable();
	lockdep_hardirqs_off(_THIS_IP_);
	ct_idle_exit();
}
#endif

#endif
