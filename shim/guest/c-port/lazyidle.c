// SPDX-License-Identifier: GPL-2.0
/*
 * lazyidle.c - poll-then-halt idle governor with a measured halt cost
 *
 * For guests, where the deep state is a trap to the host whose cost is not
 * known in advance. Each idle period is split in two: first the polling
 * state (state 0, TIF_POLLING set, so a waker needs no IPI and the guest no
 * VM exit) for a budget, then, if the budget ran out, the halt state
 * (state 1) for the rest of the same period.
 *
 * The budget comes from lazyidle.h, a port of the lazyidle library's default
 * governor (kept identical to it by a replay test): the poll budget that
 * would have cost least on the recent idles under the ski-rental cost model
 * (an idle y within the budget T costs y, a longer one T + B), guarded so
 * that its total cost never exceeds 2.125 times that of an oracle knowing
 * every idle length.
 *
 * B, the cost of a halt, is measured, not guessed: after a halt that was
 * supposed to end at the next timer, the lateness of the wakeup against that
 * timer is what the trap round trip costs this guest; B is the running
 * median of those samples (block_cost_ns until the first one).
 *
 * Terms: an idle period is everything between two exits from the idle loop
 * to a task; it may consist of a poll that timed out plus a halt, and the
 * governor learns the whole of it.
 */

#include <linux/cpuidle.h>
#include <linux/kernel.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/percpu.h>
#include <linux/tick.h>

#include "lazyidle.h"

/* Same meaning as the haltpoll governor's knob: the longest poll. */
static unsigned int guest_halt_poll_ns __read_mostly = 200000;
module_param(guest_halt_poll_ns, uint, 0644);

/* B before the first measurement. */
static unsigned int block_cost_ns __read_mostly = 20000;
module_param(block_cost_ns, uint, 0644);

/* Lateness samples above this are outliers (host preemption), not B. */
static unsigned int calib_max_ns __read_mostly = 2000000;
module_param(calib_max_ns, uint, 0644);

struct lazyidle_device {
	struct lazyidle_gov_core core;
	u64 block_cost_ns;	/* running median of wake lateness, 0 = none */
	u64 idle_ns;		/* poll + halt time of the current idle period */
	u64 halt_deadline_ns;	/* next timer when halting with the tick off */
	bool continuing;	/* the poll timed out: same idle period, halt now */
};

static DEFINE_PER_CPU(struct lazyidle_device, lazyidle_devices);

static u64 lazyidle_block_cost(const struct lazyidle_device *ld)
{
	return ld->block_cost_ns ? ld->block_cost_ns : block_cost_ns;
}

static int lazyidle_halt(struct lazyidle_device *ld, bool *stop_tick)
{
	ktime_t delta_tick;
	s64 sleep_ns = ktime_to_ns(tick_nohz_get_sleep_length(&delta_tick));

	*stop_tick = true;
	ld->halt_deadline_ns = ktime_get_ns() + sleep_ns;
	return 1;
}

/**
 * lazyidle_select - poll for the break-even budget, or halt once it ran out
 * @drv: cpuidle driver containing state data
 * @dev: the CPU
 * @stop_tick: indication on whether or not to stop the tick
 */
static int lazyidle_select(struct cpuidle_driver *drv,
			   struct cpuidle_device *dev, bool *stop_tick)
{
	struct lazyidle_device *ld = this_cpu_ptr(&lazyidle_devices);
	s64 latency_req = cpuidle_governor_latency_req(dev->cpu);
	struct lazyidle_gov_decision decision;
	ktime_t delta_tick;
	u64 bound, budget;

	if (drv->state_count < 2 || latency_req == 0 ||
	    dev->states_usage[1].disable ||
	    drv->states[1].exit_latency_ns > (u64)latency_req) {
		*stop_tick = false;
		return 0;
	}
	if (ld->continuing)
		return lazyidle_halt(ld, stop_tick);

	bound = ktime_to_ns(tick_nohz_get_sleep_length(&delta_tick));
	decision = lazyidle_gov_select(&ld->core, lazyidle_block_cost(ld), bound);
	budget = min_t(u64, decision.poll_budget_ns, guest_halt_poll_ns);
	if (!budget)
		return lazyidle_halt(ld, stop_tick);

	dev->poll_limit_ns = budget;
	*stop_tick = false;
	return 0;
}

/**
 * lazyidle_reflect - learn from the state just left
 * @dev: the CPU
 * @index: the index of actual entered state
 */
static void lazyidle_reflect(struct cpuidle_device *dev, int index)
{
	struct lazyidle_device *ld = this_cpu_ptr(&lazyidle_devices);

	dev->last_state_idx = index;
	ld->idle_ns += dev->last_residency_ns;

	if (index == 0 && dev->poll_time_limit) {
		ld->continuing = true;
		return;
	}
	if (index > 0 && ld->halt_deadline_ns) {
		u64 now = ktime_get_ns();

		if (now >= ld->halt_deadline_ns &&
		    now - ld->halt_deadline_ns <= calib_max_ns) {
			u64 lateness = now - ld->halt_deadline_ns;

			ld->block_cost_ns = ld->block_cost_ns ?
				lazyidle_median_step(ld->block_cost_ns, lateness) :
				max_t(u64, lateness, 1);
		}
		ld->halt_deadline_ns = 0;
	}
	lazyidle_gov_observe(&ld->core, ld->idle_ns);
	ld->idle_ns = 0;
	ld->continuing = false;
}

/**
 * lazyidle_enable_device - start a CPU with no history
 * @drv: cpuidle driver
 * @dev: the CPU
 */
static int lazyidle_enable_device(struct cpuidle_driver *drv,
				  struct cpuidle_device *dev)
{
	struct lazyidle_device *ld = per_cpu_ptr(&lazyidle_devices, dev->cpu);

	memset(ld, 0, sizeof(*ld));
	lazyidle_gov_init(&ld->core);
	dev->poll_limit_ns = 0;
	return 0;
}

static struct cpuidle_governor lazyidle_governor = {
	.name =			"lazyidle",
	.rating =		9,
	.enable =		lazyidle_enable_device,
	.select =		lazyidle_select,
	.reflect =		lazyidle_reflect,
};

static int __init init_lazyidle(void)
{
	return cpuidle_register_governor(&lazyidle_governor);
}

postcore_initcall(init_lazyidle);
