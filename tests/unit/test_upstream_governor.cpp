// SPDX-License-Identifier: GPL-2.0-only OR MIT
// The in-tree governor glue (shim/guest/upstream/lazyidle.c), compiled as C
// against userspace stand-ins for the cpuidle core and driven like Linux
// 6.1's idle loop (tests/upstream/governor_harness.c): every idle period
// must be one decision of the C++ default governor (poll for its budget in
// state 0 through dev->poll_limit_ns, or halt at once in state 1; after a
// poll that ran out, halt), the whole period (poll + halt) must be what it
// learns from, B must be the halt state's target residency plus the
// measured wakeup lateness, and the periods it must not learn from (PM QoS
// forcing a poll, a disabled halt state, need_resched before entry) must
// leave it untouched.
#include <doctest/doctest.h>

#include <upstream/governor_harness.h>
#include <lazyidle/lazyidle.hpp>

#include <random>
#include <string>

using namespace lazyidle;

namespace {

constexpr duration_ns us = 1000;
constexpr long long far_ns = 1000000000;  // no timer for a second

// The test's own model of what the glue should do, from the C++ core.
struct model {
  explicit model(duration_ns halt_residency) : residency(halt_residency) {}
  default_governor core;
  duration_ns residency;
  duration_ns lateness = 0;
  u64 mismatches = 0;
  std::string first;

  void expect(bool ok, const std::string& what) {
    if (ok) return;
    if (mismatches++ == 0) first = what;
  }

  // One idle period of y with the next timer sleep_ns away.
  void idle(duration_ns y, long long sleep_ns, size_t step) {
    const duration_ns bound = sleep_ns > 0 ? static_cast<duration_ns>(sleep_ns) : 0;
    const duration_ns budget = core.select(residency + lateness, bound).poll_budget_ns;
    lazyidle_harness_set(far_ns, sleep_ns, 0, 0);
    const lazyidle_harness_idle got = lazyidle_harness_run_idle(y, 0);
    const std::string at = "step " + std::to_string(step) + " y " + std::to_string(y) + " budget " +
                           std::to_string(budget) + ": ";
    if (budget == 0) {
      expect(got.first_index == 1 && got.selects == 1, at + "expected an immediate halt");
    } else {
      expect(got.first_index == 0 && got.poll_limit_ns == budget && got.first_stop_tick == 0,
             at + "expected a poll for the budget, got index " + std::to_string(got.first_index) + " limit " +
                 std::to_string(got.poll_limit_ns));
      if (y > budget)
        expect(got.second_index == 1 && got.selects == 2, at + "expected a halt after the poll ran out");
      else
        expect(got.selects == 1, at + "expected the idle to end while polling");
    }
    core.reflect(y);
    // Lateness: a halt that ended past its timer, by at most 1 ms, as a 1/8 average.
    const bool halted = budget == 0 || y > budget;
    if (halted && y > bound && y - bound <= 1000 * us)
      lateness = lateness - (lateness >> 3) + ((y - bound) >> 3);
    expect(lazyidle_harness_lateness_ns() == lateness, at + "lateness " +
                                                           std::to_string(lazyidle_harness_lateness_ns()) +
                                                           " != " + std::to_string(lateness));
  }
};

}  // namespace

TEST_CASE("upstream governor: registers as lazyidle, below the other governors' ratings") {
  REQUIRE(lazyidle_harness_init(20 * us, 5 * us) == 0);
  CHECK(std::string(lazyidle_harness_name()) == "lazyidle");
  CHECK(lazyidle_harness_rating() < 9);          // haltpoll 9, teo 19, menu 20, ladder 10
  CHECK(lazyidle_harness_poll_limit_ns() == 0);  // enable() resets the poll limit
}

