// SPDX-License-Identifier: GPL-2.0-only OR MIT
//
// lazyidle-sim-per-idle: where one policy's cost differs from another's,
// idle by idle. Both replay the same idles (one instance per CPU, as
// lazyidle-sim does); each idle's cost difference is added to the bucket of
// its length y / B and printed as % of the trace's OPT, with each bucket's
// cost / OPT for both, and split into each CPU's first 32 idles (start-up)
// and the rest. The buckets sum to the difference of the two ratios x OPT
// that `lazyidle-sim --sweep` prints. docs/simulator.md, "Issue 11", was
// measured with it:
//
//   lazyidle-sim-per-idle heavy_tailed 100000 lazyidle haltpoll
//   lazyidle-sim-per-idle tests/data/redis-waits.trace.gz 10000 lazyidle opt
//
// INPUT is a generator name (200000 idles, seed 1, as the sweep) or a trace
// file; B_ns a sweep point (the cost model scaled as --sweep scales it).
#include "generators.hpp"
#include "registry.hpp"
#include "runner.hpp"

#include <lazyidle/hosted/trace.hpp>

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

using namespace lazyidle;
using namespace lazyidle::sim;

namespace {

constexpr u64 startup_idles = 32;

struct bucket {
  double upper_over_b;  // y / B below this
  u64 idles = 0;
  double cost[2] = {0, 0};
  double opt = 0;
};

int usage() {
  std::fprintf(stderr,
               "usage: lazyidle-sim-per-idle INPUT B_ns POLICY_A POLICY_B [DRIVER_LATENCY_PCT]\n"
               "  INPUT: a generator (constant exponential bimodal bursty timer heavy_tailed adversary) or a trace "
               "file\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5 || argc > 6) return usage();
  const std::string input = argv[1];
  u64 block_ns = 0;
  if (!hosted::detail::parse_u64(argv[2], block_ns) || block_ns == 0) return usage();
  cost_options options;
  if (argc == 6) {
    u64 pct = 0;
    if (!hosted::detail::parse_u64(argv[5], pct) || pct > 1000) return usage();
    options.driver_latency_pct = static_cast<u32>(pct);
  }
  const policy_entry* entries[2] = {find_policy(argv[3]), find_policy(argv[4])};
  for (int k = 0; k < 2; ++k) {
    if (!entries[k]) {
      std::fprintf(stderr, "lazyidle-sim-per-idle: unknown policy %s (lazyidle-sim --list)\n", argv[3 + k]);
      return 2;
    }
  }
  const environment env = make_environment(options, block_ns);

  std::vector<trace_event> events;
  if (!generate(input, 200000, 1, env.block_cost_ns, events)) {
    hosted::trace t;
    if (auto e = hosted::load_trace(input, t)) {
      std::fprintf(stderr, "%s\n", e->message.c_str());
      return 2;
    }
    std::stable_sort(t.events.begin(), t.events.end(),
                     [](const trace_event& a, const trace_event& b) { return a.cpu < b.cpu; });
    events = std::move(t.events);
  }

  std::vector<bucket> buckets;
  for (double edge : {0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 4.0, 1e300}) buckets.push_back(bucket{edge});
  std::map<u32, std::unique_ptr<policy>> instances[2];
  std::map<u32, u64> seen;
  double startup_diff = 0, rest_diff = 0, opt_total = 0;
  for (const trace_event& e : events) {
    u64 cost[2];
    for (int k = 0; k < 2; ++k) {
      std::unique_ptr<policy>& p = instances[k][e.cpu];
      if (!p) p = entries[k]->make(env);
      policy_result scratch = make_result(env);
      cost[k] = simulate_idle(*p, e, env, scratch);
    }
    const double opt = static_cast<double>(env.table.optimal_cost(e.idle_ns));
    const double y_over_b = static_cast<double>(e.idle_ns) / static_cast<double>(env.block_cost_ns);
    bucket& b = *std::find_if(buckets.begin(), buckets.end(),
                              [&](const bucket& candidate) { return y_over_b < candidate.upper_over_b; });
    ++b.idles;
    b.cost[0] += static_cast<double>(cost[0]);
    b.cost[1] += static_cast<double>(cost[1]);
    b.opt += opt;
    opt_total += opt;
    const double diff = static_cast<double>(cost[0]) - static_cast<double>(cost[1]);
    (seen[e.cpu]++ < startup_idles ? startup_diff : rest_diff) += diff;
  }

  std::printf("%s, B = %.1f us: %s - %s per idle, by y/B, as %% of the trace's OPT\n", input.c_str(),
              static_cast<double>(env.block_cost_ns) / 1000.0, argv[3], argv[4]);
  double lower = 0;
  for (const bucket& b : buckets) {
    const double share = events.empty() ? 0 : 100.0 * static_cast<double>(b.idles) / static_cast<double>(events.size());
    std::printf("  y/B %5.2f-%-5s %8llu idles (%5.1f%%)  %s %.3f x OPT  %s %.3f x OPT  difference %+.3f%% of OPT\n",
                lower, b.upper_over_b > 1e299 ? "inf" : std::to_string(b.upper_over_b).substr(0, 4).c_str(),
                static_cast<unsigned long long>(b.idles), share, argv[3], b.opt ? b.cost[0] / b.opt : 0.0, argv[4],
                b.opt ? b.cost[1] / b.opt : 0.0, opt_total ? 100.0 * (b.cost[0] - b.cost[1]) / opt_total : 0.0);
    lower = b.upper_over_b;
  }
  std::printf("  first %llu idles per CPU: %+.3f%% of OPT; the rest: %+.3f%%\n",
              static_cast<unsigned long long>(startup_idles), opt_total ? 100.0 * startup_diff / opt_total : 0.0,
              opt_total ? 100.0 * rest_diff / opt_total : 0.0);
  return 0;
}
