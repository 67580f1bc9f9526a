// SPDX-License-Identifier: GPL-2.0
/*
 * Test module for the lifetime rule of lazyidle_idle_wake() (issue 12
 * defect 2): the waiting task may exit as soon as lazyidle_idle_poll()
 * returns, while its waker is still inside lazyidle_idle_wake(). Each of
 * @rounds rounds starts a fresh waiter kthread on one CPU that waits on a
 * shared info and exits the moment its wait returns; a waker kthread on
 * another CPU waits a varying time (so some waits are caught while
 * polling, most sleep), makes the wait true and calls lazyidle_idle_wake()
 * twice, as two wakers racing would. Then it waits for the waiter's exit
 * before the next round, since one task waits on an info at a time.
 *
 * Without KASAN a touched dead task rarely crashes; what the module checks
 * exactly is the accounting that the old code got wrong: a wake counts only
 * when it woke the sleeper, so per round at most one of the two calls
 * returns true, the calls that returned true add up to stats.wakes, and
 * wakes <= parks, polled + parks == waits. Then the timeout: a wait nobody
 * ends returns -ETIMEDOUT no earlier than its timeout, and one woken in time
 * returns 0. Loading runs everything, prints PASS/FAIL in dmesg and fails
 * with -EIO on a wrong count, -ETIMEDOUT if a round hangs (a lost wakeup).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/completion.h>
#include <linux/cpumask.h>
#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/sched/clock.h>

#include "lazyidle_idle_poll.h"

static unsigned int rounds = 5000;
module_param(rounds, uint, 0444);
MODULE_PARM_DESC(rounds, "waiter threads to start, wake and let exit");
static unsigned int timeout_s = 120;
module_param(timeout_s, uint, 0444);
MODULE_PARM_DESC(timeout_s, "fail the load when one round takes longer");

static struct lazyidle_idle_poll_info info;
static unsigned int released;	/* the round whose waiter may return */
static unsigned int waiter_round;
static unsigned int waiter_started;	/* the round whose waiter is in its wait */
static int waiter_result;
static DECLARE_COMPLETION(waiter_exited);

static int exitrace_released(void *data)
{
	return READ_ONCE(released) >= *(unsigned int *)data;
}

static int exitrace_waiter(void *unused)
{
	WRITE_ONCE(waiter_started, READ_ONCE(waiter_round));
	/* Exits right after the wait: the waker may still be in its wake. */
	waiter_result = lazyidle_idle_poll(&info);
	kthread_complete_and_exit(&waiter_exited, 0);
}

struct exitrace_result {
	unsigned long long woke, double_wakes, failed_rounds;
	struct completion done;
};

static int exitrace_waker(void *data)
{
	struct exitrace_result *result = data;
	unsigned int round;

	for (round = 1; round <= rounds; round++) {
		struct task_struct *waiter;
		unsigned int woke;

		reinit_completion(&waiter_exited);
		WRITE_ONCE(waiter_round, round);
		waiter = kthread_create(exitrace_waiter, NULL, "lazyidle_xr");
		if (IS_ERR(waiter)) {
			result->failed_rounds++;
			break;
		}
		if (num_online_cpus() >= 2)
			kthread_bind(waiter, cpumask_any_but(cpu_online_mask, smp_processor_id()));
		wake_up_process(waiter);
		/*
		 * From the waiter's start of the wait, 0-63 us: it is polling,
		 * about to sleep, or asleep when the wait ends.
		 */
		while (READ_ONCE(waiter_started) != round)
			cond_resched();
		udelay((round * 37) % 64);
		WRITE_ONCE(released, round);
		woke = lazyidle_idle_wake(&info);
		woke += lazyidle_idle_wake(&info);
		result->woke += woke;
		if (woke > 1)
			result->double_wakes++;
		if (!wait_for_completion_timeout(&waiter_exited, timeout_s * HZ)) {
			result->failed_rounds++;
			break;
		}
		if (waiter_result)
			result->failed_rounds++;
	}
	kthread_complete_and_exit(&result->done, 0);
}

static int exitrace_never(void *unused)
{
	return 0;
}

/* A wait nobody ends must time out, not earlier than asked. */
static bool exitrace_timeout_checks(void)
{
	struct lazyidle_idle_poll_info lonely;
	struct lazyidle_idle_poll_stats stats;
	const u64 timeout_ns = 20 * NSEC_PER_MSEC;
	u64 start, elapsed;
	int ret;

	lazyidle_idle_poll_init(&lonely, exitrace_never, NULL);
	start = ktime_get_ns();
	ret = lazyidle_idle_poll_timeout(&lonely, timeout_ns);
	elapsed = ktime_get_ns() - start;
	lazyidle_idle_poll_get_stats(&lonely, &stats);
	pr_info("timeout: ret=%d elapsed_ns=%llu timeout_ns=%llu timeouts=%llu\n",
		ret, elapsed, timeout_ns, stats.timeouts);
	return ret == -ETIMEDOUT && elapsed >= timeout_ns && stats.timeouts == 1;
}

static int __init exitrace_init(void)
{
	struct exitrace_result result = {};
	struct lazyidle_idle_poll_stats stats;
	struct task_struct *waker;
	bool counts_ok, timeout_ok;
	u64 start, elapsed;

	released = 0;
	lazyidle_idle_poll_init(&info, exitrace_released, &waiter_round);
	init_completion(&result.done);
	waker = kthread_create(exitrace_waker, &result, "lazyidle_xr_waker");
	if (IS_ERR(waker))
		return PTR_ERR(waker);
	kthread_bind(waker, cpumask_first(cpu_online_mask));
	start = local_clock();
	wake_up_process(waker);
	wait_for_completion(&result.done);
	elapsed = local_clock() - start;

	lazyidle_idle_poll_get_stats(&info, &stats);
	counts_ok = !result.failed_rounds && !result.double_wakes &&
		    result.woke == stats.wakes && stats.wakes <= stats.parks &&
		    stats.polled + stats.parks == stats.waits &&
		    stats.waits <= rounds && stats.parks > 0 && !stats.timeouts;
	timeout_ok = exitrace_timeout_checks();
	pr_info("%s rounds=%u waits=%llu polled=%llu parks=%llu wakes=%llu woke_returns=%llu double_wakes=%llu failed_rounds=%llu timeouts=%llu ns_per_round=%llu timeout_check=%s\n",
		counts_ok && timeout_ok ? "PASS" : "FAIL", rounds, stats.waits,
		stats.polled, stats.parks, stats.wakes, result.woke, result.double_wakes,
		result.failed_rounds, stats.timeouts, div_u64(elapsed, max(rounds, 1u)),
		timeout_ok ? "ok" : "bad");
	if (result.failed_rounds)
		return -ETIMEDOUT;
	return counts_ok && timeout_ok ? 0 : -EIO;
}

static void __exit exitrace_exit(void)
{
}

module_init(exitrace_init);
module_exit(exitrace_exit);
MODULE_DESCRIPTION("lazyidle_idle_wake() against waiters that exit at once");
MODULE_LICENSE("GPL");
