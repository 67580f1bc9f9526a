// SPDX-License-Identifier: GPL-2.0-only OR MIT
// The simulator tells the `lazyidle` row exactly what the guest driver
// reflects. The driver's C++ glue (shim/guest/lazyidle_core.cpp, built here
// in userspace, the same file the module links) is driven the way
// lazyidle_enter() drives it: select with the trap cost, poll the budget,
// else halt; end = local_clock() after safe_halt() returns, i.e. after the
// wake latency (the trap state's exit latency); reflect end - start less the
// wake latency the driver measured for the halt, never below the time polled
// (lazyidle_core_reflect_measured(), the call lazyidle_enter() makes), a
// wakeup caught polling as it is. The simulator's row replays the same
// idles; every value the governor is told and every next decision must be
// equal.
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

using default_row = governor_policy<default_governor>;

// Wraps the registry's row and records what its governor is told.
class recording final : public policy {
 public:
  explicit recording(std::unique_ptr<policy> inner) : inner_(std::move(inner)) {
    row_ = dynamic_cast<default_row*>(inner_.get());
    REQUIRE(row_ != nullptr);
  }
  choice select(const select_context& c) override {
    const choice ch = inner_->select(c);
    budgets.push_back(ch.poll_ns);
    return ch;
  }
  void reflect(const segment_outcome& o) override {
    inner_->reflect(o);
    if (o.idle_over) reflected.push_back(row_->last_reflected_ns());
  }
  std::vector<duration_ns> budgets, reflected;

 private:
  std::unique_ptr<policy> inner_;
  const default_row* row_ = nullptr;
};

// How the driver's reflect path turns its clock readings into what the
// core is told: the call lazyidle_enter() makes, or, to show the test can
// fail, the call it made before (end - start as it is).
enum class driver_reflect { measured_less_wake_latency, end_minus_start };

struct driver_replay {
  std::vector<duration_ns> budgets, reflected;
  std::vector<bool> halted;
};

