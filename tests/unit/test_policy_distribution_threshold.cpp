// SPDX-License-Identifier: GPL-2.0-only OR MIT
// distribution_threshold against the two yardsticks of DESIGN §3: the
// hindsight-best fixed threshold (brute force over the whole trace) and its
// own proven aggregate bound (2.125 * OPT, <= 1 + 1/16 times break-even, on
// every prefix, whatever the sequence).
#include <doctest/doctest.h>

#include <initializer_list>

#include <lazyidle/concepts.hpp>
#include <lazyidle/cost.hpp>
#include <lazyidle/governor.hpp>
#include <lazyidle/policy/distribution_threshold.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

using namespace lazyidle;

namespace {

constexpr duration_ns us = 1000;
constexpr size_t trace_length = 20000;

struct trace {
  std::string name;
  std::vector<duration_ns> idles;
};

duration_ns to_ns(double v) { return v <= 0 ? 0 : static_cast<duration_ns>(v); }

// Families a message-passing waiter sees. Seeds are fixed: the figures are
// reproducible, and the tolerances below were set from them with margin.
std::vector<trace> trace_families() {
  std::vector<trace> traces;
  std::mt19937_64 rng(20261125);
  {
    trace t{"exponential mean 20us", {}};
    std::exponential_distribution<double> d(1.0 / (20.0 * us));
    for (size_t i = 0; i < trace_length; ++i) t.idles.push_back(to_ns(d(rng)));
    traces.push_back(t);
  }
  {
    // 70%: a reply within ~4 us; 30%: the peer goes away for 0.5-2 ms.
    trace t{"bimodal 4us/0.5-2ms", {}};
    std::bernoulli_distribution is_short(0.7);
    std::normal_distribution<double> short_idle(4.0 * us, 0.5 * us);
    std::uniform_real_distribution<double> long_idle(500.0 * us, 2000.0 * us);
    for (size_t i = 0; i < trace_length; ++i) t.idles.push_back(to_ns(is_short(rng) ? short_idle(rng) : long_idle(rng)));
    traces.push_back(t);
  }
  {
    // On/off: bursts (mean 50 messages, idles exponential mean 3 us) and
    // pauses (mean 10 idles of 0.2-5 ms), phase lengths geometric.
    trace t{"bursty on/off", {}};
    std::geometric_distribution<int> burst_length(1.0 / 50), pause_length(1.0 / 10);
    std::exponential_distribution<double> burst_idle(1.0 / (3.0 * us));
    std::uniform_real_distribution<double> pause_idle(200.0 * us, 5000.0 * us);
    while (t.idles.size() < trace_length) {
      for (int i = burst_length(rng); i >= 0 && t.idles.size() < trace_length; --i) t.idles.push_back(to_ns(burst_idle(rng)));
      for (int i = pause_length(rng); i >= 0 && t.idles.size() < trace_length; --i) t.idles.push_back(to_ns(pause_idle(rng)));
    }
    traces.push_back(t);
  }
  {
    // Idles spread around the block costs themselves: the best threshold is
    // interior, the hardest case for a binned estimate.
    trace t{"lognormal median 30us", {}};
    std::lognormal_distribution<double> d(std::log(30.0 * us), 1.0);
    for (size_t i = 0; i < trace_length; ++i) t.idles.push_back(to_ns(d(rng)));
    traces.push_back(t);
  }
  traces.push_back({"constant 30us", std::vector<duration_ns>(trace_length, 30 * us)});
  {
    // Request/response with a slow and a fast leg: short and long strictly
    // alternate. Best-fixed must treat them alike; order says which is next.
    trace t{"alternating 3us/300us", {}};
    std::uniform_real_distribution<double> jitter(0.9, 1.1);
    for (size_t i = 0; i < trace_length; ++i) t.idles.push_back(to_ns((i % 2 ? 300.0 : 3.0) * us * jitter(rng)));
    traces.push_back(t);
  }
  {
    // Weak phases: runs of ~5 short idles and ~3 long ones, so the previous
    // idle says less about the next than in the on/off trace.
    trace t{"short phases 5/3", {}};
    std::geometric_distribution<int> burst_length(1.0 / 5), pause_length(1.0 / 3);
    std::exponential_distribution<double> burst_idle(1.0 / (5.0 * us));
    std::exponential_distribution<double> pause_idle(1.0 / (400.0 * us));
    while (t.idles.size() < trace_length) {
      for (int i = burst_length(rng); i >= 0 && t.idles.size() < trace_length; --i) t.idles.push_back(to_ns(burst_idle(rng)));
      for (int i = pause_length(rng); i >= 0 && t.idles.size() < trace_length; --i) t.idles.push_back(to_ns(pause_idle(rng)));
    }
    traces.push_back(t);
  }
  return traces;
}

// The hindsight-best fixed threshold's total cost: sort once, then price
// T = 0 and T = each idle with prefix sums.
u64 best_fixed_cost(std::vector<duration_ns> idles, duration_ns block) {
  std::sort(idles.begin(), idles.end());
  const u64 n = idles.size();
  u64 best = block * n;
  u64 prefix = 0;
  for (u64 k = 0; k < n; ++k) {
    prefix += idles[k];
    if (k + 1 < n && idles[k + 1] == idles[k]) continue;  // price T after all equal idles
    best = std::min(best, prefix + (n - k - 1) * (idles[k] + block));
  }
  return best;
}

struct run_result {
  cost_ledger ledger;
  u64 break_even_cost = 0;
};

run_result run(const std::vector<duration_ns>& idles, duration_ns block) {
  distribution_threshold policy;
  run_result r;
  for (duration_ns y : idles) {
    poll_request request;
    request.block_cost_ns = block;
    const duration_ns budget = policy.budget(request);
    r.ledger.add(y, budget, block);
    r.break_even_cost += decision_cost(y, block, block);
    idle_outcome outcome;
    outcome.idle_ns = y;
    outcome.budget_ns = budget;
    outcome.block_cost_ns = block;
    policy.reflect(outcome);
  }
  return r;
}

}  // namespace

