// SPDX-License-Identifier: GPL-2.0-only OR MIT
//
// bench_regimes: is lazyidle::waiter ever worse than blocking? (issue 13)
//
// A producer posts one message per gap and a consumer waits for each one,
// through every peer in turn, in three regimes:
//
//   quiet           producer on CPU 0, consumer on CPU 1, nothing else started
//   oversubscribed  the same, with `stress-ng --cpu N` (N = online CPUs) running
//   pinned          producer and consumer both on CPU 0
//
// Gaps 0 (a closed loop: the producer waits for the consumer's echo, so the
// figure is a ping-pong), 5, 20, 50, 100, 200, 500 us, 2 ms and 20 ms, each
// fixed and exponential with that mean. The producer sleeps until each post
// with clock_nanosleep(TIMER_ABSTIME) and a timer slack of 1 ns (so it lets
// its CPU go idle, as a real producer would, and the gaps are the ones
// asked for). Each (regime, gap, pattern) runs every peer `--repeat` times
// interleaved, A B C A B C, and keeps each peer's median by CPU/message.
//
// Every run starts from a new peer object, and for lazyidle from a process
// that has learned nothing (its prior and block-cost estimate are cleared):
// the first min(300, n/2) waits are reported as "fresh", the rest as "warm".
//
// Columns per peer: CPU per message (consumer thread CPU + the producer's
// time inside notify), wake latency p50/p99 (post stamp to the consumer
// running again; at gap 0, one way), messages per second. The goals of issue
// 13 are evaluated as ratios against futex (and spin) in the same run.
// Output: tables, JSON (--json), SVG (--svg). --trace FILE: every lazyidle
// consumer wait as a line (what the engine decided and how the wait ended),
// and per cell a "wait anatomy" line: how the median run's waits were spent.
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <type_traits>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "peers.hpp"

extern char** environ;

namespace regimes {
namespace {

using bench::u64;
using lazyidle::hosted::monotonic_ns;
using lazyidle::hosted::thread_cpu_ns;
const double nan_value = std::nan("");

struct options {
  double cell_seconds = 0.3;
  u64 min_messages = 200;
  u64 max_messages = 20'000;
  u64 fresh_waits = 300;
  unsigned repeat = 3;
  std::vector<std::string> regimes{"quiet", "oversubscribed", "pinned"};
  std::vector<u64> gaps{0, 5'000, 20'000, 50'000, 100'000, 200'000, 500'000, 2'000'000, 20'000'000};
  std::vector<std::string> patterns{"fixed", "exponential"};
  std::string peers;
  std::string json_path = "bench_regimes.json";
  std::string svg_path = "bench_regimes.svg";
  bool machine_guards = true;
  std::string trace_path;
};

void pin_to(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  sched_setaffinity(0, sizeof set, &set);
}

void sleep_until_ns(u64 target) {
  timespec t{static_cast<time_t>(target / 1'000'000'000ull), static_cast<long>(target % 1'000'000'000ull)};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, nullptr) == EINTR) {
  }
}

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return nan_value;
  const size_t k = std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return v[k];
}

std::string fmt(double v, int digits = 2) {
  if (std::isnan(v)) return "n/a";
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", digits, v);
  return b;
}

struct phase_figures {
  u64 messages = 0;
  double cpu_ns = 0;
  double seconds = 0;
  std::vector<double> latencies;
  double cpu_per_message() const { return messages ? cpu_ns / static_cast<double>(messages) : nan_value; }
  double p50() const { return percentile(latencies, 0.5); }
  double p99() const { return percentile(latencies, 0.99); }
  double per_second() const { return seconds > 0 ? static_cast<double>(messages) / seconds : nan_value; }
};

struct cell {
  std::string regime, pattern, peer;
  u64 gap_ns = 0;
  phase_figures fresh, warm;
  double block_cost_ns = nan_value;  // lazyidle's B at the end
  double guarded_share = nan_value;
  std::string anatomy;  // --trace: how lazyidle's waits were spent
};

