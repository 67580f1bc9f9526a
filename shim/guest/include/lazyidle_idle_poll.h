/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Lazy context switching for kernel waiters (the talk's third remedy,
 * "idle_poll"): a task that expects its wait to be short polls a condition
 * under lazyidle's poll policy instead of sleeping at once, so a waker that
 * arrives in time costs neither a wakeup nor two context switches. When the
 * budget runs out, or another task wants the CPU (need_resched), it sleeps
 * and lazyidle_idle_wake() brings it back.
 *
 * Same names and meaning as the userspace C API (include/lazyidle/c/
 * idle_poll.h), with a sleep in place of the futex park:
 *
 *   static int ready(void *data) { return READ_ONCE(*(int *)data); }
 *   struct lazyidle_idle_poll_info info = LAZYIDLE_IDLE_POLL_INFO_INIT(ready, &flag);
 *   lazyidle_idle_poll(&info);                   waiter: returns 0 once ready
 *   WRITE_ONCE(flag, 1); lazyidle_idle_wake(&info);   any other context
 *
 * poll(data) must be cheap and free of side effects: it runs many times while
 * polling and once more after every wakeup. One task waits on an info at a
 * time; any number may wake it; lazyidle_idle_wake() calls into the scheduler
 * only when the waiter sleeps. Zero-initialise the info (plus poll and data)
 * or use lazyidle_idle_poll_init(), and leave lazyidle_private alone.
 *
 * Lifetime: the info must stay valid until the last lazyidle_idle_wake() on
 * it has returned, not merely until its waiter returns: a waker reads and
 * writes the info (the rcuwait, the wake stamp, the counter) after making
 * poll() true, i.e. possibly after the waiter saw it and went on. Free it
 * only once no waker can still be calling (its wakers stopped or joined, or
 * after synchronize_rcu() when they call under rcu_read_lock()). The waiting
 * task itself may exit as soon as lazyidle_idle_poll() returns: wakers reach
 * it only through rcuwait, under RCU.
 */
#ifndef LAZYIDLE_IDLE_POLL_H
#define LAZYIDLE_IDLE_POLL_H

#include <linux/atomic.h>
#include <linux/rcuwait.h>
#include <linux/types.h>

#include "../lazyidle_core.h"

struct lazyidle_idle_poll_private {
	struct rcuwait wait;	/* the sleeping waiter, NULL when none */
	u64 wake_ns;
	u64 calib_samples;
	u64 waits;
	u64 polled;
	u64 parks;
	u64 timeouts;
	atomic64_t wakes;
	u64 block_cost_ns;
	struct lazyidle_gov_slot gov;
};

struct lazyidle_idle_poll_info {
	int (*poll)(void *data);	/* nonzero once the wait is over */
	void *data;
	struct lazyidle_idle_poll_private lazyidle_private;
};

#define LAZYIDLE_IDLE_POLL_INFO_INIT(poll_function, poll_data) \
	{ .poll = (poll_function), .data = (poll_data) }

/*
 * As the userspace struct: waits that found poll false, of those satisfied
 * while polling, sleeps ("parks"), wakeups that woke the sleeping waiter,
 * learned block cost B (ns); and sleeps that ended by the timeout.
 */
struct lazyidle_idle_poll_stats {
	u64 waits, polled, parks, wakes, block_cost_ns, timeouts;
};

void lazyidle_idle_poll_init(struct lazyidle_idle_poll_info *info,
			     int (*poll)(void *data), void *data);
/*
 * 0 once info->poll(info->data) returned nonzero; -EINVAL without info or
 * poll. May sleep (TASK_IDLE: no signals, not in the load average).
 */
int lazyidle_idle_poll(struct lazyidle_idle_poll_info *info);
/*
 * The same, giving up timeout_ns after the call (polling included):
 * -ETIMEDOUT when poll() was still false then.
 */
int lazyidle_idle_poll_timeout(struct lazyidle_idle_poll_info *info, u64 timeout_ns);
/*
 * Call after making poll true. True when this call woke the sleeping
 * waiter (and was counted in wakes), false when the waiter was not asleep
 * or another waker had woken it already.
 */
bool lazyidle_idle_wake(struct lazyidle_idle_poll_info *info);
void lazyidle_idle_poll_get_stats(const struct lazyidle_idle_poll_info *info,
				  struct lazyidle_idle_poll_stats *stats);

#endif