TEST_CASE("distribution_threshold: state fits the 56 bytes a default governor can spare") {
  MESSAGE("sizeof(histogram_predictor) = " << sizeof(histogram_predictor)
                                           << ", sizeof(distribution_threshold) = " << sizeof(distribution_threshold));
  // 64 minus the governor's 8-byte record (governor<void, Policy> keeps
  // only the budget and B of the last decision).
  CHECK(sizeof(distribution_threshold) <= 56);
  static_assert(check_poll_policy<distribution_threshold>());
#if defined(__cpp_concepts)
  static_assert(poll_policy<distribution_threshold>);
#endif
}

TEST_CASE("distribution_threshold: within a few percent of the hindsight-best fixed threshold") {
  // Tolerance: the policy learns a histogram (u8 counts, ~256-idle window,
  // quarter-octave bins) online, so it pays (a) bin resolution: a threshold
  // on a bin edge up to 25% above the best one, charged on every idle that
  // outlasts it; (b) estimation noise from the short window; (c) a warm-up
  // of a few dozen idles at break-even while the allowance builds. DESIGN
  // asks for ~5%; the measured worst over these families is ~1.1% (bimodal,
  // B = 50 us: the short mode straddles two 1 us-wide bins), so 3% leaves
  // room for another seed without hiding a regression.
  // Where the order of idles carries information (on/off phases, strict
  // alternation) the policy must beat best-fixed, which cannot see order.
  for (const trace& t : trace_families()) {
    const bool ordered = t.name.rfind("bursty", 0) == 0 || t.name.rfind("alternating", 0) == 0;
    for (duration_ns block : {10 * us, 20 * us, 50 * us, 100 * us}) {
      const run_result r = run(t.idles, block);
      const u64 best = best_fixed_cost(t.idles, block);
      const double vs_best = static_cast<double>(r.ledger.decision_cost_ns) / static_cast<double>(best);
      const double vs_opt = static_cast<double>(r.ledger.decision_cost_ns) / static_cast<double>(r.ledger.optimal_cost_ns);
      const double be_vs_opt = static_cast<double>(r.break_even_cost) / static_cast<double>(r.ledger.optimal_cost_ns);
      const double best_vs_opt = static_cast<double>(best) / static_cast<double>(r.ledger.optimal_cost_ns);
      MESSAGE(t.name << ", B = " << block / us << " us (CPU-equivalent ns): policy/best-fixed = " << vs_best
                     << ", policy/OPT = " << vs_opt << ", best-fixed/OPT = " << best_vs_opt
                     << ", break-even/OPT = " << be_vs_opt);
      CHECK(vs_best <= 1.03);
      CHECK(vs_opt <= 2.0);
      if (ordered) CHECK(vs_best < 0.99);
    }
  }
}

