// SPDX-License-Identifier: GPL-2.0-only OR MIT
//
// Synthetic idle traces. Each generator is a seeded, deterministic stream of
// idle lengths in ns (one CPU, timestamps accumulated, so --tick-ns has a
// phase to work with). Shapes, all in µs:
//   constant      every idle 20
//   exponential   i.i.d. exponential, mean 30
//   bimodal       message passing: 80% short gaps (exp, mean 4), 20% long
//                 sleeps (exp, mean 1000); i.i.d., so order carries nothing
//   bursty        on/off phases: ~200 short gaps (exp, mean 4) then ~30 long
//                 sleeps (exp, mean 500); order carries everything
//   timer         a periodic 250 µs timer (the trace carries it as the
//                 next-timer bound) firing with 0-5 µs lateness, 30% of idles
//                 cut short by an unrelated wakeup (uniform before the timer)
//   heavy_tailed  Pareto, alpha 1.2, minimum 2, capped at 100 ms
//   adversary     every idle B + 1 ns: the worst case of break-even
//                 (ratio 2); depends on B, so it is regenerated per sweep point
#ifndef LAZYIDLE_SIM_GENERATORS_HPP
#define LAZYIDLE_SIM_GENERATORS_HPP

#include "engine.hpp"

#include <cmath>
#include <string>
#include <string_view>
#include <vector>

namespace lazyidle::sim {

inline const std::vector<std::string>& generator_names() {
  static const std::vector<std::string> names = {"constant", "exponential", "bimodal", "bursty",
                                                 "timer",    "heavy_tailed", "adversary"};
  return names;
}

class sample_source {
 public:
  explicit sample_source(u64 seed) : rng_{seed} {}
  double uniform() { return static_cast<double>(rng_.next() >> 11) * 0x1.0p-53; }  // [0, 1)
  double exponential(double mean) { return -mean * std::log1p(-uniform()); }
  double pareto(double x_min, double alpha) { return x_min / std::pow(1.0 - uniform(), 1.0 / alpha); }

 private:
  splitmix64 rng_;
};

inline duration_ns to_ns(double v) { return v <= 0 ? 0 : v >= 1.8e19 ? u64_max : static_cast<duration_ns>(v); }

// Returns false for an unknown name.
inline bool generate(std::string_view name, u64 count, u64 seed, duration_ns block_cost_ns,
                     std::vector<trace_event>& out) {
  out.clear();
  out.reserve(count);
  sample_source rng(seed ^ std::hash<std::string_view>{}(name));
  constexpr double us = 1000.0;
  u64 now = 0;
  auto push = [&](duration_ns y, duration_ns bound = no_bound) {
    out.push_back({y, bound, 0, now});
    now += y + 2000;  // 2 µs of work between idles
  };
  if (name == "constant") {
    for (u64 i = 0; i < count; ++i) push(to_ns(20 * us));
  } else if (name == "exponential") {
    for (u64 i = 0; i < count; ++i) push(to_ns(rng.exponential(30 * us)));
  } else if (name == "bimodal") {
    for (u64 i = 0; i < count; ++i)
      push(to_ns(rng.uniform() < 0.8 ? rng.exponential(4 * us) : rng.exponential(1000 * us)));
  } else if (name == "bursty") {
    bool on = true;
    u64 left = 0;
    for (u64 i = 0; i < count; ++i) {
      if (left == 0) {
        on = !on;
        left = 1 + static_cast<u64>(rng.exponential(on ? 200 : 30));
      }
      --left;
      push(to_ns(on ? rng.exponential(4 * us) : rng.exponential(500 * us)));
    }
  } else if (name == "timer") {
    const u64 period = to_ns(250 * us);
    u64 next_fire = period;
    for (u64 i = 0; i < count; ++i) {
      const u64 bound = next_fire > now ? next_fire - now : 0;
      duration_ns y;
      if (rng.uniform() < 0.3) {
        y = to_ns(rng.uniform() * static_cast<double>(bound));
      } else {
        y = bound + to_ns(rng.uniform() * 5 * us);
        next_fire += period;
      }
      out.push_back({y, bound == 0 ? 1 : bound, 0, now});
      now += y + 2000;
      while (next_fire <= now) next_fire += period;
    }
  } else if (name == "heavy_tailed") {
    for (u64 i = 0; i < count; ++i) push(to_ns(std::fmin(rng.pareto(2 * us, 1.2), 100000 * us)));
  } else if (name == "adversary") {
    for (u64 i = 0; i < count; ++i) push(block_cost_ns + 1);
  } else {
    return false;
  }
  return true;
}

}  // namespace lazyidle::sim

#endif
