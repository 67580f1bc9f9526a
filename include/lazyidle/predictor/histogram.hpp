// SPDX-License-Identifier: GPL-2.0-only OR MIT
//
// Histogram predictor: remember the shape of recent idles, not just their
// average, and answer the question a poll policy actually asks.
//
// Bins. Idles are counted in 37 log-spaced bins. Between 1 us and 262 us,
// where the poll-or-block threshold lives for block costs B of 10-100 us
// (the best threshold is at most a few B), each octave is cut into four bins
// of equal width (1, 1.25, 1.5, 1.75 times a power of two: 12-25% wide).
// Outside that range resolution matters less: one bin below 1 us and one
// per octave from 262 us up to 2.1 ms, the last bin open-ended. (No
// threshold past 2.1 ms is worth telling apart for a B up to 123 us: a
// guarded budget never exceeds 17 B. The two octaves up to 8.4 ms that
// the histogram once had are the two bytes distribution_threshold spends
// on the order of idles.) The bin of a duration is its octave (log2) and
// the two bits after the leading one: no search.
//
// Decay. Counts are u8 and their total is kept below 256: when it gets
// there every bin is halved, so the histogram describes roughly the last
// 128-255 idles with older ones at half weight, then a quarter. Halving
// rounds up in every other bin and down in the rest, alternating each time,
// so a rare bin neither vanishes after one halving nor lives forever.
//
// Questions. quantile(q) walks the cumulative counts and interpolates
// linearly inside the bin. predict() returns the median (the statistic that
// decides "will this idle outlast B?") and as confidence the share of mass
// within two bins either side of the median bin, scaled down while there
// are fewer than 32 samples. best_threshold(B) is the online analogue of the
// hindsight-best fixed threshold (DESIGN §3): for each candidate poll
// budget T in {0, each bin's upper edge} it prices the remembered idles
// under the one cost model,
//
//   cost(T) = sum over bins below T of count * midpoint
//           + (number of idles above T) * (T + B),
//
// and returns the cheapest T. Only edges of occupied bins can win (moving T
// across an empty bin only makes the blocked idles dearer), ties go to the
// smaller T. With nothing remembered it returns B, the break-even budget.
// best_threshold_for_mix_code() runs the same scan with pieces of the
// histogram reweighted to an expected mix: short and long (split at B), or
// four pieces (tiny and near short, near and far long), each piece keeping
// its remembered shape.
//
// Threshold codes. Every answer of the scan is one of {0, upper edge of
// bin i, upper edge of bin i + B}, so it fits in 7 bits: best_threshold_code()
// returns that code and decode_threshold(code, B) the budget. A policy that
// asks the same question on every decision (distribution_threshold) caches
// codes instead of rescanning: the scan is the expensive part (~36 bins of
// 64-bit multiplies, ~30 ns), the decode a table load.
//
// Spare bits. The halving parity needs one bit of its byte; the other seven
// are left to whoever embeds the histogram (owner_bits()), so a policy can
// keep a threshold code there instead of growing past a cache line.
#ifndef LAZYIDLE_PREDICTOR_HISTOGRAM_HPP
#define LAZYIDLE_PREDICTOR_HISTOGRAM_HPP

#include "../arith.hpp"
#include "../vocabulary.hpp"

namespace lazyidle {

// The bin layout, apart from the counts so the scan's edge table can be a
// constant built from it before the predictor is defined.
struct histogram_bins {
  // Layout: [0, 1024), quarter-octaves from 2^10 to 2^18 ns,
  // then octaves from 2^18 to 2^21 ns and [2^21, forever).
  static constexpr u32 fine_first_log2 = 10;
  static constexpr u32 fine_end_log2 = 18;
  static constexpr u32 sub_bins_log2 = 2;  // four bins per fine octave
  static constexpr u32 low_bins = 1;
  static constexpr u32 fine_bins = (fine_end_log2 - fine_first_log2) << sub_bins_log2;
  static constexpr u32 coarse_bins = 4;
  static constexpr u32 bin_count = low_bins + fine_bins + coarse_bins;
  static constexpr u32 last_bin = bin_count - 1;