namespace {

__extension__ using wide = unsigned __int128;

// Drives the policy against an idle generator that may look at the budget,
// and checks the proven bound on every prefix, in exact 128-bit sums.
template <class NextIdle, class NextBlock>
wide check_bound_on_every_prefix(size_t idles, NextIdle next_idle, NextBlock next_block, wide* break_even_total = nullptr) {
  distribution_threshold policy;
  wide paid = 0, break_even = 0, optimal = 0;
  size_t violations = 0, over_cap = 0;
  for (size_t i = 0; i < idles; ++i) {
    poll_request request;
    request.block_cost_ns = next_block(i);
    const duration_ns budget = policy.budget(request);
    if (budget > policy.budget_cap_ns(request.block_cost_ns)) ++over_cap;
    const duration_ns y = next_idle(i, budget, request.block_cost_ns);
    const duration_ns block = request.block_cost_ns;
    paid += y <= budget ? y : wide{budget} + block;
    break_even += y <= block ? y : wide{block} * 2;
    optimal += y < block ? y : block;
    // sum(paid) <= (1 + 1/16) sum(break-even) <= 2.125 sum(OPT), in Q10 and x16.
    if (paid * 16 > break_even * 17 || paid * q10_one > optimal * policy.worst_case_ratio_q10()) ++violations;
    idle_outcome outcome;
    outcome.idle_ns = y;
    outcome.budget_ns = budget;
    outcome.block_cost_ns = block;
    policy.reflect(outcome);
  }
  CHECK(violations == 0);
  CHECK(over_cap == 0);
  if (break_even_total) *break_even_total = break_even;
  return paid;
}

}  // namespace

TEST_CASE("distribution_threshold: an adversary that ends every idle just past the budget") {
  // The worst an adaptive adversary can do to a threshold rule: wake 1 ns too
  // late, every time. Break-even pays 2 OPT per idle here only when the
  // budget is B; the learned policy must not be driven far below it.
  for (duration_ns block : {10 * us, 20 * us, 50 * us, 100 * us}) {
    wide break_even = 0;
    const wide paid = check_bound_on_every_prefix(
        20000, [](size_t, duration_ns budget, duration_ns) { return budget + 1; },
        [block](size_t) { return block; }, &break_even);
    MESSAGE("just-past-budget adversary, B = " << block / us
                                               << " us: policy/break-even = " << static_cast<double>(paid) / static_cast<double>(break_even));
  }
}

TEST_CASE("distribution_threshold: train on long idles, then betray with 1 ns ones, repeatedly") {
  // Long phases build a full allowance and a learned T = 0; the short phase
  // then costs B per 1 ns idle until the allowance is spent. Phases of
  // varying length so the allowance is caught at every level.
  for (duration_ns block : {10 * us, 100 * us}) {
    wide break_even = 0;
    const wide paid = check_bound_on_every_prefix(
        30000,
        [](size_t i, duration_ns, duration_ns) -> duration_ns {
          const size_t phase = (i / 300) % 3;
          return phase == 0 ? 5000 * us : (phase == 1 ? 1 : (i % 7 == 0 ? 5000 * us : 1));
        },
        [block](size_t) { return block; }, &break_even);
    MESSAGE("train-and-betray, B = " << block / us
                                     << " us: policy/break-even = " << static_cast<double>(paid) / static_cast<double>(break_even));
  }
}

