// SPDX-License-Identifier: GPL-2.0-only OR MIT
// The simulator tells the `lazyidle` row exactly what the guest driver
// reflects. The driver's C++ glue (shim/guest/lazyidle_core.cpp, built here
// in userspace, the same file the module links) is driven the way
// lazyidle_enter() drives it: select with the trap cost, poll the budget,
// else halt; end = local_clock() after safe_halt() returns, i.e. after the
// wake latency (the trap state's exit latency); reflect end - start. The
// simulator's row replays the same idles; every reflected value and every
// next decision must be equal.
#include <doctest/doctest.h>

#include "generators.hpp"
#include "registry.hpp"
#include "runner.hpp"

extern "C" {
#include "lazyidle_core.h"
}

#include <memory>
#include <vector>

using namespace lazyidle;
using namespace lazyidle::sim;

namespace {

// Wraps the registry's row and records what it is told.
class recording final : public policy {
 public:
  explicit recording(std::unique_ptr<policy> inner) : inner_(std::move(inner)) {}
  choice select(const select_context& c) override {
    const choice ch = inner_->select(c);
    budgets.push_back(ch.poll_ns);
    return ch;
  }
  void reflect(const segment_outcome& o) override {
    if (o.idle_over) reflected.push_back(o.idle_measured_ns);
    inner_->reflect(o);
  }
  std::vector<duration_ns> budgets, reflected;

 private:
  std::unique_ptr<policy> inner_;
};

struct driver_replay {
  std::vector<duration_ns> budgets, reflected;
};

// lazyidle_enter()'s clock arithmetic for one idle of true length y.
driver_replay replay_through_driver(const std::vector<trace_event>& events, const environment& env) {
  lazyidle_gov_blob blob{};
  lazyidle_core_gov_init(&blob, LAZYIDLE_GOV_DEFAULT, 0, 0);
  driver_replay out;
  const u64 cost = env.table.overhead(1);
  const u64 wake_latency = env.table[1].exit_latency_ns;
  for (const trace_event& e : events) {
    lazyidle_decision d{};
    lazyidle_core_select(&blob, LAZYIDLE_GOV_DEFAULT, cost, e.bound_ns, &d);
    const u64 start = 0;
    // The poll loop reads local_clock() every LAZYIDLE_RELAX_COUNT
    // cpu_relax() and stops at the first reading at or past the budget.
    const bool polled = e.idle_ns <= poll_duration(d.poll_budget_ns, poll_loop::lazyidle_driver, env.pause_ns);
    // Woken while polling: the loop sees need_resched() at once. Halted:
    // safe_halt() returns once the vCPU runs again, the wake latency later.
    const u64 end = polled ? e.idle_ns : e.idle_ns + wake_latency;
    lazyidle_core_reflect(&blob, LAZYIDLE_GOV_DEFAULT, end - start);
    out.budgets.push_back(d.poll_budget_ns);
    out.reflected.push_back(end - start);
  }
  return out;
}

recording replay_through_simulator(const std::vector<trace_event>& events, const environment& env) {
  recording r(find_policy("lazyidle")->make(env));
  policy_result result = make_result(env);
  for (const trace_event& e : events) simulate_idle(r, e, env, result);
  return r;
}

}  // namespace

TEST_CASE("lazyidle row: the simulator reflects what lazyidle_enter() reflects, idle by idle") {
  const environment env = make_environment(cost_options{});
  REQUIRE(env.table.size() == 2);
  REQUIRE(env.pause_ns > 0);
  REQUIRE(env.table[1].exit_latency_ns > 0);
  for (const char* family : {"bimodal", "exponential", "bursty", "timer"}) {
    CAPTURE(family);
    std::vector<trace_event> events;
    REQUIRE(generate(family, 4000, 7, env.block_cost_ns, events));
    const driver_replay driver = replay_through_driver(events, env);
    const recording sim = replay_through_simulator(events, env);
    REQUIRE(sim.reflected.size() == events.size());
    REQUIRE(sim.budgets.size() == events.size());
    u64 halted = 0;
    for (std::size_t i = 0; i < events.size(); ++i) {
      CAPTURE(i);
      REQUIRE(sim.budgets[i] == driver.budgets[i]);
      REQUIRE(sim.reflected[i] == driver.reflected[i]);
      halted += driver.reflected[i] != events[i].idle_ns;
    }
    CHECK(halted > 0);  // the halted path, where the conventions differ, was exercised
  }
}

TEST_CASE("lazyidle row: the pre-issue-11 convention (exact y) is not what the driver reflects") {
  cost_options o;
  o.reflect_exact_idle = true;
  const environment env = make_environment(o);
  std::vector<trace_event> events;
  REQUIRE(generate("bimodal", 4000, 7, env.block_cost_ns, events));
  const driver_replay driver = replay_through_driver(events, env);
  const recording sim = replay_through_simulator(events, env);
  std::size_t differing = 0;
  for (std::size_t i = 0; i < events.size(); ++i) differing += sim.reflected[i] != driver.reflected[i];
  CHECK(differing > 0);
}