  static constexpr u32 bin_of(duration_ns idle_ns) {
    if (idle_ns < (1ull << fine_first_log2)) return 0;
    const u32 octave = log2_floor(idle_ns);
    if (octave < fine_end_log2) {
      const u32 sub = static_cast<u32>(idle_ns >> (octave - sub_bins_log2)) & ((1u << sub_bins_log2) - 1);
      return low_bins + ((octave - fine_first_log2) << sub_bins_log2) + sub;
    }
    return min_of(low_bins + fine_bins + (octave - fine_end_log2), last_bin);
  }

  static constexpr duration_ns lower_edge(u32 bin) {
    if (bin < low_bins) return 0;
    if (bin < low_bins + fine_bins) {
      const u32 octave = fine_first_log2 + ((bin - low_bins) >> sub_bins_log2);
      const u64 sub = (bin - low_bins) & ((1u << sub_bins_log2) - 1);
      return (1ull << octave) + (sub << (octave - sub_bins_log2));
    }
    return 1ull << (fine_end_log2 + (bin - low_bins - fine_bins));
  }

  // Exclusive; the last bin has no upper edge.
  static constexpr duration_ns upper_edge(u32 bin) { return bin < last_bin ? lower_edge(bin + 1) : no_bound; }

  // The value an idle in this bin is priced at: the midpoint; for the open
  // last bin, twice its lower edge (an idle that long blocks under any
  // threshold we would pick, so its exact value never moves a decision).
  static constexpr duration_ns representative(u32 bin) {
    const duration_ns lower = lower_edge(bin);
    return bin < last_bin ? lower + (upper_edge(bin) - lower) / 2 : 2 * lower;
  }

  // Edges and midpoints precomputed for the per-decision scan (u32: the
  // last finite edge is 2^21 ns).
  struct edge_table {
    u32 lower[bin_count];
    u32 upper[bin_count];
    u32 midpoint[bin_count];
  };
  static constexpr edge_table make_edge_table() {
    edge_table table{};
    for (u32 bin = 0; bin < bin_count; ++bin) {
      table.lower[bin] = sat_u32(lower_edge(bin));
      table.upper[bin] = sat_u32(upper_edge(bin));
      table.midpoint[bin] = sat_u32(representative(bin));
    }
    return table;
  }
};

// Constant-initialised: no constructor runs, in a kernel or anywhere.
inline constexpr histogram_bins::edge_table histogram_edges = histogram_bins::make_edge_table();

class histogram_predictor : public histogram_bins {
 public:
  static constexpr const char* name = "histogram";
  static constexpr u32 max_total = 255;  // counts are u8; so is their total

  // Threshold codes (see the top of this file): bits 0-5 hold 0 for T = 0
  // or 1 + i for T = upper_edge(i), i < last_bin; bit 6 adds B.
  static constexpr u32 code_bin_mask = 0x3f;
  static constexpr u32 code_plus_block = 0x40;
  static_assert(last_bin < code_bin_mask, "threshold codes need a bin index in 6 bits");

  constexpr void observe(const idle_sample& sample) { observe_bin(bin_of(sample.idle_ns)); }

  // observe() for a caller that already has the idle's bin.
  constexpr void observe_bin(u32 bin) {
    if (total_ >= max_total) halve();
    counts_[bin] += 1;
    total_ += 1;
  }

  constexpr prediction predict(duration_ns bound_ns) const {
    if (total_ == 0) return {bound_ns, 0};
    // The idle ends at min(y, bound), and the median of min(y, bound) is
    // min(median, bound): truncating by the bound needs no second walk.
    const duration_ns median = median_ns();
    return {min_of(median, bound_ns), concentration_q10(bin_of(median))};
  }

