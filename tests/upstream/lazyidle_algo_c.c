/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * The upstream C port (shim/guest/upstream/lazyidle_algo.h) compiled as C,
 * with kernel-like warnings, behind out-of-line functions the C++ replay
 * test calls. Nothing here computes anything itself.
 */
#include <linux/types.h>

#include "lazyidle_algo.h"
#include "lazyidle_algo_c.h"

unsigned int lazyidle_c_state_size(void)
{
	return sizeof(struct lazyidle_gov);
}

unsigned int lazyidle_c_state_align(void)
{
	return _Alignof(struct lazyidle_gov);
}

void lazyidle_c_init(void *gov)
{
	lazyidle_gov_init(gov);
}

struct lazyidle_c_decision lazyidle_c_select(void *gov, unsigned long long block_cost_ns,
					     unsigned long long bound_ns)
{
	struct lazyidle_decision d = lazyidle_gov_select(gov, block_cost_ns, bound_ns);
	struct lazyidle_c_decision out = { d.poll_budget_ns, d.expected_ns, d.confidence_q10 };

	return out;
}

void lazyidle_c_reflect(void *gov, unsigned long long idle_ns)
{
	lazyidle_gov_reflect(gov, idle_ns);
}

unsigned long long lazyidle_c_allowance_ns(const void *gov)
{
	return ((const struct lazyidle_gov *)gov)->allowance_ns;
}

unsigned int lazyidle_c_total(const void *gov)
{
	return ((const struct lazyidle_gov *)gov)->total;
}

unsigned int lazyidle_c_count(const void *gov, unsigned int bin)
{
	return ((const struct lazyidle_gov *)gov)->counts[bin];
}

unsigned int lazyidle_c_long_after_q8(const void *gov, unsigned int previous_long)
{
	return ((const struct lazyidle_gov *)gov)->long_after_q8[previous_long];
}

unsigned int lazyidle_c_bin_count(void)
{
	return LAZYIDLE_BIN_COUNT;
}

unsigned int lazyidle_c_bin_of(unsigned long long idle_ns)
{
	return lazyidle_bin_of(idle_ns);
}

unsigned int lazyidle_c_upper_edge(unsigned int bin)
{
	return lazyidle_upper_edge(bin);
}

unsigned int lazyidle_c_midpoint(unsigned int bin)
{
	return lazyidle_midpoint(bin);
}
