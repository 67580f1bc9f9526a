// SPDX-License-Identifier: GPL-2.0-only OR MIT
// lazyidle-sim engine: DESIGN §3 cost model, OPT, the exact hindsight-best
// fixed threshold, reference policies, host polling, cpuidle above/below.
#include <doctest/doctest.h>

#include "runner.hpp"

#include <algorithm>

using namespace lazyidle;
using namespace lazyidle::sim;

namespace {

// Plays a fixed sequence of choices, records what it is told.
class scripted final : public policy {
 public:
  std::vector<choice> script;
  std::vector<segment_outcome> seen;
  std::vector<select_context> asked;
  std::size_t next = 0;
  choice select(const select_context& c) override {
    asked.push_back(c);
    return script[std::min(next++, script.size() - 1)];
  }
  void reflect(const segment_outcome& o) override { seen.push_back(o); }
};

environment kvm_env(duration_ns b, duration_ns latency = 10000, duration_ns host_exit = 4000) {
  environment env;
  env.table.add({"poll", 0, 0, q10_one, false});
  env.table.add({"trap", latency, b, 0, true});
  env.host_exit_ns = host_exit;
  env.block_cost_ns = b;
  return env;
}

std::vector<trace_event> random_trace(u64 seed, std::size_t n, double mean_ns) {
  sample_source rng(seed);
  std::vector<trace_event> v;
  for (std::size_t i = 0; i < n; ++i) v.push_back({to_ns(rng.exponential(mean_ns)), no_bound, 0, 0});
  return v;
}

u64 brute_fixed_cost(const std::vector<trace_event>& ev, const table_type& t, duration_ns budget, u32 state) {
  u64 c = 0;
  for (const auto& e : ev) c += t.cost(e.idle_ns, budget, state);
  return c;
}

}  // namespace

TEST_CASE("poll-then-block costs y inside the budget and p + B past it (DESIGN §3)") {
  const environment env = kvm_env(20000);
  scripted p;
  p.script = {{1, 15000, 0}};
  policy_result r = make_result(env);
  CHECK(simulate_idle(p, {10000, no_bound, 0, 0}, env, r) == 10000);   // y <= p: y
  CHECK(simulate_idle(p, {15000, no_bound, 0, 0}, env, r) == 15000);   // y == p still polls
  CHECK(simulate_idle(p, {15001, no_bound, 0, 0}, env, r) == 35000);   // y > p: p + B
  CHECK(simulate_idle(p, {900000, no_bound, 0, 0}, env, r) == 35000);  // halted time is free
  CHECK(r.opt_ns == 10000 + 15000 + 15001 + 20000);
  CHECK(r.polled_wakeups == 2);
  CHECK(r.wasted_poll_ns == 2 * 15000);
  CHECK(r.latency.quantile(0.5) == 0);
  CHECK(r.latency.quantile(0.99) == 10000);  // the trap's exit latency
  CHECK(r.latency.mean() == doctest::Approx(5000.0));
}

TEST_CASE("a state-0 poll that times out returns to the idle loop and re-selects") {
  const environment env = kvm_env(20000);
  scripted p;
  p.script = {{0, 10000, 0}, {0, 10000, 0}, {1, 0, 0}};
  policy_result r = make_result(env);
  trace_event e{35000, 100000, 0, 0};
  CHECK(simulate_idle(p, e, env, r) == 10000 + 10000 + 20000);
  REQUIRE(p.seen.size() == 3);
  CHECK(p.seen[0].poll_time_limit);
  CHECK(!p.seen[0].idle_over);
  CHECK(p.seen[1].idle_so_far_ns == 20000);
  CHECK(p.seen[2].state == 1);
  CHECK(p.seen[2].residency_ns == 15000);
  // The policy sees the next-timer bound shrink as the idle goes on.
  REQUIRE(p.asked.size() == 3);
  CHECK(p.asked[0].bound_ns == 100000);
  CHECK(p.asked[1].bound_ns == 90000);
  CHECK(p.asked[2].bound_ns == 80000);
}

TEST_CASE("no next-timer bound reaches a policy unless the trace or --tick-ns has one") {
  environment env = kvm_env(20000);
  scripted p;
  p.script = {{1, 0, 0}};
  policy_result r = make_result(env);
  simulate_idle(p, {5000, no_bound, 0, 0}, env, r);
  CHECK(p.asked.back().bound_ns == no_bound);
  CHECK(p.asked.back().tick_ns == no_bound);
  env.tick_ns = 4000000;
  simulate_idle(p, {5000, no_bound, 0, 1000000}, env, r);
  CHECK(p.asked.back().tick_ns == 3000000);
  CHECK(p.asked.back().bound_ns == 3000000);
}

