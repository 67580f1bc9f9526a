// SPDX-License-Identifier: GPL-2.0-only OR MIT
//
// Distribution threshold: poll for the budget that would have been cheapest
// on the recent idles, but only while that has paid for its own risks.
//
// Learning. The policy keeps a histogram_predictor of the idles it has seen
// (fed in reflect(), where the true length y is known) and proposes
// T = best_threshold(B): the fixed budget minimising the recent total cost.
// On a stationary distribution that is the hindsight-best fixed threshold of
// DESIGN §3 up to bin resolution: block at once when idles are mostly longer
// than B, poll just past the short mode of a bimodal stream, poll through
// everything when idles are short.
//
// Order. Idles come in phases (a burst of messages, then a pause), and a
// fixed threshold cannot see them. So the policy also learns two numbers,
// P(next idle > B | previous idle > B) and P(next idle > B | previous
// <= B), as 1/16-weight averages (the first is kept as two, see Runs
// below), and when they differ by a quarter or more
// it prices the histogram for the mix expected next: the short part and the
// long part keep their remembered shapes, reweighted to 1 - p and p. After
// a long idle in a pause that says "block at once"; after a short one in a
// burst, "poll through the burst's idles". When the two numbers are close
// (independent idles) it keeps the unconditional answer, so noise is not
// followed.
//
// Runs. One previous idle is too short a memory at the edges of a phase.
// Inside a burst of short idles a few are long (an exponential gap of mean
// 4 us is over 10 us 8% of the time), and after each of them the order-1
// rule hears "previous long" and blocks at once, paying B for the short
// idle that follows; a pause announces itself only by being long twice.
// So the after-long context is split by the idle before it: after one long
// idle that followed a short one (a stray long idle, or the first of a
// pause), and after two or more long idles in a row (a pause going on).
// Each has its own P(next long), and when the two differ by 3/8 or more
// each prices its own mix: on the bursty trace at B = 10 us the first says
// "keep polling" (P ~ 0.13: mostly strays), the second "block at once"
// (P ~ 0.93). It costs one extra poll of the burst's threshold at the start
// of each pause, and saves a B on every stray long idle inside a burst.
// This is an order-2 model with the two after-short contexts merged (the
// idle before a short one did not matter on the bursty and real traces:
// splitting it too changed no ratio there by more than 0.1%). When the run gate is closed the
// after-long estimate is the two run estimates' average, and the policy
// behaves as the order-1 rule above. Measured (lazyidle-sim --sweep, ratio
// vs OPT): bursty 1.272 -> 1.186 at B = 10 us, redis 1.369 -> 1.239 at
// 10 us, mean of the three real traces at 10 us 1.155 -> 1.111; no trace
// at any B worse by more than 0.2%.
//
// Shapes. That left TEO ahead at two of the sweep's points: bursty at 10
// us (1.146 against 1.186) and the guest trace at 50 us (1.094 against
// 1.125). Both were one mistake: a context priced its expected short and
// long idles with the shapes of ALL remembered short and long idles, when
// the shape, not only the share, depends on the context.
//   On bursty, after a short idle in a burst the long idles are the
// burst's own tail (exp(4 us) beyond 10 us, over by ~25 us), but half the
// remembered long idles are a pause's (~500 us), so it polled only just
// past B where polling through the tail pays (OPT would poll to about
// 4 ln 300 = 23 us: the tail's saving against one pause start in 200).
//   On the guest trace, the short idles after a long one are 22-36 us,
// inside runs of long ones, but most remembered short idles are a burst's
// (5-7 us), so after a long idle it often polled 7 us, catching none of
// them: 72% of its excess cost was inside runs. There P(long) after a
// short and after a long idle are close (the short idles inside a run are
// followed by long ones), so the persistence gate was closed as well.
//   TEO gets both from its recent-intercepts ring (most of the last 9
// idles short: poll, else sleep). The policy gets them from two more
// numbers per context, 1/16 averages like P(long): the share of its short
// idles that are tiny (below split_of(B) - 10 bins, 2.5 octaves: about
// B / 5.7; low_of()) and the share of its long idles that are far (from
// split_of(B) + 6 bins, 1.5 octaves: about 2.8 B; far_of()). Pricing a
// context reweights four pieces of the histogram, tiny, near short, near
// long and far long, to (1 - p) t, (1 - p)(1 - t), p (1 - f) and p f, each
// keeping its remembered shape (a cheap stand-in for a shape per context,
// which would not fit). On bursty at 10 us f averages 0.11 after a short
// idle against 0.52 in the histogram, and the threshold moves out over the
// tail; 0.94 in a pause, where p says "block at once" anyway. On i.i.d.
// idles t and f are the same in every context, the histogram's own
// shares, and the reweighting is the identity up to rounding. The gates
// decide as before when a context's numbers are used (the two run
// contexts' t and f averaged when the run gate is closed, as their p are),
// and one more opens the persistence gate's door: when t after a short
// idle and after a long one differ by a quarter or more (shapes_differ()),
// the policy conditions on the previous idle even if P(long) does not.
// Measured (lazyidle-sim --sweep, ratio vs OPT): bursty at 10 us 1.186 ->
// 1.152, guest at 50 us 1.125 -> 1.087 (TEO 1.146 and 1.094: no point of
// the 40 more than 0.5% behind the best Linux governor now), guest at 100
// us 1.157 -> 1.144, bursty at 20-100 us 0.7-1.0% better; no trace at any B
// worse by more than 0.34% (pgbench at 100 us). The offsets are choices:
// far at 4 bins gave bursty 1.148 but redis +0.5%, 8 bins 1.154, 16 bins
// 1.167; tiny at 9 bins guest 1.091, 11-12 bins 1.088 but 12 puts pgbench
// +0.5% at 100 us, 6 bins 1.106; a shape gate of 3/16 cost heavy_tailed
// +0.6% at 100 us, 5/16 gave back half of the guest's gain.
//
// Pauses. That still left TEO 0.3-1.0% ahead on bursty at 10 us over
// generator seeds 1-5 (seed 4: 1.151 against 1.140). Replaying both
// idle by idle, the after-short context was 2% of OPT ahead of TEO, and
// all of the loss was after long idles (1.7% after one, 1.4% after a run):
// idles TEO polled through where the policy blocked. The cache's lag
// (rescans every 16th idle) explained 0.7-0.9% of it, and rescanning on
// every idle still left seeds 4 and 5 behind, so it was not the cause.
// The cause: a pause starts with one long idle after a short one, the same
// context as a stray long idle inside a burst, and the two are different
// in length, not only in what follows them: a stray is the burst's tail
// (10-30 us), a pause idle ~500 us. One pause start per burst against ~16
// strays pulls the after-one-long estimates (P(long) swung between 0.1 and
// 0.3, its threshold between 5 and 12 us, under B), and the first pause
// idle pays a poll. So a long idle 3 octaves or more past B's split bin
// (pause_offset_bins: about 8 B) counts as a run by itself: the context
// after it is after_long_run, and after_one_long keeps the near long idles
// that follow a short one, the burst's strays. No byte: the run bit's
// meaning widens to "after a run of long idles or one far one". Measured
// (lazyidle-sim, bursty at B = 10 us, seeds 1-5): 1.152 1.152 1.146 1.151
// 1.151 -> 1.137 1.136 1.132 1.137 1.137 (TEO 1.146 1.146 1.139 1.140
// 1.140); --sweep: bursty at 20 us 1.100 -> 1.089, bimodal at 10 us and
// heavy_tailed at 20 us +0.001, no other point by more than 0.001. Far
// from the far cut (6 bins) moved guest +0.5% at 50 us; making a run
// need a far idle (instead of either) cost redis 10% at 10 us, whose runs
// of near long idles need the run context.
//
// A next-timer bound b at or below B, when the layer has one, makes the
// budget b + B: the idle ends at the timer, and if the timer is late, the
// ski rental starts again there (break-even on what is left). Every idle
// that ends by the timer, late by up to B, then costs y, OPT or at most
// y < 2 OPT past B; the guard below cuts b + B to what the allowance
// covers, as any budget past B. Not b: timers fire a few us late, and
// blocking just before a wakeup is the one expensive mistake. Not B (what
// this did before): with b close to B a timer a few us late ran past the
// budget and paid the poll and B. Measured (lazyidle-sim --sweep, timer
// family, 0-5 us late): 1.0152 / 1.0226 / 1.0414 / 1.0726 x OPT at B =
// 10 / 20 / 50 / 100 us -> 1.0120 / 1.0195 / 1.0390 / 1.0703 (TEO 1.0119 /
// 1.0194 / 1.0387 / 1.0701); no other trace moved. A farther bound changes
// nothing.
//   Such an idle teaches the histogram and the context estimates nothing:
// its length is the timer's, not a sample of the idles the histogram
// decides, those with no timer within B. Counted in, the short remainders
// of timer periods made the policy poll a few us before idles whose timer
// was several B away. reflect() knows such an idle by its budget, one the
// histogram did not choose (the allowance, the previous idle's class and
// the run still count it: they are facts, not samples). Measured: timer
// 1.0195 / 1.0390 / 1.0703 -> 1.0194 / 1.0383 / 1.0669 at 20 / 50 / 100 us,
// now at or below TEO at every B but 10 us (+0.005%: the start-up, see
// docs/simulator.md); no other trace moved.
//
// The guard. Trusting T blindly has no worst case: if the history says
// "block at once" and the next idle is 1 ns, we pay B for a 1 ns idle. So
// the policy measures itself against break-even (poll exactly B, cost at
// most 2 * OPT on every idle). After every idle it knows what it paid and
// what break-even would have paid (full information: y is known) and keeps
// an allowance
//
//   A += cost_break_even * (1 + 1/16) - cost_paid,   capped at 16 * B,
//
// a savings account of how far it is ahead of break-even, plus a 1/16
// tithe. Before each idle it asks what T can lose against break-even on
// the worst possible idle:
//
//   T < B : an idle just past T costs T + B where break-even paid ~T: up to B
//   T > B : an idle past T costs T + B where break-even paid 2B:      T - B
//
// and plays T only if the allowance covers that loss: a T below B needs
// A >= B (otherwise it plays B), a T above B is cut to B + A. So A never
// goes negative, and since capping only ever lowers it, on every prefix of
// every sequence
//
//   sum(cost) <= (1 + 1/16) * sum(cost_break_even) <= 2.125 * sum(OPT).
//
// That is the bound worst_case_ratio_q10() reports: an aggregate bound, the
// metric lazyidle reports everywhere. A single idle can cost more (B for a
// 1 ns idle after a run of long ones), but only once the policy has saved
// at least that much. The tithe is what lets it start, and restart after a
// bad phase: playing break-even earns cost_break_even / 16 per idle, so
// trust returns after a few dozen idles. The cap keeps trust recent: a
// long good phase buys at most 16 B of losses in the next bad one.
//
// Caching. Scanning the histogram for the cheapest threshold is most of the
// work (~30 ns of a ~40 ns decision), and its answer barely moves from one
// idle to the next: one idle shifts a window of 128-255. So reflect() keeps
// the answers as 7-bit threshold codes (histogram.hpp), one per context
// (after short, after one long, after a run of longs: one scan serves all
// three when no gate is open, two when only the persistence or shape gate is
// open), and rescans only every refresh_period-th
// idle or when B moves to another split bin (the cache remembers the split
// it was computed for). budget() decodes the code for the current
// context, and computes from scratch only when its B falls in another split
// bin than the cache's. The decisions therefore lag the histogram by up to
// refresh_period - 1 idles (about twice that across a halving, which can
// skip one multiple), and within one split bin the code of a neighbouring
// B is reused (the +B of a code is always today's B). The guard below
// always runs on today's B and allowance, so the bound does not depend on
// the cache at all. Measured (bench_governor, Release, this machine):
// select + reflect 42 ns -> 8 ns CPU time on the bimodal bench stream, and
// 74 ns -> 30 ns on a strictly alternating one, where the median walk
// mispredicts and each rescan prices both classes; quality against the
// best fixed threshold moved by under 0.01 on every test family. (The
// shapes cost ~2 ns more per idle: 8.9 -> 10.7 ns on that stream, in a
// plain loop; bench_governor's figure moves with the machine's load.)
//
// State, 56 bytes (54 and padding): the allowance (26 bits, so capped at
// 2^26 - 1 ns = 67 ms as well as at 16 B) with the cache's split (6 bits)
// in one u32, the histogram (39 bytes, whose 7 spare bits hold the
// after-long-run code), the three probabilities (u8 each), then the
// previous idle's class (1 bit) with the after-short code (7 bits), whether
// the idle before it was long too (1 bit) with the after-one-long code (7
// bits), and the three tiny and three far shares (u8 each). The two bytes
// the run contexts needed came from the histogram's two octaves above
// 2.1 ms, which no B up to 123 us can use (histogram.hpp); the six the
// shapes needed from the governor, whose record of the last decision
// keeps only the budget and B when the policy keeps the history
// (governor.hpp): 64 bytes per CPU in all.
#ifndef LAZYIDLE_POLICY_DISTRIBUTION_THRESHOLD_HPP
#define LAZYIDLE_POLICY_DISTRIBUTION_THRESHOLD_HPP

