// SPDX-License-Identifier: GPL-2.0-only OR MIT
//
// EWMA predictor: the next idle will be like the recent average.
//
// Each finished idle y moves a running mean a fraction 2^-Shift of the way
// towards y (Shift = 3: the last ~8 idles dominate), and a running mean
// absolute deviation (MAD) the same way towards |y - mean|. The prediction is
// the mean; the confidence is 1 - MAD/mean, so a steady stream of similar
// idles earns trust and a stream that swings by more than its own average
// earns none. MAD rather than variance because it needs no squares (no
// overflow, no 128-bit arithmetic) and one outlier moves it linearly.
//
// The first idle seeds the mean exactly (an average of one sample is that
// sample) and seeds the MAD with the same value, so confidence starts at zero
// and has to be earned: after k steady idles it is 1 - (1 - 2^-Shift)^k.
//
// State is two u32 nanosecond counts: values saturate at 4.29 s, which for a
// poll-or-block decision is "forever". Integer steps stop moving once the
// gap is under 2^Shift ns, so after a phase change the mean settles within
// 2^Shift - 1 ns of the new level rather than on it.
#ifndef LAZYIDLE_PREDICTOR_EWMA_HPP
#define LAZYIDLE_PREDICTOR_EWMA_HPP

#include "../arith.hpp"
#include "../vocabulary.hpp"

namespace lazyidle {
namespace detail {

// Mean and mean absolute deviation of a stream, both as EWMAs with the same
// weight. Shared by the EWMA predictor and the bucketed predictor's fallback.
template <u32 Shift>
struct running_mean_deviation {
  static_assert(Shift >= 1 && Shift <= 16, "EWMA shift must be in [1, 16]");

  u32 mean_ns = 0;
  u32 deviation_ns = 0;
  bool seeded = false;

  constexpr void add(duration_ns sample_ns) {
    const u32 sample = sat_u32(sample_ns);
    if (!seeded) {
      mean_ns = sample;
      deviation_ns = sample;
      seeded = true;
      return;
    }
    const u32 error = sample >= mean_ns ? sample - mean_ns : mean_ns - sample;
    // ewma_step moves by at most |sample - average|, so results stay in u32.
    deviation_ns = static_cast<u32>(ewma_step(deviation_ns, error, Shift));
    mean_ns = static_cast<u32>(ewma_step(mean_ns, sample, Shift));
  }

  // 1 - MAD/mean in Q10, 0 before any sample. A zero mean with zero
  // deviation (a stream of zero-length idles) is a perfectly steady stream.
  constexpr u32 confidence_q10() const {
    if (!seeded) return 0;
    const u64 relative = mul_div(deviation_ns, q10_one, max_of<u64>(mean_ns, 1));
    return relative >= q10_one ? 0 : q10_one - static_cast<u32>(relative);
  }
};

}  // namespace detail

template <u32 Shift = 3>
class ewma_predictor {
 public:
  static constexpr const char* name = "ewma";
  static constexpr u32 shift = Shift;

  constexpr void observe(const idle_sample& sample) { stream_.add(sample.idle_ns); }

  // Before the first idle all we know is the bound (no_bound if none).
  constexpr prediction predict(duration_ns bound_ns) const {
    if (!stream_.seeded) return {bound_ns, 0};
    return {min_of<duration_ns>(stream_.mean_ns, bound_ns), stream_.confidence_q10()};
  }

  constexpr void reset() { stream_ = {}; }

 private:
  detail::running_mean_deviation<Shift> stream_{};
};

}  // namespace lazyidle

#endif