TEST_CASE("host halt polling: a caught wakeup pays the exit, a missed one pays poll + B") {
  const environment env = kvm_env(20000, 10000, 4000);
  scripted p;
  p.script = {{1, 0, 8000}};
  policy_result r = make_result(env);
  CHECK(simulate_idle(p, {7000, no_bound, 0, 0}, env, r) == 4000 + 7000);
  CHECK(simulate_idle(p, {9000, no_bound, 0, 0}, env, r) == 8000 + 20000);
  CHECK(r.host_polled_wakeups == 1);
  CHECK(p.seen[0].host_polled);
  CHECK(p.seen[1].residency_ns == 9000);  // the host sees the whole halt
}

TEST_CASE("cpuidle above/below: too deep when the idle is shorter than the state's residency") {
  const environment env = kvm_env(20000);
  scripted deep;
  deep.script = {{1, 0, 0}};
  policy_result r = make_result(env);
  simulate_idle(deep, {5000, no_bound, 0, 0}, env, r);   // trap for 5 us < 20 us residency
  simulate_idle(deep, {50000, no_bound, 0, 0}, env, r);  // fits
  CHECK(r.too_deep == 1);
  CHECK(r.too_shallow == 0);
  scripted shallow;
  shallow.script = {{1, 1000000, 0}};  // polls through everything
  policy_result s = make_result(env);
  simulate_idle(shallow, {50000, no_bound, 0, 0}, env, s);  // polled 50 us: trap would have fit
  simulate_idle(shallow, {5000, no_bound, 0, 0}, env, s);
  CHECK(s.too_shallow == 1);
  CHECK(s.too_deep == 0);
}

TEST_CASE("opt pays exactly OPT, break_even exactly 2 OPT on the adversary") {
  const environment env = kvm_env(21000);
  const auto trace = random_trace(7, 20000, 30000);
  const policy_result o = run_policy(trace, env, find_policy("opt")->make);
  CHECK(o.cost_ns == o.opt_ns);
  std::vector<trace_event> adversary;
  generate("adversary", 1000, 1, env.block_cost_ns, adversary);
  const policy_result be = run_policy(adversary, env, find_policy("break_even")->make);
  CHECK(be.cost_ns == 2 * be.opt_ns);
  // Everyone pays at least OPT on every trace.
  for (const auto& entry : registry()) {
    environment e2 = env;
    const fixed_threshold bf = best_fixed_threshold(trace, e2.table);
    e2.best_fixed_budget_ns = bf.budget_ns;
    e2.best_fixed_state = bf.state;
    const policy_result r = run_policy(trace, e2, entry.make);
    INFO(entry.name);
    CHECK(r.cost_ns >= r.opt_ns);
    CHECK(r.events == trace.size());
  }
}

TEST_CASE("randomized ski rental approaches e/(e-1) on the adversary") {
  const environment env = kvm_env(50000);
  std::vector<trace_event> adversary;
  generate("adversary", 200000, 3, env.block_cost_ns, adversary);
  const policy_result r = run_policy(adversary, env, find_policy("randomized")->make);
  CHECK(r.ratio() == doctest::Approx(1.58198).epsilon(0.01));
}

TEST_CASE("best_fixed: the O(n log n) scan equals brute force over every threshold") {
  for (u64 seed = 1; seed <= 6; ++seed) {
    const environment env = kvm_env(10000 * seed);
    auto trace = random_trace(seed, 300, 8000.0 * static_cast<double>(seed));
    trace.push_back(trace[3]);  // ties
    const fixed_threshold fast = best_fixed_threshold(trace, env.table);
    u64 brute = brute_fixed_cost(trace, env.table, 0, 1);
    for (const auto& e : trace) brute = std::min(brute, brute_fixed_cost(trace, env.table, e.idle_ns, 1));
    // Off-data thresholds are never better.
    for (duration_ns t = 0; t < 200000; t += 777) CHECK(brute_fixed_cost(trace, env.table, t, 1) >= brute);
    CHECK(fast.cost_ns == brute);
    CHECK(brute_fixed_cost(trace, env.table, fast.budget_ns, fast.state) == brute);
  }
}

TEST_CASE("best_fixed on a multi-state table searches threshold and state") {
  environment env;
  const auto n = nehalem_table();
  for (u32 i = 0; i < n.size(); ++i) env.table.add(n[i]);
  const auto trace = random_trace(11, 400, 60000);
  const fixed_threshold fast = best_fixed_threshold(trace, env.table);
  u64 brute = u64_max;
  for (u32 s = 1; s < env.table.size(); ++s) {
    brute = std::min(brute, brute_fixed_cost(trace, env.table, 0, s));
    for (const auto& e : trace) brute = std::min(brute, brute_fixed_cost(trace, env.table, e.idle_ns, s));
  }
  const u64 replay = brute_fixed_cost(trace, env.table, fast.budget_ns, fast.state);
  // The scan applies each Q10 slope to a sum instead of per idle: at most
  // one ns of rounding per idle, and never a different optimum than that.
  CHECK(replay >= brute);
  CHECK(replay - brute <= trace.size());
  CHECK(fast.cost_ns == replay);
}

