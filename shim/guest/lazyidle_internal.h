/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared between the C files of lazyidle.ko: the knobs (module parameters,
 * owned by lazyidle_main.c) that the cpuidle driver and the idle_poll API
 * both obey, so one policy setting governs both kinds of waiting.
 */
#ifndef LAZYIDLE_INTERNAL_H
#define LAZYIDLE_INTERNAL_H

#include <linux/types.h>
#include <linux/compiler.h>

#include "lazyidle_core.h"

enum lazyidle_policy {
	LAZYIDLE_POLICY_CORE,	/* budget from the core's default governor */
	LAZYIDLE_POLICY_HALT,	/* never poll: the baseline the talk measured */
	LAZYIDLE_POLICY_POLL,	/* always poll up to guest_halt_poll_ns */
	LAZYIDLE_POLICY_AUGMENTED,	/* prediction-augmented, trust lambda */
};

/*
 * unsigned int, so the setters are the kernel's param_set_uint_minmax();
 * every range fits (the largest bound is 100 ms in ns).
 */
struct lazyidle_knob {
	unsigned int value;
	unsigned int min;
	unsigned int max;
};

extern struct lazyidle_knob lazyidle_poll_limit_ns;
extern struct lazyidle_knob lazyidle_block_cost_ns;
extern struct lazyidle_knob lazyidle_calib_shift;
extern struct lazyidle_knob lazyidle_calib_max_ns;
extern struct lazyidle_knob lazyidle_lambda_min_permille;
extern struct lazyidle_knob lazyidle_lambda_max_permille;
extern int lazyidle_policy;
/* Bumped when a knob changes what a governor is built from. */
extern unsigned int lazyidle_gov_generation;

static inline u64 lazyidle_knob_get(const struct lazyidle_knob *knob)
{
	return READ_ONCE(knob->value);
}

static inline unsigned int lazyidle_policy_kind(void)
{
	return READ_ONCE(lazyidle_policy) == LAZYIDLE_POLICY_AUGMENTED ?
		LAZYIDLE_GOV_AUGMENTED : LAZYIDLE_GOV_DEFAULT;
}

static inline unsigned int lazyidle_permille_to_q10(u64 permille)
{
	u64 q10 = permille * 1024 / 1000;

	return q10 ? q10 : 1;
}

/*
 * Rebuild a governor whose kind or knobs are stale; true when it did. Done
 * by the slot's only user (its CPU, or its waiter), so no lock: a knob write
 * takes effect at each slot's next decision. Nobody else may read the slot:
 * a rebuild rewrites the blob and the kind one after the other, so a reader
 * on another CPU can pair one kind with the other's bytes (issue 12: the
 * augmented policy's worst case then divides by a zero lambda). What others
 * need is published by the owner from its own consistent view
 * (lazyidle_main.c, struct lazyidle_cpu.gov_summary).
 */
static inline bool lazyidle_gov_refresh(struct lazyidle_gov_slot *slot)
{
	unsigned int generation = READ_ONCE(lazyidle_gov_generation);
	unsigned int kind = lazyidle_policy_kind();

	if (likely(slot->generation == generation && slot->kind == kind))
		return false;
	lazyidle_core_gov_init(&slot->blob, kind,
		lazyidle_permille_to_q10(lazyidle_knob_get(&lazyidle_lambda_min_permille)),
		lazyidle_permille_to_q10(lazyidle_knob_get(&lazyidle_lambda_max_permille)));
	slot->kind = kind;
	slot->generation = generation;
	return true;
}

/* The budget the active policy allows for a core decision. */
static inline u64 lazyidle_policy_budget(u64 core_budget_ns)
{
	u64 limit = lazyidle_knob_get(&lazyidle_poll_limit_ns);

	switch (READ_ONCE(lazyidle_policy)) {
	case LAZYIDLE_POLICY_HALT:
		return 0;
	case LAZYIDLE_POLICY_POLL:
		return limit;
	default:
		return core_budget_ns < limit ? core_budget_ns : limit;
	}
}

#endif
