// SPDX-License-Identifier: GPL-2.0-only OR MIT
// histogram_predictor: bin layout, decay, quantiles, and best_threshold
// checked against a brute-force pricing of the same histogram.
#include <doctest/doctest.h>

#include <lazyidle/concepts.hpp>
#include <lazyidle/predictor/histogram.hpp>

#include <algorithm>
#include <random>

using namespace lazyidle;
using h = histogram_predictor;

TEST_CASE("histogram: size and concepts") {
  MESSAGE("sizeof(histogram_predictor) = " << sizeof(histogram_predictor) << " (" << h::bin_count << " u8 bins)");
  CHECK(sizeof(histogram_predictor) <= 42);
  static_assert(check_predictor<histogram_predictor>());
  static_assert(is_distribution_predictor_v<histogram_predictor>);
}

TEST_CASE("histogram: bins tile [0, forever) in order, quarter-octaves between 1 and 262 us") {
  CHECK(h::lower_edge(0) == 0);
  CHECK(h::upper_edge(h::last_bin) == no_bound);
  CHECK(h::lower_edge(h::last_bin) <= 10000000);  // the open bin starts below ~10 ms
  CHECK(h::upper_edge(0) == 1024);
  for (u32 bin = 0; bin < h::bin_count; ++bin) {
    CAPTURE(bin);
    CHECK(h::bin_of(h::lower_edge(bin)) == bin);
    if (bin < h::last_bin) {
      CHECK(h::lower_edge(bin) < h::upper_edge(bin));
      CHECK(h::bin_of(h::upper_edge(bin) - 1) == bin);
      CHECK(h::upper_edge(bin) == h::lower_edge(bin + 1));
      const duration_ns rep = h::representative(bin);
      CHECK(h::lower_edge(bin) <= rep);
      CHECK(rep < h::upper_edge(bin));
    }
    // Fine bins are at most a quarter of their lower edge wide.
    if (h::lower_edge(bin) >= 1024 && h::upper_edge(bin) <= (1u << 18))
      CHECK((h::upper_edge(bin) - h::lower_edge(bin)) * 4 <= h::lower_edge(bin));
  }
  CHECK(h::bin_of(u64_max) == h::last_bin);
  CHECK(h::bin_of(1ull << 63) == h::last_bin);
  // 10, 20, 50, 100 us each sit in a fine bin.
  for (duration_ns b : {10000ull, 20000ull, 50000ull, 100000ull}) CHECK(h::upper_edge(h::bin_of(b)) - h::lower_edge(h::bin_of(b)) <= b / 4);
}

TEST_CASE("histogram: counts decay by halving before the total overflows") {
  h p;
  for (int i = 0; i < 255; ++i) p.observe({3000, no_bound});
  CHECK(p.total() == 255);
  CHECK(p.count(h::bin_of(3000)) == 255);
  p.observe({50000, no_bound});
  // 255 halved (rounded by bin parity) then the new idle added.
  CHECK(p.total() <= 129);
  CHECK(p.total() >= 128);
  CHECK(p.count(h::bin_of(50000)) == 1);
  // A single count neither lives forever nor dies on the first halving.
  int survived = 0;
  for (int round = 0; round < 4; ++round) {
    for (int i = 0; i < 200; ++i) p.observe({3000, no_bound});
    survived += p.count(h::bin_of(50000)) > 0 ? 1 : 0;
  }
  CHECK(p.count(h::bin_of(50000)) == 0);
  CHECK(survived <= 2);
}

TEST_CASE("histogram: quantiles interpolate within bins") {
  h p;
  CHECK(p.quantile(512) == 0);
  for (int i = 0; i < 100; ++i) p.observe({5000, no_bound});  // bin [4096, 5120)
  const u32 bin = h::bin_of(5000);
  CHECK(p.quantile(0) == h::lower_edge(bin));
  CHECK(p.quantile(1024) == h::upper_edge(bin));
  CHECK(p.quantile(512) == h::representative(bin));
  for (int i = 0; i < 100; ++i) p.observe({500000, no_bound});
  // Half the mass is at 5 us, half at 500 us: the median is the 5 us bin's top.
  CHECK(p.quantile(512) == h::upper_edge(bin));
  CHECK(p.quantile(768) >= h::lower_edge(h::bin_of(500000)));
}

