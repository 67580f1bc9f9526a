/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * Drives the in-tree governor glue (shim/guest/upstream/lazyidle.c, compiled
 * as C against the stand-ins in kernel-mock/) the way Linux 6.1's idle loop
 * does: select(), the poll state's time limit, select() again after a poll
 * that ran out, reflect() after each state. For tests/unit/test_upstream_governor.cpp.
 */
#ifndef LAZYIDLE_GOVERNOR_HARNESS_H
#define LAZYIDLE_GOVERNOR_HARNESS_H

#ifdef __cplusplus
extern "C" {
#endif

struct lazyidle_harness_idle {
	int first_index;			/* what the first select() chose */
	int first_stop_tick;
	unsigned long long poll_limit_ns;	/* dev->poll_limit_ns when it chose to poll */
	int second_index;			/* select() after the poll ran out; -1: none */
	int selects;				/* select() calls in the idle period */
};

/* A driver with POLL (state 0) and HALT (state 1); CPU cpu enabled. */
int lazyidle_harness_init(unsigned long long halt_residency_ns, unsigned long long halt_exit_latency_ns);
void lazyidle_harness_set(long long latency_req_ns, long long sleep_length_ns, int halt_disabled,
			  unsigned int block_cost_param_ns);
/* One idle period of idle_ns on the current CPU; busy: the CPU had work (-EBUSY). */
struct lazyidle_harness_idle lazyidle_harness_run_idle(unsigned long long idle_ns, int busy);
/* PM QoS latency limit from the second select() of an idle period on (set: 1), e.g. 0 mid-period. */
void lazyidle_harness_set_later_latency(int set, long long latency_req_ns);
void lazyidle_harness_set_cpu(unsigned int cpu);
unsigned long long lazyidle_harness_lateness_ns(void);
const char *lazyidle_harness_name(void);
unsigned int lazyidle_harness_rating(void);
void lazyidle_harness_disable(void);
unsigned long long lazyidle_harness_poll_limit_ns(void);

#ifdef __cplusplus
}
#endif

#endif
