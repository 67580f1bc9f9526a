// SPDX-License-Identifier: GPL-2.0-only OR MIT
//
// lazyidle-sim: replay idle traces through lazyidle's policies and the Linux
// 6.1 and 6.12 baselines, and report each one's cost against the offline optimum.
// docs/simulator.md has the cost model, the formats and the mapping of every
// kernel governor onto the cost model.
#include "runner.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

using namespace lazyidle;
using namespace lazyidle::sim;

const char* usage_text =
    "usage: lazyidle-sim [options] FILE...\n"
    "       lazyidle-sim [options] --generate NAME [--generate NAME...]\n"
    "Replays idle periods (ns) through every policy and prints cost vs the offline optimum.\n"
    "FILE: one idle per line, 'cpu timestamp_ns duration_ns [next_timer_ns]' columns, or\n"
    "      ftrace/perf script text with power:cpu_idle events; gzip accepted. '#' comments.\n"
    "options:\n"
    "  --generate NAME        synthetic trace: constant exponential bimodal bursty timer\n"
    "                         heavy_tailed adversary, or 'all'\n"
    "  --events N             idles per generated trace (default 200000)\n"
    "  --seed N               generator seed (default 1)\n"
    "  --block-cost-ns N      B_cpu: CPU the block path burns (default 11500: KVM HLT exit round trip)\n"
    "  --wake-latency-ns N    L: wake latency blocking adds (default 10000)\n"
    "  --latency-weight X     w: weight of latency vs CPU (default 1.0)\n"
    "  --fpu-save-ns N        F: extended-state save on a trap to the host (default 165: measured XSAVE+XRSTOR)\n"
    "  --host-exit kernel|vmm what a wakeup caught by host halt polling pays: the in-kernel VM exit +\n"
    "                         re-entry (default kernel, 2.475 us) or the round trip to a userspace VMM (B_cpu)\n"
    "  --host-exit-ns N       that cost in ns, overriding --host-exit\n"
    "  --tick-ns N            a periodic tick: the next tick is a next-timer bound for every policy\n"
    "  --states kvm|nehalem|FILE  idle-state table (default kvm: poll + trap to host)\n"
    "  --pause-ns N           one cpu_relax() (default 26, DESIGN 9): poll loops read the clock every\n"
    "                         201 (poll_state.c) or 32 (lazyidle driver) of them and overshoot; 0 = exact\n"
    "  --reflect measured|exact   what policies are told after an idle: each layer's clock, i.e.\n"
    "                         y + the exit latency woken from (default), or the exact y\n"
    "  --driver-latency-pct N the wake latency lazyidle's driver takes off a halted idle before\n"
    "                         reflecting it, % of the state's exit latency (default 100: calibrated\n"
    "                         exactly; 0: the driver before it subtracted, end - start) [0, 1000]\n"
    "  --sweep                run with B = 10, 20, 50, 100 us (scales the cost model)\n"
    "  --policies A,B,...     only these policies (default: all; see --list)\n"
    "  --json                 print JSON instead of tables\n"
    "  --markdown             print one Markdown table per B: ratio vs OPT (vs best_fixed)\n"
    "  --goals                check issue 11's goals for every lazyidle policy (file traces = real)\n"
    "  --plot FILE.svg        write a heat map of ratio vs OPT per policy per trace\n"
    "  --write-trace FILE     write the (single) input trace in columns format and exit\n"
    "  --list                 list policies and generators\n"
    "exit status: 0 ok, 2 bad usage or bad input (FILE:LINE: reason on stderr, nothing on stdout)\n";

[[noreturn]] void fail(const std::string& message) {
  std::fprintf(stderr, "lazyidle-sim: %s\n", message.c_str());
  std::exit(2);
}

u64 parse_count(const char* flag, const char* v) {
  u64 out = 0;
  if (!v || !hosted::detail::parse_u64(v, out)) fail(std::string(flag) + ": expected a non-negative integer");
  return out;
}

u32 parse_weight_q10(const char* v) {
  // Decimal "1", "0.5", "2.25" -> Q10, no floats needed.
  if (!v) fail("--latency-weight: missing value");
  std::string_view s(v);
  const std::size_t dot = s.find('.');
  u64 whole = 0, frac = 0, scale = 1;
  if (!hosted::detail::parse_u64(s.substr(0, dot), whole) || whole > 1000)
    fail("--latency-weight: expected a decimal number 0..1000");
  if (dot != std::string_view::npos) {
    const auto f = s.substr(dot + 1);
    if (f.size() > 6 || !hosted::detail::parse_u64(f, frac)) fail("--latency-weight: expected a decimal number");
    for (std::size_t i = 0; i < f.size(); ++i) scale *= 10;
  }
  return static_cast<u32>(whole * q10_one + (frac * q10_one + scale / 2) / scale);
}

}  // namespace

