// SPDX-License-Identifier: GPL-2.0-only OR MIT
// The upstream C port (shim/guest/upstream/lazyidle_algo.h, compiled as C in
// tests/upstream/lazyidle_algo_c.c) against the C++ core's default governor,
// governor<void, distribution_threshold>: the same idle periods, block costs
// and timer bounds go through both, and every decision (poll budget) and
// every prediction (expected idle, confidence) must be equal, as must the
// learned state after each idle. Any difference fails and names the trace,
// the step and the first field that differs.
#include <doctest/doctest.h>

#include <upstream/lazyidle_algo_c.h>
#include <lazyidle/lazyidle.hpp>

#include <cmath>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

using namespace lazyidle;

namespace {

constexpr duration_ns us = 1000;

// The C state lives in a buffer the C side sizes.
struct c_governor {
  alignas(16) unsigned char state[256];
  c_governor() {
    REQUIRE(lazyidle_c_state_size() <= sizeof(state));
    REQUIRE(lazyidle_c_state_align() <= 16);
    lazyidle_c_init(state);
  }
};

// What drives one replay: the idle that follows a decision (it may look at
// the budget: adversaries do), and the B and bound for each step.
struct scenario {
  std::string name;
  size_t steps;
  std::function<duration_ns(size_t, duration_ns budget, duration_ns block)> idle;
  std::function<duration_ns(size_t)> block;
  std::function<duration_ns(size_t)> bound;
};

struct replay_result {
  u64 decisions = 0;
  u64 mismatches = 0;
  std::string first;
};

replay_result replay(const scenario& s) {
  default_governor cpp;
  c_governor c;
  replay_result r;
  auto differ = [&](size_t step, const char* what, u64 want, u64 got) {
    if (want == got) return;
    if (r.mismatches++ == 0)
      r.first = s.name + ": step " + std::to_string(step) + ": " + what + " C++ " + std::to_string(want) +
                " C " + std::to_string(got);
  };
  for (size_t i = 0; i < s.steps; ++i) {
    const duration_ns block = s.block(i), bound = s.bound(i);
    const governor_decision want = cpp.select(block, bound);
    const lazyidle_c_decision got = lazyidle_c_select(c.state, block, bound);
    ++r.decisions;
    differ(i, "budget", want.poll_budget_ns, got.poll_budget_ns);
    differ(i, "expected", want.predicted.expected_ns, got.expected_ns);
    differ(i, "confidence", want.predicted.confidence_q10, got.confidence_q10);
    const duration_ns y = s.idle(i, want.poll_budget_ns, block);
    cpp.reflect(y);
    lazyidle_c_reflect(c.state, y);
    const distribution_threshold& p = cpp.policy();
    differ(i, "allowance", p.allowance_ns(), lazyidle_c_allowance_ns(c.state));
    differ(i, "total", p.histogram().total(), lazyidle_c_total(c.state));
    for (u32 bin = 0; bin < histogram_predictor::bin_count; ++bin)
      differ(i, "count", p.histogram().count(bin), lazyidle_c_count(c.state, bin));
  }
  return r;
}

duration_ns to_ns(double v) { return v <= 0 ? 0 : v >= 1.8e19 ? u64_max : static_cast<duration_ns>(v); }

std::vector<scenario> scenarios() {
  std::vector<scenario> out;
  auto rng = std::make_shared<std::mt19937_64>(20261125);
  auto fixed_b = [](duration_ns b) { return [b](size_t) { return b; }; };
  auto none = [](size_t) { return no_bound; };
  const size_t n = 20000;
  for (duration_ns b : {10 * us, 20 * us, 50 * us, 100 * us}) {
    const std::string tag = ", B = " + std::to_string(b / us) + " us";
    for (double mean : {4.0, 20.0, 300.0}) {
      auto d = std::make_shared<std::exponential_distribution<double>>(1.0 / (mean * us));
      out.push_back({"exponential mean " + std::to_string(int(mean)) + " us" + tag, n,
                     [=](size_t, duration_ns, duration_ns) { return to_ns((*d)(*rng)); }, fixed_b(b), none});
    }
    out.push_back({"bimodal 4us/0.5-2ms" + tag, n,
                   [=](size_t, duration_ns, duration_ns) {
                     return (*rng)() % 10 < 7 ? 3500 + (*rng)() % 1000 : 500 * us + (*rng)() % (1500 * us);
                   },
                   fixed_b(b), none});
    // On/off phases: bursts of ~50 short idles, pauses of ~10 long ones.
    auto in_pause = std::make_shared<bool>(false);
    out.push_back({"bursty on/off" + tag, n,
                   [=](size_t, duration_ns, duration_ns) -> duration_ns {
                     if ((*rng)() % (*in_pause ? 10 : 50) == 0) *in_pause = !*in_pause;
                     return *in_pause ? 200 * us + (*rng)() % (4800 * us) : (*rng)() % (6 * us);
                   },
                   fixed_b(b), none});
    out.push_back(
        {"alternating 3us/300us" + tag, n,
         [=](size_t i, duration_ns, duration_ns) { return (i % 2 ? 300 : 3) * us + (*rng)() % 600; },
         fixed_b(b), none});
    out.push_back({"constant 30us" + tag, n, [](size_t, duration_ns, duration_ns) { return 30 * us; },
                   fixed_b(b), none});
    out.push_back({"constant 0" + tag, 2000, [](size_t, duration_ns, duration_ns) { return duration_ns{0}; },
                   fixed_b(b), none});
    // Adversaries that see the budget: wake 1 ns after it, or just before.
    out.push_back({"just past the budget" + tag, n,
                   [](size_t, duration_ns budget, duration_ns) { return sat_add(budget, 1); }, fixed_b(b),
                   none});
    out.push_back({"just inside the budget" + tag, n,
                   [](size_t, duration_ns budget, duration_ns) { return budget > 0 ? budget - 1 : 0; },
                   fixed_b(b), none});
    out.push_back({"train on long, betray with 1 ns" + tag, n,
                   [](size_t i, duration_ns, duration_ns) -> duration_ns {
                     const size_t phase = (i / 300) % 3;
                     return phase == 0 ? 5000 * us : (phase == 1 ? 1 : (i % 7 == 0 ? 5000 * us : 1));
                   },
                   fixed_b(b), none});
    // Timer bounds: near, at, beyond B, and none.
    out.push_back({"lognormal with timer bounds" + tag, n,
                   [=](size_t, duration_ns, duration_ns) {
                     return to_ns(
                         std::exp(std::log(30.0 * us) + std::normal_distribution<double>(0, 1)(*rng)));
                   },
                   fixed_b(b),
                   [=](size_t i) -> duration_ns {
                     switch (i % 5) {
                       case 0:
                         return no_bound;
                       case 1:
                         return b / 2;
                       case 2:
                         return b;
                       case 3:
                         return b + 1;
                       default:
                         return (*rng)() % (4 * b);
                     }
                   }});
  }
  // Extreme values everywhere: idles, B (0, 1, huge, moving) and bounds.
  const duration_ns extremes[] = {
      0,          1,       1023,       1024,        1025,    (1ull << 18) - 1, 1ull << 18, 1ull << 23,
      1ull << 32, u32_max, 1ull << 63, u64_max - 1, u64_max, 10 * us,          20 * us,    4000000000ull};
  auto pick = [=]() { return extremes[(*rng)() % (sizeof(extremes) / sizeof(extremes[0]))]; };
  out.push_back({"extreme idles, B = 20 us", n, [=](size_t, duration_ns, duration_ns) { return pick(); },
                 fixed_b(20 * us), none});
  out.push_back({"extreme idles, extreme B and bounds", 50000,
                 [=](size_t, duration_ns budget, duration_ns block) -> duration_ns {
                   switch ((*rng)() % 6) {
                     case 0:
                       return pick();
                     case 1:
                       return sat_add(budget, (*rng)() % 3);
                     case 2:
                       return budget > 0 ? budget - 1 : 0;
                     case 3:
                       return sat_add(block, (*rng)() % 3);
                     default:
                       return (*rng)() % (block < (1ull << 40) ? 2 * block + 1 : 1ull << 41);
                   }
                 },
                 [=](size_t i) -> duration_ns {
                   // Long stretches of one B, then a jump (through every split bin).
                   const u64 era = splitmix64{i / 300}.next();
                   return era % 5 == 0 ? extremes[era % 16] : 1 + era % (1ull << (era % 40));
                 },
                 [=](size_t i) { return i % 3 == 0 ? pick() : no_bound; }});
  out.push_back({"B moving every idle", n,
                 [=](size_t, duration_ns, duration_ns) { return (*rng)() >> ((*rng)() % 64); },
                 [=](size_t) { return 5 * us + (*rng)() % (200 * us); }, none});
  return out;
}

}  // namespace