TEST_CASE("histogram: predict is the median capped by the bound, confidence from concentration") {
  h p;
  CHECK(p.predict(7000).expected_ns == 7000);
  CHECK(p.predict(7000).confidence_q10 == 0);
  for (int i = 0; i < 64; ++i) p.observe({40000, no_bound});
  const prediction steady = p.predict(no_bound);
  CHECK(h::bin_of(steady.expected_ns) == h::bin_of(40000));
  CHECK(steady.confidence_q10 == 1024);
  CHECK(p.predict(12000).expected_ns == 12000);
  h spread;
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<u64> anywhere(0, 40);
  for (int i = 0; i < 200; ++i) spread.observe({1ull << (anywhere(rng) % 24), no_bound});
  CHECK(spread.predict(no_bound).confidence_q10 < 600);
  h few;
  few.observe({40000, no_bound});
  CHECK(few.predict(no_bound).confidence_q10 == 1024 / 32);  // one sample: a thirty-second of the trust
}

namespace {
// Price every threshold of {0, each edge} on the histogram by the formula in
// the header, independently of best_threshold's running sums.
u64 priced(const h& p, duration_ns threshold, duration_ns block) {
  u64 cost = 0;
  for (u32 bin = 0; bin < h::bin_count; ++bin) {
    const u64 c = p.count(bin);
    cost += h::upper_edge(bin) <= threshold ? c * h::representative(bin) : c * (threshold + block);
  }
  return cost;
}
}  // namespace

TEST_CASE("histogram: best_threshold is the cheapest candidate on random histograms") {
  std::mt19937_64 rng(11);
  for (int trial = 0; trial < 300; ++trial) {
    h p;
    const int samples = 1 + static_cast<int>(rng() % 600);
    const u32 modes = 1 + static_cast<u32>(rng() % 3);
    for (int i = 0; i < samples; ++i) {
      const u32 mode = static_cast<u32>(rng() % modes);
      p.observe({(rng() % (1000ull << (4 * mode + 2))) + (rng() % 2 ? 0 : 200000ull * mode), no_bound});
    }
    for (duration_ns block : {1000ull, 10000ull, 20000ull, 50000ull, 100000ull, 3000000ull}) {
      const duration_ns got = p.best_threshold(block);
      u64 best = priced(p, 0, block);
      duration_ns best_at = 0;
      duration_ns top = 0;
      for (u32 bin = 0; bin < h::last_bin; ++bin) {
        if (p.count(bin) == 0) continue;
        top = h::upper_edge(bin);
        const u64 c = priced(p, top, block);
        if (c < best) best = c, best_at = top;
      }
      CAPTURE(trial);
      CAPTURE(block);
      const bool polls_all = p.count(h::last_bin) == 0 && best_at == top && top != 0;
      CHECK(got == (polls_all ? best_at + block : best_at));
      CHECK(priced(p, got, block) == best);
    }
  }
}