#include "../arith.hpp"
#include "../cost.hpp"
#include "../predictor/histogram.hpp"
#include "../vocabulary.hpp"

namespace lazyidle {

class distribution_threshold {
 public:
  static constexpr const char* name = "distribution_threshold";
  static constexpr u32 tithe_shift = 4;  // epsilon = 1/16 of break-even's cost
  static constexpr u32 allowance_cap_in_b = 16;
  // Condition on the previous idle only when P(long | previous long) and
  // P(long | previous short) differ by at least a quarter: on independent
  // idles the two estimates differ by noise alone (about 0.12 at 1/16
  // weight), and following noise costs up to 2% against the best fixed
  // threshold; real phases differ by far more.
  static constexpr u32 persistence_gate_q8 = 64;
  // Split the after-long context by the idle before it only when P(long |
  // one long idle) and P(long | two or more) differ by at least 3/8: the
  // rarer of the two contexts is seen less often, so its estimate is older
  // and noisier than the order-1 ones. Measured: a quarter here follows
  // noise on i.i.d. exponential idles (+0.15% at B = 20 us); a half gives
  // back part of the gain on bursts.
  static constexpr u32 run_gate_q8 = 96;
  // Long idles count as far from split_of(B) + 6 bins up: 1.5 octaves, so
  // from about 2.8 B (see Shapes). Measured on bursty at B = 10 us, before
  // the tiny cut: 4 bins 1.148 but redis +0.5%, 6 bins 1.151, 8 bins
  // 1.154, 16 bins 1.167.
  static constexpr u32 far_offset_bins = 6;
  // Short idles count as tiny below split_of(B) - 10 bins: 2.5 octaves, so
  // below about B / 5.7 (see Shapes). Measured on the guest trace at B =
  // 50 us: 9 bins 1.091, 10 1.087, 11 1.088, 12 1.088 but pgbench +0.5% at
  // 100 us, 6 bins 1.106, 4 bins 1.095 but bursty at 10 us +0.2%.
  static constexpr u32 low_offset_bins = 10;
  // A long idle from split_of(B) + 12 bins up (3 octaves: about 8 B) starts
  // a run by itself (see Pauses). Measured on bursty at B = 10 us, five
  // seeds: 8 or 10 bins 1.132-1.137 but guest +0.3% at 50 us, 12 bins
  // 1.132-1.137, 16 bins 1.135-1.140; 6 (the far cut) guest +0.5% at 50 us.
  static constexpr u32 pause_offset_bins = 12;
  // Contexts: what the last idles were (see context()).
  static constexpr u32 after_short = 0, after_one_long = 1, after_long_run = 2, contexts = 3;
  // Rescan the histogram on every 16th idle (when its total is a multiple
  // of 16; the total only moves by one per idle, or halves).
  static constexpr u32 refresh_period = 16;
  static constexpr u32 allowance_bits = 26;
  static constexpr u64 allowance_max_ns = (1ull << allowance_bits) - 1;