  // quantile(q10_one / 2), the same value to the nanosecond, in 32-bit
  // arithmetic: with half the mass as the target, the interpolation
  // width * (target - below) / count reduces to width * (total - 2 below)
  // / (2 count), and that numerator is below 2^21 * 510 < 2^32. (A
  // branch-free SWAR walk over eight counts per u64 measured slower here:
  // the walk's exit branch is well predicted on real streams.)
  constexpr duration_ns median_ns() const {
    if (total_ == 0) return 0;
    const u32 total = total_;
    u32 below = 0;
    u32 bin = 0;
    for (; bin < last_bin; ++bin) {
      const u32 count = counts_[bin];
      if (2 * (below + count) >= total) break;  // an empty bin never stops the walk first
      below += count;
    }
    const u32 count = counts_[bin];  // non-zero: the counts sum to total
    const u32 lower = histogram_edges.lower[bin];
    const u32 width = bin < last_bin ? histogram_edges.upper[bin] - lower : lower;
    return lower + (width * (total - 2 * below)) / (2 * count);
  }

  // The duration below which a fraction q10/1024 of recent idles ended;
  // 0 with no samples.
  constexpr duration_ns quantile(u32 q10) const {
    if (total_ == 0) return 0;
    const u64 target = static_cast<u64>(min_of(q10, q10_one)) * total_;  // in counts * 1024
    u64 below = 0;                                                       // counts * 1024
    for (u32 bin = 0; bin < bin_count; ++bin) {
      const u64 count = static_cast<u64>(counts_[bin]) * q10_one;
      if (count == 0) continue;
      if (below + count >= target) {
        const duration_ns lower = lower_edge(bin);
        const duration_ns width = bin < last_bin ? upper_edge(bin) - lower : lower;
        return lower + mul_div(width, target - below, count);
      }
      below += count;
    }
    return representative(last_bin);  // unreachable: the counts sum to total_
  }

  // The poll budget that would have cost least on the remembered idles with
  // block cost B. A B beyond 2^32 ns (4.3 s) is priced as 2^32: the sums then
  // stay below 2^57 and the answer is "poll through everything" either way.
  constexpr duration_ns best_threshold(duration_ns block_cost_ns) const {
    return decode_threshold(best_threshold_code(block_cost_ns), block_cost_ns);
  }

  // The same answer as a 7-bit code; with nothing remembered, the code of
  // T = 0 + B, i.e. B.
  constexpr u32 best_threshold_code(duration_ns block_cost_ns) const {
    if (total_ == 0) return code_plus_block;
    return scan(block_cost_ns, {0, 0, 0}, {{1, 1, 1, 1}}, total_);
  }

  static constexpr duration_ns decode_threshold(u32 code, duration_ns block_cost_ns) {
    const u32 bin_code = code & code_bin_mask;
    const duration_ns threshold = bin_code == 0 ? 0 : histogram_edges.upper[bin_code - 1];
    return (code & code_plus_block) != 0 ? sat_add(threshold, block_cost_ns) : threshold;
  }

  // The same for a different mix than the one remembered: idles in bins
  // from split_bin up are taken to be a fraction above_q8 / 256 of the
  // next ones, the rest the remainder, each part keeping its remembered
  // shape. This is how a caller prices what it expects after a long idle.
  // With one part empty there is nothing to reweight.
  constexpr duration_ns best_threshold_for_mix(duration_ns block_cost_ns, u32 split_bin, u32 above_q8) const {
    return decode_threshold(best_threshold_for_mix_code(block_cost_ns, split_bin, above_q8), block_cost_ns);
  }

