// SPDX-License-Identifier: GPL-2.0-only OR MIT
// Randomized break-even: the table, the draws, and the EXACT expected cost.
// The expectation over the 256 equiprobable thresholds is a finite sum, so it
// is computed, not sampled: E(y) = (1/256) sum_i cost(y, T_i). A Monte-Carlo
// mean would fail some runs by design. The reference e/(e-1) comes from the
// C library in double precision, independent of the core's integer ln.
//
// Stated tolerances, for B in {10, 20, 50, 100} us (and 1 us for the bound):
//   y below the smallest threshold  E(y) = y = OPT exactly (lower than e/(e-1))
//   every y                         E(y) <= 1623/1024 * OPT   (reported bound)
//   every y >= smallest threshold   E(y) >= e/(e-1) * OPT - B/256 - 1 ns
//                                   (one threshold's step of B/256: between
//                                   thresholds E dips below the curve)
//   y = T_k + 1 (the sup points)    |E / (e/(e-1) OPT) - 1| <= 0.6 %
//   y >= B                          |E / (e/(e-1) B) - 1| <= 0.25 %
#include <doctest/doctest.h>

#include <initializer_list>

#include <algorithm>
#include <cmath>
#include <set>
#include <vector>

#include <lazyidle/cost.hpp>
#include <lazyidle/policy/randomized.hpp>

using namespace lazyidle;

// Exact products for the checks; the core itself never divides 128-bit values.
__extension__ typedef unsigned __int128 u128;

namespace {

const double e_over_e_minus_one = std::exp(1.0) / (std::exp(1.0) - 1.0);

std::vector<duration_ns> thresholds_for(duration_ns block_cost) {
  std::vector<duration_ns> thresholds;
  for (u32 level = 0; level < randomized_break_even::levels; ++level)
    thresholds.push_back(randomized_break_even::threshold(level, block_cost));
  return thresholds;
}

// 256 * E(y), exact.
u64 expected_cost_times_levels(const std::vector<duration_ns>& thresholds, duration_ns y, duration_ns block_cost) {
  u64 sum = 0;
  for (duration_ns t : thresholds) sum += decision_cost(y, t, block_cost);
  return sum;
}

}  // namespace

TEST_CASE("randomized: the Q16 table is ln(1 + (i+1)/256 (e-1)) within 2 units") {
  const auto& table = detail::randomized_threshold_fractions.q16;
  for (u32 i = 0; i < randomized_break_even::levels; ++i) {
    const double u = (i + 1) / 256.0;
    const double exact = std::log(1.0 + u * (std::exp(1.0) - 1.0)) * 65536.0;
    CHECK(std::fabs(table[i] - exact) <= 2.0);
    if (i > 0) CHECK(table[i] > table[i - 1]);
  }
  CHECK(table[0] > 0);  // no zero threshold: a 1 ns idle never costs B
  CHECK(table[255] <= 65536);
}

TEST_CASE("randomized: thresholds are ceil(B * fraction), never above B, never 0") {
  const auto& table = detail::randomized_threshold_fractions.q16;
  for (duration_ns block_cost : {1ull, 999ull, 10000ull, 65535ull, 65536ull, 100000ull, 1ull << 40, u64_max}) {
    for (u32 level = 0; level < randomized_break_even::levels; ++level) {
      const u128 product = static_cast<u128>(block_cost) * table[level];
      const u128 rounded_up = (product + 65535) >> 16;
      const duration_ns t = randomized_break_even::threshold(level, block_cost);
      CHECK(t == (rounded_up > block_cost ? block_cost : static_cast<duration_ns>(rounded_up)));
      CHECK(t <= block_cost);
      CHECK(t >= 1);
    }
  }
  CHECK(randomized_break_even::threshold(0, 0) == 0);
}