  constexpr duration_ns budget(const poll_request& request) const {
    return guarded(proposal(request), request.block_cost_ns);
  }

  // What the histogram asks for, or b + B when a next-timer bound b <= B
  // says the idle will be over by then (see the top of this file).
  constexpr duration_ns proposal(const poll_request& request) const {
    if (request.bound_ns != no_bound && request.bound_ns <= request.block_cost_ns)
      return sat_add(request.bound_ns, request.block_cost_ns);
    return cached_threshold(request.block_cost_ns);
  }

  // learned_threshold(B) as of the last refresh: the cached code when it was
  // computed for B's split bin, a fresh scan otherwise.
  constexpr duration_ns cached_threshold(duration_ns block_cost_ns) const {
    if (cache_key_ == split_of(block_cost_ns) + 1)
      return histogram_predictor::decode_threshold(cached_code(context()), block_cost_ns);
    return learned_threshold(block_cost_ns);
  }

  // The bin from which idles count as long (> B): the bin holding B counts
  // as short when most of it lies below B.
  static constexpr u32 split_of(duration_ns block_cost_ns) {
    const u32 boundary = histogram_predictor::bin_of(block_cost_ns);
    return boundary + (histogram_edges.midpoint[boundary] < block_cost_ns ? 1 : 0);
  }

