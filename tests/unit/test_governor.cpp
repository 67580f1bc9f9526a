// SPDX-License-Identifier: GPL-2.0-only OR MIT
#include <doctest/doctest.h>

#include <lazyidle/lazyidle.hpp>

using namespace lazyidle;

namespace {
// A policy that records what the governor taught it.
struct recording_policy {
  static constexpr const char* name = "recording";
  poll_request last_request{};
  idle_outcome last_outcome{};
  duration_ns budget(const poll_request& request) {
    last_request = request;
    return 7777;
  }
  void reflect(const idle_outcome& outcome) { last_outcome = outcome; }
  void reset() { *this = recording_policy{}; }
  u32 worst_case_ratio_q10() const { return u32_max; }
};
}  // namespace

TEST_CASE("select feeds the prediction to the policy and reflect teaches both halves") {
  governor<last_value_predictor, recording_policy> gov;
  gov.reflect(3000);  // the predictor learns 3 µs
  const auto decision = gov.select(20000, 50000);
  CHECK(decision.poll_budget_ns == 7777);
  CHECK(decision.predicted.expected_ns == 3000);
  CHECK(gov.policy().last_request.block_cost_ns == 20000);
  CHECK(gov.policy().last_request.bound_ns == 50000);
  gov.reflect(9000);
  CHECK(gov.policy().last_outcome.idle_ns == 9000);
  CHECK(gov.policy().last_outcome.budget_ns == 7777);
  CHECK(gov.policy().last_outcome.block_cost_ns == 20000);
  CHECK(gov.policy().last_outcome.predicted.expected_ns == 3000);
  CHECK(gov.predictor().predict(no_bound).expected_ns == 9000);
}

TEST_CASE("no bound stays no bound through the packed record") {
  governor<last_value_predictor, recording_policy> gov;
  gov.select(20000);
  gov.reflect(1ull << 40);
  CHECK(gov.policy().last_outcome.idle_ns == 1ull << 40);
  CHECK(gov.predictor().predict(no_bound).expected_ns == 1ull << 40);
}

TEST_CASE("the default governor fits a cache line and is usable at compile time") {
  static_assert(sizeof(default_governor) <= 64, "default per-CPU state must stay within 64 bytes");
  constexpr duration_ns budget = [] {
    default_governor gov;
    gov.reflect(2000);
    return gov.select(20000).poll_budget_ns;
  }();
  CHECK(budget <= 20000 * 4);
  MESSAGE("sizeof(default_governor) = " << sizeof(default_governor));
}

TEST_CASE("governor<void, Policy> predicts from the policy's own history") {
  governor<void, distribution_threshold> gov;
  for (int i = 0; i < 64; ++i) {
    gov.select(20000);
    gov.reflect(3000);
  }
  const auto decision = gov.select(20000);
  CHECK(decision.predicted.expected_ns >= 2500);
  CHECK(decision.predicted.expected_ns <= 3500);
  CHECK(&gov.predictor() == &gov.policy().histogram());
  static_assert(sizeof(governor<void, distribution_threshold>) <= 64);
  // The policy keeps the history, so the record keeps only the budget and
  // B of the last decision: 8 bytes, not 16.
  static_assert(sizeof(governor<void, distribution_threshold>) == sizeof(distribution_threshold) + 8);
}
