// SPDX-License-Identifier: GPL-2.0
/*
 * Test module for lazyidle_idle_poll(): two kthreads, one per CPU when two
 * are online, pass a turn back and forth @rounds times through the lazy
 * wait, the in-kernel twin of the userspace ping-pong. Loading runs the whole
 * exchange and reports the result in dmesg; the load fails if the exchange
 * does not finish within @timeout_s (a lost wakeup shows up as exactly that).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/completion.h>
#include <linux/cpumask.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/sched/clock.h>

#include "lazyidle_idle_poll.h"

static unsigned int rounds = 20000;
module_param(rounds, uint, 0444);
MODULE_PARM_DESC(rounds, "round trips to run");
static unsigned int timeout_s = 60;
module_param(timeout_s, uint, 0444);
MODULE_PARM_DESC(timeout_s, "fail the load when the exchange takes longer");

struct pingpong_side {
	struct lazyidle_idle_poll_info info;
	struct completion done;
	int me;
	unsigned int rounds_done;
};

static int turn;
static bool stop;
static struct pingpong_side sides[2];

static int pingpong_my_turn(void *data)
{
	const struct pingpong_side *side = data;

	return READ_ONCE(turn) == side->me || READ_ONCE(stop);
}

static int pingpong_thread(void *data)
{
	struct pingpong_side *side = data;
	struct pingpong_side *other = &sides[!side->me];
	unsigned int i;

	for (i = 0; i < rounds && !READ_ONCE(stop); i++) {
		if (lazyidle_idle_poll(&side->info))
			break;
		if (READ_ONCE(stop))
			break;
		side->rounds_done++;
		/* Publish the round before the other side may run it. */
		smp_store_release(&turn, !side->me);
		lazyidle_idle_wake(&other->info);
	}
	kthread_complete_and_exit(&side->done, 0);
}

static int __init pingpong_init(void)
{
	struct task_struct *threads[2];
	struct lazyidle_idle_poll_stats stats[2];
	u64 start, elapsed;
	int i, failed = 0;

	turn = 0;
	stop = false;
	for (i = 0; i < 2; i++) {
		memset(&sides[i], 0, sizeof(sides[i]));
		sides[i].me = i;
		lazyidle_idle_poll_init(&sides[i].info, pingpong_my_turn, &sides[i]);
		init_completion(&sides[i].done);
		threads[i] = kthread_create(pingpong_thread, &sides[i], "lazyidle_pp/%d", i);
		if (IS_ERR(threads[i])) {
			if (i) {
				WRITE_ONCE(stop, true);
				wake_up_process(threads[0]);
				wait_for_completion(&sides[0].done);
			}
			return PTR_ERR(threads[i]);
		}
		if (num_online_cpus() >= 2 && cpu_online(i))
			kthread_bind(threads[i], i);
	}
	start = local_clock();
	wake_up_process(threads[0]);
	wake_up_process(threads[1]);
	for (i = 0; i < 2; i++) {
		if (!wait_for_completion_timeout(&sides[i].done, timeout_s * HZ)) {
			failed = 1;
			WRITE_ONCE(stop, true);
			lazyidle_idle_wake(&sides[0].info);
			lazyidle_idle_wake(&sides[1].info);
			wait_for_completion(&sides[i].done);
		}
	}
	elapsed = local_clock() - start;
	lazyidle_idle_poll_get_stats(&sides[0].info, &stats[0]);
	lazyidle_idle_poll_get_stats(&sides[1].info, &stats[1]);
	pr_info("%s rounds=%u/%u waits=%llu polled=%llu parks=%llu wakes=%llu ns_per_round=%llu sleep_cost_ns=%llu/%llu\n",
		failed ? "FAIL" : "PASS",
		min(sides[0].rounds_done, sides[1].rounds_done), rounds,
		stats[0].waits + stats[1].waits, stats[0].polled + stats[1].polled,
		stats[0].parks + stats[1].parks, stats[0].wakes + stats[1].wakes,
		div_u64(elapsed, max(rounds, 1u)),
		stats[0].block_cost_ns, stats[1].block_cost_ns);
	return failed ? -ETIMEDOUT : 0;
}

static void __exit pingpong_exit(void)
{
}

module_init(pingpong_init);
module_exit(pingpong_exit);
MODULE_DESCRIPTION("lazyidle_idle_poll() ping-pong test");
MODULE_LICENSE("GPL");
