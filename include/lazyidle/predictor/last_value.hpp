// SPDX-License-Identifier: GPL-2.0-only OR MIT
//
// Last-value predictor: the next idle will be as long as the previous one.
// The baseline every other predictor has to beat; right on steady ping-pong,
// wrong on every phase change. Confidence grows while consecutive idles stay
// within a factor of two of each other and collapses on the first miss.
#ifndef LAZYIDLE_PREDICTOR_LAST_VALUE_HPP
#define LAZYIDLE_PREDICTOR_LAST_VALUE_HPP

#include "../arith.hpp"
#include "../vocabulary.hpp"

namespace lazyidle {

class last_value_predictor {
 public:
  static constexpr const char* name = "last_value";

  constexpr void observe(const idle_sample& sample) {
    const duration_ns previous = last_ns_;
    last_ns_ = sample.idle_ns;
    const bool close = previous / 2 <= sample.idle_ns && sample.idle_ns <= sat_mul(previous, 2);
    confidence_q10_ = close ? min_of<u32>(confidence_q10_ + q10_one / 8, q10_one) : 0;
  }

  constexpr prediction predict(duration_ns bound_ns) const {
    return {min_of(last_ns_, bound_ns), confidence_q10_};
  }

  constexpr void reset() { *this = last_value_predictor{}; }

 private:
  duration_ns last_ns_ = 0;
  u32 confidence_q10_ = 0;
};

}  // namespace lazyidle

#endif
