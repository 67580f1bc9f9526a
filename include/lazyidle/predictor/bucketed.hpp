// SPDX-License-Identifier: GPL-2.0-only OR MIT
//
// Bucketed correction predictor: how much of the known upper bound will the
// idle really use?
//
// When the layer knows when the next timer fires, the idle cannot outlast
// that bound, but it is usually cut short by an interrupt or a message. Like
// Linux's menu governor, this predictor learns a correction factor
// f = measured idle / bound and predicts bound * f. Short bounds (a 10 us
// high-resolution timer) and long ones (the 4 ms tick) are cut short by
// different things, so the factor is learned separately per bucket, the
// buckets being the decades of the bound: < 10 us, < 100 us, < 1 ms, < 10 ms,
// < 100 ms and beyond. Each factor is a decaying average with weight 1/8, kept
// as menu keeps it: the stored value is 8 * f * 1024, so unity is 8192 and an
// update is f -= f / 8; f += 1024 * ratio (steady state: 8192 * ratio). A
// bucket starts at unity: with no evidence, the timer is the best guess.
//
// Beside each factor sits the mean absolute error of the ratio it predicted
// (same weight, same scale); the confidence is 1 - error / factor, the
// relative error of the last few predictions in that bucket.
//
// An idle with no bound teaches no factor (there is nothing to divide by), so
// requests without a bound fall back to a plain EWMA of all idles, the
// ewma_predictor's rule, fed by every idle with or without a bound.
//
// This is menu's core idea, not a faithful copy (no iowait buckets, no
// typical-interval detection, no latency multiplier): the faithful copy lives
// in the simulator. Ratios above one (a timer that fired late) count as one.
#ifndef LAZYIDLE_PREDICTOR_BUCKETED_HPP
#define LAZYIDLE_PREDICTOR_BUCKETED_HPP

#include "../arith.hpp"
#include "../vocabulary.hpp"
#include "ewma.hpp"

namespace lazyidle {

class bucketed_correction_predictor {
 public:
  static constexpr const char* name = "bucketed";
  static constexpr u32 bucket_count = 6;
  static constexpr u32 decay_shift = 3;                             // weight 1/8, as menu's DECAY
  static constexpr u32 unity_factor = q10_one << decay_shift;       // 8192: f = 1.0
  static constexpr u32 fallback_shift = 3;

  // Bucket of a bound: its decade above 10 us, menu's which_bucket() without
  // the iowait half.
  static constexpr u32 bucket_of(duration_ns bound_ns) {
    u32 bucket = 0;
    for (duration_ns decade = 10000; bucket + 1 < bucket_count && bound_ns >= decade; decade *= 10) ++bucket;
    return bucket;
  }

  constexpr void observe(const idle_sample& sample) {
    fallback_.add(sample.idle_ns);
    if (sample.bound_ns == no_bound || sample.bound_ns == 0) return;
    bucket& b = buckets_[bucket_of(sample.bound_ns)];
    // The measured ratio in the stored scale (8192 = 1.0), capped at one.
    const u32 ratio = static_cast<u32>(
        min_of<u64>(mul_div(min_of(sample.idle_ns, sample.bound_ns), unity_factor, sample.bound_ns), unity_factor));
    const u32 error = ratio >= b.factor ? ratio - b.factor : b.factor - ratio;
    b.error = static_cast<u16>(ewma_step(b.error, error, decay_shift));
    // f - f/8 + ratio/8 stays within [0, 8192] because ratio <= 8192.
    u32 factor = b.factor - (b.factor >> decay_shift) + (ratio >> decay_shift);
    // A factor of zero would predict zero forever after (menu guards the same
    // way): keep the smallest positive factor.
    b.factor = static_cast<u16>(max_of<u32>(factor, 1));
  }

  constexpr prediction predict(duration_ns bound_ns) const {
    if (bound_ns == no_bound) {
      if (!fallback_.seeded) return {no_bound, 0};
      return {fallback_.mean_ns, fallback_.confidence_q10()};
    }
    const bucket& b = buckets_[bucket_of(bound_ns)];
    const duration_ns expected = min_of(mul_div(bound_ns, b.factor, unity_factor), bound_ns);
    const u64 relative_error = mul_div(b.error, q10_one, b.factor);
    const u32 confidence = relative_error >= q10_one ? 0 : q10_one - static_cast<u32>(relative_error);
    return {expected, confidence};
  }

  constexpr void reset() { *this = bucketed_correction_predictor{}; }

  // For tests and tracing: the learned factor of a bucket, 8192 = 1.0.
  constexpr u32 factor(u32 bucket_index) const { return buckets_[bucket_index].factor; }

 private:
  struct bucket {
    u16 factor = unity_factor;
    // Starts at unity: no evidence yet, so no confidence either.
    u16 error = unity_factor;
  };
  bucket buckets_[bucket_count]{};
  detail::running_mean_deviation<fallback_shift> fallback_{};
};

}  // namespace lazyidle

#endif
