// SPDX-License-Identifier: GPL-2.0-only OR MIT
// bucketed_correction_predictor: menu's correction-factor arithmetic, one
// factor per bound decade, EWMA fallback without a bound.
#include <doctest/doctest.h>

#include <lazyidle/concepts.hpp>
#include <lazyidle/predictor/bucketed.hpp>

using namespace lazyidle;

TEST_CASE("bucketed: size and concept") {
  MESSAGE("sizeof(bucketed_correction_predictor) = " << sizeof(bucketed_correction_predictor));
  CHECK(sizeof(bucketed_correction_predictor) <= 40);
  static_assert(check_predictor<bucketed_correction_predictor>());
}

TEST_CASE("bucketed: buckets are the decades of the bound, as menu's which_bucket") {
  using b = bucketed_correction_predictor;
  CHECK(b::bucket_of(0) == 0);
  CHECK(b::bucket_of(9999) == 0);
  CHECK(b::bucket_of(10000) == 1);
  CHECK(b::bucket_of(99999) == 1);
  CHECK(b::bucket_of(100000) == 2);
  CHECK(b::bucket_of(1000000) == 3);
  CHECK(b::bucket_of(10000000) == 4);
  CHECK(b::bucket_of(100000000) == 5);
  CHECK(b::bucket_of(u64_max - 1) == 5);
}

TEST_CASE("bucketed: a fresh bucket predicts the bound; the factor follows menu's update") {
  bucketed_correction_predictor p;
  CHECK(p.predict(40000).expected_ns == 40000);
  CHECK(p.predict(40000).confidence_q10 == 0);
  // Idle used a quarter of its 40 us bound: ratio 2048 in the 8192 scale.
  // factor = 8192 - 8192/8 + 2048/8 = 7424 -> predicts 40000 * 7424 / 8192.
  p.observe({10000, 40000});
  CHECK(p.factor(1) == 7424);
  CHECK(p.predict(40000).expected_ns == 36250);
  // Other decades are untouched.
  CHECK(p.factor(0) == 8192);
  CHECK(p.predict(500000).expected_ns == 500000);
}

TEST_CASE("bucketed: converges to the ratio and earns confidence") {
  bucketed_correction_predictor p;
  for (int i = 0; i < 200; ++i) p.observe({1000000, 4000000});  // tick-bound idles that use a quarter
  const prediction predicted = p.predict(4000000);
  CHECK(predicted.expected_ns >= 990000);
  CHECK(predicted.expected_ns <= 1010000);
  CHECK(predicted.confidence_q10 > 900);
  // The ratio is what is learned, so another bound in the same decade scales.
  CHECK(p.predict(8000000).expected_ns >= 1980000);
  CHECK(p.predict(8000000).expected_ns <= 2020000);
}

TEST_CASE("bucketed: a late timer counts as ratio one; a zero ratio never sticks at zero") {
  bucketed_correction_predictor p;
  for (int i = 0; i < 100; ++i) p.observe({90000, 20000});
  CHECK(p.factor(1) == 8192);
  for (int i = 0; i < 200; ++i) p.observe({0, 20000});
  CHECK(p.factor(1) >= 1);
  CHECK(p.predict(20000).expected_ns < 100);
}

TEST_CASE("bucketed: without a bound it falls back to the EWMA of all idles") {
  bucketed_correction_predictor p;
  CHECK(p.predict(no_bound).expected_ns == no_bound);
  p.observe({6000, no_bound});
  p.observe({6000, 50000});  // bounded idles feed the fallback too
  CHECK(p.predict(no_bound).expected_ns == 6000);
  CHECK(p.factor(1) < 8192);
}

TEST_CASE("bucketed: usable at compile time") {
  constexpr duration_ns expected = [] {
    bucketed_correction_predictor p;
    p.observe({10000, 40000});
    return p.predict(40000).expected_ns;
  }();
  static_assert(expected == 36250);
  CHECK(expected == 36250);
}
