// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * The in-tree form of the policy hook of patch 2: the same four functions
 * as lazyidle_kvm.cpp, over the C port of the default governor
 * (shim/guest/upstream/lazyidle_algo.h, the file the upstream cpuidle
 * governor patch adds), because upstream Linux takes no C++. It includes
 * nothing but that header and virt/kvm/halt_poll_policy.h (both need only
 * <linux/types.h>), so a userspace test
 * (shim/host/tests/glue_equivalence.cpp) links it beside the C++ glue and
 * compares every window; scripts/test-host also compiles it with the
 * kernel's own flags next to the patched kvm.ko.
 *
 * Policy 2 (the C++ core's model of the 6.1 grow/shrink rules) checks the
 * C++ hook against stock KVM and has no C counterpart: this glue implements
 * policy 1 alone, and kvm.halt_poll_policy=2 is refused with -EINVAL.
 */
#include "halt_poll_policy.h"
#include "lazyidle_algo.h"

bool kvm_lazyidle_has_policy(unsigned int kind)
{
	return kind == 1;
}

unsigned int kvm_lazyidle_state_size(void)
{
	return sizeof(struct lazyidle_gov);
}

void kvm_lazyidle_init(void *state, unsigned int kind)
{
	lazyidle_gov_init(state);
}

/* The window for this halt, at most max_ns (halt_poll_ns). */
u64 kvm_lazyidle_select(void *state, u64 block_cost_ns, u64 max_ns,
			u64 bound_ns)
{
	u64 budget = lazyidle_gov_select(state, block_cost_ns,
					 bound_ns).poll_budget_ns;

	return budget < max_ns ? budget : max_ns;
}

/* idle_ns: from the halt to the wakeup event; halt_ns is not needed here. */
void kvm_lazyidle_reflect(void *state, u64 idle_ns, u64 halt_ns)
{
	lazyidle_gov_reflect(state, idle_ns);
}