TEST_CASE("distribution_threshold: random and extreme idles with a block cost that moves") {
  // 0, 2^63, u64_max, values around the budget and around B; B itself
  // jumps between 1 ns and 1 s. No UB (run under the sanitizer build), the
  // bound on every prefix, budgets within budget_cap_ns.
  splitmix64 rng{42};
  const duration_ns extremes[] = {0, 1, 1ull << 63, u64_max, 10 * us, 4 * 1000 * 1000 * 1000ull};
  check_bound_on_every_prefix(
      50000,
      [&](size_t, duration_ns budget, duration_ns block) -> duration_ns {
        switch (rng.next() % 6) {
          case 0: return extremes[rng.next() % 6];
          case 1: return budget + (rng.next() % 3);
          case 2: return budget > 0 ? budget - 1 : 0;
          case 3: return block + (rng.next() % 3);
          default: return rng.next() % (2 * block + 1);
        }
      },
      [&](size_t i) -> duration_ns {
        // Long stretches of one B (so the policy learns), then a jump.
        const u64 era = splitmix64{i / 500}.next();
        return era % 8 == 0 ? 1 : 1 + era % (1000 * 1000 * 1000ull);
      });
}

TEST_CASE("distribution_threshold: adapts when the distribution flips") {
  // All-long then all-short: the learned threshold must follow, so cost over
  // the second phase's last half is OPT's (the idles are polled through).
  distribution_threshold policy;
  const duration_ns block = 20 * us;
  auto step = [&](duration_ns y) {
    poll_request request;
    request.block_cost_ns = block;
    const duration_ns budget = policy.budget(request);
    idle_outcome outcome;
    outcome.idle_ns = y;
    outcome.budget_ns = budget;
    outcome.block_cost_ns = block;
    policy.reflect(outcome);
    return budget;
  };
  for (int i = 0; i < 2000; ++i) step(3000 * us);
  CHECK(step(3000 * us) == 0);  // long idles: block at once
  for (int i = 0; i < 300; ++i) step(3 * us);
  u64 late = 0;
  for (int i = 0; i < 300; ++i) late += step(3 * us) >= 3 * us ? 0 : 1;
  CHECK(late == 0);
  // The budget covers the short mode without running on to B.
  CHECK(step(3 * us) < block);
}

TEST_CASE("distribution_threshold: reset forgets the histogram and the allowance") {
  distribution_threshold policy;
  poll_request request;
  request.block_cost_ns = 20 * us;
  const duration_ns fresh = policy.budget(request);
  CHECK(fresh == request.block_cost_ns);  // nothing learned: break-even
  for (int i = 0; i < 500; ++i) policy.reflect({3000 * us, policy.budget(request), request.block_cost_ns, {}});
  CHECK(policy.budget(request) == 0);
  policy.reset();
  CHECK(policy.budget(request) == fresh);
  CHECK(policy.allowance_ns() == 0);
  CHECK(policy.histogram().total() == 0);
}

TEST_CASE("distribution_threshold: inside a governor, 64 bytes per CPU, same decisions") {
  // governor<void, P> predicts from the policy's own histogram instead of
  // keeping a second history of the same idles.
  using gov = governor<void, distribution_threshold>;
  MESSAGE("sizeof(governor<void, distribution_threshold>) = " << sizeof(gov));
  CHECK(sizeof(gov) <= 64);
  gov g;
  distribution_threshold direct;
  std::mt19937_64 rng(17);
  std::exponential_distribution<double> d(1.0 / (30.0 * us));
  u64 mismatches = 0, prediction_mismatches = 0;
  for (int i = 0; i < 5000; ++i) {
    const duration_ns y = to_ns(d(rng)) + (i % 4 == 0 ? 1000 * us : 0);
    const duration_ns block = i < 2500 ? 20 * us : 50 * us;
    poll_request request;
    request.block_cost_ns = block;
    const duration_ns expected = direct.budget(request);
    const governor_decision decision = g.select(block);
    mismatches += decision.poll_budget_ns == expected ? 0 : 1;
    prediction_mismatches += decision.predicted.expected_ns == direct.histogram().predict(no_bound).expected_ns ? 0 : 1;
    g.reflect(y);
    direct.reflect({y, expected, block, {}});
  }
  CHECK(mismatches == 0);
  CHECK(prediction_mismatches == 0);
}

