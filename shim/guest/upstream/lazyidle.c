// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * lazyidle.c - poll-or-halt cpuidle governor
 *
 * A CPU that goes idle can poll (state 0, CPUIDLE_FLAG_POLLING: it keeps
 * running and watches need_resched, so a wakeup costs nothing but the CPU
 * time spent) or halt (state 1: in a guest, a trap to the host and a
 * wakeup through it, whose cost is paid whatever the idle period's length).
 * Which is cheaper depends on how long the idle period will be, which is
 * not known in advance: this is ski rental. This governor polls for a
 * budget and then halts; the budget comes from lazyidle_algo.h, which
 * learns the distribution of recent idle periods (and whether short and
 * long ones come in phases) and picks the budget that would have cost
 * least on them, under a guard that keeps the total cost within 2.125
 * times the offline optimum on every sequence of idle periods.
 *
 * One idle period is one decision: select() decides on a poll budget and
 * sets dev->poll_limit_ns to it (a budget of 0 halts at once). When the
 * poll runs out (dev->poll_time_limit), the next select() of the same idle
 * period halts, and reflect() after the halt reports the whole period,
 * poll and halt, to the algorithm.
 *
 * B, the cost of halting, is the halt state's target residency (its
 * break-even point against polling) plus the measured wakeup lateness of
 * the halt: how far past the next timer event a halt that outlasted it
 * ended, as a 1/8 average. The lazyidle.block_cost_ns parameter fixes B
 * instead. States deeper than 1 are not used.
 */

#include <linux/cpuidle.h>
#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/percpu.h>
#include <linux/tick.h>

#include "lazyidle_algo.h"

#define LAZYIDLE_POLL_STATE		0
#define LAZYIDLE_HALT_STATE		1
/* B when the halt state advertises neither residency nor latency */
#define LAZYIDLE_DEFAULT_BLOCK_NS	(10 * NSEC_PER_USEC)
/* a halt ending later than this past its timer was not woken by it */
#define LAZYIDLE_MAX_LATENESS_NS	(1000 * NSEC_PER_USEC)
#define LAZYIDLE_LATENESS_SHIFT		3

struct lazyidle_device {
	struct lazyidle_gov gov;
	u64 polled_ns;		/* poll part of the idle period in progress */
	u64 bound_ns;		/* its next-timer bound */
	u64 lateness_ns;	/* average halt wakeup lateness */
	bool deciding;		/* an idle period with a decision is open */
	bool halting;		/* its poll ran out: the halt part follows */
};

static DEFINE_PER_CPU(struct lazyidle_device, lazyidle_devices);

/*
 * B in ns; 0: the halt state's target residency plus measured lateness.
 * At most 10 ms: B is also the longest poll, so an unbounded value would
 * let one write make every CPU spin for seconds per idle period.
 */
#define LAZYIDLE_MAX_BLOCK_COST_NS	(10 * NSEC_PER_MSEC)
static unsigned int block_cost_ns __read_mostly;

static int block_cost_ns_set(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 0, LAZYIDLE_MAX_BLOCK_COST_NS);
}

static const struct kernel_param_ops block_cost_ns_ops = {
	.set = block_cost_ns_set,
	.get = param_get_uint,
};
module_param_cb(block_cost_ns, &block_cost_ns_ops, &block_cost_ns, 0644);
MODULE_PARM_DESC(block_cost_ns, "Cost of halting in ns, at most 10000000 (0: measure)");

static u64 lazyidle_block_cost(struct cpuidle_driver *drv,
			       struct lazyidle_device *ld)
{
	struct cpuidle_state *halt = &drv->states[LAZYIDLE_HALT_STATE];
	u64 fixed = READ_ONCE(block_cost_ns);
	u64 block;

	if (fixed)
		return fixed;
	block = halt->target_residency_ns;
	if (!block)
		block = 2 * halt->exit_latency_ns;
	if (!block)
		block = LAZYIDLE_DEFAULT_BLOCK_NS;
	return block + ld->lateness_ns;
}

/**
 * lazyidle_select - poll for the learned budget, or halt
 * @drv: cpuidle driver containing state data
 * @dev: the CPU
 * @stop_tick: indication on whether or not to stop the tick
 */
