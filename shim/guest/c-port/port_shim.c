// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Compiles the C port's decision core (lazyidle.h) as C, with the kernel's
 * type names, and exposes it to the replay test through an opaque pointer.
 * C, not C++, so the port is tested with the semantics it has in the kernel.
 */
typedef unsigned char u8;
typedef unsigned int u32;
typedef unsigned long long u64;

#include "lazyidle.h"

unsigned long port_core_size(void)
{
	return sizeof(struct lazyidle_gov_core);
}

void port_init(void *core)
{
	lazyidle_gov_init(core);
}

void port_select(void *core, u64 block_cost_ns, u64 bound_ns,
		 u64 *budget, u64 *expected, u32 *confidence)
{
	struct lazyidle_gov_decision decision = lazyidle_gov_select(core, block_cost_ns, bound_ns);

	*budget = decision.poll_budget_ns;
	*expected = decision.expected_ns;
	*confidence = decision.confidence_q10;
}

void port_observe(void *core, u64 idle_ns)
{
	lazyidle_gov_observe(core, idle_ns);
}

u64 port_median_step(u64 estimate, u64 sample)
{
	return lazyidle_median_step(estimate, sample);
}