// lazyidle_enter()'s clock arithmetic for one idle of true length y. The
// driver's calibrated wake latency is the state's exit latency (the running
// median of a constant lateness is that lateness), off by
// --driver-latency-pct.
driver_replay replay_through_driver(const std::vector<trace_event>& events, const environment& env,
                                    driver_reflect how = driver_reflect::measured_less_wake_latency) {
  lazyidle_gov_blob blob{};
  lazyidle_core_gov_init(&blob, LAZYIDLE_GOV_DEFAULT, 0, 0);
  driver_replay out;
  const u64 cost = env.table.overhead(1);
  const u64 wake_latency = env.table[1].exit_latency_ns;
  const u64 calibrated = mul_div(wake_latency, env.driver_latency_pct, 100);
  for (const trace_event& e : events) {
    lazyidle_decision d{};
    lazyidle_core_select(&blob, LAZYIDLE_GOV_DEFAULT, cost, e.bound_ns, &d);
    const u64 start = 0;
    // The poll loop reads local_clock() every LAZYIDLE_RELAX_COUNT
    // cpu_relax() and stops at the first reading at or past the budget.
    const u64 poll_loop_ns = poll_duration(d.poll_budget_ns, poll_loop::lazyidle_driver, env.pause_ns);
    const bool polled = e.idle_ns <= poll_loop_ns;
    // Woken while polling: the loop sees need_resched() at once. Halted:
    // safe_halt() returns once the vCPU runs again, the wake latency later.
    const u64 end = polled ? e.idle_ns : e.idle_ns + wake_latency;
    const u64 poll_end = polled ? end : poll_loop_ns;
    u64 told = end - start;
    if (how == driver_reflect::measured_less_wake_latency)
      told = lazyidle_core_reflect_measured(&blob, LAZYIDLE_GOV_DEFAULT, end - start, poll_end - start,
                                            polled ? 0 : calibrated);
    else
      lazyidle_core_reflect(&blob, LAZYIDLE_GOV_DEFAULT, end - start);
    out.budgets.push_back(d.poll_budget_ns);
    out.reflected.push_back(told);
    out.halted.push_back(!polled);
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

TEST_CASE("driver reflect path: one halted idle is told without its wake latency, a polled one as is") {
  lazyidle_gov_blob blob{};
  lazyidle_core_gov_init(&blob, LAZYIDLE_GOV_DEFAULT, 0, 0);
  lazyidle_decision d{};
  lazyidle_core_select(&blob, LAZYIDLE_GOV_DEFAULT, 20000, LAZYIDLE_NO_BOUND, &d);
  // Polled 3 us, halted, woken at y = 50 us, running again 10 us later:
  // end - start = 60 us; the core must learn 50 us.
  CHECK(lazyidle_core_reflect_measured(&blob, LAZYIDLE_GOV_DEFAULT, 60000, 3000, 10000) == 50000);
  // A wakeup caught while polling: as measured.
  CHECK(lazyidle_core_reflect_measured(&blob, LAZYIDLE_GOV_DEFAULT, 2500, 2500, 0) == 2500);
  // A calibration above this halt's latency cannot take it below its poll.
  CHECK(lazyidle_core_reflect_measured(&blob, LAZYIDLE_GOV_DEFAULT, 8000, 3000, 10000) == 3000);
  // The simulator's row on the same halted idle (one segment, 3 us poll).
  const environment env = make_environment(cost_options{});
  default_row row(env, default_governor{});
  segment_outcome o;
  o.state = 1;
  o.poll_ns = 3000;
  o.residency_ns = 47000;
  o.idle_over = true;
  o.idle_measured_ns = 50000 + env.table[1].exit_latency_ns;
  row.reflect(o);
  CHECK(row.last_reflected_ns() == 50000);
  o = segment_outcome{};
  o.poll_ns = 2500;
  o.woke_polling = true;
  o.idle_over = true;
  o.idle_measured_ns = 2500;
  row.reflect(o);
  CHECK(row.last_reflected_ns() == 2500);
}

TEST_CASE("lazyidle row: the simulator reflects what lazyidle_enter() reflects, idle by idle") {
  for (const u32 pct : {100u, 50u, 150u}) {
    for (const char* family : {"bimodal", "exponential", "bursty", "timer"}) {
      CAPTURE(pct);
      CAPTURE(family);
      cost_options options;
      options.driver_latency_pct = pct;
      const environment env = make_environment(options);
      REQUIRE(env.table.size() == 2);
      REQUIRE(env.pause_ns > 0);
      REQUIRE(env.table[1].exit_latency_ns > 0);
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
        // Calibrated exactly, the driver tells the core every idle's true length.
        if (pct == 100) REQUIRE(driver.reflected[i] == events[i].idle_ns);
        halted += driver.halted[i];
      }
      CHECK(halted > 0);  // the halted path, where the conventions differ, was exercised
    }
  }
}

// The replay can fail: the driver's old reflect path (end - start, the
// wake latency included) tells the core other values than the row does, and
// the row modelled the old way (--driver-latency-pct 0) differs from the new
// driver.
TEST_CASE("lazyidle row: the old reflect path (end - start) is not what the row is told") {
  const environment env = make_environment(cost_options{});
  std::vector<trace_event> events;
  REQUIRE(generate("bimodal", 4000, 7, env.block_cost_ns, events));
  const recording sim = replay_through_simulator(events, env);
  const driver_replay old_driver = replay_through_driver(events, env, driver_reflect::end_minus_start);
  std::size_t differing = 0;
  for (std::size_t i = 0; i < events.size(); ++i) differing += sim.reflected[i] != old_driver.reflected[i];
  CHECK(differing > 0);

  // --driver-latency-pct 0 is the old driver, idle by idle, and not the new one.
  cost_options old_row;
  old_row.driver_latency_pct = 0;
  const environment old_env = make_environment(old_row);
  const recording old_sim = replay_through_simulator(events, old_env);
  const driver_replay old_again = replay_through_driver(events, old_env, driver_reflect::end_minus_start);
  differing = 0;
  for (std::size_t i = 0; i < events.size(); ++i) {
    CAPTURE(i);
    REQUIRE(old_sim.reflected[i] == old_again.reflected[i]);
    differing += old_sim.reflected[i] != sim.reflected[i];
  }
  CHECK(differing > 0);
}
