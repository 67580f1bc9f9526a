/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * lazyidle decision core, in C: a port of the lazyidle library's default
 * governor for the in-tree governor, since the kernel takes no C++. It is
 * free of kernel headers so a userspace replay test can feed the same idle
 * periods to this port and to the C++ core and compare every decision;
 * keep the two identical (names below follow the C++ ones).
 *
 * The default governor is the distribution threshold policy, which keeps
 * its own histogram of recent idles and predicts from it:
 *
 * Histogram: 39 log-spaced u8 bins (one below 1 us, four per octave from
 * 1 us to 262 us, one per octave up to 8.4 ms, one open-ended), halved when
 * the total reaches 255, halving rounding up in alternate bins.
 *
 * Budget: the poll budget T that would have cost least on the remembered
 * idles under the cost model (an idle y <= T costs y, a longer one T + B);
 * when P(long | previous long) and P(long | previous short) differ by a
 * quarter or more, the histogram is reweighted for the mix expected after
 * the previous idle. A next-timer bound at or below B makes the budget B.
 *
 * Guard: an allowance A (what the policy saved against break-even, plus a
 * 1/16 tithe, capped at 16 B) must cover what T can lose against
 * break-even on the worst idle; otherwise the budget falls back toward B.
 * This keeps sum(cost) <= 2.125 * sum(OPT) on every prefix of every idle
 * sequence.
 *
 * Cache: the histogram scan is most of a decision's cost and its answer
 * barely moves, so learned thresholds are kept as 7-bit codes (one per
 * class of the previous idle) and rescanned every 16th idle or when B moves
 * to another split bin; the guard always runs on the current B.
 */
#ifndef __LAZYIDLE_GOVERNOR_CORE_H
#define __LAZYIDLE_GOVERNOR_CORE_H

#define LAZYIDLE_NO_BOUND	(~0ULL)
#define LAZYIDLE_U32_MAX	(~0U)
#define LAZYIDLE_Q10_ONE	1024U

#define LAZYIDLE_FINE_FIRST_LOG2	10
#define LAZYIDLE_FINE_END_LOG2		18
#define LAZYIDLE_SUB_BINS_LOG2		2
#define LAZYIDLE_LOW_BINS		1
#define LAZYIDLE_FINE_BINS \
	((LAZYIDLE_FINE_END_LOG2 - LAZYIDLE_FINE_FIRST_LOG2) << LAZYIDLE_SUB_BINS_LOG2)
#define LAZYIDLE_BIN_COUNT		(LAZYIDLE_LOW_BINS + LAZYIDLE_FINE_BINS + 6)
#define LAZYIDLE_LAST_BIN		(LAZYIDLE_BIN_COUNT - 1)
#define LAZYIDLE_MAX_TOTAL		255
#define LAZYIDLE_TITHE_SHIFT		4
#define LAZYIDLE_ALLOWANCE_CAP_IN_B	16
#define LAZYIDLE_PERSISTENCE_GATE_Q8	64
#define LAZYIDLE_REFRESH_PERIOD		16
#define LAZYIDLE_ALLOWANCE_MAX_NS	((1ULL << 26) - 1)
/*
 * Threshold codes: bits 0-5 hold 0 for T = 0 or 1 + i for T = upper edge
 * of bin i; bit 6 adds B.
 */
#define LAZYIDLE_CODE_BIN_MASK		0x3fU
#define LAZYIDLE_CODE_PLUS_BLOCK	0x40U

struct lazyidle_gov_core {
	/* distribution threshold policy */
	u32 allowance_ns;	/* < 2^26 */
	u8 cache_key;		/* 1 + the split bin the codes are for; 0: none */
	u8 counts[LAZYIDLE_BIN_COUNT];
	u8 total;
	u8 halving_parity;
	u8 after_long_code;
	u8 after_short_code;
	u8 previous_long;
	u8 long_after_q8[2];
	/* the governor's record of its last decision, saturated to u32 */
	u32 last_budget_ns;
	u32 last_block_cost_ns;
	u32 last_bound_ns;
	u32 last_expected_ns;
};

struct lazyidle_gov_decision {
	u64 poll_budget_ns;
	u64 expected_ns;
	u32 confidence_q10;
};

/* ---- arithmetic (arith.hpp) ------------------------------------------- */

static inline u64 lazyidle_min(u64 a, u64 b)
{
	return b < a ? b : a;
}