TEST_CASE("the sweep scales the whole cost model to the requested B") {
  cost_options o;
  for (duration_ns b : {10000ull, 20000ull, 50000ull, 100000ull}) {
    const environment env = make_environment(o, b);
    CHECK(env.block_cost_ns == b);
    CHECK(env.table[1].target_residency_ns == b);
    CHECK(env.table.optimal_cost(b * 3) == b);
  }
  const environment def = make_environment(o);
  CHECK(def.block_cost_ns == 11500 + 10000 + 165);
  CHECK(def.host_exit_ns == kvm_in_kernel_exit_ns);  // --host-exit kernel
  cost_options vmm = o;
  vmm.host_exit = "vmm";
  CHECK(make_environment(vmm).host_exit_ns == 11500);  // the userspace VMM round trip = B_cpu
  CHECK(make_environment(vmm, 2 * (11500 + 10000 + 165)).host_exit_ns == 2 * 11500);
  CHECK(make_environment(o, 2 * (11500 + 10000 + 165)).host_exit_ns == 2 * kvm_in_kernel_exit_ns);
  cost_options given = o;
  given.host_exit_ns = 4000;
  CHECK(make_environment(given, 100000).host_exit_ns == 4000);  // a figure of one's own is not scaled
  o.states = "nehalem";
  const environment neh = make_environment(o, 50000);
  CHECK(neh.block_cost_ns == doctest::Approx(50000).epsilon(0.001));
  CHECK(neh.table.size() == 5);
}

TEST_CASE("generators are deterministic and have the documented shapes") {
  std::vector<trace_event> a, b;
  for (const auto& name : generator_names()) {
    REQUIRE(generate(name, 5000, 42, 20000, a));
    REQUIRE(generate(name, 5000, 42, 20000, b));
    REQUIRE(a.size() == 5000);
    bool same = true;
    for (std::size_t i = 0; i < a.size(); ++i) same &= a[i].idle_ns == b[i].idle_ns;
    CHECK(same);
  }
  CHECK(!generate("nope", 10, 1, 1, a));
  generate("exponential", 100000, 1, 20000, a);
  double sum = 0;
  for (const auto& e : a) sum += static_cast<double>(e.idle_ns);
  CHECK(sum / 100000.0 == doctest::Approx(30000).epsilon(0.02));
  generate("timer", 10000, 1, 20000, a);
  std::size_t bounded = 0;
  for (const auto& e : a) bounded += e.bound_ns != no_bound && e.bound_ns <= 250000;
  CHECK(bounded == a.size());
  generate("adversary", 10, 1, 33000, a);
  CHECK(a[0].idle_ns == 33001);
}

TEST_CASE("every registered lazyidle policy runs through the registry") {
  const environment env = kvm_env(20000);
  std::vector<trace_event> adversary;
  generate("adversary", 2000, 1, env.block_cost_ns, adversary);
  std::size_t lazyidle_rows = 0;
  for (const auto& entry : registry()) {
    if (entry.kind != policy_kind::lazyidle) continue;
    ++lazyidle_rows;
    const policy_result r = run_policy(adversary, env, entry.make);
    INFO(entry.name);
    CHECK(r.events == adversary.size());
  }
  CHECK(lazyidle_rows >= 2);
  CHECK(find_policy("lazyidle") != nullptr);
}

TEST_CASE("every bounded lazyidle policy stays within its worst_case_ratio_q10() on hostile traces") {
  const environment env = kvm_env(20000);
  std::vector<std::vector<trace_event>> traces;
  std::vector<trace_event> t;
  for (const char* g : {"adversary", "bimodal", "bursty", "heavy_tailed", "exponential"}) {
    generate(g, 20000, 9, env.block_cost_ns, t);
    traces.push_back(t);
  }
  // Anti-predictor: long after short after long, around B.
  t.clear();
  for (int i = 0; i < 20000; ++i) t.push_back({i % 2 ? 1000ull : 20001ull, no_bound, 0, 0});
  traces.push_back(t);
  std::size_t bounded = 0;
  for (const auto& entry : registry()) {
    if (entry.kind != policy_kind::lazyidle || entry.worst_case_ratio_q10 == u32_max) continue;
    ++bounded;
    // Randomized bounds hold in expectation: allow sampling noise.
    const bool randomized = entry.name.find("randomized") != std::string::npos;
    const double bound = entry.worst_case_ratio_q10 / 1024.0 * (randomized ? 1.02 : 1.0) + 1e-9;
    for (const auto& trace : traces) {
      const policy_result r = run_policy(trace, env, entry.make);
      INFO(entry.name);
      CHECK(r.ratio() <= bound);
    }
  }
  CHECK(bounded >= 3);
}