TEST_CASE("randomized: exact expected cost equals e/(e-1) * OPT within the stated tolerances") {
  const randomized_break_even policy;
  for (duration_ns block_cost : {10000ull, 20000ull, 50000ull, 100000ull}) {
    CAPTURE(block_cost);
    const auto thresholds = thresholds_for(block_cost);
    const duration_ns smallest = thresholds.front();
    std::set<duration_ns> ys;
    for (duration_ns y = 0; y <= 3 * block_cost; y += block_cost / 2000) ys.insert(y);
    for (duration_ns t : thresholds) ys.insert({t - 1, t, t + 1});
    ys.insert({block_cost - 1, block_cost, block_cost + 1, 10 * block_cost, 1ull << 40});

    double worst_ratio = 0;
    for (duration_ns y : ys) {
      const u64 sum = expected_cost_times_levels(thresholds, y, block_cost);
      const u64 opt = optimal_cost(y, block_cost);
      // The reported bound, in exact integers: 1024 * E <= 1623 * OPT.
      CHECK(sum * q10_one <= static_cast<u64>(policy.worst_case_ratio_q10()) * opt * 256);
      const double expected = static_cast<double>(sum) / 256.0;
      const double curve = e_over_e_minus_one * static_cast<double>(opt);
      if (y < smallest) {
        CHECK(sum == 256 * y);  // below every threshold: always caught polling
        continue;
      }
      worst_ratio = std::max(worst_ratio, expected / static_cast<double>(opt));
      CHECK(expected >= curve - static_cast<double>(block_cost) / 256.0 - 1.0);
      if (y >= block_cost) CHECK(std::fabs(expected / curve - 1.0) <= 0.0025);
    }
    for (duration_ns t : thresholds) {
      const duration_ns y = t + 1;
      const double expected = static_cast<double>(expected_cost_times_levels(thresholds, y, block_cost)) / 256.0;
      CHECK(std::fabs(expected / (e_over_e_minus_one * static_cast<double>(optimal_cost(y, block_cost))) - 1.0) <= 0.006);
    }
    // The bound is tight: the sup is within 0.3 % of e/(e-1) and of 1623/1024.
    MESSAGE("B = " << block_cost << " ns: sup E/OPT = " << worst_ratio << " (e/(e-1) = " << e_over_e_minus_one << ")");
    CHECK(worst_ratio >= e_over_e_minus_one);
    CHECK(worst_ratio <= 1623.0 / 1024.0);
  }
}

TEST_CASE("randomized: the reported bound also holds at B = 1 us, where whole-ns rounding bites") {
  const duration_ns block_cost = randomized_break_even::bound_valid_from_block_cost_ns;
  const auto thresholds = thresholds_for(block_cost);
  for (duration_ns y = 0; y <= 3 * block_cost; ++y) {
    CHECK(expected_cost_times_levels(thresholds, y, block_cost) * q10_one <=
          1623ull * optimal_cost(y, block_cost) * 256);
  }
}

TEST_CASE("randomized: budgets are the table's thresholds, drawn uniformly, replayed after reset") {
  const duration_ns block_cost = 50000;
  const auto thresholds = thresholds_for(block_cost);
  randomized_break_even policy{12345};
  poll_request request;
  request.block_cost_ns = block_cost;
  std::vector<u32> counts(256, 0);
  const u32 draws_per_level = 400;
  std::vector<duration_ns> first_draws;
  for (u32 i = 0; i < 256 * draws_per_level; ++i) {
    const duration_ns budget = policy.budget(request);
    if (i < 16) first_draws.push_back(budget);
    CHECK(budget <= policy.budget_cap_ns(block_cost));
    // Thresholds are strictly increasing at this B, so the level is found by search.
    const auto it = std::lower_bound(thresholds.begin(), thresholds.end(), budget);
    REQUIRE(it != thresholds.end());
    REQUIRE(*it == budget);
    ++counts[static_cast<std::size_t>(it - thresholds.begin())];
  }
  // Chi-square with 255 degrees of freedom: mean 255, sd 22.6. 400 is about
  // 6.4 sd out; a biased index (e.g. low bits of a weak RNG) lands far above.
  double chi_square = 0;
  for (u32 c : counts) chi_square += (c - 400.0) * (c - 400.0) / 400.0;
  MESSAGE("chi-square over 256 levels = " << chi_square);
  CHECK(chi_square < 400.0);

  policy.reset();
  for (duration_ns expected : first_draws) CHECK(policy.budget(request) == expected);
  randomized_break_even other{54321};
  u32 same = 0;
  for (duration_ns expected : first_draws) same += other.budget(request) == expected ? 1 : 0;
  CHECK(same < 4);  // another CPU's seed does not march in step
  static_assert(sizeof(randomized_break_even) == 16);
}