  // Short idles below this bin count as tiny (under about B / 5.7), the
  // rest as near: a burst's own short idles, unlike the ones inside a run
  // of long idles, are a few us (see Shapes at the top of this file).
  static constexpr u32 low_of(duration_ns block_cost_ns) { return low_of_split(split_of(block_cost_ns)); }
  static constexpr u32 low_of_split(u32 split) { return split > low_offset_bins ? split - low_offset_bins : 0; }

  // Long idles from this bin up count as far (past about 2.8 B), the rest
  // as near: a burst's own tail beyond B, unlike a pause, ends within a
  // few B.
  static constexpr u32 far_of(duration_ns block_cost_ns) { return far_of_split(split_of(block_cost_ns)); }
  static constexpr u32 far_of_split(u32 split) { return min_of(split + far_offset_bins, histogram_bins::last_bin); }

  // The histogram's best threshold for the mix of idles expected after the
  // last ones: short (<= B) and long in shares P(long | context), each cut
  // in two by its own context's tiny and far shares (see Shapes).
  constexpr duration_ns learned_threshold(duration_ns block_cost_ns) const {
    return histogram_predictor::decode_threshold(learned_code(block_cost_ns, context()), block_cost_ns);
  }

  // The same as a threshold code, for any context (after_short,
  // after_one_long, after_long_run). The run gate is asked first: when it
  // is open the context's own probability prices the mix; otherwise the
  // persistence gate decides between the previous idle's class and the
  // unconditional histogram.
  constexpr u32 learned_code(duration_ns block_cost_ns, u32 which) const {
    const bool run = which != after_short && run_matters();
    if (!run && !conditioned()) return histogram_.best_threshold_code(block_cost_ns);
    // The context's own estimates, or for a long context with the run gate
    // closed the two run contexts' averaged. (Selected, then one call: see
    // refresh_cache() on why learned_code() must stay small.)
    const bool own = run || which == after_short;
    const u32 split = split_of(block_cost_ns);
    return histogram_.best_threshold_for_mix_code(
        block_cost_ns, low_of_split(split), split, far_of_split(split),
        own ? long_after_q8_[which] : average_after_long(long_after_q8_),
        own ? tiny_after_q8_[which] : average_after_long(tiny_after_q8_),
        own ? far_after_q8_[which] : average_after_long(far_after_q8_));
  }