const char* end_name(lazyidle::wait_end end) {
  switch (end) {
    case lazyidle::wait_end::caught: return "caught";
    case lazyidle::wait_end::woken: return "woken";
    case lazyidle::wait_end::timed_out: return "timed_out";
    case lazyidle::wait_end::other: return "other";
  }
  return "?";
}

// One line per wait to `out`; returns the cell's anatomy: of the waits, how
// many were caught, blocked at once by the policy (budget 0), by a guard
// (which), or polled their budget out and blocked; of those last, how many
// saw the event come within the budget (a poll that missed an event it had
// time for: should be none); medians of the budget, of the idle (wait start
// to the post) and of the blocked waits' latency (post to return).
// post_ns[i]: the producer's stamp of the message wait i waited for (0:
// unknown), taken before its notify. The engine's own idle_end_ns is the
// notifier's wake stamp, which exists only for a waiter already parked,
// i.e. after its budget: it could never show an event within the budget.
std::string trace_anatomy(const lazyidle::wait_record* records, const u64* post_ns, u64 count, const cell& c,
                          unsigned round, std::ofstream& out) {
  u64 caught = 0, at_once = 0, polled_then_blocked = 0, missed_within_budget = 0;
  u64 guarded[lazyidle::wait_guard_count] = {};
  std::vector<double> budget, idle, woken_latency, polled_blocked_idle;
  for (u64 i = 0; i < count; ++i) {
    const lazyidle::wait_record& r = records[i];
    const u64 event_ns = post_ns[i] ? post_ns[i] : r.idle_end_ns;
    const double idle_ns = event_ns > r.start_ns ? static_cast<double>(event_ns - r.start_ns) : 0.0;
    const double latency_ns = r.end_ns >= event_ns ? static_cast<double>(r.end_ns - event_ns) : 0.0;
    out << c.regime << '\t' << c.pattern << '\t' << c.gap_ns << '\t' << round << '\t' << i << '\t' << r.budget_ns << '\t'
        << r.block_cost_ns << '\t' << r.polled_ns << '\t' << static_cast<u64>(idle_ns) << '\t'
        << static_cast<u64>(latency_ns) << '\t' << r.blocks << '\t' << lazyidle::guard_name(r.guard) << '\t'
        << (r.mode == lazyidle::poll_mode::spin ? "spin" : r.mode == lazyidle::poll_mode::yield ? "yield" : "block")
        << '\t' << end_name(r.end) << '\n';
    idle.push_back(idle_ns);
    if (r.end == lazyidle::wait_end::caught) {
      ++caught;
      budget.push_back(r.budget_ns);
      continue;
    }
    woken_latency.push_back(latency_ns);
    if (r.guard != lazyidle::wait_guard::none) {
      ++guarded[static_cast<unsigned>(r.guard)];
    } else if (r.budget_ns == 0) {
      ++at_once;
    } else {
      ++polled_then_blocked;
      budget.push_back(r.budget_ns);
      polled_blocked_idle.push_back(idle_ns);
      // The event came while the wait was still polling (a yield-mode wait
      // stops before its budget: the time it polled is what counts).
      if (idle_ns < r.polled_ns) ++missed_within_budget;
    }
  }
  auto share = [&](u64 k) { return fmt(count ? 100.0 * static_cast<double>(k) / static_cast<double>(count) : 0, 0) + "%"; };
  auto us = [](const std::vector<double>& v) { return v.empty() ? std::string("-") : fmt(percentile(v, 0.5) / 1e3, 1); };
  std::string a = std::to_string(count) + " waits: caught " + share(caught) + ", policy blocked at once " + share(at_once);
  for (unsigned g = 1; g < lazyidle::wait_guard_count; ++g)
    if (guarded[g]) a += ", " + std::string(lazyidle::guard_name(static_cast<lazyidle::wait_guard>(g))) + " " + share(guarded[g]);
  a += ", polled then blocked " + share(polled_then_blocked) + " (event within budget " +
       std::to_string(missed_within_budget) + ", idle p50 " + us(polled_blocked_idle) + " us)";
  a += "; p50 budget " + us(budget) + " us, idle " + us(idle) + " us, wake latency of the blocked " + us(woken_latency) + " us";
  return a;
}