  constexpr u32 best_threshold_for_mix_code(duration_ns block_cost_ns, u32 split_bin, u32 above_q8) const {
    const u32 below = count_between(0, split_bin);
    const u32 above = total_ - below;
    if (below == 0 || above == 0) return best_threshold_code(block_cost_ns);
    above_q8 = min_of<u32>(above_q8, 256);
    // Each part rescaled from its remembered share to the expected one,
    // multiplied through by below * above to stay in integers (< 2^16 each).
    const u32 below_weight = (256 - above_q8) * above;
    const u32 above_weight = above_q8 * below;
    const u64 weighted_total =
        static_cast<u64>(below_weight) * below + static_cast<u64>(above_weight) * above;
    if (weighted_total == 0) return code_plus_block;  // unreachable: both parts hold idles
    return scan(block_cost_ns, {split_bin, split_bin, split_bin}, {{below_weight, above_weight, above_weight, above_weight}},
                weighted_total);
  }

  // The same with each part cut in two: the short part at low_bin (tiny
  // and near short idles), the long part at far_bin (near and far long
  // ones). Of the short idles a fraction tiny_q8 / 256 are expected below
  // low_bin, of the long ones far_q8 / 256 from far_bin up, each piece
  // keeping its remembered shape. This is how a caller prices a context
  // whose idles differ in shape from the remembered ones, not only in the
  // share that is long: after a short idle in a burst the long ones are
  // the burst's own tail, just past B, not the pauses most remembered long
  // idles belong to. A part with an empty piece is not cut; with a part
  // empty there is nothing to reweight.
  constexpr u32 best_threshold_for_mix_code(duration_ns block_cost_ns, u32 low_bin, u32 split_bin, u32 far_bin,
                                            u32 above_q8, u32 tiny_q8, u32 far_q8) const {
    const u32 tiny = count_between(0, low_bin);
    const u32 near_short = count_between(low_bin, split_bin);
    const u32 near_long = count_between(split_bin, far_bin);
    const u32 far = total_ - tiny - near_short - near_long;
    const u32 below = tiny + near_short, above = near_long + far;
    if (below == 0 || above == 0) return best_threshold_code(block_cost_ns);
    above_q8 = min_of<u32>(above_q8, 256);
    tiny_q8 = min_of<u32>(tiny_q8, 256);
    far_q8 = min_of<u32>(far_q8, 256);
    // Each piece's expected share in Q16 (they sum to 2^16), times 2^8 and
    // spread over its remembered idles: weights and their total at most
    // 2^24, so the scan's sums stay below 2^57.
    const u32 short_q8 = 256 - above_q8;
    const bool cut_short = tiny != 0 && near_short != 0, cut_long = near_long != 0 && far != 0;
    const u32 tiny_weight = cut_short ? ((short_q8 * tiny_q8) << 8) / tiny : (short_q8 << 16) / below;
    const u32 near_short_weight = cut_short ? ((short_q8 * (256 - tiny_q8)) << 8) / near_short : tiny_weight;
    const u32 near_long_weight = cut_long ? ((above_q8 * (256 - far_q8)) << 8) / near_long : (above_q8 << 16) / above;
    const u32 far_weight = cut_long ? ((above_q8 * far_q8) << 8) / far : near_long_weight;
    const u64 weighted_total = static_cast<u64>(tiny_weight) * tiny + static_cast<u64>(near_short_weight) * near_short +
                               static_cast<u64>(near_long_weight) * near_long + static_cast<u64>(far_weight) * far;
    if (weighted_total == 0) return code_plus_block;  // unreachable: the shares sum to 2^16
    const piece_weights weights{{tiny_weight, near_short_weight, near_long_weight, far_weight}};
    return scan(block_cost_ns, {low_bin, split_bin, far_bin}, weights, weighted_total);
  }

  // Idles remembered in bins [first, last).
  constexpr u32 count_between(u32 first, u32 last) const {
    u32 sum = 0;
    for (u32 bin = first; bin < last && bin < bin_count; ++bin) sum += counts_[bin];
    return sum;
  }

  constexpr void reset() { *this = histogram_predictor{}; }

  constexpr u32 count(u32 bin) const { return counts_[bin]; }
  constexpr u32 total() const { return total_; }

