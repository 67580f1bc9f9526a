// SPDX-License-Identifier: GPL-2.0-only OR MIT
//
// Cost of one decision: select() then reflect(), per governor, on two
// message-passing streams of short gaps (exponential, mean 4 us) and long
// sleeps (mean 2 ms) at B = 20 us, so branchy policies cannot hide behind a
// perfectly predicted branch:
//   bimodal      each idle a sleep with probability 0.2, independently;
//   alternating  gap, sleep, gap, sleep: the previous idle predicts the
//                next one perfectly, which opens every context gate of
//                distribution_threshold, so its rescans price all three
//                contexts (the worst case of its cache).
// The goal is <= 20 ns per decision; this prints the figure, it never
// asserts it.
#include <benchmark/benchmark.h>

#include <lazyidle/lazyidle.hpp>
#include <random>
#include <vector>

namespace {

enum class stream { bimodal, alternating };

std::vector<lazyidle::duration_ns> make_stream(stream kind) {
  std::mt19937_64 rng(7);
  std::exponential_distribution<double> short_gap(1.0 / 4000.0), long_sleep(1.0 / 2000000.0);
  std::vector<lazyidle::duration_ns> idles(4096);
  for (std::size_t i = 0; i < idles.size(); ++i) {
    const bool sleep = kind == stream::bimodal ? rng() % 10 >= 8 : i % 2 == 1;
    idles[i] = static_cast<lazyidle::duration_ns>(sleep ? long_sleep(rng) : short_gap(rng));
  }
  return idles;
}

template <class Governor, stream Kind>
void select_and_reflect(benchmark::State& state) {
  const auto idles = make_stream(Kind);
  Governor governor{};
  // The state lives in memory between idles, as a per-CPU governor's does:
  // escaped, and written back every iteration, so a store the loop never
  // reads is not optimised away.
  benchmark::DoNotOptimize(&governor);
  std::size_t i = 0;
  for (auto _ : state) {
    const auto decision = governor.select(20000);
    benchmark::DoNotOptimize(decision.poll_budget_ns);
    governor.reflect(idles[i]);
    benchmark::ClobberMemory();
    i = (i + 1) & (idles.size() - 1);
  }
  state.counters["bytes"] = static_cast<double>(sizeof(Governor));
}

}  // namespace

#define LAZYIDLE_BENCH_GOVERNOR(label, ...)                                                  \
  BENCHMARK_TEMPLATE(select_and_reflect, __VA_ARGS__, stream::bimodal)->Name(label "/bimodal"); \
  BENCHMARK_TEMPLATE(select_and_reflect, __VA_ARGS__, stream::alternating)->Name(label "/alternating")

LAZYIDLE_BENCH_GOVERNOR("default", lazyidle::default_governor);
LAZYIDLE_BENCH_GOVERNOR("void+distribution_threshold",
                        lazyidle::governor<void, lazyidle::distribution_threshold>);
LAZYIDLE_BENCH_GOVERNOR("last_value+break_even", lazyidle::governor<lazyidle::last_value_predictor, lazyidle::break_even>);

BENCHMARK_MAIN();
