// SPDX-License-Identifier: GPL-2.0-only OR MIT
//
// Integer arithmetic the policies need and a kernel can run: saturating add,
// sub and multiply (a saturated cost is a lost comparison, a wrapped one is a
// wrong decision), an overflow-free a*b/c that never calls __udivti3, integer
// logarithms, and a small RNG. No floats anywhere.
#ifndef LAZYIDLE_ARITH_HPP
#define LAZYIDLE_ARITH_HPP

#include "config.hpp"

namespace lazyidle {

template <class T>
constexpr T min_of(T a, T b) {
  return b < a ? b : a;
}
template <class T>
constexpr T max_of(T a, T b) {
  return a < b ? b : a;
}
template <class T>
constexpr T clamp_to(T v, T lo, T hi) {
  return v < lo ? lo : (hi < v ? hi : v);
}

constexpr u64 sat_add(u64 a, u64 b) {
  u64 r = 0;
  return __builtin_add_overflow(a, b, &r) ? u64_max : r;
}
constexpr u64 sat_sub(u64 a, u64 b) { return a > b ? a - b : 0; }
constexpr u64 sat_mul(u64 a, u64 b) {
  u64 r = 0;
  return __builtin_mul_overflow(a, b, &r) ? u64_max : r;
}
constexpr u32 sat_u32(u64 v) { return v > u32_max ? u32_max : static_cast<u32>(v); }

// Number of the highest set bit; log2_floor(0) is defined as 0 so callers
// can bin a zero-length idle without a branch of their own.
constexpr u32 log2_floor(u64 v) { return v ? 63u - static_cast<u32>(__builtin_clzll(v)) : 0u; }

// Full 64x64 -> 128-bit product from 32-bit halves, so no target needs
// __int128 (and -Wpedantic stays quiet).
constexpr void wide_multiply(u64 a, u64 b, u64& high, u64& low) {
  const u64 a_lo = a & 0xffffffffu, a_hi = a >> 32;
  const u64 b_lo = b & 0xffffffffu, b_hi = b >> 32;
  const u64 lo_lo = a_lo * b_lo;
  const u64 hi_lo = a_hi * b_lo;
  const u64 lo_hi = a_lo * b_hi;
  const u64 hi_hi = a_hi * b_hi;
  const u64 middle = (lo_lo >> 32) + (hi_lo & 0xffffffffu) + (lo_hi & 0xffffffffu);
  low = ((middle & 0xffffffffu) << 32) | (lo_lo & 0xffffffffu);
  high = hi_hi + (hi_lo >> 32) + (lo_hi >> 32) + (middle >> 32);
}

// a * b / c, rounded down, exact for every input that fits the result;
// saturates to u64_max when the quotient does not fit or c == 0.
// The division of the 128-bit product is done by hand: __int128 division
// needs __udivti3, which a kernel module cannot link.
LAZYIDLE_WRAPS_ON_PURPOSE constexpr u64 mul_div(u64 a, u64 b, u64 c) {
  if (c == 0) return u64_max;
  u64 product = 0;
  if (!__builtin_mul_overflow(a, b, &product)) return product / c;
  u64 high = 0;
  u64 low = 0;
  wide_multiply(a, b, high, low);
  if (high >= c) return u64_max;
  // Restoring long division of (high:low) by c, one quotient bit per step;
  // high < c holds throughout, so the remainder always fits 64 bits + carry.
  u64 quotient = 0;
  for (int bit = 63; bit >= 0; --bit) {
    const bool carry = (high >> 63) != 0;
    high = (high << 1) | ((low >> bit) & 1u);
    quotient <<= 1;
    if (carry || high >= c) {
      high -= c;  // with carry set this wraps back to the true 65-bit difference
      quotient |= 1u;
    }
  }
  return quotient;
}

// v * fraction, fraction in Q10 (1024 = 1.0), saturating.
constexpr u64 scale_q10(u64 v, u32 fraction_q10) { return mul_div(v, fraction_q10, q10_one); }

// Natural logarithm in Q16 fixed point of x in Q16, x >= 1.0 (65536).
// Integer-only: log2 by normalising and squaring (one result bit per
// squaring), then multiply by ln 2. Accurate to ~2^-20 relative; used to build
// tables and in tests, not on a hot path.
constexpr u64 ln_q16(u64 x_q16) {
  if (x_q16 <= 65536) return 0;
  u32 integer_part = log2_floor(x_q16 >> 16);
  // Mantissa m in [1, 2) as Q30 so squaring stays in 64 bits.
  u64 m = integer_part >= 14 ? x_q16 >> (integer_part - 14) : x_q16 << (14 - integer_part);  // Q30
  u64 log2_q30 = static_cast<u64>(integer_part) << 30;
  for (int bit = 29; bit >= 0; --bit) {
    m = (m * m) >> 30;
    if (m >= (2ull << 30)) {
      m >>= 1;
      log2_q30 |= 1ull << bit;
    }
  }
  constexpr u64 ln2_q30 = 744261118ull;  // ln(2) * 2^30
  return mul_div(log2_q30, ln2_q30, 1ull << 44);  // Q30*Q30 -> Q16
}

// splitmix64: one multiply-xorshift step per number, state is one u64,
// statistically good enough for a randomized threshold and trivially seedable
// per CPU. Not cryptographic.
struct splitmix64 {
  u64 state;
  LAZYIDLE_WRAPS_ON_PURPOSE constexpr u64 next() {
    u64 z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
};

// Integer exponentially weighted moving average: avg += (sample - avg) / 2^shift,
// done in signed arithmetic on values below 2^62 so the step never wraps.
constexpr u64 ewma_step(u64 average, u64 sample, u32 shift) {
  const u64 a = min_of(average, u64_max >> 2);
  const u64 s = min_of(sample, u64_max >> 2);
  return s >= a ? a + ((s - a) >> shift) : a - ((a - s) >> shift);
}

}  // namespace lazyidle

#endif