static inline u64 lazyidle_sat_add(u64 a, u64 b)
{
	u64 sum;

	return __builtin_add_overflow(a, b, &sum) ? LAZYIDLE_NO_BOUND : sum;
}

static inline u64 lazyidle_sat_sub(u64 a, u64 b)
{
	return a > b ? a - b : 0;
}

static inline u64 lazyidle_sat_mul(u64 a, u64 b)
{
	u64 product;

	return __builtin_mul_overflow(a, b, &product) ? LAZYIDLE_NO_BOUND : product;
}

static inline u32 lazyidle_sat_u32(u64 v)
{
	return v > LAZYIDLE_U32_MAX ? LAZYIDLE_U32_MAX : (u32)v;
}

static inline u32 lazyidle_log2_floor(u64 v)
{
	return v ? 63U - (u32)__builtin_clzll(v) : 0U;
}

/* a * b / c rounded down, u64 max when it does not fit or c == 0. */
static inline u64 lazyidle_mul_div(u64 a, u64 b, u64 c)
{
	unsigned __int128 wide;
	u64 product, high, low, quotient = 0;
	int bit;

	if (c == 0)
		return LAZYIDLE_NO_BOUND;
	if (!__builtin_mul_overflow(a, b, &product))
		return product / c;
	wide = (unsigned __int128)a * b;
	high = (u64)(wide >> 64);
	low = (u64)wide;
	if (high >= c)
		return LAZYIDLE_NO_BOUND;
	/* Restoring long division: no __udivti3 in the kernel. */
	for (bit = 63; bit >= 0; --bit) {
		int carry = (high >> 63) != 0;

		high = (high << 1) | ((low >> bit) & 1U);
		quotient <<= 1;
		if (carry || high >= c) {
			high -= c;
			quotient |= 1U;
		}
	}
	return quotient;
}

/* ---- histogram (predictor/histogram.hpp) ------------------------------ */

static inline u32 lazyidle_bin_of(u64 idle_ns)
{
	u32 octave, sub;

	if (idle_ns < (1ULL << LAZYIDLE_FINE_FIRST_LOG2))
		return 0;
	octave = lazyidle_log2_floor(idle_ns);
	if (octave < LAZYIDLE_FINE_END_LOG2) {
		sub = (u32)(idle_ns >> (octave - LAZYIDLE_SUB_BINS_LOG2)) &
		      ((1U << LAZYIDLE_SUB_BINS_LOG2) - 1);
		return LAZYIDLE_LOW_BINS +
		       ((octave - LAZYIDLE_FINE_FIRST_LOG2) << LAZYIDLE_SUB_BINS_LOG2) + sub;
	}
	return (u32)lazyidle_min(LAZYIDLE_LOW_BINS + LAZYIDLE_FINE_BINS +
				 (octave - LAZYIDLE_FINE_END_LOG2), LAZYIDLE_LAST_BIN);
}

static inline u64 lazyidle_lower_edge(u32 bin)
{
	u32 octave;
	u64 sub;

	if (bin < LAZYIDLE_LOW_BINS)
		return 0;
	if (bin < LAZYIDLE_LOW_BINS + LAZYIDLE_FINE_BINS) {
		octave = LAZYIDLE_FINE_FIRST_LOG2 +
			 ((bin - LAZYIDLE_LOW_BINS) >> LAZYIDLE_SUB_BINS_LOG2);
		sub = (bin - LAZYIDLE_LOW_BINS) & ((1U << LAZYIDLE_SUB_BINS_LOG2) - 1);
		return (1ULL << octave) + (sub << (octave - LAZYIDLE_SUB_BINS_LOG2));
	}
	return 1ULL << (LAZYIDLE_FINE_END_LOG2 +
			(bin - LAZYIDLE_LOW_BINS - LAZYIDLE_FINE_BINS));
}

static inline u64 lazyidle_upper_edge(u32 bin)
{
	return bin < LAZYIDLE_LAST_BIN ? lazyidle_lower_edge(bin + 1) : LAZYIDLE_NO_BOUND;
}

static inline u64 lazyidle_representative(u32 bin)
{
	u64 lower = lazyidle_lower_edge(bin);

	return bin < LAZYIDLE_LAST_BIN ?
	       lower + (lazyidle_upper_edge(bin) - lower) / 2 : 2 * lower;
}