  // Where the next idle stands: after a short idle, after one long idle
  // (that followed a short one), or after two or more long idles in a row
  // or one far past B (a pause's: see Pauses).
  // (long_run_ is only ever set with previous_long_, so this is 0, 1 or 2
  // without a branch: the class of the last idle is data.)
  constexpr u32 context() const { return static_cast<u32>(previous_long_) + long_run_; }

  // P(long | previous long), order 1: the two run contexts' estimates
  // averaged. It is only used when they are within the run gate of each
  // other, so it is within half of it of either.
  constexpr u32 after_long_q8() const { return average_after_long(long_after_q8_); }

  // The same average for any per-context Q8 estimate.
  static constexpr u32 average_after_long(const u8 (&per_context)[contexts]) {
    return (per_context[after_one_long] + per_context[after_long_run] + 1) / 2;
  }

  // Do P(long | previous long) and P(long | previous short) differ enough
  // to condition on the previous idle?
  constexpr bool persistent() const {
    const u32 after_short_q8 = long_after_q8_[after_short], after_long = after_long_q8();
    const u32 persistence = after_long > after_short_q8 ? after_long - after_short_q8 : after_short_q8 - after_long;
    return persistence >= persistence_gate_q8;
  }

  // Do the short idles after a short one and after a long one differ in
  // shape (the share that is tiny) by a quarter or more? Then condition on
  // the previous idle even when P(long) does not differ (see Shapes).
  constexpr bool shapes_differ() const {
    const u32 after_short_q8 = tiny_after_q8_[after_short], after_long = average_after_long(tiny_after_q8_);
    const u32 difference = after_long > after_short_q8 ? after_long - after_short_q8 : after_short_q8 - after_long;
    return difference >= persistence_gate_q8;
  }

