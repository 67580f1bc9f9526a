// SPDX-License-Identifier: GPL-2.0
/*
 * lazyidle_idle_poll()/lazyidle_idle_wake(): the talk's "lazy context
 * switching" for kernel waiters. Poll-then-sleep with the same core governor
 * and knobs as the cpuidle driver, one governor per waiter (the waiter, not
 * the CPU, knows its own gap pattern). B here is the sleep path's cost: the
 * latency from the waker's call to the waiter running again, measured on
 * every wakeup that actually slept.
 *
 * Giving way: the talk's poll function "switches away if another task is
 * runnable"; here need_resched() ends polling and the waiter sleeps, so a
 * task that shares the CPU (possibly the very one that will send the
 * awaited message) gets it at once.
 *
 * Lost-wakeup argument: the waiter publishes sleeping=1 after setting its
 * task state and before re-checking poll(); the waker makes poll() true
 * before reading sleeping; both sides have a full barrier in between, so at
 * least one of them sees the other's store.
 */
#include <linux/export.h>
#include <linux/string.h>
#include <linux/sched.h>
#include <linux/sched/clock.h>

#include "lazyidle_idle_poll.h"
#include "lazyidle_internal.h"

void lazyidle_idle_poll_init(struct lazyidle_idle_poll_info *info,
			     int (*poll)(void *data), void *data)
{
	memset(info, 0, sizeof(*info));
	info->poll = poll;
	info->data = data;
}
EXPORT_SYMBOL_GPL(lazyidle_idle_poll_init);

int lazyidle_idle_poll(struct lazyidle_idle_poll_info *info)
{
	struct lazyidle_idle_poll_private *p;
	struct lazyidle_decision decision;
	u64 start, now, budget, cost, woken;
	bool polled;

	if (!info || !info->poll)
		return -EINVAL;
	might_sleep();
	if (info->poll(info->data))
		return 0;
	p = &info->lazyidle_private;
	lazyidle_gov_refresh(&p->gov);
	p->waits++;

	cost = p->block_cost_ns ? p->block_cost_ns :
				  lazyidle_knob_get(&lazyidle_block_cost_ns);
	lazyidle_core_select(&p->gov.blob, p->gov.kind, cost, LAZYIDLE_NO_BOUND, &decision);
	budget = lazyidle_policy_budget(decision.poll_budget_ns);

	start = local_clock();
	polled = false;
	while (!need_resched()) {
		if (info->poll(info->data)) {
			polled = true;
			break;
		}
		cpu_relax();
		if (local_clock() - start >= budget)
			break;
	}

	if (!polled) {
		WRITE_ONCE(p->waiter, current);
		WRITE_ONCE(p->wake_ns, 0);
		p->parks++;
		for (;;) {
			/* TASK_IDLE: no load average, no hung-task report. */
			set_current_state(TASK_IDLE);
			WRITE_ONCE(p->sleeping, 1);
			smp_mb(); /* pairs with lazyidle_idle_wake() */
			if (info->poll(info->data))
				break;
			schedule();
		}
		WRITE_ONCE(p->sleeping, 0);
		__set_current_state(TASK_RUNNING);
	}

	now = local_clock();
	lazyidle_core_reflect(&p->gov.blob, p->gov.kind, now - start);
	if (polled) {
		p->polled++;
		return 0;
	}
	/*
	 * local_clock() of two CPUs agree closely on x86 even with an
	 * unstable TSC (sched_clock filters per CPU); a sample that runs
	 * backwards or beyond the outlier limit is dropped, not trusted.
	 */
	woken = READ_ONCE(p->wake_ns);
	if (woken && now > woken &&
	    now - woken <= lazyidle_knob_get(&lazyidle_calib_max_ns)) {
		u64 lateness = now - woken;

		p->block_cost_ns = p->calib_samples ?
			lazyidle_core_median_step(p->block_cost_ns, lateness) :
			max_t(u64, lateness, 1);
		p->calib_samples++;
	}
	return 0;
}
EXPORT_SYMBOL_GPL(lazyidle_idle_poll);

void lazyidle_idle_wake(struct lazyidle_idle_poll_info *info)
{
	struct lazyidle_idle_poll_private *p = &info->lazyidle_private;
	struct task_struct *waiter;

	smp_mb(); /* the caller's poll()-true store before reading sleeping */
	if (!READ_ONCE(p->sleeping))
		return;
	waiter = READ_ONCE(p->waiter);
	WRITE_ONCE(p->wake_ns, local_clock());
	if (waiter) {
		atomic64_inc(&p->wakes);
		wake_up_process(waiter);
	}
}
EXPORT_SYMBOL_GPL(lazyidle_idle_wake);

void lazyidle_idle_poll_get_stats(const struct lazyidle_idle_poll_info *info,
				  struct lazyidle_idle_poll_stats *stats)
{
	const struct lazyidle_idle_poll_private *p = &info->lazyidle_private;

	stats->waits = p->waits;
	stats->polled = p->polled;
	stats->parks = p->parks;
	stats->wakes = atomic64_read(&p->wakes);
	stats->block_cost_ns = p->block_cost_ns;
}
EXPORT_SYMBOL_GPL(lazyidle_idle_poll_get_stats);
