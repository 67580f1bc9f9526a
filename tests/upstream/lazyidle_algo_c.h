/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * Out-of-line entry points into shim/guest/upstream/lazyidle_algo.h,
 * compiled as C (lazyidle_algo_c.c), for the C++ replay test
 * tests/unit/test_upstream_equivalence.cpp. The state is opaque here so the
 * C++ side never compiles the C header itself.
 */
#ifndef LAZYIDLE_ALGO_C_H
#define LAZYIDLE_ALGO_C_H

#ifdef __cplusplus
extern "C" {
#endif

struct lazyidle_c_decision {
	unsigned long long poll_budget_ns;
	unsigned long long expected_ns;
	unsigned int confidence_q10;
};

/* Size and alignment of struct lazyidle_gov, for the caller's buffer. */
unsigned int lazyidle_c_state_size(void);
unsigned int lazyidle_c_state_align(void);

void lazyidle_c_init(void *gov);
struct lazyidle_c_decision lazyidle_c_select(void *gov, unsigned long long block_cost_ns,
					     unsigned long long bound_ns);
void lazyidle_c_reflect(void *gov, unsigned long long idle_ns);

/* State, to localise a divergence. */
unsigned long long lazyidle_c_allowance_ns(const void *gov);
unsigned int lazyidle_c_total(const void *gov);
unsigned int lazyidle_c_count(const void *gov, unsigned int bin);
unsigned int lazyidle_c_long_after_q8(const void *gov, unsigned int previous_long);

/* Bin layout. */
unsigned int lazyidle_c_bin_count(void);
unsigned int lazyidle_c_bin_of(unsigned long long idle_ns);
unsigned int lazyidle_c_upper_edge(unsigned int bin);
unsigned int lazyidle_c_midpoint(unsigned int bin);

#ifdef __cplusplus
}
#endif

#endif