static inline void lazyidle_hist_halve(struct lazyidle_gov_core *core)
{
	u32 bin, total = 0;

	for (bin = 0; bin < LAZYIDLE_BIN_COUNT; ++bin) {
		u32 round_up = (bin + core->halving_parity) & 1U;

		core->counts[bin] = (u8)((core->counts[bin] + round_up) >> 1);
		total += core->counts[bin];
	}
	core->total = (u8)total;
	core->halving_parity ^= 1;
}

static inline void lazyidle_hist_observe(struct lazyidle_gov_core *core, u64 idle_ns)
{
	if (core->total >= LAZYIDLE_MAX_TOTAL)
		lazyidle_hist_halve(core);
	core->counts[lazyidle_bin_of(idle_ns)] += 1;
	core->total += 1;
}

static inline u64 lazyidle_hist_quantile(const struct lazyidle_gov_core *core, u32 q10)
{
	u64 target, below = 0, count, lower, width;
	u32 bin;

	if (core->total == 0)
		return 0;
	target = lazyidle_min(q10, LAZYIDLE_Q10_ONE) * (u64)core->total;
	for (bin = 0; bin < LAZYIDLE_BIN_COUNT; ++bin) {
		count = (u64)core->counts[bin] * LAZYIDLE_Q10_ONE;
		if (count == 0)
			continue;
		if (below + count >= target) {
			lower = lazyidle_lower_edge(bin);
			width = bin < LAZYIDLE_LAST_BIN ?
				lazyidle_upper_edge(bin) - lower : lower;
			return lower + lazyidle_mul_div(width, target - below, count);
		}
		below += count;
	}
	return lazyidle_representative(LAZYIDLE_LAST_BIN);
}

/* Share of the mass within two bins of the median's, discounted below 32 idles. */
static inline u32 lazyidle_hist_concentration(const struct lazyidle_gov_core *core,
					      u32 median_bin)
{
	u32 bin, near = 0;
	u64 share;

	for (bin = median_bin >= 2 ? median_bin - 2 : 0;
	     bin <= median_bin + 2 && bin < LAZYIDLE_BIN_COUNT; ++bin)
		near += core->counts[bin];
	share = lazyidle_mul_div(near, LAZYIDLE_Q10_ONE, core->total);
	return (u32)lazyidle_mul_div(share, lazyidle_min(core->total, 32), 32);
}

static inline u32 lazyidle_hist_count_between(const struct lazyidle_gov_core *core,
					      u32 first, u32 last)
{
	u32 bin, sum = 0;

	for (bin = first; bin < last && bin < LAZYIDLE_BIN_COUNT; ++bin)
		sum += core->counts[bin];
	return sum;
}

/*
 * Prices T = 0 and every bin's upper edge; the cheapest wins, ties the
 * smaller. Returns a threshold code.
 */
static inline u32 lazyidle_hist_scan(const struct lazyidle_gov_core *core,
				     u64 block_cost_ns, u32 split_bin,
				     u32 below_weight, u32 above_weight,
				     u64 weighted_total)
{
	u64 block = lazyidle_min(block_cost_ns, 1ULL << 32);
	u64 best_cost = block * weighted_total;
	u64 polled_cost = 0, polled = 0;
	u32 bin, best = 0;

	for (bin = 0; bin < LAZYIDLE_LAST_BIN; ++bin) {
		u64 weight = (u64)core->counts[bin] *
			     (bin < split_bin ? below_weight : above_weight);
		u64 upper = lazyidle_upper_edge(bin);
		u64 cost;

		polled += weight;
		polled_cost += weight * lazyidle_representative(bin);
		cost = polled_cost + (upper + block) * (weighted_total - polled);
		if (cost < best_cost) {
			best_cost = cost;
			best = bin + 1;
		}
	}
	/* Polled through every remembered idle: B past the longest one seen. */
	if (best != 0 && polled == weighted_total && best_cost == polled_cost)
		best |= LAZYIDLE_CODE_PLUS_BLOCK;
	return best;
}

static inline u64 lazyidle_decode_threshold(u32 code, u64 block_cost_ns)
{
	u32 bin_code = code & LAZYIDLE_CODE_BIN_MASK;
	u64 threshold = bin_code == 0 ? 0 : lazyidle_upper_edge(bin_code - 1);

	return code & LAZYIDLE_CODE_PLUS_BLOCK ?
	       lazyidle_sat_add(threshold, block_cost_ns) : threshold;
}

static inline u32 lazyidle_hist_best_code(const struct lazyidle_gov_core *core,
					  u64 block_cost_ns)
{
	if (core->total == 0)
		return LAZYIDLE_CODE_PLUS_BLOCK;
	return lazyidle_hist_scan(core, block_cost_ns, 0, 1, 1, core->total);
}

