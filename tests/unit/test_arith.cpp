// SPDX-License-Identifier: GPL-2.0-only OR MIT
// Integer arithmetic: checked against 128-bit and floating-point references on
// the host, where the core itself may use neither.
#include <doctest/doctest.h>

#include <cmath>
#include <lazyidle/arith.hpp>
#include <random>

using namespace lazyidle;

__extension__ typedef unsigned __int128 u128;
static u64 reference_mul_div(u64 a, u64 b, u64 c) {
  const u128 q = static_cast<u128>(a) * b / c;
  return q > u64_max ? u64_max : static_cast<u64>(q);
}

TEST_CASE("saturating add, sub and mul clamp instead of wrapping") {
  CHECK(sat_add(u64_max - 1, 5) == u64_max);
  CHECK(sat_add(3, 4) == 7);
  CHECK(sat_sub(3, 4) == 0);
  CHECK(sat_sub(10, 4) == 6);
  CHECK(sat_mul(1ull << 40, 1ull << 30) == u64_max);
  CHECK(sat_mul(1ull << 20, 1ull << 20) == 1ull << 40);
  CHECK(sat_u32(1ull << 33) == u32_max);
  static_assert(sat_add(u64_max, u64_max) == u64_max);
}

TEST_CASE("mul_div is exact where the product overflows 64 bits") {
  std::mt19937_64 rng(42);
  for (int i = 0; i < 200000; ++i) {
    const u64 a = rng() >> (rng() % 64);
    const u64 b = rng() >> (rng() % 64);
    const u64 c = (rng() >> (rng() % 64)) | 1;
    REQUIRE(mul_div(a, b, c) == reference_mul_div(a, b, c));
  }
  CHECK(mul_div(u64_max, u64_max, u64_max) == u64_max);
  CHECK(mul_div(u64_max, 2, 3) == reference_mul_div(u64_max, 2, 3));
  CHECK(mul_div(u64_max, u64_max, 1) == u64_max);  // quotient does not fit
  CHECK(mul_div(7, 9, 0) == u64_max);               // defined, not a trap
  static_assert(mul_div(1ull << 63, 6, 8) == 6ull << 60);
  static_assert(mul_div(1ull << 62, 8, 16) == 1ull << 61);
}

TEST_CASE("log2_floor") {
  CHECK(log2_floor(0) == 0);
  CHECK(log2_floor(1) == 0);
  CHECK(log2_floor(2) == 1);
  CHECK(log2_floor(1023) == 9);
  CHECK(log2_floor(u64_max) == 63);
}

TEST_CASE("ln_q16 matches log() to 2^-16 absolute over [1, 2^40)") {
  for (double x = 1.0; x < 1.0e12; x *= 1.013) {
    const u64 xq = static_cast<u64>(x * 65536.0);
    const double got = static_cast<double>(ln_q16(xq)) / 65536.0;
    const double want = std::log(static_cast<double>(xq) / 65536.0);
    REQUIRE(std::fabs(got - want) < 2.0 / 65536.0);
  }
  CHECK(ln_q16(65536) == 0);
  CHECK(ln_q16(0) == 0);  // below 1.0 is clamped, documented
}

TEST_CASE("ewma_step moves 1/2^shift of the way and never wraps") {
  CHECK(ewma_step(800, 0, 3) == 700);
  CHECK(ewma_step(0, 800, 3) == 100);
  CHECK(ewma_step(u64_max, 0, 3) < u64_max);
  CHECK(ewma_step(0, u64_max, 1) == (u64_max >> 2) / 2);
}

TEST_CASE("splitmix64 is deterministic per seed and spreads bits") {
  splitmix64 a{1}, b{1}, c{2};
  const u64 first = a.next();
  CHECK(first == b.next());
  CHECK(first != c.next());
  int ones = 0;
  for (int i = 0; i < 1000; ++i) ones += __builtin_popcountll(a.next());
  CHECK(ones > 31000);
  CHECK(ones < 33000);
}