  // Condition on the previous idle at all?
  constexpr bool conditioned() const { return persistent() || shapes_differ(); }

  // After a long idle, does it matter whether the one before was long too
  // (a pause going on) or short (one long idle inside a burst)?
  constexpr bool run_matters() const {
    const u32 one = long_after_q8_[after_one_long], run = long_after_q8_[after_long_run];
    return (one > run ? one - run : run - one) >= run_gate_q8;
  }

  constexpr void reflect(const idle_outcome& outcome) {
    // The idle's bin and B's split bin are each found once per idle, for
    // the histogram, the shape estimates and the cache (select + reflect on
    // bench_governor's stream, plain loop: 14 -> 10.7 ns against finding
    // them where each is used).
    const u32 bin = histogram_predictor::bin_of(outcome.idle_ns);
    const duration_ns block = outcome.block_cost_ns;
    const u32 was_long = outcome.idle_ns > block ? 1 : 0;
    const u32 now = context();
    const u32 split = split_of(block);
    // Learn only from idles the histogram decided: one whose budget it did
    // not choose was decided by a near timer, and its length is the timer's
    // (see the top of this file). Nothing has changed since budget(): the
    // cache is refreshed below. A timer's budget is never below B, so only
    // one at or past B needs the check (compared at 32 bits, as a
    // governor's record keeps the budget). [[likely]]: bench_governor 15.3
    // -> 14.0 ns, against 13.7 without the check.
    if (outcome.budget_ns < block || sat_u32(outcome.budget_ns) == sat_u32(guarded(cached_threshold(block), block))) [[likely]] {
      histogram_.observe_bin(bin);
      long_after_q8_[now] = step_toward(long_after_q8_[now], was_long ? 256 : 0);
      // The shape within the class: tiny among short idles, far among long.
      // (Two branches measured faster than one update through a reference.)
      if (was_long)
        far_after_q8_[now] = step_toward(far_after_q8_[now], bin >= far_of_split(split) ? 256 : 0);
      else
        tiny_after_q8_[now] = step_toward(tiny_after_q8_[now], bin < low_of_split(split) ? 256 : 0);
    }
    // A run: this long idle after another, or one far enough out to be a
    // pause's by itself (see Pauses).
    const u32 pause = bin >= split + pause_offset_bins ? 1u : 0u;
    long_run_ = static_cast<u8>(was_long & (previous_long_ | pause)) & 1u;
    previous_long_ = static_cast<u8>(was_long) & 1u;
    const duration_ns break_even_cost = decision_cost(outcome.idle_ns, block, block);
    const duration_ns paid = decision_cost(outcome.idle_ns, outcome.budget_ns, block);
    const u64 earned = sat_add(allowance_ns_, sat_add(break_even_cost, break_even_cost >> tithe_shift));
    // sat_sub floors at zero; with budgets from guarded() the floor is never
    // reached (the risk check guarantees paid - break_even <= allowance).
    allowance_ns_ = static_cast<u32>(min_of(sat_sub(earned, paid), allowance_cap_ns(block))) & allowance_mask;
    refresh_cache_for(block, split);
  }

  // Rescans when due (see the top of this file). Public so a layer can
  // force one, e.g. after changing B by a lot.
  constexpr void refresh_cache(duration_ns block_cost_ns) { refresh_cache_for(block_cost_ns, split_of(block_cost_ns)); }

 private:
  // refresh_cache() with B's split bin already found.
  constexpr void refresh_cache_for(duration_ns block_cost_ns, u32 split) {
    const u32 key = split + 1;
    if (histogram_.total() == 0) {
      cache_key_ = 0;  // nothing learned: budget() answers B without a scan
      return;
    }
    if (key == cache_key_ && histogram_.total() % refresh_period != 0) return;
    // One scan when both gates are closed (every context gets the
    // unconditional answer), two when only the previous idle matters,
    // three when the run does. (A loop, not three calls: with three call
    // sites GCC 12 kept learned_code() out of line, a call that takes this
    // policy's address, so a governor's select() could no longer drop the
    // median its caller never reads: bench_governor 8 -> 15 ns. One call
    // site is inlined like the rest of reflect().)
    const bool run = run_matters();
    const u32 scans = run ? contexts : conditioned() ? 2 : 1;
    u32 codes[contexts] = {};
    for (u32 which = 0; which < contexts; ++which)
      codes[which] = which < scans ? learned_code(block_cost_ns, which) : codes[which - 1];
    after_short_code_ = static_cast<u8>(codes[after_short]) & 0x7fu;
    after_one_long_code_ = static_cast<u8>(codes[after_one_long]) & 0x7fu;
    histogram_.set_owner_bits(codes[after_long_run]);
    cache_key_ = key & 0x3fu;
  }