static inline u32 lazyidle_hist_best_code_for_mix(const struct lazyidle_gov_core *core,
						  u64 block_cost_ns, u32 split_bin,
						  u32 above_q8)
{
	u32 below = lazyidle_hist_count_between(core, 0, split_bin);
	u32 above = core->total - below;
	u32 below_weight, above_weight;
	u64 weighted_total;

	if (below == 0 || above == 0)
		return lazyidle_hist_best_code(core, block_cost_ns);
	above_q8 = (u32)lazyidle_min(above_q8, 256);
	below_weight = (256 - above_q8) * above;
	above_weight = above_q8 * below;
	weighted_total = (u64)below_weight * below + (u64)above_weight * above;
	if (weighted_total == 0)
		return LAZYIDLE_CODE_PLUS_BLOCK;
	return lazyidle_hist_scan(core, block_cost_ns, split_bin, below_weight,
				  above_weight, weighted_total);
}

/* ---- distribution threshold (policy/distribution_threshold.hpp) ------- */

static inline u64 lazyidle_decision_cost(u64 idle_ns, u64 budget_ns, u64 block_cost_ns)
{
	return idle_ns <= budget_ns ? idle_ns : lazyidle_sat_add(budget_ns, block_cost_ns);
}

/* The bin from which idles count as long (> B): B's bin is short when most of it lies below B. */
static inline u32 lazyidle_split_of(u64 block_cost_ns)
{
	u32 boundary = lazyidle_bin_of(block_cost_ns);

	return boundary + (lazyidle_representative(boundary) < block_cost_ns ? 1 : 0);
}

/* Do P(long | previous long) and P(long | previous short) differ enough? */
static inline int lazyidle_persistent(const struct lazyidle_gov_core *core)
{
	u32 after_short = core->long_after_q8[0], after_long = core->long_after_q8[1];
	u32 persistence = after_long > after_short ? after_long - after_short :
						     after_short - after_long;

	return persistence >= LAZYIDLE_PERSISTENCE_GATE_Q8;
}

/* The histogram's best threshold, as a code, for either class of previous idle. */
static inline u32 lazyidle_learned_code(const struct lazyidle_gov_core *core,
					u64 block_cost_ns, u32 previous_long)
{
	if (!lazyidle_persistent(core))
		return lazyidle_hist_best_code(core, block_cost_ns);
	return lazyidle_hist_best_code_for_mix(core, block_cost_ns,
					       lazyidle_split_of(block_cost_ns),
					       core->long_after_q8[previous_long]);
}

/* The learned threshold as of the last cache refresh, or a fresh scan for another split. */
static inline u64 lazyidle_cached_threshold(const struct lazyidle_gov_core *core,
					    u64 block_cost_ns)
{
	u32 code;

	if (core->cache_key == lazyidle_split_of(block_cost_ns) + 1)
		code = core->previous_long ? core->after_long_code : core->after_short_code;
	else
		code = lazyidle_learned_code(core, block_cost_ns, core->previous_long);
	return lazyidle_decode_threshold(code, block_cost_ns);
}

/* Rescan every 16th idle, or when B moved to another split bin. */
static inline void lazyidle_refresh_cache(struct lazyidle_gov_core *core, u64 block_cost_ns)
{
	u32 key = lazyidle_split_of(block_cost_ns) + 1;
	u32 after_short, after_long;

	if (core->total == 0) {
		core->cache_key = 0;
		return;
	}
	if (key == core->cache_key && core->total % LAZYIDLE_REFRESH_PERIOD != 0)
		return;
	after_short = lazyidle_learned_code(core, block_cost_ns, 0);
	after_long = lazyidle_persistent(core) ?
		     lazyidle_learned_code(core, block_cost_ns, 1) : after_short;
	core->after_short_code = (u8)(after_short & 0x7f);
	core->after_long_code = (u8)(after_long & 0x7f);
	core->cache_key = (u8)(key & 0x3f);
}

/* 16 B, and no more than the 26 bits the allowance is kept in. */
static inline u64 lazyidle_allowance_cap_ns(u64 block_cost_ns)
{
	return lazyidle_min(lazyidle_sat_mul(block_cost_ns, LAZYIDLE_ALLOWANCE_CAP_IN_B),
			    LAZYIDLE_ALLOWANCE_MAX_NS);
}