static int lazyidle_select(struct cpuidle_driver *drv,
			   struct cpuidle_device *dev, bool *stop_tick)
{
	struct lazyidle_device *ld = this_cpu_ptr(&lazyidle_devices);
	s64 latency_req = cpuidle_governor_latency_req(dev->cpu);
	struct lazyidle_decision decision;
	ktime_t delta_tick;
	s64 sleep_ns;

	if (drv->state_count < 2 ||
	    !(drv->states[LAZYIDLE_POLL_STATE].flags & CPUIDLE_FLAG_POLLING) ||
	    dev->states_usage[LAZYIDLE_HALT_STATE].disable ||
	    drv->states[LAZYIDLE_HALT_STATE].exit_latency_ns > (u64)latency_req) {
		/* No choice to make: poll, and learn nothing from it */
		ld->deciding = false;
		ld->halting = false;
		*stop_tick = false;
		return LAZYIDLE_POLL_STATE;
	}

	if (ld->deciding && ld->halting)
		return LAZYIDLE_HALT_STATE;

	sleep_ns = ktime_to_ns(tick_nohz_get_sleep_length(&delta_tick));
	ld->bound_ns = sleep_ns > 0 ? sleep_ns : 0;
	decision = lazyidle_gov_select(&ld->gov, lazyidle_block_cost(drv, ld),
				       ld->bound_ns);
	ld->deciding = true;
	ld->halting = false;
	ld->polled_ns = 0;
	if (!decision.poll_budget_ns)
		return LAZYIDLE_HALT_STATE;

	dev->poll_limit_ns = decision.poll_budget_ns;
	*stop_tick = false;
	return LAZYIDLE_POLL_STATE;
}

/**
 * lazyidle_reflect - account the idle period once it is over
 * @dev: the CPU
 * @index: the index of actual entered state
 */
static void lazyidle_reflect(struct cpuidle_device *dev, int index)
{
	struct lazyidle_device *ld = this_cpu_ptr(&lazyidle_devices);
	u64 idle_ns, late_ns;

	dev->last_state_idx = index;
	if (!ld->deciding)
		return;
	if (index < 0) {
		ld->deciding = false;
		return;
	}
	if (index == LAZYIDLE_POLL_STATE && dev->poll_time_limit) {
		ld->polled_ns += dev->last_residency_ns;
		ld->halting = true;
		return;
	}

	idle_ns = ld->polled_ns + dev->last_residency_ns;
	if (index == LAZYIDLE_HALT_STATE && idle_ns > ld->bound_ns) {
		late_ns = idle_ns - ld->bound_ns;
		if (late_ns <= LAZYIDLE_MAX_LATENESS_NS)
			ld->lateness_ns = ld->lateness_ns -
				(ld->lateness_ns >> LAZYIDLE_LATENESS_SHIFT) +
				(late_ns >> LAZYIDLE_LATENESS_SHIFT);
	}
	lazyidle_gov_reflect(&ld->gov, idle_ns);
	ld->deciding = false;
	ld->halting = false;
}

/**
 * lazyidle_enable_device - start a CPU with nothing learned
 * @drv: cpuidle driver
 * @dev: the CPU
 */
static int lazyidle_enable_device(struct cpuidle_driver *drv,
				  struct cpuidle_device *dev)
{
	struct lazyidle_device *ld = per_cpu_ptr(&lazyidle_devices, dev->cpu);

	*ld = (struct lazyidle_device){};
	lazyidle_gov_init(&ld->gov);
	dev->poll_limit_ns = 0;
	return 0;
}

/**
 * lazyidle_disable_device - give the poll limit back to the default
 * @drv: cpuidle driver
 * @dev: the CPU
 */
static void lazyidle_disable_device(struct cpuidle_driver *drv,
				    struct cpuidle_device *dev)
{
	dev->poll_limit_ns = 0;
}

static struct cpuidle_governor lazyidle_governor = {
	.name =		"lazyidle",
	.rating =	8,
	.enable =	lazyidle_enable_device,
	.disable =	lazyidle_disable_device,
	.select =	lazyidle_select,
	.reflect =	lazyidle_reflect,
};

static int __init init_lazyidle(void)
{
	return cpuidle_register_governor(&lazyidle_governor);
}

postcore_initcall(init_lazyidle);