TEST_CASE("distribution_threshold: a next-timer bound b at or below B makes the budget b + B") {
  distribution_threshold policy;
  poll_request request;
  request.block_cost_ns = 20 * us;
  // Fresh: no allowance yet, so anything past B is cut back to B.
  request.bound_ns = 2 * us;
  CHECK(policy.budget(request) == request.block_cost_ns);
  request.bound_ns = no_bound;
  for (int i = 0; i < 400; ++i) {
    const duration_ns budget = policy.budget(request);
    policy.reflect({i % 2 ? 3 * us : 80 * us, budget, request.block_cost_ns, {}});
  }
  REQUIRE(policy.allowance_ns() >= 20 * us);  // trust to spend on a late timer
  const duration_ns unbounded = policy.budget(request);
  CHECK(unbounded < request.block_cost_ns);  // learned: poll past the 3 us mode only
  request.bound_ns = 2 * us;
  CHECK(policy.budget(request) == 22 * us);  // through the timer, and B more if it is late
  request.bound_ns = 20 * us;
  CHECK(policy.budget(request) == 40 * us);
  request.bound_ns = 20 * us + 1;
  CHECK(policy.budget(request) == unbounded);  // past B the bound says nothing
  request.bound_ns = 1000 * us;
  CHECK(policy.budget(request) == unbounded);
}

TEST_CASE("distribution_threshold: an idle decided by a near timer teaches the histogram nothing") {
  distribution_threshold policy;
  poll_request request;
  request.block_cost_ns = 20 * us;
  for (int i = 0; i < 400; ++i) {
    const duration_ns budget = policy.budget(request);
    policy.reflect({i % 2 ? 3 * us : 80 * us, budget, request.block_cost_ns, {}});
  }
  const histogram_predictor before = policy.histogram();
  const duration_ns unbounded = policy.budget(request);
  const duration_ns allowance = policy.allowance_ns();
  // Timer remainders: each idle ends 1 us past a timer 10 us away.
  request.bound_ns = 10 * us;
  for (int i = 0; i < 50; ++i) {
    const duration_ns budget = policy.budget(request);
    REQUIRE(budget == 30 * us);
    policy.reflect({11 * us, budget, request.block_cost_ns, {}});
  }
  for (u32 bin = 0; bin < histogram_predictor::bin_count; ++bin) CHECK(policy.histogram().count(bin) == before.count(bin));
  CHECK(policy.histogram().total() == before.total());
  CHECK(policy.allowance_ns() >= allowance);  // y = OPT each time: the allowance still counts them
  request.bound_ns = no_bound;
  CHECK(policy.budget(request) == unbounded);
  // The same idles with no timer are learned.
  for (int i = 0; i < 50; ++i) {
    const duration_ns budget = policy.budget(request);
    policy.reflect({11 * us, budget, request.block_cost_ns, {}});
  }
  CHECK(policy.histogram().count(histogram_predictor::bin_of(11 * us)) > before.count(histogram_predictor::bin_of(11 * us)));
}

TEST_CASE("distribution_threshold: usable at compile time") {
  // Idles strictly alternating 2 us / 5 ms at B = 50 us: once the allowance
  // covers budgets below B, a short idle is followed by "block at once" (a
  // long one comes next) and a long idle by "poll through the 2 us bin".
  struct budgets {
    duration_ns after_short, after_long;
  };
  constexpr budgets learned = [] {
    distribution_threshold policy;
    poll_request request;
    request.block_cost_ns = 50000;
    budgets result{};
    for (int i = 0; i < 300; ++i) {
      const duration_ns y = i % 2 ? 2000ull : 5000000ull;
      const duration_ns budget = policy.budget(request);
      policy.reflect({y, budget, 50000, {}});
      (i % 2 ? result.after_short : result.after_long) = policy.budget(request);
    }
    return result;
  }();
  static_assert(learned.after_short == 0);
  static_assert(learned.after_long < 50000);
  CHECK(learned.after_long == histogram_predictor::upper_edge(histogram_predictor::bin_of(2000)));
}