TEST_CASE("histogram: best_threshold_for_mix is the cheapest candidate for the reweighted mix") {
  // Brute force in doubles: each part normalised to its expected share.
  std::mt19937_64 rng(13);
  for (int trial = 0; trial < 200; ++trial) {
    h p;
    for (int i = 0; i < 300; ++i) p.observe({rng() % 2 ? rng() % 20000 : 100000 + rng() % 3000000, no_bound});
    const u32 split = h::bin_of(20000 + rng() % 60000);
    const u32 above_q8 = static_cast<u32>(rng() % 257);
    const duration_ns block = 10000 + rng() % 90000;
    const double below_count = p.count_between(0, split), above_count = p.total() - below_count;
    auto weighted_cost = [&](duration_ns threshold) {
      double cost = 0;
      for (u32 bin = 0; bin < h::bin_count; ++bin) {
        const double share = bin < split ? (256.0 - above_q8) / 256.0 / below_count : above_q8 / 256.0 / above_count;
        const double each = h::upper_edge(bin) <= threshold ? static_cast<double>(h::representative(bin))
                                                            : static_cast<double>(threshold + block);
        cost += share * p.count(bin) * each;
      }
      return cost;
    };
    double best = weighted_cost(0);
    for (u32 bin = 0; bin < h::last_bin; ++bin) best = std::min(best, weighted_cost(h::upper_edge(bin)));
    const duration_ns got = p.best_threshold_for_mix(block, split, above_q8);
    CAPTURE(trial);
    CHECK(weighted_cost(got) <= best * (1 + 1e-9));
  }
  // The remembered mix itself gives the unweighted answer.
  h q;
  for (int i = 0; i < 200; ++i) q.observe({i % 4 ? 3000ull : 2000000ull, no_bound});
  const u32 split = h::bin_of(20000);
  CHECK(q.best_threshold_for_mix(20000, split, 64) == q.best_threshold(20000));
  // All long next: block at once; all short next: poll through the short mode and B on.
  CHECK(q.best_threshold_for_mix(20000, split, 256) == 0);
  CHECK(q.best_threshold_for_mix(20000, split, 0) == h::upper_edge(h::bin_of(3000)) + 20000);
}

TEST_CASE("histogram: the four-piece mix is the cheapest candidate for its reweighted mix") {
  // As above with the short part cut at low_bin and the long part at
  // far_bin. The weights are rounded to integers (shares in Q24 spread over
  // each piece), so the answer is the cheapest up to that rounding.
  std::mt19937_64 rng(17);
  for (int trial = 0; trial < 300; ++trial) {
    h p;
    for (int i = 0; i < 300; ++i) {
      const u64 kind = rng() % 4;
      p.observe({kind == 0   ? rng() % 4000
                 : kind == 1 ? 4000 + rng() % 16000
                 : kind == 2 ? 20000 + rng() % 80000
                             : 100000 + rng() % 3000000,
                 no_bound});
    }
    const u32 split = h::bin_of(20000 + rng() % 60000);
    const u32 low = split - 1 - static_cast<u32>(rng() % 12), far = split + 1 + static_cast<u32>(rng() % 10);
    const u32 above_q8 = static_cast<u32>(rng() % 257), tiny_q8 = static_cast<u32>(rng() % 257),
              far_q8 = static_cast<u32>(rng() % 257);
    const duration_ns block = 10000 + rng() % 90000;
    const double tiny = p.count_between(0, low), near_short = p.count_between(low, split),
                 near_long = p.count_between(split, far), far_count = p.total() - tiny - near_short - near_long;
    if (tiny == 0 || near_short == 0 || near_long == 0 || far_count == 0) continue;
    auto weighted_cost = [&](duration_ns threshold) {
      double cost = 0;
      for (u32 bin = 0; bin < h::bin_count; ++bin) {
        const double short_share = (256.0 - above_q8) / 256.0, long_share = above_q8 / 256.0;
        const double share = bin < low     ? short_share * tiny_q8 / 256.0 / tiny
                             : bin < split ? short_share * (256.0 - tiny_q8) / 256.0 / near_short
                             : bin < far   ? long_share * (256.0 - far_q8) / 256.0 / near_long
                                           : long_share * far_q8 / 256.0 / far_count;
        const double each = h::upper_edge(bin) <= threshold ? static_cast<double>(h::representative(bin))
                                                            : static_cast<double>(threshold + block);
        cost += share * p.count(bin) * each;
      }
      return cost;
    };
    double best = weighted_cost(0);
    for (u32 bin = 0; bin < h::last_bin; ++bin) best = std::min(best, weighted_cost(h::upper_edge(bin)));
    const duration_ns got =
        h::decode_threshold(p.best_threshold_for_mix_code(block, low, split, far, above_q8, tiny_q8, far_q8), block);
    CAPTURE(trial);
    CHECK(weighted_cost(got) <= best * (1 + 1e-4));
  }
  // Short idles of 3 us, long ones of 11 us (near B = 10 us: polling
  // through one costs less than blocking after 3 us, 3 us + B) and 2 ms
  // (far) in equal numbers: expecting the long ones to be the near ones,
  // poll through them; expecting them far, poll through the short mode only.
  h q;
  for (int i = 0; i < 240; ++i) q.observe({i % 3 == 0 ? 3000ull : i % 3 == 1 ? 11000ull : 2000000ull, no_bound});
  const u32 split = h::bin_of(10240), far = split + 6;
  CHECK(h::decode_threshold(q.best_threshold_for_mix_code(10000, 0, split, far, 64, 128, 16), 10000) ==
        h::upper_edge(h::bin_of(11000)));
  CHECK(h::decode_threshold(q.best_threshold_for_mix_code(10000, 0, split, far, 64, 128, 240), 10000) ==
        h::upper_edge(h::bin_of(3000)));
  // Short idles of 2 us and 30 us at B = 50 us, long ones of 1 ms: when
  // the short ones expected are the 30 us ones, polling to 2 us catches
  // none of them, and it blocks at once.
  h r;
  for (int i = 0; i < 200; ++i) r.observe({i % 4 == 0 ? 2000ull : i % 4 == 1 ? 30000ull : 1000000ull, no_bound});
  const u32 split50 = h::bin_of(53248), low50 = split50 - 10;
  CHECK(h::decode_threshold(r.best_threshold_for_mix_code(50000, low50, split50, split50 + 6, 200, 240, 128), 50000) ==
        h::upper_edge(h::bin_of(2000)));
  CHECK(r.best_threshold_for_mix_code(50000, low50, split50, split50 + 6, 200, 8, 128) == 0);
}