 public:
  constexpr void reset() { *this = distribution_threshold{}; }

  // The bound holds for the sum over every prefix of the idles, not per
  // idle (see the top of this file).
  static constexpr bool bound_is_amortized = true;

  // Aggregate bound: 2 * (1 + 2^-tithe_shift) in Q10 (2176 = 2.125).
  constexpr u32 worst_case_ratio_q10() const { return 2 * (q10_one + (q10_one >> tithe_shift)); }

  // The learned threshold after the risk check: what budget() plays.
  // The allowance was capped against the B of past idles; capping it again
  // against today's B keeps every budget within budget_cap_ns(B).
  constexpr duration_ns guarded(duration_ns learned_ns, duration_ns block_cost_ns) const {
    const duration_ns usable = min_of<duration_ns>(allowance_ns_, allowance_cap_ns(block_cost_ns));
    if (learned_ns < block_cost_ns) return usable >= block_cost_ns ? learned_ns : block_cost_ns;
    return min_of(learned_ns, sat_add(block_cost_ns, usable));
  }

  // No budget exceeds B plus the largest allowance: 17 B.
  constexpr duration_ns budget_cap_ns(duration_ns block_cost_ns) const {
    return sat_mul(block_cost_ns, allowance_cap_in_b + 1);
  }

  // 16 B, and no more than the 26 bits the allowance is kept in (67 ms:
  // only a B above 4.2 ms, which no layer has, sees a smaller cap).
  static constexpr duration_ns allowance_cap_ns(duration_ns block_cost_ns) {
    return min_of(sat_mul(block_cost_ns, allowance_cap_in_b), allowance_max_ns);
  }

  constexpr const histogram_predictor& histogram() const { return histogram_; }
  constexpr duration_ns allowance_ns() const { return allowance_ns_; }

  // A state copied from another waiter (a warm start: hosted/process_state.hpp)
  // keeps that waiter's histogram and context estimates, but not more than
  // max_ns of its savings, which the other waiter earned and may still spend.
  constexpr void limit_allowance(duration_ns max_ns) {
    allowance_ns_ = static_cast<u32>(min_of<duration_ns>(allowance_ns_, max_ns)) & allowance_mask;
  }

 private:
  // EWMA with weight 1/16, rounded to nearest so it settles within 8/256 of
  // 0 or 1 instead of sticking 16/256 short of one end.
  static constexpr u8 step_toward(u8 probability_q8, i32 target_q8) {
    const i32 delta = target_q8 - probability_q8;
    const i32 next = probability_q8 + (delta + (delta < 0 ? -8 : 8)) / 16;
    return static_cast<u8>(clamp_to<i32>(next, 0, 255));
  }

  // Selects rather than branches (see context()).
  constexpr u32 cached_code(u32 which) const {
    u32 code = after_short_code_;
    code = which >= after_one_long ? static_cast<u32>(after_one_long_code_) : code;
    code = which == after_long_run ? histogram_.owner_bits() : code;
    return code;
  }

  static constexpr u32 allowance_mask = static_cast<u32>(allowance_max_ns);

  u32 allowance_ns_ : allowance_bits = 0;
  u32 cache_key_ : 32 - allowance_bits = 0;  // 1 + the split the codes are for; 0: none
  histogram_predictor histogram_{};          // owner_bits(): the after-long-run code
  u8 long_after_q8_[contexts] = {128, 128, 128};  // P(next idle long | context), Q8
  u8 previous_long_ : 1 = 0;                 // was the last idle longer than its B?
  u8 after_short_code_ : 7 = 0;
  u8 long_run_ : 1 = 0;                      // ... and the one before it too, or it was ~8 B+?
  u8 after_one_long_code_ : 7 = 0;
  u8 tiny_after_q8_[contexts] = {128, 128, 128};  // P(short idle is tiny | context), Q8
  u8 far_after_q8_[contexts] = {128, 128, 128};   // P(long idle is far | context), Q8
};

}  // namespace lazyidle

#endif