std::vector<u64> gap_sequence(u64 mean, const std::string& pattern, u64 n) {
  std::vector<u64> gaps(n, mean);
  if (pattern == "exponential" && mean > 0) {
    std::mt19937_64 random(mean * 31 + 7);
    std::exponential_distribution<double> d(1.0 / static_cast<double>(mean));
    for (auto& g : gaps) g = static_cast<u64>(d(random));
  }
  return gaps;
}

template <class Peer>
void forget_learning() {
  if constexpr (bench::is_lazyidle<Peer>) {
    lazyidle::hosted::process_prior<typename decltype(Peer::waiter)::governor_type>.clear();
    lazyidle::hosted::process_block_cost.reset(5'000, 10'000);
  }
}

// One run of n messages through Peer. producer_cpu / consumer_cpu: where
// the two threads run.
template <class Peer>
cell run(const std::string& regime, const std::string& pattern, u64 gap, const options& opt, int producer_cpu,
         int consumer_cpu) {
  const double mean = static_cast<double>(gap) + (gap == 0 ? 20'000.0 : 0.0);
  const u64 n = std::clamp<u64>(static_cast<u64>(opt.cell_seconds * 1e9 / mean), opt.min_messages, opt.max_messages);
  const u64 fresh_n = std::min<u64>(opt.fresh_waits, n / 2);
  const std::vector<u64> gaps = gap_sequence(gap, pattern, n);
  forget_learning<Peer>();
  std::vector<lazyidle::wait_record> trace_records;
  std::vector<u64> trace_post_ns;  // per trace record: the post stamp of the message it waited for
  lazyidle::wait_trace trace;
  if (bench::is_lazyidle<Peer> && !opt.trace_path.empty()) {
    trace_records.resize(n + 16);
    trace_post_ns.assign(n + 16, 0);
    trace.records = trace_records.data();
    trace.capacity = trace_records.size();
    bench::trace_next_lazyidle = &trace;
  }
  Peer to_consumer;
  bench::trace_next_lazyidle = nullptr;
  Peer to_producer;  // only for gap 0 (the echo)
  std::atomic<u64> sequence{0}, echoed{0};
  std::vector<u64> stamps(n + 1, 0);
  std::vector<double> latencies(n + 1, 0);
  u64 consumer_cpu_at[3] = {0, 0, 0};  // start, after the fresh phase, end
  u64 time_at[3] = {0, 0, 0};
  double notify_ns[2] = {0, 0};
  double producer_wait_cpu[2] = {0, 0};  // gap 0: the producer's own waits for the echo
  std::atomic<int> ready{0};
  std::thread producer([&] {
    pin_to(producer_cpu);
    prctl(PR_SET_TIMERSLACK, 1, 0, 0, 0);
    ready.fetch_add(1);
    while (ready.load() < 2) std::this_thread::yield();
    u64 target = monotonic_ns() + 200'000;
    u64 cpu_mark = thread_cpu_ns();
    for (u64 i = 1; i <= n; ++i) {
      const int phase = i <= fresh_n ? 0 : 1;
      if (gap > 0) {
        target += gaps[i - 1];
        if (target > monotonic_ns()) sleep_until_ns(target);
      }
      const u64 stamp = monotonic_ns();
      stamps[i] = stamp;
      sequence.store(i, std::memory_order_release);
      to_consumer.notify();
      notify_ns[phase] += static_cast<double>(monotonic_ns() - stamp);
      if (gap == 0) {
        const u64 c0 = thread_cpu_ns();
        to_producer.wait([&] { return echoed.load(std::memory_order_acquire) >= i; });
        producer_wait_cpu[phase] += static_cast<double>(thread_cpu_ns() - c0);
      }
    }
    (void)cpu_mark;
  });
  std::thread consumer([&] {
    u64 traced = 0;
    pin_to(consumer_cpu);
    ready.fetch_add(1);
    while (ready.load() < 2) std::this_thread::yield();
    consumer_cpu_at[0] = thread_cpu_ns();
    time_at[0] = monotonic_ns();
    for (u64 i = 1; i <= n; ++i) {
      to_consumer.wait([&] { return sequence.load(std::memory_order_acquire) >= i; });
      latencies[i] = static_cast<double>(monotonic_ns() - stamps[i]);
      // A wait that recorded itself waited for message i (after the clock read).
      if (trace.capacity && trace.count > traced && trace.count <= trace.capacity) {
        trace_post_ns[trace.count - 1] = stamps[i];
        traced = trace.count;
      }
      if (gap == 0) {
        echoed.store(i, std::memory_order_release);
        to_producer.notify();
      }
      if (i == fresh_n) {
        consumer_cpu_at[1] = thread_cpu_ns();
        time_at[1] = monotonic_ns();
      }
    }
    consumer_cpu_at[2] = thread_cpu_ns();
    time_at[2] = monotonic_ns();
  });
  producer.join();
  consumer.join();
  cell c;
  c.regime = regime;
  c.pattern = pattern;
  c.peer = Peer::name;
  c.gap_ns = gap;
  auto fill = [&](phase_figures& f, u64 from, u64 to, int phase) {
    f.messages = to - from;
    f.cpu_ns = static_cast<double>(consumer_cpu_at[phase + 1] - consumer_cpu_at[phase]) + notify_ns[phase] +
               producer_wait_cpu[phase];
    f.seconds = static_cast<double>(time_at[phase + 1] - time_at[phase]) * 1e-9;
    f.latencies.assign(latencies.begin() + static_cast<long>(from) + 1, latencies.begin() + static_cast<long>(to) + 1);
  };
  fill(c.fresh, 0, fresh_n, 0);
  fill(c.warm, fresh_n, n, 1);
  if constexpr (bench::is_lazyidle<Peer>) {
    const auto s = to_consumer.waiter.stats();
    c.block_cost_ns = static_cast<double>(s.block_cost_ns);
    const double all = static_cast<double>(s.ledger.idles + s.guarded_ledger.idles);
    c.guarded_share = all > 0 ? static_cast<double>(s.guarded_ledger.idles) / all : 0;
    if (trace.capacity) {
      static std::ofstream trace_out;
      if (!trace_out.is_open()) {
        trace_out.open(opt.trace_path);
        trace_out << "regime\tpattern\tgap_ns\trun\twait\tbudget_ns\tblock_cost_ns\tpolled_ns\tidle_ns\tlatency_ns\tblocks"
                     "\tguard\tmode\tend\n";
      }
      static unsigned runs = 0;
      c.anatomy = trace_anatomy(trace.records, trace_post_ns.data(), std::min(trace.count, trace.capacity), c, runs++,
                                trace_out);
    }
  }
  return c;
}

using sweep_peers = bench::peer_list<bench::plain_futex, bench::std_atomic_wait, bench::glibc_adaptive,
                                     bench::pure_spin, bench::lazyidle_default>;

template <class... Peers, class Fn>
void for_each_peer(bench::peer_list<Peers...>, const options& opt, Fn&& fn) {
  auto one = [&](auto tag) {
    using P = typename decltype(tag)::type;
    if (!opt.peers.empty()) {
      bool wanted = false;
      std::stringstream list(opt.peers);
      for (std::string item; std::getline(list, item, ',');) wanted = wanted || item == P::name;
      if (!wanted) return;
    }
    fn(tag);
  };
  (one(std::type_identity<Peers>{}), ...);
}

// stress-ng --cpu N, started and stopped by the benchmark.
struct stressor {
  pid_t pid = -1;
  bool start(unsigned cpus) {
    const std::string count = std::to_string(cpus);
    char* argv[] = {const_cast<char*>("stress-ng"), const_cast<char*>("--cpu"), const_cast<char*>(count.c_str()),
                    const_cast<char*>("--quiet"), nullptr};
    if (posix_spawnp(&pid, "stress-ng", nullptr, nullptr, argv, environ) != 0) {
      pid = -1;
      return false;
    }
    usleep(300'000);  // let its workers start and the guards' average see them
    return true;
  }
  void stop() {
    if (pid <= 0) return;
    kill(pid, SIGTERM);
    int status;
    waitpid(pid, &status, 0);
    pid = -1;
  }
  ~stressor() { stop(); }
};

std::string gap_label(u64 gap) {
  if (gap == 0) return "0";
  if (gap >= 1'000'000) return std::to_string(gap / 1'000'000) + "ms";
  return std::to_string(gap / 1000) + "us";
}


const cell* find(const std::vector<cell>& cells, const std::string& regime, const std::string& pattern, u64 gap,
                 const std::string& peer) {
  for (const cell& c : cells)
    if (c.regime == regime && c.pattern == pattern && c.gap_ns == gap && c.peer == peer) return &c;
  return nullptr;
}

void print_tables(const std::vector<cell>& cells, const options& opt) {
  std::vector<std::string> peers;
  for (const cell& c : cells)
    if (std::find(peers.begin(), peers.end(), c.peer) == peers.end()) peers.push_back(c.peer);
  for (const std::string& regime : opt.regimes)
    for (const char* phase : {"warm", "fresh"}) {
      std::printf("\n== %s, %s waits: CPU us/msg | p50 us | p99 us | msgs/s\n", regime.c_str(), phase);
      std::printf("%-16s", "gap");
      for (const auto& p : peers) std::printf(" | %-30s", p.c_str());
      std::printf(" | lazyidle/futex cpu p50\n");
      for (const std::string& pattern : opt.patterns)
        for (u64 gap : opt.gaps) {
          if (gap == 0 && pattern != opt.patterns.front()) continue;
          std::printf("%-16s", (gap_label(gap) + (gap ? " " + pattern.substr(0, 3) : std::string(" loop"))).c_str());
          for (const auto& p : peers) {
            const cell* c = find(cells, regime, pattern, gap, p);
            if (!c) {
              std::printf(" | %-30s", "-");
              continue;
            }
            const phase_figures& f = std::string(phase) == "warm" ? c->warm : c->fresh;
            char b[96];
            std::snprintf(b, sizeof b, "%7.2f %7.2f %8.1f %7.0f", f.cpu_per_message() / 1e3, f.p50() / 1e3,
                          f.p99() / 1e3, f.per_second());
            std::printf(" | %-30s", b);
          }
          const cell *ours = find(cells, regime, pattern, gap, "lazyidle"), *futex = find(cells, regime, pattern, gap, "futex");
          if (ours && futex) {
            const phase_figures& a = std::string(phase) == "warm" ? ours->warm : ours->fresh;
            const phase_figures& b = std::string(phase) == "warm" ? futex->warm : futex->fresh;
            std::printf(" | %5.2f %5.2f", a.cpu_per_message() / b.cpu_per_message(), a.p50() / b.p50());
          }
          std::printf("\n");
        }
    }
}

struct goal_result {
  int checked = 0, met = 0;
  std::vector<std::string> misses;
};

void goal(goal_result& g, const std::string& what, double value, double limit, bool at_least) {
  if (std::isnan(value)) return;
  ++g.checked;
  const bool ok = at_least ? value >= limit : value <= limit;
  if (ok)
    ++g.met;
  else
    g.misses.push_back(what + ": " + fmt(value) + (at_least ? " < " : " > ") + fmt(limit));
}

void print_goals(const std::vector<cell>& cells, const options& opt) {
  std::printf("\n== goals (issue 13), ratios against futex (spin) in this run\n");
  goal_result all;
  for (const std::string& regime : opt.regimes) {
    goal_result g;
    for (const std::string& pattern : opt.patterns)
      for (u64 gap : opt.gaps)
        for (int phase = 0; phase < 2; ++phase) {
          const cell *ours = find(cells, regime, pattern, gap, "lazyidle"), *futex = find(cells, regime, pattern, gap, "futex");
          if (!ours || !futex) continue;
          const phase_figures& a = phase ? ours->warm : ours->fresh;
          const phase_figures& b = phase ? futex->warm : futex->fresh;
          const std::string name = regime + " " + gap_label(gap) + " " + pattern + (phase ? " warm" : " fresh");
          goal(g, name + " CPU/msg vs futex", a.cpu_per_message() / b.cpu_per_message(), 1.25, false);
          goal(g, name + " p50 vs futex", a.p50() / b.p50(), 1.0, false);
          if (gap > 0 && !std::isnan(ours->block_cost_ns) && static_cast<double>(gap) < ours->block_cost_ns &&
              pattern == "fixed")
            goal(g, name + " p50 vs futex (gap < B)", a.p50() / b.p50(), 0.2, false);
        }
    const cell *loop = find(cells, regime, opt.patterns.front(), 0, "lazyidle"),
               *loop_futex = find(cells, regime, opt.patterns.front(), 0, "futex"),
               *loop_spin = find(cells, regime, opt.patterns.front(), 0, "spin");
    if (loop && loop_spin && regime == "quiet")
      goal(g, regime + " gap 0 loop msgs/s vs spin", loop->warm.per_second() / loop_spin->warm.per_second(), 0.5, true);
    if (loop && loop_futex && regime != "quiet")
      goal(g, regime + " gap 0 loop msgs/s vs futex", loop->warm.per_second() / loop_futex->warm.per_second(), 1.0, true);
    std::printf("  %-15s %d of %d met\n", regime.c_str(), g.met, g.checked);
    for (const auto& m : g.misses) std::printf("      MISSED %s\n", m.c_str());
    all.checked += g.checked;
    all.met += g.met;
  }
  std::printf("  all regimes: %d of %d goals met\n", all.met, all.checked);
}

void write_json(const std::vector<cell>& cells, const std::string& path) {
  std::ofstream out(path);
  out << "{\"benchmark\": \"bench_regimes\", \"cells\": [\n";
  for (size_t i = 0; i < cells.size(); ++i) {
    const cell& c = cells[i];
    auto phase = [&](const char* name, const phase_figures& f) {
      auto num = [](double v) { return std::isnan(v) ? std::string("null") : fmt(v, 1); };
      out << "\"" << name << "\": {\"messages\": " << f.messages << ", \"cpu_ns_per_message\": " << num(f.cpu_per_message())
          << ", \"p50_ns\": " << num(f.p50()) << ", \"p99_ns\": " << num(f.p99()) << ", \"per_second\": " << num(f.per_second())
          << "}";
    };
    out << "  {\"regime\": \"" << c.regime << "\", \"pattern\": \"" << c.pattern << "\", \"gap_ns\": " << c.gap_ns
        << ", \"peer\": \"" << c.peer << "\", ";
    phase("fresh", c.fresh);
    out << ", ";
    phase("warm", c.warm);
    out << ", \"block_cost_ns\": " << (std::isnan(c.block_cost_ns) ? std::string("null") : fmt(c.block_cost_ns, 0))
        << ", \"guarded_share\": " << (std::isnan(c.guarded_share) ? std::string("null") : fmt(c.guarded_share, 3))
        << "}" << (i + 1 < cells.size() ? "," : "") << "\n";
  }
  out << "]}\n";
}

// lazyidle / futex ratios of CPU/message and p50 against the gap, warm and
// fixed, a line per regime, with the goal lines.
void write_svg(const std::vector<cell>& cells, const options& opt) {
  const double left = 70, top = 40, w = 400, h = 300, between = 90;
  const char* colours[] = {"#377eb8", "#e41a1c", "#4daf4a", "#984ea3"};
  std::ostringstream svg;
  svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << left + 2 * w + between + 180 << "\" height=\""
      << top + h + 70 << "\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  std::vector<u64> gaps;
  for (u64 g : opt.gaps)
    if (g > 0) gaps.push_back(g);
  if (gaps.empty()) return;
  const double x_min = static_cast<double>(gaps.front()), x_max = static_cast<double>(gaps.back());
  const double y_min = 0.05, y_max = 4;
  const char* titles[] = {"CPU/message, lazyidle / futex", "wake latency p50, lazyidle / futex"};
  const double limits[] = {1.25, 1.0};
  for (int p = 0; p < 2; ++p) {
    const double x0 = left + p * (w + between);
    auto sx = [&](double x) { return x0 + w * std::log10(x / x_min) / std::log10(std::max(x_max / x_min, 1.0001)); };
    auto sy = [&](double y) {
      y = std::clamp(y, y_min, y_max);
      return top + h - h * std::log10(y / y_min) / std::log10(y_max / y_min);
    };
    svg << "<text x=\"" << x0 + w / 2 << "\" y=\"" << top - 15 << "\" text-anchor=\"middle\" font-weight=\"bold\">"
        << titles[p] << " (warm, fixed gaps)</text>\n";
    svg << "<rect x=\"" << x0 << "\" y=\"" << top << "\" width=\"" << w << "\" height=\"" << h
        << "\" fill=\"none\" stroke=\"#333\"/>\n";
    for (double y : {0.1, 0.2, 0.5, 1.0, 2.0}) {
      svg << "<line x1=\"" << x0 << "\" x2=\"" << x0 + w << "\" y1=\"" << sy(y) << "\" y2=\"" << sy(y)
          << "\" stroke=\"#ddd\"/><text x=\"" << x0 - 5 << "\" y=\"" << sy(y) + 4 << "\" text-anchor=\"end\">" << y
          << "</text>\n";
    }
    svg << "<line x1=\"" << x0 << "\" x2=\"" << x0 + w << "\" y1=\"" << sy(limits[p]) << "\" y2=\"" << sy(limits[p])
        << "\" stroke=\"#000\" stroke-dasharray=\"6,4\"/>\n";
    for (u64 g : gaps)
      svg << "<text x=\"" << sx(static_cast<double>(g)) << "\" y=\"" << top + h + 15 << "\" text-anchor=\"middle\">"
          << gap_label(g) << "</text>\n";
    for (size_t r = 0; r < opt.regimes.size(); ++r) {
      std::string points;
      for (u64 g : gaps) {
        const cell *a = find(cells, opt.regimes[r], "fixed", g, "lazyidle"), *b = find(cells, opt.regimes[r], "fixed", g, "futex");
        if (!a || !b) continue;
        const double v = p == 0 ? a->warm.cpu_per_message() / b->warm.cpu_per_message() : a->warm.p50() / b->warm.p50();
        if (std::isnan(v) || v <= 0) continue;
        points += fmt(sx(static_cast<double>(g)), 1) + "," + fmt(sy(v), 1) + " ";
      }
      svg << "<polyline fill=\"none\" stroke=\"" << colours[r % 4] << "\" stroke-width=\"2.5\" points=\"" << points << "\"/>\n";
    }
  }
  for (size_t r = 0; r < opt.regimes.size(); ++r) {
    const double y = top + 10 + 18 * static_cast<double>(r);
    const double x = left + 2 * w + between + 10;
    svg << "<line x1=\"" << x << "\" x2=\"" << x + 25 << "\" y1=\"" << y << "\" y2=\"" << y << "\" stroke=\"" << colours[r % 4]
        << "\" stroke-width=\"3\"/><text x=\"" << x + 30 << "\" y=\"" << y + 4 << "\">" << opt.regimes[r] << "</text>\n";
  }
  svg << "<text x=\"" << left << "\" y=\"" << top + h + 50
      << "\" fill=\"#555\">bench_regimes; dashed: the goal (CPU <= 1.25x, p50 <= 1.0x futex). One run on a shared machine.</text>\n</svg>\n";
  std::ofstream(opt.svg_path) << svg.str();
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

int run_all(int argc, char** argv) {
  options opt;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--quick") {
      opt.cell_seconds = 0.05;
      opt.min_messages = 100;
      opt.fresh_waits = 50;
      opt.repeat = 1;
      opt.gaps = {0, 20'000, 200'000, 2'000'000};
      opt.patterns = {"fixed"};
    } else if (a == "--seconds") {
      opt.cell_seconds = std::atof(value().c_str());
    } else if (a == "--repeat") {
      opt.repeat = static_cast<unsigned>(std::max(1, std::atoi(value().c_str())));
    } else if (a == "--regimes") {
      opt.regimes = split(value());
    } else if (a == "--patterns") {
      opt.patterns = split(value());
    } else if (a == "--gaps") {
      opt.gaps.clear();
      for (const auto& g : split(value())) opt.gaps.push_back(std::strtoull(g.c_str(), nullptr, 10));
    } else if (a == "--min-messages") {
      opt.min_messages = std::strtoull(value().c_str(), nullptr, 10);
    } else if (a == "--peers") {
      opt.peers = value();
    } else if (a == "--json") {
      opt.json_path = value();
    } else if (a == "--svg") {
      opt.svg_path = value();
    } else if (a == "--trace") {
      opt.trace_path = value();
    } else if (a == "--no-machine-guards") {
      // For a run under chrt on a machine others load: lazyidle ignores the
      // system-wide load and steal it would otherwise (rightly) park for.
      opt.machine_guards = false;
    } else {
      std::printf(
          "usage: bench_regimes [--quick] [--seconds S per cell] [--repeat R] [--regimes quiet,oversubscribed,pinned]\n"
          "       [--patterns fixed,exponential] [--gaps NS,NS,...] [--min-messages N] [--peers futex,...,lazyidle]\n"
          "       [--json FILE] [--svg FILE] [--trace FILE] [--no-machine-guards]\n");
      return a == "--help" ? 0 : 2;
    }
  }
  if (!opt.machine_guards) lazyidle::hosted::system_load::instance().suppress(~0u);
  const unsigned cpus = std::max(1u, std::thread::hardware_concurrency());
  {
    std::ifstream loadavg("/proc/loadavg");
    std::string line;
    std::getline(loadavg, line);
    std::printf("bench_regimes: %u CPUs, %.2f s per cell (>= %llu messages), %u interleaved repeats (median by CPU); load %s\n",
                cpus, opt.cell_seconds, static_cast<unsigned long long>(opt.min_messages), opt.repeat, line.c_str());
    if (!opt.machine_guards) std::printf("machine guards off (--no-machine-guards): lazyidle ignores system load and steal\n");
  }
  std::vector<cell> cells;
  for (const std::string& regime : opt.regimes) {
    stressor stress;
    if (regime == "oversubscribed" && !stress.start(cpus)) {
      std::printf("(oversubscribed regime skipped: stress-ng not found; apt-get install stress-ng)\n");
      continue;
    }
    const int producer_cpu = 0, consumer_cpu = regime == "pinned" || cpus < 2 ? 0 : 1;
    for (const std::string& pattern : opt.patterns)
      for (u64 gap : opt.gaps) {
        if (gap == 0 && pattern != opt.patterns.front()) continue;
        std::vector<std::vector<cell>> samples;
        for (unsigned round = 0; round < opt.repeat; ++round) {
          size_t k = 0;
          for_each_peer(sweep_peers{}, opt, [&](auto tag) {
            using P = typename decltype(tag)::type;
            // Pure spin with both threads on one CPU only ever hands over at
            // the end of a time slice (and never under SCHED_FIFO): no row.
            if (regime == "pinned" && std::is_same_v<P, bench::pure_spin>) return;
            if (samples.size() <= k) samples.emplace_back();
            samples[k++].push_back(run<P>(regime, pattern, gap, opt, producer_cpu, consumer_cpu));
          });
        }
        for (auto& s : samples) {
          std::sort(s.begin(), s.end(), [](const cell& a, const cell& b) {
            return a.warm.cpu_per_message() < b.warm.cpu_per_message();
          });
          cells.push_back(std::move(s[s.size() / 2]));
        }
        std::fprintf(stderr, "  %s %s %s done\n", regime.c_str(), pattern.c_str(), gap_label(gap).c_str());
      }
  }
  print_tables(cells, opt);
  if (!opt.trace_path.empty()) {
    std::printf("\n== wait anatomy, lazyidle (the median run of each cell; every wait in %s)\n", opt.trace_path.c_str());
    for (const cell& c : cells)
      if (!c.anatomy.empty())
        std::printf("  %-15s %-11s %-6s %s\n", c.regime.c_str(), c.pattern.c_str(), gap_label(c.gap_ns).c_str(),
                    c.anatomy.c_str());
  }
  print_goals(cells, opt);
  if (!opt.json_path.empty()) write_json(cells, opt.json_path);
  if (!opt.svg_path.empty()) write_svg(cells, opt);
  std::printf("\nwrote %s and %s\n", opt.json_path.c_str(), opt.svg_path.c_str());
  return 0;
}

}  // namespace
}  // namespace regimes

int main(int argc, char** argv) { return regimes::run_all(argc, argv); }
