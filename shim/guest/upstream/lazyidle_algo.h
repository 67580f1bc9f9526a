/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * lazyidle_algo.h - the lazyidle poll-or-halt decision, in C
 *
 * This is a C port of the lazyidle library's default governor
 * (governor<void, distribution_threshold> in include/lazyidle/ of the
 * lazyidle project, written in freestanding C++20), for the in-tree
 * cpuidle governor: upstream Linux takes no C++. It includes nothing but
 * <linux/types.h>, so a userspace test can compile it with a small types
 * shim and replay the same idle periods through this port and through the
 * C++ core, comparing every decision. The names follow the C++ ones; keep
 * the two identical (a difference fails that test).
 *
 * The question. Before each idle period the CPU may poll (stay awake and
 * watch for work: no wakeup latency, but CPU time spent) for a budget T,
 * then halt (trap to the host in a VM: the halt and the wakeup cost a
 * fixed B, here in CPU-equivalent nanoseconds). An idle period of length y
 * costs y if y <= T, else T + B; the offline optimum is min(y, B). This is
 * ski rental: polling for exactly B costs at most twice the optimum.
 *
 * Histogram. Recent idle periods are counted in 37 log-spaced u8 bins:
 * one below 1 us, four per octave from 1 us to 262 us (where the best
 * threshold lives for B of 10-100 us), one per octave up to 2.1 ms, one
 * open-ended. The counts are halved when their total reaches 255, halving
 * rounding up in alternate bins (alternating each time), so the histogram
 * describes roughly the last 128-255 idle periods.
 *
 * Threshold. For each candidate T in {0, each bin's upper edge} the
 * remembered idle periods are priced under the cost model (an idle period
 * in a bin below T at the bin's midpoint, any other at T + B); the cheapest
 * T wins, the smaller on ties. If polling through everything remembered
 * wins, B more is added for the unseen tail.
 *
 * Order. Three probabilities of the next idle period being long (> B) are
 * learned as 1/16 averages: after a short one, after one long one that
 * followed a short one, after two or more long ones in a row. When the
 * last two differ by 3/8 or more (a long idle period inside a burst is not
 * the start of a pause), the context's own probability reweights the
 * histogram for the mix expected next before it is priced. Otherwise, when
 * "after short" and "after long" (the average of the two) differ by a
 * quarter or more, the previous idle period's class does. Otherwise the
 * histogram is priced as it is.
 *
 * Shapes. Each context also learns, as 1/16 averages, the share of its
 * short idle periods that were tiny (2.5 octaves or more below B's bin,
 * under about B / 5.7) and of its long ones that were far (1.5 octaves or
 * more past it, about 2.8 B), and the reweighting prices tiny, near short,
 * near long and far long ones in those shares: after a short idle period
 * in a burst the long ones are mostly the burst's own tail, just past B,
 * and polling through it pays; inside a run of long idle periods the short
 * ones are near B, not a burst's few microseconds, and polling for those
 * does not. When the tiny shares after short and after long (averaged)
 * differ by a quarter or more, the previous idle period's class is
 * conditioned on even if its probabilities do not differ.
 *
 * Cache. Pricing all bins is the expensive part, and its answer hardly
 * moves per idle period, so the answers (one per context) are kept as
 * 7-bit codes and recomputed on every 16th idle period or when B moves to
 * another bin.
 *
 * Guard. An allowance A counts how far the policy is ahead of break-even
 * (poll B), plus a 1/16 tithe of break-even's cost, capped at 16 B (and at
 * 2^26 - 1 ns). A threshold below B is played only if A >= B, one above B
 * is cut to B + A. So on every prefix of every sequence of idle periods
 * the total cost is at most (1 + 1/16) times break-even's, 2.125 times the
 * optimum.
 *
 * A next-timer bound b at or below B makes the budget b + B: the idle
 * period ends at the timer, and if the timer is late, break-even starts
 * again there. The guard cuts it like any budget past B. Such an idle
 * period teaches the histogram and the context estimates nothing: its
 * length is the timer's.
 */
#ifndef _LAZYIDLE_ALGO_H
#define _LAZYIDLE_ALGO_H

#include <linux/types.h>

#define LAZYIDLE_NO_BOUND		(~0ULL)
#define LAZYIDLE_U32_MAX		(~0U)
#define LAZYIDLE_Q10_ONE		1024U

/* Bins: [0, 2^10), quarter octaves to 2^18 ns, octaves to 2^21, [2^21, ...) */
#define LAZYIDLE_FINE_FIRST_LOG2	10
#define LAZYIDLE_FINE_END_LOG2		18
#define LAZYIDLE_FINE_BINS		32
#define LAZYIDLE_BIN_COUNT		37
#define LAZYIDLE_LAST_BIN		(LAZYIDLE_BIN_COUNT - 1)
#define LAZYIDLE_MAX_TOTAL		255

/* Threshold codes: 0 (T = 0) or 1 + bin (T = upper edge), +0x40: plus B */
#define LAZYIDLE_CODE_BIN_MASK		0x3fU
#define LAZYIDLE_CODE_PLUS_BLOCK	0x40U

#define LAZYIDLE_TITHE_SHIFT		4
#define LAZYIDLE_ALLOWANCE_CAP_IN_B	16
#define LAZYIDLE_ALLOWANCE_MAX_NS	((1ULL << 26) - 1)
#define LAZYIDLE_PERSISTENCE_GATE_Q8	64
#define LAZYIDLE_RUN_GATE_Q8		96
#define LAZYIDLE_FAR_OFFSET_BINS	6	/* far long: from about 2.8 B */
#define LAZYIDLE_LOW_OFFSET_BINS	10	/* tiny short: below about B / 5.7 */
#define LAZYIDLE_PAUSE_OFFSET_BINS	12	/* a run by itself: about 8 B */

/* Contexts: what the last idle periods were */
#define LAZYIDLE_AFTER_SHORT		0
#define LAZYIDLE_AFTER_ONE_LONG		1
#define LAZYIDLE_AFTER_LONG_RUN		2
#define LAZYIDLE_CONTEXTS		3
#define LAZYIDLE_REFRESH_PERIOD		16

/* One CPU's state: the policy's (56 bytes in the C++ core) and the record */
struct lazyidle_gov {
	u32 allowance_ns;
	u8 counts[LAZYIDLE_BIN_COUNT];
	u8 total;
	u8 halving_parity : 1;
	u8 previous_long : 1;	/* was the last idle period long? */
	u8 long_run : 1;	/* ... and the one before too, or it was far? */
	u8 long_after_q8[LAZYIDLE_CONTEXTS];	/* P(long | context), Q8 */
	u8 cache_key;		/* 1 + split the codes are for, 0: none */
	u8 codes[LAZYIDLE_CONTEXTS];		/* threshold code per context */
	u8 tiny_after_q8[LAZYIDLE_CONTEXTS];	/* P(short one tiny | context) */
	u8 far_after_q8[LAZYIDLE_CONTEXTS];	/* P(long one far | context) */
	/* the last decision, saturated to u32 as in the C++ governor */
	u32 last_budget_ns;
	u32 last_block_cost_ns;
};

struct lazyidle_decision {
	u64 poll_budget_ns;
	u64 expected_ns;	/* median of recent idles, capped by the bound */
	u32 confidence_q10;
};

/* Arithmetic */

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

static inline u32 lazyidle_log2(u64 v)
{
	return v ? 63U - (u32)__builtin_clzll(v) : 0U;
}

/* Cost of one idle period of length idle_ns polled for budget_ns */
static inline u64 lazyidle_decision_cost(u64 idle_ns, u64 budget_ns,
					 u64 block_cost_ns)
{
	return idle_ns <= budget_ns ? idle_ns :
	       lazyidle_sat_add(budget_ns, block_cost_ns);
}

/* Bins */

static inline u32 lazyidle_bin_of(u64 idle_ns)
{
	u32 octave, sub;

	if (idle_ns < (1ULL << LAZYIDLE_FINE_FIRST_LOG2))
		return 0;
	octave = lazyidle_log2(idle_ns);
	if (octave < LAZYIDLE_FINE_END_LOG2) {
		sub = (u32)(idle_ns >> (octave - 2)) & 3U;
		return 1 + ((octave - LAZYIDLE_FINE_FIRST_LOG2) << 2) + sub;
	}
	return (u32)lazyidle_min(1 + LAZYIDLE_FINE_BINS +
				 (octave - LAZYIDLE_FINE_END_LOG2),
				 LAZYIDLE_LAST_BIN);
}

static inline u32 lazyidle_lower_edge(u32 bin)
{
	u32 octave, sub;

	if (bin == 0)
		return 0;
	if (bin <= LAZYIDLE_FINE_BINS) {
		octave = LAZYIDLE_FINE_FIRST_LOG2 + ((bin - 1) >> 2);
		sub = (bin - 1) & 3U;
		return (1U << octave) + (sub << (octave - 2));
	}
	return 1U << (LAZYIDLE_FINE_END_LOG2 + (bin - 1 - LAZYIDLE_FINE_BINS));
}

/* Exclusive; the open last bin's is U32_MAX */
static inline u32 lazyidle_upper_edge(u32 bin)
{
	return bin < LAZYIDLE_LAST_BIN ? lazyidle_lower_edge(bin + 1) :
	       LAZYIDLE_U32_MAX;
}

/* The price of an idle period in the bin: its midpoint (last: 2 x lower) */
static inline u32 lazyidle_midpoint(u32 bin)
{
	u32 lower = lazyidle_lower_edge(bin);

	if (bin == LAZYIDLE_LAST_BIN)
		return 2 * lower;
	return lower + (lazyidle_upper_edge(bin) - lower) / 2;
}

/* Histogram */

static inline void lazyidle_hist_halve(struct lazyidle_gov *g)
{
	u32 bin, total = 0;

	for (bin = 0; bin < LAZYIDLE_BIN_COUNT; bin++) {
		u32 round_up = (bin + g->halving_parity) & 1U;

		g->counts[bin] = (u8)((g->counts[bin] + round_up) >> 1);
		total += g->counts[bin];
	}
	g->total = (u8)total;
	g->halving_parity ^= 1;
}

static inline void lazyidle_hist_observe(struct lazyidle_gov *g, u64 idle_ns)
{
	if (g->total >= LAZYIDLE_MAX_TOTAL)
		lazyidle_hist_halve(g);
	g->counts[lazyidle_bin_of(idle_ns)]++;
	g->total++;
}

/* The median, interpolated inside its bin; 0 with nothing remembered */
static inline u64 lazyidle_hist_median(const struct lazyidle_gov *g)
{
	u32 total = g->total, below = 0, bin, count, lower, width;

	if (total == 0)
		return 0;
	for (bin = 0; bin < LAZYIDLE_LAST_BIN; bin++) {
		count = g->counts[bin];
		if (2 * (below + count) >= total)
			break;
		below += count;
	}
	count = g->counts[bin];
	lower = lazyidle_lower_edge(bin);
	width = bin < LAZYIDLE_LAST_BIN ? lazyidle_upper_edge(bin) - lower :
		lower;
	return lower + (width * (total - 2 * below)) / (2 * count);
}

/* Share of the mass within two bins of the median's, Q10, discounted below 32 */
static inline u32 lazyidle_hist_concentration(const struct lazyidle_gov *g,
					      u32 median_bin)
{
	u32 bin = median_bin >= 2 ? median_bin - 2 : 0;
	u32 near = 0, share;

	for (; bin <= median_bin + 2 && bin < LAZYIDLE_BIN_COUNT; bin++)
		near += g->counts[bin];
	share = near * LAZYIDLE_Q10_ONE / g->total;
	return share * (u32)lazyidle_min(g->total, 32) / 32;
}

static inline u32 lazyidle_hist_count_between(const struct lazyidle_gov *g,
					      u32 first, u32 last)
{
	u32 bin, sum = 0;

	for (bin = first; bin < last && bin < LAZYIDLE_BIN_COUNT; bin++)
		sum += g->counts[bin];
	return sum;
}

/*
 * Prices T = 0 and every bin's upper edge with idle periods in bins below
 * cuts[0] weighted weights[0], those in [cuts[0], cuts[1]) weights[1], and
 * so on; returns the cheapest as a code.
 */
static inline u32 lazyidle_hist_scan(const struct lazyidle_gov *g,
				     u64 block_cost_ns, const u32 cuts[3],
				     const u32 weights[4], u64 weighted_total)
{
	u64 block = lazyidle_min(block_cost_ns, 1ULL << 32);
	u64 best_cost = block * weighted_total;
	u64 polled_cost = 0, polled = 0, weight, cost;
	u32 bin, piece, best = 0;

	for (bin = 0; bin < LAZYIDLE_LAST_BIN; bin++) {
		piece = (bin >= cuts[0]) + (bin >= cuts[1]) + (bin >= cuts[2]);
		weight = (u64)g->counts[bin] * weights[piece];
		polled += weight;
		polled_cost += weight * lazyidle_midpoint(bin);
		cost = polled_cost + (lazyidle_upper_edge(bin) + block) *
				     (weighted_total - polled);
		if (cost < best_cost) {
			best_cost = cost;
			best = bin + 1;
		}
	}
	/* Polling through everything won: B more for the unseen tail */
	if (best != 0 && polled == weighted_total && best_cost == polled_cost)
		best |= LAZYIDLE_CODE_PLUS_BLOCK;
	return best;
}

static inline u32 lazyidle_hist_best_code(const struct lazyidle_gov *g,
					  u64 block_cost_ns)
{
	static const u32 cuts[3] = { 0, 0, 0 }, weights[4] = { 1, 1, 1, 1 };

	if (g->total == 0)
		return LAZYIDLE_CODE_PLUS_BLOCK;
	return lazyidle_hist_scan(g, block_cost_ns, cuts, weights, g->total);
}

/* Idle periods from split_bin up taken as a share above_q8 / 256 of the next */
static inline u32 lazyidle_hist_best_code_for_mix(const struct lazyidle_gov *g,
						  u64 block_cost_ns,
						  u32 split_bin, u32 above_q8)
{
	u32 below = lazyidle_hist_count_between(g, 0, split_bin);
	u32 above = g->total - below;
	u32 below_weight, above_weight;
	u64 weighted_total;

	if (below == 0 || above == 0)
		return lazyidle_hist_best_code(g, block_cost_ns);
	above_q8 = (u32)lazyidle_min(above_q8, 256);
	below_weight = (256 - above_q8) * above;
	above_weight = above_q8 * below;
	weighted_total = (u64)below_weight * below + (u64)above_weight * above;
	if (weighted_total == 0)
		return LAZYIDLE_CODE_PLUS_BLOCK;
	{
		u32 cuts[3] = { split_bin, split_bin, split_bin };
		u32 weights[4] = { below_weight, above_weight, above_weight,
				   above_weight };

		return lazyidle_hist_scan(g, block_cost_ns, cuts, weights,
					  weighted_total);
	}
}

/*
 * The same with the short ones cut at low_bin (a share tiny_q8 / 256 below
 * it) and the long ones at far_bin (a share far_q8 / 256 from it up), each
 * piece keeping its remembered shape; a part with an empty piece is not cut
 */
static inline u32 lazyidle_hist_best_code_for_mix4(const struct lazyidle_gov *g,
						   u64 block_cost_ns,
						   const u32 cuts[3],
						   u32 above_q8, u32 tiny_q8,
						   u32 far_q8)
{
	u32 tiny = lazyidle_hist_count_between(g, 0, cuts[0]);
	u32 near_short = lazyidle_hist_count_between(g, cuts[0], cuts[1]);
	u32 near_long = lazyidle_hist_count_between(g, cuts[1], cuts[2]);
	u32 far = g->total - tiny - near_short - near_long;
	u32 below = tiny + near_short, above = near_long + far;
	u32 short_q8, weights[4];
	u64 weighted_total;

	if (below == 0 || above == 0)
		return lazyidle_hist_best_code(g, block_cost_ns);
	above_q8 = (u32)lazyidle_min(above_q8, 256);
	tiny_q8 = (u32)lazyidle_min(tiny_q8, 256);
	far_q8 = (u32)lazyidle_min(far_q8, 256);
	short_q8 = 256 - above_q8;
	/* Q16 shares times 2^8, spread over each piece's idle periods */
	if (tiny && near_short) {
		weights[0] = ((short_q8 * tiny_q8) << 8) / tiny;
		weights[1] = ((short_q8 * (256 - tiny_q8)) << 8) / near_short;
	} else {
		weights[0] = (short_q8 << 16) / below;
		weights[1] = weights[0];
	}
	if (near_long && far) {
		weights[2] = ((above_q8 * (256 - far_q8)) << 8) / near_long;
		weights[3] = ((above_q8 * far_q8) << 8) / far;
	} else {
		weights[2] = (above_q8 << 16) / above;
		weights[3] = weights[2];
	}
	weighted_total = (u64)weights[0] * tiny + (u64)weights[1] * near_short +
			 (u64)weights[2] * near_long + (u64)weights[3] * far;
	if (weighted_total == 0)
		return LAZYIDLE_CODE_PLUS_BLOCK;
	return lazyidle_hist_scan(g, block_cost_ns, cuts, weights,
				  weighted_total);
}

static inline u64 lazyidle_decode_threshold(u32 code, u64 block_cost_ns)
{
	u32 bin_code = code & LAZYIDLE_CODE_BIN_MASK;
	u64 threshold = bin_code ? lazyidle_upper_edge(bin_code - 1) : 0;

	if (code & LAZYIDLE_CODE_PLUS_BLOCK)
		return lazyidle_sat_add(threshold, block_cost_ns);
	return threshold;
}

/* Distribution threshold policy */

/* The bin from which idle periods count as long (> B) */
static inline u32 lazyidle_split_of(u64 block_cost_ns)
{
	u32 boundary = lazyidle_bin_of(block_cost_ns);

	return boundary + (lazyidle_midpoint(boundary) < block_cost_ns ? 1 : 0);
}

/* Short idle periods below this bin count as tiny */
static inline u32 lazyidle_low_of(u64 block_cost_ns)
{
	u32 split = lazyidle_split_of(block_cost_ns);

	return split > LAZYIDLE_LOW_OFFSET_BINS ?
	       split - LAZYIDLE_LOW_OFFSET_BINS : 0;
}

/* Long idle periods from this bin up count as far */
static inline u32 lazyidle_far_of(u64 block_cost_ns)
{
	return (u32)lazyidle_min(lazyidle_split_of(block_cost_ns) +
				 LAZYIDLE_FAR_OFFSET_BINS, LAZYIDLE_LAST_BIN);
}

static inline u32 lazyidle_context(const struct lazyidle_gov *g)
{
	return g->previous_long ? LAZYIDLE_AFTER_ONE_LONG + g->long_run :
	       LAZYIDLE_AFTER_SHORT;
}

/* A per-context estimate after a long idle period: the run contexts averaged */
static inline u32 lazyidle_after_long(const u8 per_context[LAZYIDLE_CONTEXTS])
{
	return (per_context[LAZYIDLE_AFTER_ONE_LONG] +
		per_context[LAZYIDLE_AFTER_LONG_RUN] + 1) / 2;
}

static inline u32 lazyidle_after_long_q8(const struct lazyidle_gov *g)
{
	return lazyidle_after_long(g->long_after_q8);
}

static inline bool lazyidle_persistent(const struct lazyidle_gov *g)
{
	u32 after_short = g->long_after_q8[LAZYIDLE_AFTER_SHORT];
	u32 after_long = lazyidle_after_long_q8(g);
	u32 persistence = after_long > after_short ? after_long - after_short :
			  after_short - after_long;

	return persistence >= LAZYIDLE_PERSISTENCE_GATE_Q8;
}

/* Do the short ones after short and after long differ in shape? */
static inline bool lazyidle_shapes_differ(const struct lazyidle_gov *g)
{
	u32 after_short = g->tiny_after_q8[LAZYIDLE_AFTER_SHORT];
	u32 after_long = lazyidle_after_long(g->tiny_after_q8);
	u32 difference = after_long > after_short ? after_long - after_short :
			 after_short - after_long;

	return difference >= LAZYIDLE_PERSISTENCE_GATE_Q8;
}

static inline bool lazyidle_conditioned(const struct lazyidle_gov *g)
{
	return lazyidle_persistent(g) || lazyidle_shapes_differ(g);
}

static inline bool lazyidle_run_matters(const struct lazyidle_gov *g)
{
	u32 one = g->long_after_q8[LAZYIDLE_AFTER_ONE_LONG];
	u32 run = g->long_after_q8[LAZYIDLE_AFTER_LONG_RUN];

	return (one > run ? one - run : run - one) >= LAZYIDLE_RUN_GATE_Q8;
}

static inline u32 lazyidle_learned_code(const struct lazyidle_gov *g,
					u64 block_cost_ns, u32 context)
{
	u32 cuts[3] = { lazyidle_low_of(block_cost_ns),
			lazyidle_split_of(block_cost_ns),
			lazyidle_far_of(block_cost_ns) };

	if (context != LAZYIDLE_AFTER_SHORT && lazyidle_run_matters(g))
		return lazyidle_hist_best_code_for_mix4(g, block_cost_ns, cuts,
				g->long_after_q8[context],
				g->tiny_after_q8[context],
				g->far_after_q8[context]);
	if (!lazyidle_conditioned(g))
		return lazyidle_hist_best_code(g, block_cost_ns);
	if (context == LAZYIDLE_AFTER_SHORT)
		return lazyidle_hist_best_code_for_mix4(g, block_cost_ns, cuts,
				g->long_after_q8[LAZYIDLE_AFTER_SHORT],
				g->tiny_after_q8[LAZYIDLE_AFTER_SHORT],
				g->far_after_q8[LAZYIDLE_AFTER_SHORT]);
	return lazyidle_hist_best_code_for_mix4(g, block_cost_ns, cuts,
				lazyidle_after_long_q8(g),
				lazyidle_after_long(g->tiny_after_q8),
				lazyidle_after_long(g->far_after_q8));
}

static inline u64 lazyidle_cached_threshold(const struct lazyidle_gov *g,
					    u64 block_cost_ns)
{
	u32 context = lazyidle_context(g);
	u32 code;

	if (g->cache_key == lazyidle_split_of(block_cost_ns) + 1)
		code = g->codes[context];
	else
		code = lazyidle_learned_code(g, block_cost_ns, context);
	return lazyidle_decode_threshold(code, block_cost_ns);
}

static inline u64 lazyidle_allowance_cap(u64 block_cost_ns)
{
	return lazyidle_min(lazyidle_sat_mul(block_cost_ns,
					     LAZYIDLE_ALLOWANCE_CAP_IN_B),
			    LAZYIDLE_ALLOWANCE_MAX_NS);
}

/* The learned threshold after the risk check against break-even */
static inline u64 lazyidle_guarded(const struct lazyidle_gov *g,
				   u64 learned_ns, u64 block_cost_ns)
{
	u64 usable = lazyidle_min(g->allowance_ns,
				  lazyidle_allowance_cap(block_cost_ns));

	if (learned_ns < block_cost_ns)
		return usable >= block_cost_ns ? learned_ns : block_cost_ns;
	return lazyidle_min(learned_ns,
			    lazyidle_sat_add(block_cost_ns, usable));
}

static inline u64 lazyidle_budget(const struct lazyidle_gov *g,
				  u64 block_cost_ns, u64 bound_ns)
{
	u64 proposal;

	if (bound_ns != LAZYIDLE_NO_BOUND && bound_ns <= block_cost_ns)
		proposal = lazyidle_sat_add(bound_ns, block_cost_ns);
	else
		proposal = lazyidle_cached_threshold(g, block_cost_ns);
	return lazyidle_guarded(g, proposal, block_cost_ns);
}

/* 1/16 average, rounded to nearest */
static inline u8 lazyidle_step_toward(u8 probability_q8, s32 target_q8)
{
	s32 delta = target_q8 - probability_q8;
	s32 next = probability_q8 + (delta + (delta < 0 ? -8 : 8)) / 16;

	if (next < 0)
		next = 0;
	if (next > 255)
		next = 255;
	return (u8)next;
}

static inline void lazyidle_refresh_cache(struct lazyidle_gov *g,
					  u64 block_cost_ns)
{
	u32 key = lazyidle_split_of(block_cost_ns) + 1;
	u32 after_short, after_one_long, after_long_run;
	bool run;

	if (g->total == 0) {
		g->cache_key = 0;
		return;
	}
	if (key == g->cache_key && g->total % LAZYIDLE_REFRESH_PERIOD != 0)
		return;
	after_short = lazyidle_learned_code(g, block_cost_ns,
					    LAZYIDLE_AFTER_SHORT);
	run = lazyidle_run_matters(g);
	after_one_long = run || lazyidle_conditioned(g) ?
			 lazyidle_learned_code(g, block_cost_ns,
					       LAZYIDLE_AFTER_ONE_LONG) :
			 after_short;
	after_long_run = run ?
			 lazyidle_learned_code(g, block_cost_ns,
					       LAZYIDLE_AFTER_LONG_RUN) :
			 after_one_long;
	g->codes[LAZYIDLE_AFTER_SHORT] = (u8)after_short;
	g->codes[LAZYIDLE_AFTER_ONE_LONG] = (u8)after_one_long;
	g->codes[LAZYIDLE_AFTER_LONG_RUN] = (u8)after_long_run;
	g->cache_key = (u8)key;
}

static inline void lazyidle_policy_reflect(struct lazyidle_gov *g,
					   u64 idle_ns, u64 budget_ns,
					   u64 block_cost_ns)
{
	u32 was_long = idle_ns > block_cost_ns ? 1 : 0;
	u32 context = lazyidle_context(g);
	u32 bin = lazyidle_bin_of(idle_ns);
	u64 chosen, break_even, paid, earned;

	/*
	 * Learn only from idle periods the histogram decided: a budget it did
	 * not choose was set by a near timer, and the length is the timer's.
	 * A timer's budget is never below B.
	 */
	chosen = budget_ns < block_cost_ns ? budget_ns :
		 lazyidle_guarded(g, lazyidle_cached_threshold(g, block_cost_ns),
				  block_cost_ns);
	if (lazyidle_sat_u32(budget_ns) == lazyidle_sat_u32(chosen)) {
		lazyidle_hist_observe(g, idle_ns);
		g->long_after_q8[context] =
			lazyidle_step_toward(g->long_after_q8[context],
					     was_long ? 256 : 0);
		/* The shape within the class: tiny among short, far among long */
		if (was_long)
			g->far_after_q8[context] =
				lazyidle_step_toward(g->far_after_q8[context],
						     bin >= lazyidle_far_of(block_cost_ns) ?
						     256 : 0);
		else
			g->tiny_after_q8[context] =
				lazyidle_step_toward(g->tiny_after_q8[context],
						     bin < lazyidle_low_of(block_cost_ns) ?
						     256 : 0);
	}
	/* A run: after another long idle period, or one far out (a pause) */
	g->long_run = was_long &
		      (g->previous_long |
		       (bin >= lazyidle_split_of(block_cost_ns) +
			LAZYIDLE_PAUSE_OFFSET_BINS ? 1 : 0));
	g->previous_long = was_long;
	break_even = lazyidle_decision_cost(idle_ns, block_cost_ns,
					    block_cost_ns);
	paid = lazyidle_decision_cost(idle_ns, budget_ns, block_cost_ns);
	earned = lazyidle_sat_add(g->allowance_ns,
				  lazyidle_sat_add(break_even,
						   break_even >> LAZYIDLE_TITHE_SHIFT));
	g->allowance_ns = (u32)lazyidle_min(lazyidle_sat_sub(earned, paid),
					    lazyidle_allowance_cap(block_cost_ns));
	lazyidle_refresh_cache(g, block_cost_ns);
}

/* Governor: select before an idle period, reflect after it */

static inline void lazyidle_gov_init(struct lazyidle_gov *g)
{
	*g = (struct lazyidle_gov){ .long_after_q8 = { 128, 128, 128 },
				    .tiny_after_q8 = { 128, 128, 128 },
				    .far_after_q8 = { 128, 128, 128 } };
}

/*
 * block_cost_ns: B of the state entered after polling; bound_ns: the next
 * timer, or LAZYIDLE_NO_BOUND.
 */
static inline struct lazyidle_decision
lazyidle_gov_select(struct lazyidle_gov *g, u64 block_cost_ns, u64 bound_ns)
{
	struct lazyidle_decision d = { .expected_ns = bound_ns };
	u64 median;

	if (g->total) {
		median = lazyidle_hist_median(g);
		d.expected_ns = lazyidle_min(median, bound_ns);
		d.confidence_q10 =
			lazyidle_hist_concentration(g, lazyidle_bin_of(median));
	}
	d.poll_budget_ns = lazyidle_budget(g, block_cost_ns, bound_ns);
	g->last_budget_ns = lazyidle_sat_u32(d.poll_budget_ns);
	g->last_block_cost_ns = lazyidle_sat_u32(block_cost_ns);
	return d;
}

/* idle_ns: the whole idle period since the last select, polling included */
static inline void lazyidle_gov_reflect(struct lazyidle_gov *g, u64 idle_ns)
{
	u64 budget = g->last_budget_ns == LAZYIDLE_U32_MAX ?
		     LAZYIDLE_NO_BOUND : g->last_budget_ns;

	lazyidle_policy_reflect(g, idle_ns, budget, g->last_block_cost_ns);
}

#endif /* _LAZYIDLE_ALGO_H */