TEST_CASE("histogram: best_threshold on the shapes that matter") {
  const duration_ns block = 20000;
  h empty;
  CHECK(empty.best_threshold(block) == block);  // nothing known: break-even
  h long_idles;
  for (int i = 0; i < 100; ++i) long_idles.observe({2000000, no_bound});
  CHECK(long_idles.best_threshold(block) == 0);  // block at once
  h short_idles;
  for (int i = 0; i < 100; ++i) short_idles.observe({3000, no_bound});
  // Poll through the mode, and B further for the unseen tail.
  CHECK(short_idles.best_threshold(block) == h::upper_edge(h::bin_of(3000)) + block);
  h bimodal;
  for (int i = 0; i < 200; ++i) bimodal.observe({i % 3 ? 3000ull : 2000000ull, no_bound});
  CHECK(bimodal.best_threshold(block) == h::upper_edge(h::bin_of(3000)));
  // When the short mode is too rare to pay for polling, block at once.
  h mostly_long;
  for (int i = 0; i < 200; ++i) mostly_long.observe({i % 20 ? 2000000ull : 3000ull, no_bound});
  CHECK(mostly_long.best_threshold(block) == 0);
}

TEST_CASE("histogram: usable at compile time") {
  constexpr duration_ns threshold = [] {
    h p;
    for (int i = 0; i < 30; ++i) p.observe({i % 2 ? 2000ull : 5000000ull, no_bound});
    return p.best_threshold(50000);
  }();
  static_assert(threshold == h::upper_edge(h::bin_of(2000)));
  CHECK(threshold == 2048);  // 2000 ns sits in [1792, 2048)
}

TEST_CASE("histogram: predict's 32-bit median is quantile(512) to the nanosecond") {
  // median_ns() is the fast path predict() takes; it must not drift from the
  // general quantile walk on any histogram (empty bins, ties at bin edges,
  // the open last bin, totals across halvings).
  std::mt19937_64 rng(21);
  u64 checked = 0, mismatches = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    h p;
    const int samples = static_cast<int>(rng() % 700);
    const u32 mode = static_cast<u32>(rng() % 4);
    for (int i = 0; i < samples; ++i) {
      const u64 y = mode == 0   ? rng() >> (rng() % 64)
                    : mode == 1 ? rng() % 20000
                    : mode == 2 ? (rng() % 2 ? 3000 : 9000000 + rng() % 5)
                                : rng() % (1ull << 24);
      p.observe({y, no_bound});
      ++checked;
      mismatches += p.median_ns() == p.quantile(512) ? 0 : 1;
    }
  }
  CHECK(checked > 500000);
  CHECK(mismatches == 0);
}