  // Seven bits of the last byte the histogram does not use, for its owner.
  // observe() and halve() leave them alone; reset() clears them.
  constexpr u32 owner_bits() const { return owner_bits_; }
  constexpr void set_owner_bits(u32 bits) { owner_bits_ = static_cast<u8>(bits & 0x7fu) & 0x7fu; }

 private:
  struct piece_cuts {
    u32 bin[3];
  };
  struct piece_weights {
    u32 weight[4];
  };

  constexpr void halve() {
    u32 total = 0;
    for (u32 bin = 0; bin < bin_count; ++bin) {
      const u32 round_up = (bin + halving_parity_) & 1u;
      counts_[bin] = static_cast<u8>((counts_[bin] + round_up) >> 1);
      total += counts_[bin];
    }
    total_ = static_cast<u8>(total);
    halving_parity_ = static_cast<u8>(halving_parity_ ^ 1u) & 1u;
  }

  // Prices T = 0 and every bin's upper edge, returns the cheapest (the
  // smaller on ties) as a threshold code. Branch-free on purpose: which
  // bins are occupied is data, and a mispredicted branch per bin costs more
  // than pricing an empty bin. An empty bin's edge never wins on its own: it prices the
  // idles above it dearer than the occupied edge below it did, or the same
  // if none are.
  // Bins below cuts[0] are weighted weights[0], those in [cuts[0], cuts[1])
  // weights[1], and so on. (Two rewrites measured no better with GCC 12 on
  // bench_governor, bimodal / alternating streams, 13.2 / 24.0 ns as is:
  // pricing three mixes in one pass spilled its accumulators, 16.6 / 27.1;
  // a loop per piece instead of the per-bin piece compare, 14.1 / 22.6.)
  constexpr u32 scan(duration_ns block_cost_ns, piece_cuts cuts, piece_weights weights, u64 weighted_total) const {
    const u64 block = min_of<u64>(block_cost_ns, 1ull << 32);
    u64 best_cost = block * weighted_total;  // T = 0: every idle blocks at once
    u32 best = 0;                            // code: 0 or 1 + bin
    u64 polled_cost = 0;
    u64 polled = 0;
    for (u32 bin = 0; bin < last_bin; ++bin) {
      const u32 piece = (bin >= cuts.bin[0] ? 1u : 0u) + (bin >= cuts.bin[1] ? 1u : 0u) + (bin >= cuts.bin[2] ? 1u : 0u);
      const u64 weight = static_cast<u64>(counts_[bin]) * weights.weight[piece];
      polled += weight;
      polled_cost += weight * histogram_edges.midpoint[bin];
      const u64 cost = polled_cost + (histogram_edges.upper[bin] + block) * (weighted_total - polled);
      const bool cheaper = cost < best_cost;
      best_cost = cheaper ? cost : best_cost;
      best = cheaper ? bin + 1 : best;
    }
    // Polling through every remembered idle won (nothing blocked at the
    // best T): then every larger T ties, and the one to pick is B past the
    // longest idle seen. An idle longer than any in the window is the unseen
    // tail, and for it the break-even rule is the right one: B more.
    if (best != 0 && polled == weighted_total && best_cost == polled_cost) best |= code_plus_block;
    return best;
  }

  // Share of the mass within two bins of the median's, in Q10, discounted
  // while the histogram holds fewer than 32 idles.
  // (32-bit divisions: near * 1024 < 2^18; the same values as mul_div.)
  constexpr u32 concentration_q10(u32 median_bin) const {
    u32 near = 0;
    for (u32 bin = median_bin >= 2 ? median_bin - 2 : 0; bin <= median_bin + 2 && bin < bin_count; ++bin)
      near += counts_[bin];
    const u32 share = near * q10_one / total_;
    return share * min_of<u32>(total_, 32) / 32;
  }

  u8 counts_[bin_count]{};
  u8 total_ = 0;
  u8 halving_parity_ : 1 = 0;  // picks which bins round up on the next halving
  u8 owner_bits_ : 7 = 0;
};

}  // namespace lazyidle

#endif