TEST_CASE("distribution_threshold: the cached threshold is the fresh one, at most refresh_period - 1 idles late") {
  // After every reflect() that rescans (total a multiple of refresh_period,
  // or B in another split bin), the cached answer must equal a fresh scan,
  // for both classes of previous idle; in between it must equal the fresh
  // answer of the histogram as it was at the last rescan. A B in another
  // split bin than the cache's is always answered fresh.
  for (int family = 0; family < 3; ++family) {
    distribution_threshold policy;
    std::mt19937_64 rng(100 + family);
    std::vector<duration_ns> at_refresh(2, 0);  // fresh answers at the last rescan, per class
    distribution_threshold snapshot;
    u64 refreshes = 0, stale_checked = 0, mismatches = 0;
    for (int i = 0; i < 6000; ++i) {
      // B mostly 20 us, sometimes 50 us (another split bin): both paths run.
      const duration_ns block = (i / 700) % 3 == 2 ? 50 * us : 20 * us;
      duration_ns y = 0;
      switch (family) {
        case 0: y = (i % 2 ? 300 : 3) * us + rng() % 1000; break;                   // alternating: gate open
        case 1: y = rng() % 4 ? rng() % (8 * us) : 500 * us + rng() % (2000 * us); break;  // iid bimodal
        default: y = rng() >> (rng() % 64); break;                                    // anything
      }
      poll_request request;
      request.block_cost_ns = block;
      const duration_ns budget = policy.budget(request);
      policy.reflect({y, budget, block, {}});
      const bool rescanned = policy.histogram().total() % distribution_threshold::refresh_period == 0 || i == 0 ||
                             block != ((i - 1) / 700 % 3 == 2 ? 50 * us : 20 * us);
      if (rescanned) {
        ++refreshes;
        snapshot = policy;
      }
      // The cache answers as the snapshot's fresh scan would, for the current
      // context (the snapshot's probabilities are the ones the codes were
      // computed from).
      const duration_ns expected = histogram_predictor::decode_threshold(snapshot.learned_code(block, policy.context()), block);
      mismatches += policy.cached_threshold(block) == expected ? 0 : 1;
      stale_checked += rescanned ? 0 : 1;
      // Another split bin: fresh, never the cache.
      const duration_ns other = block == 20 * us ? 50 * us : 20 * us;
      mismatches += policy.cached_threshold(other) == policy.learned_threshold(other) ? 0 : 1;
    }
    CAPTURE(family);
    CHECK(mismatches == 0);
    CHECK(refreshes >= 6000 / (2 * distribution_threshold::refresh_period));  // halving skips a few multiples
    CHECK(refreshes < 6000 / 4);  // the point: most decisions do not rescan
    CHECK(stale_checked > 0);
  }
}

TEST_CASE("distribution_threshold: the allowance stays within its 26 bits for any B") {
  // A huge B (1 s) would allow 16 s of allowance; the stored field holds
  // 67 ms, and the cap saturates instead of wrapping.
  distribution_threshold policy;
  for (int i = 0; i < 2000; ++i) {
    poll_request request;
    request.block_cost_ns = 1000 * 1000 * 1000ull;
    const duration_ns budget = policy.budget(request);
    policy.reflect({i % 2 ? 1 : 5000 * 1000 * 1000ull, budget, request.block_cost_ns, {}});
    CHECK(policy.allowance_ns() <= distribution_threshold::allowance_max_ns);
  }
  CHECK(policy.allowance_ns() == distribution_threshold::allowance_max_ns);
}