int main(int argc, char** argv) {
  cost_options cost;
  std::vector<std::string> files, generators, only;
  u64 events = 200000, seed = 1;
  bool sweep = false, json = false, markdown = false, goals = false, list = false;
  std::string plot, write_trace;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) fail(a + ": missing value");
      return argv[++i];
    };
    if (a == "-h" || a == "--help") {
      std::fputs(usage_text, stdout);
      return 0;
    } else if (a == "--generate") {
      const std::string g = value();
      if (g == "all") {
        for (const auto& n : generator_names()) generators.push_back(n);
      } else {
        bool known = false;
        for (const auto& n : generator_names()) known |= n == g;
        if (!known) fail("--generate: unknown generator '" + g + "' (see --list)");
        generators.push_back(g);
      }
    } else if (a == "--events") {
      events = parse_count("--events", value());
      if (events == 0 || events > 500000000) fail("--events: 1..500000000");
    } else if (a == "--seed") {
      seed = parse_count("--seed", value());
    } else if (a == "--block-cost-ns") {
      cost.block_cpu_ns = parse_count("--block-cost-ns", value());
    } else if (a == "--wake-latency-ns") {
      cost.wake_latency_ns = parse_count("--wake-latency-ns", value());
    } else if (a == "--latency-weight") {
      cost.latency_weight_q10 = parse_weight_q10(value());
    } else if (a == "--fpu-save-ns") {
      cost.fpu_save_ns = parse_count("--fpu-save-ns", value());
    } else if (a == "--host-exit") {
      cost.host_exit = value();
      if (cost.host_exit != "kernel" && cost.host_exit != "vmm") fail("--host-exit: expected 'kernel' or 'vmm'");
    } else if (a == "--host-exit-ns") {
      cost.host_exit_ns = parse_count("--host-exit-ns", value());
    } else if (a == "--tick-ns") {
      cost.tick_ns = parse_count("--tick-ns", value());
    } else if (a == "--pause-ns") {
      cost.pause_ns = parse_count("--pause-ns", value());
      if (cost.pause_ns > 100000) fail("--pause-ns: 0..100000");
    } else if (a == "--reflect") {
      const std::string v = value();
      if (v == "exact")
        cost.reflect_exact_idle = true;
      else if (v == "measured")
        cost.reflect_exact_idle = false;
      else
        fail("--reflect: expected 'measured' or 'exact'");
    } else if (a == "--driver-latency-pct") {
      const u64 pct = parse_count("--driver-latency-pct", value());
      if (pct > 1000) fail("--driver-latency-pct: 0..1000");
      cost.driver_latency_pct = static_cast<u32>(pct);
    } else if (a == "--states") {
      cost.states = value();
      if (cost.states != "kvm" && cost.states != "nehalem") {
        if (auto e = load_states_file(cost.states, cost)) fail(*e);
      }
    } else if (a == "--sweep") {
      sweep = true;
    } else if (a == "--json") {
      json = true;
    } else if (a == "--markdown") {
      markdown = true;
    } else if (a == "--goals") {
      goals = true;
    } else if (a == "--plot") {
      plot = value();
    } else if (a == "--write-trace") {
      write_trace = value();
    } else if (a == "--policies") {
      std::string s = value();
      std::size_t p = 0;
      while (p <= s.size()) {
        std::size_t e = s.find(',', p);
        if (e == std::string::npos) e = s.size();
        const std::string n = s.substr(p, e - p);
        if (!n.empty()) {
          if (!find_policy(n)) fail("--policies: unknown policy '" + n + "' (see --list)");
          only.push_back(n);
        }
        p = e + 1;
      }
    } else if (a == "--list") {
      list = true;
    } else if (a.size() > 1 && a[0] == '-') {
      fail("unknown option '" + a + "'\n" + usage_text);
    } else {
      files.push_back(a);
    }
  }
  if (list) {
    std::printf("policies:\n");
    for (const auto& e : registry())
      std::printf("  %-36s %s\n", e.name.c_str(),
                  e.kind == policy_kind::reference ? "reference"
                  : e.kind == policy_kind::linux_baseline ? "Linux 6.1 baseline"
                                                          : "lazyidle");
    std::printf("generators:\n");
    for (const auto& g : generator_names()) std::printf("  %s\n", g.c_str());
    return 0;
  }
  if (files.empty() && generators.empty()) {
    std::fputs(usage_text, stderr);
    return 2;
  }

  std::vector<const policy_entry*> policies;
  for (const auto& e : registry())
    if (only.empty() || std::find(only.begin(), only.end(), e.name) != only.end()) policies.push_back(&e);

  // Load every file before printing anything: bad input means no output.
  std::vector<trace_input> inputs;
  for (const auto& path : files) {
    hosted::trace t;
    if (auto e = hosted::load_trace(path, t)) {
      std::fprintf(stderr, "%s\n", e->message.c_str());
      return 2;
    }
    if (t.events.empty()) {
      std::fprintf(stderr, "%s:0: no complete idle periods in trace\n", path.c_str());
      return 2;
    }
    trace_input in;
    in.name = path;
    in.family = "file";
    in.has_bound = t.has_bound;
    // Policies keep per-CPU state: group each CPU's idles, in order.
    std::stable_sort(t.events.begin(), t.events.end(),
                     [](const trace_event& a, const trace_event& b) { return a.cpu < b.cpu; });
    in.events = std::move(t.events);
    if (t.unpaired_exits || t.lost_breaks)
      std::fprintf(stderr, "%s: note: %llu exits without an entry skipped, %llu pairings broken by LOST EVENTS\n",
                   path.c_str(), t.unpaired_exits, t.lost_breaks);
    inputs.push_back(std::move(in));
  }

  const std::vector<duration_ns> sweep_points = {10000, 20000, 50000, 100000};
  const std::vector<duration_ns> blocks = sweep ? sweep_points : std::vector<duration_ns>{0};

  if (!write_trace.empty()) {
    if (inputs.size() + generators.size() != 1) fail("--write-trace: exactly one input trace");
    hosted::trace t;
    if (!inputs.empty()) {
      t.events = inputs[0].events;
    } else {
      generate(generators[0], events, seed, make_environment(cost).block_cost_ns, t.events);
    }
    std::FILE* f = std::fopen(write_trace.c_str(), "w");
    if (!f) fail(write_trace + ": cannot open for writing");
    hosted::write_columns(f, t);
    return std::fclose(f) == 0 ? 0 : 2;
  }

  std::vector<trace_result> results;
  for (duration_ns b : blocks) {
    const environment env = make_environment(cost, b);
    for (const auto& in : inputs) results.push_back(run_trace(in, env, policies));
    for (const auto& g : generators) {
      trace_input in;
      in.name = g;
      in.family = g;
      in.generated = true;
      generate(g, events, seed, env.block_cost_ns, in.events);
      for (const auto& e : in.events) in.has_bound |= e.bound_ns != no_bound;
      results.push_back(run_trace(in, env, policies));
    }
  }

  if (json) {
    print_json(stdout, results);
  } else if (markdown) {
    print_markdown(stdout, results);
  } else {
    if (!sweep)
      for (const auto& t : results) print_trace_table(stdout, t);
    for (duration_ns b : blocks) {
      std::vector<trace_result> slice;
      for (const auto& t : results)
        if (!sweep || t.block_cost_ns == b) slice.push_back(t);
      if (slice.empty()) continue;
      std::string title = "cost ratio vs OPT";
      std::string title2 = "cost ratio vs best_fixed (hindsight-best single threshold)";
      if (sweep) {
        title += " at B = " + format_us(static_cast<double>(b)) + " us";
        title2 += " at B = " + format_us(static_cast<double>(b)) + " us";
      }
      title += "  [" + slice.front().currency + "]";
      print_matrix(stdout, slice, title.c_str(), [](const trace_result&, const policy_result& r) { return r.ratio(); });
      print_matrix(stdout, slice, title2.c_str(),
                   [](const trace_result& t, const policy_result& r) { return ratio_vs_best_fixed(t, r); });
    }
    print_throughput(stdout, results);
  }
  if (goals && !json) print_goals(stdout, results, policies);
  if (!plot.empty() && !write_svg(plot, results)) fail(plot + ": cannot write SVG");
  return 0;
}
