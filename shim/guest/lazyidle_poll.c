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
 * Sleeping is the kernel's rcuwait, as KVM's vCPU halt uses it: the waiter
 * publishes itself with prepare_to_rcuwait(), sets its state (a full
 * barrier) and re-checks poll(); the waker makes poll() true and calls
 * rcuwait_wake_up(), whose barrier orders that store before reading the
 * task, so at least one side sees the other (no lost wakeup).
 * rcuwait_wake_up() reads the task under rcu_read_lock() and
 * finish_rcuwait() clears it before the waiter returns, so a waker never
 * touches a task that has exited: task_struct is freed only after an RCU
 * grace period. The info itself is the caller's: it must outlive every
 * lazyidle_idle_wake() call on it (lazyidle_idle_poll.h).
 *
 * Sleep state: TASK_IDLE (uninterruptible, not counted in the load
 * average). Uninterruptible because poll() is the caller's condition and
 * the API has no "interrupted" outcome to report; a kernel thread has no
 * signals to take anyway. Not in the load average and not a hung task: a
 * waiter may wait for its next message for as long as there is none, which
 * is idleness, not a stuck task. A waiter that must give up uses the
 * timeout variant, which ends the sleep with an hrtimer.
 */
#include <linux/export.h>
#include <linux/hrtimer.h>
#include <linux/ktime.h>
#include <linux/rcuwait.h>
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
	rcuwait_init(&info->lazyidle_private.wait);
}
EXPORT_SYMBOL_GPL(lazyidle_idle_poll_init);

/* Sleeps until poll() is true or, with a deadline, it passes: true if ready. */
static bool lazyidle_idle_sleep(struct lazyidle_idle_poll_info *info,
				ktime_t *deadline)
{
	struct lazyidle_idle_poll_private *p = &info->lazyidle_private;
	bool ready;

	prepare_to_rcuwait(&p->wait);
	for (;;) {
		u64 stamp = READ_ONCE(p->wake_ns);

		/* Barrier (A), pairs with (B) in rcuwait_wake_up(). */
		set_current_state(TASK_IDLE);
		ready = info->poll(info->data);
		if (ready)
			break;
		/*
		 * A waker stamps only after making poll() true, with a full
		 * barrier between (lazyidle_idle_wake()), so a stamp read
		 * before (A) that poll() does not confirm after it is not this
		 * sleep's end: a late waker of an earlier wait. Drop it before
		 * sleeping again, or the first-stamp-wins rule would keep it
		 * against this sleep's real waker.
		 */
		if (stamp)
			cmpxchg64(&p->wake_ns, stamp, 0);
		if (!deadline) {
			schedule();
		} else if (!schedule_hrtimeout_range(deadline, 0, HRTIMER_MODE_ABS)) {
			/* Expired: one last look, after the state is running again. */
			__set_current_state(TASK_RUNNING);
			ready = info->poll(info->data);
			break;
		}
	}
	finish_rcuwait(&p->wait); /* TASK_RUNNING, and no waker finds us any more */
	return ready;
}

static int lazyidle_idle_wait(struct lazyidle_idle_poll_info *info, u64 timeout_ns,
			      bool timed)
{
	struct lazyidle_idle_poll_private *p;
	struct lazyidle_decision decision;
	u64 start, now, budget, cost, woken;
	ktime_t deadline = 0;
	bool polled, ready;

	if (!info || !info->poll)
		return -EINVAL;
	might_sleep();
	if (info->poll(info->data))
		return 0;
	if (timed)
		deadline = ktime_add_ns(ktime_get(), timeout_ns);
	p = &info->lazyidle_private;
	lazyidle_gov_refresh(&p->gov);
	p->waits++;

	cost = p->block_cost_ns ? p->block_cost_ns :
				  lazyidle_knob_get(&lazyidle_block_cost_ns);
	lazyidle_core_select(&p->gov.blob, p->gov.kind, cost, LAZYIDLE_NO_BOUND, &decision);
	budget = lazyidle_policy_budget(decision.poll_budget_ns);
	if (timed)
		budget = min(budget, timeout_ns);

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

	ready = polled;
	if (!polled) {
		/*
		 * Cleared before prepare_to_rcuwait() publishes the waiter
		 * (a release), so a waker that finds this sleep stamps after
		 * the clear, and an earlier wait's stamp is gone.
		 */
		WRITE_ONCE(p->wake_ns, 0);
		p->parks++;
		ready = lazyidle_idle_sleep(info, timed ? &deadline : NULL);
	}

	now = local_clock();
	/*
	 * A sleep a waker ended had its idle end at the waker's stamp; what
	 * came after it is the wake latency, the price of sleeping, not part of
	 * the idle (lazyidle_main.c takes it off a halted idle the same way).
	 * Taught now - start, the predictor would learn idles one wake latency
	 * too long after every sleep and drift towards polling through them.
	 * A sleep that timed out ended at now: any stamp is not its end.
	 */
	woken = ready && !polled ? READ_ONCE(p->wake_ns) : 0;
	lazyidle_core_reflect(&p->gov.blob, p->gov.kind,
			      woken > start && woken <= now ? woken - start : now - start);
	if (polled) {
		p->polled++;
		return 0;
	}
	if (!ready) {
		p->timeouts++;
		return -ETIMEDOUT;
	}
	/*
	 * local_clock() of two CPUs agree closely on x86 even with an
	 * unstable TSC (sched_clock filters per CPU); a sample that runs
	 * backwards or beyond the outlier limit is dropped, not trusted.
	 */
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

int lazyidle_idle_poll(struct lazyidle_idle_poll_info *info)
{
	return lazyidle_idle_wait(info, 0, false);
}
EXPORT_SYMBOL_GPL(lazyidle_idle_poll);

int lazyidle_idle_poll_timeout(struct lazyidle_idle_poll_info *info, u64 timeout_ns)
{
	return lazyidle_idle_wait(info, timeout_ns, true);
}
EXPORT_SYMBOL_GPL(lazyidle_idle_poll_timeout);

bool lazyidle_idle_wake(struct lazyidle_idle_poll_info *info)
{
	struct lazyidle_idle_poll_private *p = &info->lazyidle_private;

	smp_mb(); /* the caller's poll()-true store before reading the waiter */
	if (!rcuwait_active(&p->wait))
		return false;
	/*
	 * Stamped before the wakeup, so the waiter reads it when it runs. The
	 * first stamp of a sleep wins: its idle ended when the first waker
	 * made poll() true, and a second waker must not move that end later.
	 * The waiter clears it before each sleep and drops one that poll()
	 * does not confirm (lazyidle_idle_wait(), lazyidle_idle_sleep()).
	 */
	if (!READ_ONCE(p->wake_ns))
		cmpxchg64(&p->wake_ns, 0, local_clock());
	if (!rcuwait_wake_up(&p->wait))
		return false;
	atomic64_inc(&p->wakes);
	return true;
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
	stats->timeouts = p->timeouts;
}
EXPORT_SYMBOL_GPL(lazyidle_idle_poll_get_stats);
