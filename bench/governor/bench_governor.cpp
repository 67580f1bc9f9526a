// SPDX-License-Identifier: GPL-2.0-only OR MIT
//
// Cost of one decision: select() then reflect(), per governor, on a bimodal
// message-passing stream (short gaps plus long sleeps) so branchy policies
// cannot hide behind a perfectly predicted branch. The goal is <= 20 ns per
// decision; this prints the figure, it never asserts it.
#include <benchmark/benchmark.h>

#include <lazyidle/lazyidle.hpp>
#include <random>
#include <vector>

namespace {

std::vector<lazyidle::duration_ns> bimodal_stream() {
  std::mt19937_64 rng(7);
  std::exponential_distribution<double> short_gap(1.0 / 4000.0), long_sleep(1.0 / 2000000.0);
  std::vector<lazyidle::duration_ns> idles(4096);
  for (auto& idle : idles)
    idle = static_cast<lazyidle::duration_ns>((rng() % 10 < 8) ? short_gap(rng) : long_sleep(rng));
  return idles;
}

template <class Governor>
void select_and_reflect(benchmark::State& state) {
  const auto idles = bimodal_stream();
  Governor governor{};
  std::size_t i = 0;
  for (auto _ : state) {
    const auto decision = governor.select(20000);
    benchmark::DoNotOptimize(decision.poll_budget_ns);
    governor.reflect(idles[i]);
    i = (i + 1) & (idles.size() - 1);
  }
  state.counters["bytes"] = static_cast<double>(sizeof(Governor));
}

}  // namespace

#define LAZYIDLE_BENCH_GOVERNOR(label, ...) \
  BENCHMARK_TEMPLATE(select_and_reflect, __VA_ARGS__)->Name(label)

LAZYIDLE_BENCH_GOVERNOR("default", lazyidle::default_governor);
LAZYIDLE_BENCH_GOVERNOR("void+distribution_threshold",
                        lazyidle::governor<void, lazyidle::distribution_threshold>);
LAZYIDLE_BENCH_GOVERNOR("last_value+break_even", lazyidle::governor<lazyidle::last_value_predictor, lazyidle::break_even>);

BENCHMARK_MAIN();