static inline u64 lazyidle_guarded(const struct lazyidle_gov_core *core,
				   u64 learned_ns, u64 block_cost_ns)
{
	u64 usable = lazyidle_min(core->allowance_ns, lazyidle_allowance_cap_ns(block_cost_ns));

	if (learned_ns < block_cost_ns)
		return usable >= block_cost_ns ? learned_ns : block_cost_ns;
	return lazyidle_min(learned_ns, lazyidle_sat_add(block_cost_ns, usable));
}

static inline u8 lazyidle_step_toward(u8 probability_q8, int target_q8)
{
	int delta = target_q8 - probability_q8;
	int next = probability_q8 + (delta + (delta < 0 ? -8 : 8)) / 16;

	return (u8)(next < 0 ? 0 : (next > 255 ? 255 : next));
}

/* ---- governor (governor.hpp with Predictor = void) -------------------- */

static inline void lazyidle_gov_init(struct lazyidle_gov_core *core)
{
	*core = (struct lazyidle_gov_core){
		.long_after_q8 = { 128, 128 },
		.last_bound_ns = LAZYIDLE_U32_MAX,
	};
}

static inline struct lazyidle_gov_decision
lazyidle_gov_select(struct lazyidle_gov_core *core, u64 block_cost_ns, u64 bound_ns)
{
	struct lazyidle_gov_decision decision = { 0, bound_ns, 0 };
	u64 learned;

	if (core->total) {
		u64 median = lazyidle_hist_quantile(core, LAZYIDLE_Q10_ONE / 2);

		decision.expected_ns = lazyidle_min(median, bound_ns);
		decision.confidence_q10 =
			lazyidle_hist_concentration(core, lazyidle_bin_of(median));
	}
	if (bound_ns != LAZYIDLE_NO_BOUND && bound_ns <= block_cost_ns)
		learned = block_cost_ns;
	else
		learned = lazyidle_cached_threshold(core, block_cost_ns);
	decision.poll_budget_ns = lazyidle_guarded(core, learned, block_cost_ns);

	core->last_budget_ns = lazyidle_sat_u32(decision.poll_budget_ns);
	core->last_block_cost_ns = lazyidle_sat_u32(block_cost_ns);
	core->last_bound_ns = lazyidle_sat_u32(bound_ns);
	core->last_expected_ns = lazyidle_sat_u32(decision.expected_ns);
	return decision;
}

/* @idle_ns: the whole idle period that followed the last select(), polling included. */
static inline void lazyidle_gov_observe(struct lazyidle_gov_core *core, u64 idle_ns)
{
	u64 budget = core->last_budget_ns == LAZYIDLE_U32_MAX ?
		     LAZYIDLE_NO_BOUND : core->last_budget_ns;
	u64 block = core->last_block_cost_ns;
	u32 was_long = idle_ns > block ? 1 : 0;
	u64 break_even_cost, paid, earned;

	lazyidle_hist_observe(core, idle_ns);
	core->long_after_q8[core->previous_long] =
		lazyidle_step_toward(core->long_after_q8[core->previous_long],
				     was_long ? 256 : 0);
	core->previous_long = (u8)was_long;
	break_even_cost = lazyidle_decision_cost(idle_ns, block, block);
	paid = lazyidle_decision_cost(idle_ns, budget, block);
	earned = lazyidle_sat_add(core->allowance_ns,
				  lazyidle_sat_add(break_even_cost,
						   break_even_cost >> LAZYIDLE_TITHE_SHIFT));
	earned = lazyidle_min(lazyidle_sat_sub(earned, paid),
			      lazyidle_allowance_cap_ns(block));
	core->allowance_ns = (u32)earned & (u32)LAZYIDLE_ALLOWANCE_MAX_NS;
	lazyidle_refresh_cache(core, block);
}

/*
 * One step of the running median of the halt wake lateness (the measured
 * block cost B): move toward the sample by 1/16 of the estimate, at least
 * 16 ns, never past the sample.
 */
static inline u64 lazyidle_median_step(u64 estimate, u64 sample)
{
	u64 step = estimate >> 4 > 16 ? estimate >> 4 : 16;

	if (sample > estimate)
		return lazyidle_min(sample, lazyidle_sat_add(estimate, step));
	if (sample < estimate) {
		u64 moved = lazyidle_sat_sub(estimate, step);

		return moved > sample ? moved : sample;
	}
	return estimate;
}

#endif
