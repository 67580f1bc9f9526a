/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * Userspace stand-ins for the parts of the kernel that
 * drivers/cpuidle/governors/lazyidle.c uses, so the governor glue itself can
 * be driven by tests/upstream/governor_harness.c. Field names and types
 * follow include/linux/cpuidle.h of Linux 6.1; only what lazyidle.c touches.
 */
#ifndef LAZYIDLE_MOCK_CPUIDLE_H
#define LAZYIDLE_MOCK_CPUIDLE_H

#include <linux/types.h>
#include <linux/ktime.h>

#define CPUIDLE_STATE_MAX	10
#define CPUIDLE_NAME_LEN	16
#define CPUIDLE_FLAG_POLLING	(1U << 0)

struct cpuidle_state {
	char name[CPUIDLE_NAME_LEN];
	unsigned int flags;
	u64 exit_latency_ns;
	u64 target_residency_ns;
};

struct cpuidle_state_usage {
	unsigned long long disable;
};

struct cpuidle_driver {
	struct cpuidle_state states[CPUIDLE_STATE_MAX];
	int state_count;
};

struct cpuidle_device {
	unsigned int poll_time_limit:1;
	unsigned int cpu;
	int last_state_idx;
	u64 last_residency_ns;
	u64 poll_limit_ns;
	struct cpuidle_state_usage states_usage[CPUIDLE_STATE_MAX];
};

struct cpuidle_governor {
	char name[CPUIDLE_NAME_LEN];
	unsigned int rating;
	int (*enable)(struct cpuidle_driver *drv, struct cpuidle_device *dev);
	void (*disable)(struct cpuidle_driver *drv, struct cpuidle_device *dev);
	int (*select)(struct cpuidle_driver *drv, struct cpuidle_device *dev, bool *stop_tick);
	void (*reflect)(struct cpuidle_device *dev, int index);
};

int cpuidle_register_governor(struct cpuidle_governor *gov);
s64 cpuidle_governor_latency_req(unsigned int cpu);

#endif