TEST_CASE("distribution_threshold: a stray long idle in a burst is not a pause") {
  // Bursts of 200 idles of 3 us, every 10th a stray 30 us one (long at
  // B = 10 us), then pauses of 30 idles of 2 ms. After a stray long idle the
  // next is short 19 times out of 20; after two long ones in a row it is
  // long. The run contexts learn both, so the policy keeps polling after a
  // stray one and blocks at once inside a pause. (The order-1 rule pools
  // the two: P(long | long) ~ 0.6, and it polled 3 us on every pause idle.)
  distribution_threshold policy;
  poll_request request;
  request.block_cost_ns = 10 * us;
  duration_ns after_stray = 0, in_pause = u64_max;
  for (int cycle = 0; cycle < 40; ++cycle) {
    for (int i = 0; i < 230; ++i) {
      const duration_ns y = i >= 200 ? 2000 * us : i % 10 == 9 ? 30 * us : 3 * us;
      const duration_ns budget = policy.budget(request);
      if (cycle == 39 && i == 190) after_stray = budget;  // after the stray idle at 189
      if (cycle == 39 && i == 220) in_pause = budget;
      policy.reflect({y, budget, request.block_cost_ns, {}});
    }
  }
  CHECK(policy.run_matters());
  // Polls through the burst's 3 us idles (not B: most longs in the window
  // are the pause's, so polling on into the stray ones does not pay).
  CHECK(after_stray == histogram_predictor::upper_edge(histogram_predictor::bin_of(3 * us)));
  CHECK(in_pause == 0);
}

TEST_CASE("distribution_threshold: after a short idle in a burst, poll through the burst's own tail") {
  // Bursts of 200 idles of 3 us, every 10th an 11 us one (long at B = 10
  // us but near it: polling through it costs less than 3 us + B), then
  // pauses of 30 idles of 2 ms. Most remembered long idles are the pause's,
  // but after a short idle the long ones are the burst's tail: the far
  // share of that context (~0) says so, and the policy polls through 11 us
  // instead of blocking just past 3 us.
  distribution_threshold policy;
  poll_request request;
  request.block_cost_ns = 10 * us;
  duration_ns after_short = 0, in_pause = u64_max;
  for (int cycle = 0; cycle < 40; ++cycle) {
    for (int i = 0; i < 230; ++i) {
      const duration_ns y = i >= 200 ? 2000 * us : i % 10 == 9 ? 11 * us : 3 * us;
      const duration_ns budget = policy.budget(request);
      if (cycle == 39 && i == 185) after_short = budget;
      if (cycle == 39 && i == 220) in_pause = budget;
      policy.reflect({y, budget, request.block_cost_ns, {}});
    }
  }
  CHECK(after_short == histogram_predictor::upper_edge(histogram_predictor::bin_of(11 * us)));
  CHECK(in_pause == 0);
}

TEST_CASE("distribution_threshold: short idles inside a run of long ones are not a burst's") {
  // Bursts of 150 idles of 2 us, then runs of 300: five of 1 ms and one of
  // 30 us, repeated (the guest trace's shape at B = 50 us). Late in a run
  // P(long) after a short idle (the 30 us one, followed by a long) and
  // after a long one are close, so the previous idle's class alone is not
  // worth conditioning on, and the histogram's short mode (the burst's 2 us)
  // says "poll 2 us". But the short idles after a long one are 30 us, none
  // of them tiny, while those after a short one were all tiny: the shapes
  // differ, the policy conditions on the previous idle, and inside the run
  // it blocks at once. (Before: it polled 2 us on every idle of the run.)
  distribution_threshold policy;
  poll_request request;
  request.block_cost_ns = 50 * us;
  duration_ns in_run = u64_max, in_burst = 0;
  for (int cycle = 0; cycle < 40; ++cycle) {
    for (int i = 0; i < 450; ++i) {
      const duration_ns y = i < 150 ? 2 * us : (i - 150) % 6 == 5 ? 30 * us : 1000 * us;
      const duration_ns budget = policy.budget(request);
      if (cycle == 39 && i == 100) in_burst = budget;
      if (cycle == 39 && i == 440) in_run = budget;  // after two long idles
      policy.reflect({y, budget, request.block_cost_ns, {}});
    }
  }
  CHECK(policy.shapes_differ());
  CHECK(in_run == 0);
  CHECK(in_burst == histogram_predictor::upper_edge(histogram_predictor::bin_of(2 * us)));
}