TEST_CASE("upstream governor: each idle period is one C++ core decision, poll then halt") {
  for (duration_ns residency : {10 * us, 20 * us, 100 * us}) {
    REQUIRE(lazyidle_harness_init(residency, 2 * us) == 0);
    model m(residency);
    std::mt19937_64 rng(residency);
    size_t polled = 0, halted_at_once = 0, halted_after_poll = 0;
    for (size_t i = 0; i < 20000; ++i) {
      // Phases of short idles and long ones, with timers near and far.
      const bool pause = (i / 50) % 4 == 3;
      const duration_ns y = pause ? 300 * us + rng() % (3000 * us) : rng() % (8 * us);
      const long long sleep_ns =
          i % 3 == 0 ? static_cast<long long>(y > 40 * us ? y - rng() % (30 * us) : y + 50 * us) : far_ns;
      const duration_ns before =
          m.core.select(residency + m.lateness, static_cast<duration_ns>(sleep_ns)).poll_budget_ns;
      m.idle(y, sleep_ns, i);
      if (before == 0)
        ++halted_at_once;
      else if (y > before)
        ++halted_after_poll;
      else
        ++polled;
    }
    CAPTURE(residency);
    CHECK_MESSAGE(m.mismatches == 0, m.first);
    MESSAGE("residency " << residency / us << " us: " << polled << " caught while polling, "
                         << halted_after_poll << " halted after polling, " << halted_at_once
                         << " halted at once; lateness " << m.lateness << " ns");
    // The trace has both regimes; the governor must have used all three outcomes.
    CHECK(polled > 1000);
    CHECK(halted_at_once > 100);
    CHECK(halted_after_poll > 0);
    CHECK(m.lateness > 0);
  }
}

TEST_CASE("upstream governor: periods it must not learn from leave it untouched") {
  REQUIRE(lazyidle_harness_init(20 * us, 2 * us) == 0);
  model m(20 * us);
  std::mt19937_64 rng(3);
  for (size_t i = 0; i < 3000; ++i) {
    const duration_ns y = i % 2 ? rng() % (5 * us) : 500 * us + rng() % (500 * us);
    m.idle(y, far_ns, i);
    if (i % 7 == 0) {
      // PM QoS allows no exit latency: poll, learn nothing.
      lazyidle_harness_set(0, far_ns, 0, 0);
      const lazyidle_harness_idle forced = lazyidle_harness_run_idle(3 * us, 0);
      m.expect(forced.first_index == 0 && forced.first_stop_tick == 0, "latency_req 0 must poll");
      // The halt state disabled: the same.
      lazyidle_harness_set(far_ns, far_ns, 1, 0);
      const lazyidle_harness_idle disabled = lazyidle_harness_run_idle(3 * us, 0);
      m.expect(disabled.first_index == 0, "a disabled halt state must not be entered");
      // need_resched before entering: abandoned.
      lazyidle_harness_set(far_ns, far_ns, 0, 0);
      lazyidle_harness_run_idle(0, 1);
    }
    if (i % 11 == 0) {
      // PM QoS tightens between a poll that ran out and its halt: the
      // period is abandoned, not learned from in pieces.
      const duration_ns budget =
          m.core.select(m.residency + m.lateness, static_cast<duration_ns>(far_ns)).poll_budget_ns;
      if (budget > 0 && budget < 1000 * us) {
        lazyidle_harness_set(far_ns, far_ns, 0, 0);
        lazyidle_harness_set_later_latency(1, 0);
        const lazyidle_harness_idle cut = lazyidle_harness_run_idle(budget + 2000 * us, 0);
        lazyidle_harness_set_later_latency(0, 0);
        m.expect(cut.first_index == 0 && cut.second_index == 0, "latency_req 0 mid-period must poll");
      }
    }
  }
  CHECK_MESSAGE(m.mismatches == 0, m.first);
}

TEST_CASE("upstream governor: lazyidle.block_cost_ns fixes B, per-CPU state is per CPU") {
  REQUIRE(lazyidle_harness_init(20 * us, 2 * us) == 0);
  default_governor fixed_b;
  for (int i = 0; i < 500; ++i) {
    const duration_ns y = i % 3 ? 2 * us : 900 * us;
    const duration_ns budget = fixed_b.select(50 * us, static_cast<duration_ns>(far_ns)).poll_budget_ns;
    lazyidle_harness_set(far_ns, far_ns, 0, 50 * us);
    const lazyidle_harness_idle got = lazyidle_harness_run_idle(y, 0);
    CHECK(got.first_index == (budget == 0 ? 1 : 0));
    if (budget != 0) CHECK(got.poll_limit_ns == budget);
    fixed_b.reflect(y);
  }
  // CPU 1 has learned nothing: its first decision is break-even, B itself.
  lazyidle_harness_set_cpu(1);
  lazyidle_harness_set(far_ns, far_ns, 0, 50 * us);
  const lazyidle_harness_idle fresh = lazyidle_harness_run_idle(1 * us, 0);
  CHECK(fresh.first_index == 0);
  CHECK(fresh.poll_limit_ns == 50 * us);
  lazyidle_harness_disable();
  CHECK(lazyidle_harness_poll_limit_ns() == 0);  // disable() hands the poll limit back
  lazyidle_harness_set_cpu(0);
}