TEST_CASE("upstream C port: same bin layout as the C++ core") {
  REQUIRE(lazyidle_c_bin_count() == histogram_predictor::bin_count);
  for (u32 bin = 0; bin < histogram_predictor::bin_count; ++bin) {
    CAPTURE(bin);
    CHECK(lazyidle_c_upper_edge(bin) == histogram_edges.upper[bin]);
    CHECK(lazyidle_c_midpoint(bin) == histogram_edges.midpoint[bin]);
  }
  std::mt19937_64 rng(5);
  u64 bin_mismatches = 0;
  for (int i = 0; i < 200000; ++i) {
    const duration_ns y = i < 64 ? (1ull << i) - (i % 2) : rng() >> (rng() % 64);
    bin_mismatches += lazyidle_c_bin_of(y) == histogram_predictor::bin_of(y) ? 0 : 1;
  }
  CHECK(bin_mismatches == 0);
  MESSAGE("C state: " << lazyidle_c_state_size()
                      << " bytes (C++ default governor: " << sizeof(default_governor) << ")");
}

TEST_CASE("upstream C port: every decision and prediction equals the C++ core's") {
  u64 decisions = 0, failed_scenarios = 0;
  const std::vector<scenario> all = scenarios();
  for (const scenario& s : all) {
    const replay_result r = replay(s);
    decisions += r.decisions;
    if (r.mismatches != 0) {
      ++failed_scenarios;
      FAIL_CHECK(r.mismatches << " differences; first: " << r.first);
    }
  }
  MESSAGE("compared " << decisions << " decisions (budget, expected idle, confidence, then state) over "
                      << all.size() << " scenarios");
  CHECK(failed_scenarios == 0);
  CHECK(decisions > 500000);
}
