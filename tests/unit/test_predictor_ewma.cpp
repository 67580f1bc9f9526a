// SPDX-License-Identifier: GPL-2.0-only OR MIT
// ewma_predictor: exact integer steps, MAD-based confidence, bound handling.
#include <doctest/doctest.h>

#include <lazyidle/concepts.hpp>
#include <lazyidle/predictor/ewma.hpp>

using namespace lazyidle;

TEST_CASE("ewma: size and concept") {
  MESSAGE("sizeof(ewma_predictor<3>) = " << sizeof(ewma_predictor<3>));
  CHECK(sizeof(ewma_predictor<3>) <= 12);
  static_assert(check_predictor<ewma_predictor<3>>());
}

TEST_CASE("ewma: before any idle it only knows the bound") {
  ewma_predictor<> p;
  CHECK(p.predict(no_bound).expected_ns == no_bound);
  CHECK(p.predict(5000).expected_ns == 5000);
  CHECK(p.predict(5000).confidence_q10 == 0);
}

TEST_CASE("ewma: the first idle seeds the mean, later ones move it 1/8 of the way") {
  ewma_predictor<3> p;
  p.observe({8000, no_bound});
  CHECK(p.predict(no_bound).expected_ns == 8000);
  CHECK(p.predict(no_bound).confidence_q10 == 0);  // deviation seeded at the mean
  p.observe({16000, no_bound});
  // mean 8000 + (16000 - 8000) / 8 = 9000; deviation 8000 + (8000 - 8000) / 8
  CHECK(p.predict(no_bound).expected_ns == 9000);
  p.observe({1000, no_bound});
  // mean 9000 - 8000 / 8 = 8000
  CHECK(p.predict(no_bound).expected_ns == 8000);
}

TEST_CASE("ewma: confidence is earned by steady idles and lost on a swing") {
  ewma_predictor<3> p;
  p.observe({20000, no_bound});
  u32 previous = p.predict(no_bound).confidence_q10;
  for (int i = 0; i < 40; ++i) {
    p.observe({20000, no_bound});
    const u32 now = p.predict(no_bound).confidence_q10;
    CHECK(now >= previous);
    previous = now;
  }
  CHECK(previous > 1000);  // (7/8)^40 of the seed deviation is left: ~0.5%
  for (int i = 0; i < 20; ++i) p.observe({i % 2 ? 1000ull : 100000ull, no_bound});
  CHECK(p.predict(no_bound).confidence_q10 < 300);
}

TEST_CASE("ewma: the shift sets the memory") {
  ewma_predictor<1> fast;
  ewma_predictor<5> slow;
  fast.observe({1000, no_bound});
  slow.observe({1000, no_bound});
  fast.observe({9000, no_bound});
  slow.observe({9000, no_bound});
  CHECK(fast.predict(no_bound).expected_ns == 5000);  // half way
  CHECK(slow.predict(no_bound).expected_ns == 1250);  // 1/32 of the way
}

TEST_CASE("ewma: a bound caps the prediction, not the learning") {
  ewma_predictor<> p;
  p.observe({50000, no_bound});
  CHECK(p.predict(10000).expected_ns == 10000);
  CHECK(p.predict(no_bound).expected_ns == 50000);
}

TEST_CASE("ewma: idles beyond 4.29 s saturate instead of wrapping") {
  ewma_predictor<> p;
  p.observe({1ull << 40, no_bound});
  CHECK(p.predict(no_bound).expected_ns == u32_max);
  p.observe({0, no_bound});
  CHECK(p.predict(no_bound).expected_ns == u32_max - (u32_max >> 3));
}

TEST_CASE("ewma: usable at compile time") {
  constexpr auto predicted = [] {
    ewma_predictor<> p;
    for (int i = 0; i < 10; ++i) p.observe({4000, no_bound});
    return p.predict(no_bound);
  }();
  static_assert(predicted.expected_ns == 4000);
  CHECK(predicted.confidence_q10 > 0);
}
