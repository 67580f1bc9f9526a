// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * The in-tree governor compiled as C against kernel-mock/ and driven like
 * kernel/sched/idle.c + drivers/cpuidle/poll_state.c of Linux 6.1 would:
 * the governor source is included as it is, so its static functions and
 * parameter are the ones under test.
 */
#include "lazyidle.c"

#include "governor_harness.h"

unsigned int lazyidle_mock_cpu;
static struct cpuidle_governor *registered;
static struct cpuidle_driver driver;
static struct cpuidle_device devices[LAZYIDLE_MOCK_NR_CPUS];
static s64 latency_req = 1000000000;
static ktime_t sleep_length = 1000000000;
static bool later_latency_set;
static s64 later_latency_req;

int cpuidle_register_governor(struct cpuidle_governor *gov)
{
	registered = gov;
	return 0;
}

s64 cpuidle_governor_latency_req(unsigned int cpu)
{
	return latency_req;
}

ktime_t tick_nohz_get_sleep_length(ktime_t *delta_next)
{
	*delta_next = sleep_length;
	return sleep_length;
}

int lazyidle_harness_init(unsigned long long halt_residency_ns, unsigned long long halt_exit_latency_ns)
{
	unsigned int cpu;
	int ret;

	if (!registered) {
		ret = lazyidle_mock_initcall();
		if (ret || !registered)
			return -1;
	}
	driver = (struct cpuidle_driver){
		.states = {
			{ .name = "POLL", .flags = CPUIDLE_FLAG_POLLING },
			{ .name = "HALT", .exit_latency_ns = halt_exit_latency_ns,
			  .target_residency_ns = halt_residency_ns },
		},
		.state_count = 2,
	};
	for (cpu = 0; cpu < LAZYIDLE_MOCK_NR_CPUS; cpu++) {
		devices[cpu] = (struct cpuidle_device){ .cpu = cpu, .poll_limit_ns = 12345 };
		ret = registered->enable(&driver, &devices[cpu]);
		if (ret)
			return ret;
	}
	lazyidle_mock_cpu = 0;
	block_cost_ns = 0;
	return 0;
}

void lazyidle_harness_set(long long latency_req_ns, long long sleep_length_ns, int halt_disabled,
			  unsigned int block_cost_param_ns)
{
	latency_req = latency_req_ns;
	sleep_length = sleep_length_ns;
	devices[lazyidle_mock_cpu].states_usage[1].disable = halt_disabled ? 1 : 0;
	block_cost_ns = block_cost_param_ns;
}

void lazyidle_harness_set_later_latency(int set, long long latency_req_ns)
{
	later_latency_set = set;
	later_latency_req = latency_req_ns;
}

void lazyidle_harness_set_cpu(unsigned int cpu)
{
	lazyidle_mock_cpu = cpu;
}

/* cpuidle_poll_time() of Linux 6.1, for a 2-state driver */
static u64 poll_time(struct cpuidle_device *dev)
{
	if (dev->poll_limit_ns)
		return dev->poll_limit_ns;
	return driver.states[1].target_residency_ns;
}

struct lazyidle_harness_idle lazyidle_harness_run_idle(unsigned long long idle_ns, int busy)
{
	struct cpuidle_device *dev = &devices[lazyidle_mock_cpu];
	struct lazyidle_harness_idle out = { .second_index = -1 };
	u64 remaining = idle_ns, limit;
	bool stop_tick;
	int index;

	while (out.selects < 1000) {
		stop_tick = true;
		index = registered->select(&driver, dev, &stop_tick);
		out.selects++;
		if (out.selects == 1) {
			out.first_index = index;
			out.first_stop_tick = stop_tick;
			out.poll_limit_ns = index == 0 ? dev->poll_limit_ns : 0;
		} else if (out.selects == 2) {
			out.second_index = index;
		}
		if (later_latency_set)	/* from the second select() on */
			latency_req = later_latency_req;
		if (busy) {	/* call_cpuidle(): need_resched before entering */
			dev->last_residency_ns = 0;
			registered->reflect(dev, -16);
			return out;
		}
		if (index == 0) {
			limit = poll_time(dev);
			dev->poll_time_limit = remaining > limit;
			dev->last_residency_ns = remaining > limit ? limit : remaining;
			remaining -= dev->last_residency_ns;
			registered->reflect(dev, index);
			if (!dev->poll_time_limit)
				return out;
			continue;	/* do_idle() loops: still no work */
		}
		dev->last_residency_ns = remaining;
		registered->reflect(dev, index);
		return out;
	}
	return out;
}

unsigned long long lazyidle_harness_lateness_ns(void)
{
	return this_cpu_ptr(&lazyidle_devices)->lateness_ns;
}

const char *lazyidle_harness_name(void)
{
	return registered ? registered->name : "";
}

unsigned int lazyidle_harness_rating(void)
{
	return registered ? registered->rating : 0;
}

void lazyidle_harness_disable(void)
{
	registered->disable(&driver, &devices[lazyidle_mock_cpu]);
}

unsigned long long lazyidle_harness_poll_limit_ns(void)
{
	return devices[lazyidle_mock_cpu].poll_limit_ns;
}
