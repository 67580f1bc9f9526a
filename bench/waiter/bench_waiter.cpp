// SPDX-License-Identifier: GPL-2.0-only OR MIT
//
// bench_waiter: lazyidle::waiter against every peer (peers.hpp), side by
// side in one run, on the workloads of issue 3:
//
//   pingpong        two threads (CPUs 0 and 1) hand a token back and forth (round trips/s)
//   gap/<g>         one-way notify (sender CPU 0, receiver CPU 1), sender idles g (1 µs .. 5 ms)
//   exponential     one-way, exponential gaps (mean 50 µs)
//   bimodal         one-way, 80% 2 µs / 20% 1 ms
//   bursty          one-way, bursts of 32 messages 2 µs apart, 2 ms off
//   reader_writer   the talk's test: writer and reader threads, one lock on a queue (msgs/s)
//   oversubscribed  two ping-pong pairs (4 threads) on the machine's CPUs, placed by the scheduler
//   pinned          ping-pong with both threads on CPU 0
//
// Metrics per (workload, peer): throughput; wake latency p50/p99 (one-way:
// notify to wake; ping-pong: round trip); CPU per message (thread CPU time of
// the waiting threads, plus the sender's time inside notify() for one-way);
// futex system calls per message (perf tracepoint syscalls:sys_enter_futex,
// when tracefs is mounted and perf allows it); context switches per message
// (getrusage RUSAGE_THREAD); and the empirical competitive ratio
// sum(cost)/sum(OPT) of DESIGN §3 with B as lazyidle measured it in the same
// run (B = B_cpu + L, ns): lazyidle's from its own logged decisions, the
// others' modelled from the logged idles and their documented budgets.
//
// No figure here is an absolute claim: the machine is shared; compare peers
// within one run. Output: a table, Google Benchmark JSON (--json), an SVG of
// CPU/message and latency against gap (--svg). --quick finishes in < 60 s.
#include <linux/perf_event.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "peers.hpp"

namespace bench {
namespace {

using lazyidle::hosted::monotonic_ns;
using lazyidle::hosted::thread_cpu_ns;
const double nan_value = std::nan("");

// ---- per-thread meters -------------------------------------------------------
long futex_tracepoint_id() {
  static const long id = [] {
    for (const char* path : {"/sys/kernel/tracing/events/syscalls/sys_enter_futex/id",
                             "/sys/kernel/debug/tracing/events/syscalls/sys_enter_futex/id"}) {
      std::ifstream in(path);
      long v = -1;
      if (in >> v) return v;
    }
    return -1L;
  }();
  return id;
}

struct thread_meter {
  u64 cpu = 0, switches = 0, futex = 0;
  bool futex_known = false;
  int fd = -1;
  u64 cpu_start = 0, switches_start = 0;

  static u64 context_switches() {
    rusage usage{};
    getrusage(RUSAGE_THREAD, &usage);
    return static_cast<u64>(usage.ru_nvcsw + usage.ru_nivcsw);
  }
  void start() {
    const long id = futex_tracepoint_id();
    if (id >= 0) {
      perf_event_attr attributes{};
      attributes.type = PERF_TYPE_TRACEPOINT;
      attributes.size = sizeof attributes;
      attributes.config = static_cast<u64>(id);
      attributes.sample_period = 0;
      fd = static_cast<int>(syscall(SYS_perf_event_open, &attributes, 0, -1, -1, 0));
    }
    switches_start = context_switches();
    cpu_start = thread_cpu_ns();
  }
  void stop() {
    cpu = thread_cpu_ns() - cpu_start;
    switches = context_switches() - switches_start;
    if (fd >= 0) {
      u64 count = 0;
      futex_known = read(fd, &count, sizeof count) == sizeof count;
      futex = count;
      close(fd);
      fd = -1;
    }
  }
};

struct meters_total {
  u64 cpu = 0, switches = 0, futex = 0;
  bool futex_known = true;
  void add(const thread_meter& m, bool count_switches = true) {
    cpu += m.cpu;
    if (count_switches) switches += m.switches;
    futex += m.futex;
    futex_known = futex_known && m.futex_known;
  }
};

void pin_to(int cpu) {
  if (cpu < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  sched_setaffinity(0, sizeof set, &set);
}

void sleep_until(u64 target_ns) {
  u64 now = monotonic_ns();
  if (target_ns > now + 300'000) {
    const u64 wake = target_ns - 200'000;
    timespec t{static_cast<time_t>(wake / 1'000'000'000ull), static_cast<long>(wake % 1'000'000'000ull)};
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, nullptr);
  }
  while (monotonic_ns() < target_ns) lazyidle::hosted::cpu_relax();
}

double percentile(std::vector<double>& v, double q) {
  if (v.empty()) return nan_value;
  const size_t k = std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return v[k];
}

// ---- results -------------------------------------------------------------------
struct row {
  std::string workload;
  std::string peer;
  double x_ns = 0;  // gap for the sweep, else 0
  u64 messages = 0;
  double seconds = 0;
  meters_total meters;
  double p50_ns = nan_value, p99_ns = nan_value;
  std::vector<double> idles_ns;  // one-way: per-wait idle y, for the modelled ratio
  double nominal_budget_ns = -1;
  bool is_lazyidle = false;
  lazyidle::cost_ledger ledger{};    // lazyidle only: waits where the policy's budget was played
  lazyidle::cost_ledger guarded{};   // lazyidle only: waits a machine guard forced to park
  double block_cost_ns = nan_value;  // lazyidle only: B at the end of the run
  double ratio = nan_value;
  bool ratio_modelled = false;

  double guarded_share() const {
    const double total = static_cast<double>(ledger.idles + guarded.idles);
    return total > 0 ? static_cast<double>(guarded.idles) / total : 0;
  }
  double per_second() const { return seconds > 0 ? static_cast<double>(messages) / seconds : 0; }
  double cpu_per_message() const {
    return messages ? static_cast<double>(meters.cpu) / static_cast<double>(messages) : 0;
  }
  double futex_per_message() const {
    return meters.futex_known && messages ? static_cast<double>(meters.futex) / static_cast<double>(messages)
                                          : nan_value;
  }
  double switches_per_message() const {
    return messages ? static_cast<double>(meters.switches) / static_cast<double>(messages) : 0;
  }
};

template <class Peer>
void take_lazyidle_stats(row& r, std::initializer_list<const Peer*> events) {
  if constexpr (is_lazyidle<Peer>) {
    r.is_lazyidle = true;
    double b = 0;
    for (const Peer* e : events) {
      const auto s = e->waiter.stats();
      r.ledger.merge(s.ledger);
      r.guarded.merge(s.guarded_ledger);
      b += static_cast<double>(s.block_cost_ns);
    }
    r.block_cost_ns = b / static_cast<double>(events.size());
  }
}

// ---- workloads -------------------------------------------------------------------
struct options {
  double point_seconds = 0.4;
  u64 max_messages = 200'000;
  u64 min_messages = 40;
  std::string only;
  std::string peers;
  std::string json_path = "bench_waiter.json";
  std::string svg_path = "bench_waiter.svg";
  bool quick = false;
  unsigned repeat = 3;
  bool machine_guards = true;
};

// Ping-pong between pairs of threads (pairs > 1: oversubscription). pin_cpu:
// -1 = the scheduler places them, spread_cpus = initiator on CPU 0 and
// responder on CPU 1, n >= 0 = both on CPU n. Round-trip latency measured by
// the initiator.
constexpr int spread_cpus = -2;
template <class Peer>
row pingpong(const std::string& workload, const options& opt, unsigned pairs, int pin_cpu) {
  constexpr u64 finish = ~0ull;
  struct pair_state {
    Peer to_initiator, to_responder;
    std::atomic<u64> token{0};
    std::vector<double> round_trips;
    thread_meter initiator_meter, responder_meter;
    u64 rounds = 0;
    u64 elapsed_ns = 0;  // initiator's first send to its last reply: no thread start-up in it
  };
  std::vector<std::unique_ptr<pair_state>> states;
  for (unsigned i = 0; i < pairs; ++i) states.push_back(std::make_unique<pair_state>());
  const u64 duration_ns = static_cast<u64>(opt.point_seconds * 1e9);
  std::vector<std::thread> threads;
  std::atomic<unsigned> ready{0};
  const u64 begin = monotonic_ns();
  for (auto& sp : states) {
    pair_state* s = sp.get();
    s->round_trips.reserve(std::min<u64>(opt.max_messages, 1'000'000));
    threads.emplace_back([s, &opt, duration_ns, pin_cpu, &ready, pairs] {
      pin_to(pin_cpu == spread_cpus ? 0 : pin_cpu);
      ready.fetch_add(1);
      while (ready.load() < 2 * pairs) std::this_thread::yield();
      s->initiator_meter.start();
      const u64 start = monotonic_ns();
      u64 round = 0;
      for (;;) {
        const u64 t0 = monotonic_ns();
        if (round >= opt.max_messages || t0 - start >= duration_ns) break;
        s->token.store(2 * round + 1, std::memory_order_release);
        s->to_responder.notify();
        const u64 want = 2 * round + 2;
        s->to_initiator.wait([&] { return s->token.load(std::memory_order_acquire) == want; });
        s->round_trips.push_back(static_cast<double>(monotonic_ns() - t0));
        ++round;
      }
      s->rounds = round;
      s->elapsed_ns = monotonic_ns() - start;
      s->token.store(finish, std::memory_order_release);
      s->to_responder.notify();
      s->initiator_meter.stop();
    });
    threads.emplace_back([s, pin_cpu, &ready, pairs] {
      pin_to(pin_cpu == spread_cpus ? 1 : pin_cpu);
      ready.fetch_add(1);
      while (ready.load() < 2 * pairs) std::this_thread::yield();
      s->responder_meter.start();
      for (u64 round = 0;; ++round) {
        const u64 want = 2 * round + 1;
        s->to_responder.wait([&] {
          const u64 t = s->token.load(std::memory_order_acquire);
          return t == want || t == finish;
        });
        if (s->token.load(std::memory_order_acquire) == finish) break;
        s->token.store(want + 1, std::memory_order_release);
        s->to_initiator.notify();
      }
      s->responder_meter.stop();
    });
  }
  for (auto& t : threads) t.join();
  row r;
  r.workload = workload;
  r.peer = Peer::name;
  u64 slowest = 0;
  for (auto& sp : states) slowest = std::max(slowest, sp->elapsed_ns);
  r.seconds = static_cast<double>(slowest) * 1e-9;
  (void)begin;
  std::vector<double> all;
  for (auto& s : states) {
    r.messages += s->rounds;
    r.meters.add(s->initiator_meter);
    r.meters.add(s->responder_meter);
    all.insert(all.end(), s->round_trips.begin(), s->round_trips.end());
    take_lazyidle_stats<Peer>(r, {&s->to_initiator, &s->to_responder});
  }
  // Per-message figures per round trip; seconds = the slowest pair's span.
  r.p50_ns = percentile(all, 0.50);
  r.p99_ns = percentile(all, 0.99);
  return r;
}

// One-way: a sender paced by a gap sequence, a receiver waiting for each
// message. Latency = receiver running again - sender's stamp before notify.
// Sender on CPU 0, receiver on CPU 1: every peer gets the same placement
// (the cross-CPU wake the talk is about) instead of the scheduler's luck.
template <class Peer>
row oneway(const std::string& workload, double x_ns, const std::vector<u64>& gaps, const options&) {
  const u64 n = gaps.size();
  Peer event;
  std::atomic<u64> sequence{0};
  std::vector<u64> stamps(n + 1, 0);
  std::vector<double> latencies(n + 1, 0), idles(n + 1, 0);
  thread_meter sender_meter, receiver_meter;
  std::atomic<u64> notify_ns{0};
  std::atomic<int> ready{0};
  const u64 begin = monotonic_ns();
  const bool spread = std::thread::hardware_concurrency() >= 2;
  std::thread sender([&] {
    if (spread) pin_to(0);
    ready.fetch_add(1);
    while (ready.load() < 2) std::this_thread::yield();
    sender_meter.start();
    u64 target = monotonic_ns() + 50'000;
    u64 in_notify = 0;
    for (u64 i = 1; i <= n; ++i) {
      target += gaps[i - 1];
      sleep_until(target);
      const u64 stamp = monotonic_ns();
      stamps[i] = stamp;
      sequence.store(i, std::memory_order_release);
      event.notify();
      in_notify += monotonic_ns() - stamp;
    }
    sender_meter.stop();
    notify_ns.store(in_notify);
  });
  std::thread receiver([&] {
    if (spread) pin_to(1);
    ready.fetch_add(1);
    while (ready.load() < 2) std::this_thread::yield();
    receiver_meter.start();
    for (u64 i = 1; i <= n; ++i) {
      const u64 wait_start = monotonic_ns();
      event.wait([&] { return sequence.load(std::memory_order_acquire) >= i; });
      const u64 woke = monotonic_ns();
      latencies[i] = static_cast<double>(woke - stamps[i]);
      idles[i] = stamps[i] > wait_start ? static_cast<double>(stamps[i] - wait_start) : 0.0;
    }
    receiver_meter.stop();
  });
  receiver.join();
  sender.join();
  row r;
  r.workload = workload;
  r.peer = Peer::name;
  r.x_ns = x_ns;
  r.messages = n;
  r.seconds = static_cast<double>(monotonic_ns() - begin) * 1e-9;
  r.meters.add(receiver_meter);
  // The sender's CPU is mostly its pacing; count only its time in notify()
  // and its futex calls (it makes none besides notify's), not its switches.
  thread_meter sender_part = sender_meter;
  sender_part.cpu = notify_ns.load();
  r.meters.add(sender_part, false);
  latencies.erase(latencies.begin());
  idles.erase(idles.begin());
  r.p50_ns = percentile(latencies, 0.50);
  r.p99_ns = percentile(latencies, 0.99);
  r.idles_ns = std::move(idles);
  r.nominal_budget_ns = Peer::nominal_budget_ns;
  take_lazyidle_stats<Peer>(r, {&event});
  return r;
}

// The talk's test: a writer and a reader thread, one lock (std::mutex) on a
// queue of `capacity` messages; each side waits through Peer when the queue
// is full / empty. Messages per second. Writer on CPU 0, reader on CPU 1.
template <class Peer>
row reader_writer(const options& opt, unsigned capacity) {
  constexpr u64 finish = ~0ull;
  std::mutex lock;
  std::deque<u64> queue;
  std::atomic<u32> size{0};
  Peer not_empty, not_full;
  thread_meter writer_meter, reader_meter;
  u64 received = 0;
  std::atomic<u64> writer_start_ns{0};
  u64 reader_end_ns = 0;
  const u64 duration_ns = static_cast<u64>(opt.point_seconds * 1e9);
  const u64 begin = monotonic_ns();
  const bool spread = std::thread::hardware_concurrency() >= 2;
  std::thread writer([&] {
    if (spread) pin_to(0);
    writer_meter.start();
    const u64 start = monotonic_ns();
    writer_start_ns.store(start, std::memory_order_relaxed);
    for (u64 m = 0;; ++m) {
      const bool last = (m & 255) == 0 && monotonic_ns() - start >= duration_ns;
      not_full.wait([&] { return size.load(std::memory_order_acquire) < capacity; });
      {
        std::lock_guard guard(lock);
        queue.push_back(last ? finish : m);
        size.fetch_add(1, std::memory_order_release);
      }
      not_empty.notify();
      if (last) break;
    }
    writer_meter.stop();
  });
  std::thread reader([&] {
    if (spread) pin_to(1);
    reader_meter.start();
    for (;;) {
      not_empty.wait([&] { return size.load(std::memory_order_acquire) > 0; });
      u64 m;
      {
        std::lock_guard guard(lock);
        m = queue.front();
        queue.pop_front();
        size.fetch_sub(1, std::memory_order_release);
      }
      not_full.notify();
      if (m == finish) break;
      ++received;
    }
    reader_end_ns = monotonic_ns();
    reader_meter.stop();
  });
  writer.join();
  reader.join();
  row r;
  r.workload = "reader_writer";
  r.peer = Peer::name;
  r.messages = received;
  // From the writer's first message to the reader's last: no thread start-up.
  r.seconds = static_cast<double>(reader_end_ns - writer_start_ns.load()) * 1e-9;
  (void)begin;
  r.meters.add(writer_meter);
  r.meters.add(reader_meter);
  take_lazyidle_stats<Peer>(r, {&not_empty, &not_full});
  return r;
}

// ---- gap sequences (same for every peer) ---------------------------------------
u64 message_count(double mean_gap_ns, const options& opt) {
  const double n = opt.point_seconds * 1e9 / std::max(mean_gap_ns, 1.0);
  return std::clamp<u64>(static_cast<u64>(n), opt.min_messages, opt.max_messages);
}

std::vector<u64> steady_gaps(u64 gap_ns, const options& opt) {
  return std::vector<u64>(message_count(static_cast<double>(gap_ns) + 2000.0, opt), gap_ns);
}

std::vector<u64> exponential_gaps(double mean_ns, const options& opt) {
  std::mt19937_64 random(42);
  std::exponential_distribution<double> d(1.0 / mean_ns);
  std::vector<u64> g(message_count(mean_ns + 2000.0, opt));
  for (auto& v : g) v = static_cast<u64>(d(random));
  return g;
}

std::vector<u64> bimodal_gaps(const options& opt) {
  std::mt19937_64 random(43);
  std::bernoulli_distribution long_gap(0.2);
  std::vector<u64> g(message_count(0.8 * 2000 + 0.2 * 1e6 + 2000.0, opt));
  for (auto& v : g) v = long_gap(random) ? 1'000'000 : 2'000;
  return g;
}

std::vector<u64> bursty_gaps(const options& opt) {
  std::vector<u64> g(message_count((31 * 2000.0 + 2e6) / 32 + 2000.0, opt));
  for (size_t i = 0; i < g.size(); ++i) g[i] = (i % 32 == 31) ? 2'000'000 : 2'000;
  return g;
}

// ---- running every peer ------------------------------------------------------------
template <class... Peers, class Fn>
void for_each_peer(peer_list<Peers...>, const options& opt, Fn&& fn) {
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

// Modelled ratios for peers with a documented budget, with lazyidle's B from
// the same workload; lazyidle's own ratio from its ledger.
void finish_ratios(std::vector<row>& rows) {
  std::map<std::string, double> block_cost;
  for (const row& r : rows)
    if (r.peer == lazyidle_default::name && !std::isnan(r.block_cost_ns))
      block_cost[r.workload] = r.block_cost_ns;
  for (row& r : rows) {
    if (r.is_lazyidle) {
      if (r.ledger.idles) r.ratio = static_cast<double>(r.ledger.ratio_permille()) / 1000.0;
      continue;
    }
    auto b = block_cost.find(r.workload);
    if (b == block_cost.end() || r.idles_ns.empty() || r.nominal_budget_ns < 0) continue;
    double cost = 0, opt = 0;
    for (double y : r.idles_ns) {
      if (y <= 0) continue;
      cost += y <= r.nominal_budget_ns ? y : r.nominal_budget_ns + b->second;
      opt += std::min(y, b->second);
    }
    if (opt > 0) {
      r.ratio = cost / opt;
      r.ratio_modelled = true;
    }
  }
}

std::string fmt(double v, int precision = 2) {
  if (std::isnan(v)) return "n/a";
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", precision, v);
  return buffer;
}

std::string si(double v) {
  if (std::isnan(v)) return "n/a";
  char buffer[64];
  if (v >= 1e6)
    std::snprintf(buffer, sizeof buffer, "%.2fM", v / 1e6);
  else if (v >= 1e3)
    std::snprintf(buffer, sizeof buffer, "%.1fk", v / 1e3);
  else
    std::snprintf(buffer, sizeof buffer, "%.0f", v);
  return buffer;
}

void print_table(const std::vector<row>& rows) {
  std::string current;
  double spin_rate = 0, futex_rate = 0, futex_cpu = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    const row& r = rows[i];
    if (r.workload != current) {
      current = r.workload;
      spin_rate = futex_rate = futex_cpu = 0;
      for (const row& o : rows)
        if (o.workload == current) {
          if (o.peer == pure_spin::name) spin_rate = o.per_second();
          if (o.peer == plain_futex::name) {
            futex_rate = o.per_second();
            futex_cpu = o.cpu_per_message();
          }
        }
      const bool round_trip = current == "pingpong" || current == "pinned" || current == "oversubscribed";
      std::printf("\n== %s%s\n", current.c_str(),
                  round_trip ? " (per round trip; latency = round trip)" : " (latency = notify to wake)");
      std::printf("%-12s %9s %6s %6s %9s %9s %9s %6s %7s %8s %6s %6s %5s\n", "peer", "msgs/s", "xspin",
                  "xfutex", "p50 us", "p99 us", "CPU us", "xfutx", "futex", "ctxsw", "CR", "B us", "grd%");
    }
    std::printf("%-12s %9s %6s %6s %9s %9s %9s %6s %7s %8s %6s%1s %5s %5s\n", r.peer.c_str(),
                si(r.per_second()).c_str(), spin_rate > 0 ? fmt(r.per_second() / spin_rate).c_str() : "n/a",
                futex_rate > 0 ? fmt(r.per_second() / futex_rate).c_str() : "n/a",
                fmt(r.p50_ns / 1e3, 1).c_str(), fmt(r.p99_ns / 1e3, 1).c_str(),
                fmt(r.cpu_per_message() / 1e3, 2).c_str(),
                futex_cpu > 0 ? fmt(r.cpu_per_message() / futex_cpu).c_str() : "n/a",
                fmt(r.futex_per_message(), 2).c_str(), fmt(r.switches_per_message(), 2).c_str(),
                fmt(r.ratio, 2).c_str(), r.ratio_modelled ? "~" : "",
                r.is_lazyidle ? fmt(r.block_cost_ns / 1e3, 1).c_str() : "",
                r.is_lazyidle ? fmt(r.guarded_share() * 100, 0).c_str() : "");
  }
  std::printf(
      "\nCR = sum(cost)/sum(OPT), DESIGN §3, B = B_cpu + L as lazyidle measured it in the same workload;"
      " ~ = modelled from logged idles and the peer's documented poll budget.\n"
      "lazyidle's CR covers the waits where its policy's budget was played; grd%% = share of waits a machine "
      "guard\n"
      "(oversubscription, steal) forced to park at once, outside the cost model (docs/waiter.md).\n"
      "xspin/xfutex: throughput ratio to pure spin / plain futex; xfutx: CPU per message ratio to plain "
      "futex.\n");
}

std::string json_escape(const std::string& s) {
  std::string out;
  for (char c : s) out += (c == '"' || c == '\\') ? std::string("\\") + c : std::string(1, c);
  return out;
}

void write_json(const std::vector<row>& rows, const std::string& path) {
  std::ofstream out(path);
  char host[256] = "";
  gethostname(host, sizeof host - 1);
  out << "{\n  \"context\": {\"executable\": \"bench_waiter\", \"host_name\": \"" << json_escape(host)
      << "\", \"num_cpus\": " << std::thread::hardware_concurrency()
      << ", \"library_build_type\": \"release\", \"caches\": []},\n  \"benchmarks\": [\n";
  for (size_t i = 0; i < rows.size(); ++i) {
    const row& r = rows[i];
    const double per = r.messages ? r.seconds * 1e9 / static_cast<double>(r.messages) : 0;
    const std::string name = r.workload + "/" + r.peer;
    auto number = [](double v) { return std::isnan(v) ? std::string("null") : fmt(v, 4); };
    out << "    {\"name\": \"" << json_escape(name) << "\", \"run_name\": \"" << json_escape(name)
        << "\", \"run_type\": \"iteration\", \"repetitions\": 1, \"repetition_index\": 0, \"threads\": 1"
        << ", \"iterations\": " << r.messages << ", \"real_time\": " << fmt(per, 2)
        << ", \"cpu_time\": " << fmt(r.cpu_per_message(), 2) << ", \"time_unit\": \"ns\""
        << ", \"items_per_second\": " << fmt(r.per_second(), 1) << ", \"gap_ns\": " << fmt(r.x_ns, 0)
        << ", \"p50_ns\": " << number(r.p50_ns) << ", \"p99_ns\": " << number(r.p99_ns)
        << ", \"futex_per_message\": " << number(r.futex_per_message())
        << ", \"context_switches_per_message\": " << number(r.switches_per_message())
        << ", \"competitive_ratio\": " << number(r.ratio)
        << ", \"competitive_ratio_modelled\": " << (r.ratio_modelled ? "true" : "false")
        << ", \"block_cost_ns\": " << number(r.block_cost_ns)
        << ", \"guarded_share\": " << fmt(r.guarded_share(), 4) << "}" << (i + 1 < rows.size() ? "," : "")
        << "\n";
  }
  out << "  ]\n}\n";
}

// Two log-log panels, CPU/message and p50 latency against the gap, one line per peer.
bool write_svg(const std::vector<row>& rows, const std::string& path) {
  std::vector<std::string> peers;
  for (const row& r : rows)
    if (r.x_ns > 0 && std::find(peers.begin(), peers.end(), r.peer) == peers.end()) peers.push_back(r.peer);
  if (peers.empty()) return false;  // no gap sweep in this run: nothing to plot
  const char* colors[] = {"#e41a1c", "#377eb8", "#4daf4a", "#984ea3", "#ff7f00",
                          "#a65628", "#f781bf", "#999999", "#000000", "#17becf",
                          "#bcbd22", "#7f7f7f"};  // one colour per peer: no wrap-around
  const double width = 1000, height = 460, left = 70, top = 40, panel_w = 380, panel_h = 340,
               gap_between = 90;
  std::ostringstream svg;
  svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width + 170 << "\" height=\"" << height
      << "\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" "
         "fill=\"white\"/>\n";
  double x_min = 1e300, x_max = 0;
  for (const row& r : rows)
    if (r.x_ns > 0) x_min = std::min(x_min, r.x_ns), x_max = std::max(x_max, r.x_ns);
  struct panel {
    const char* title;
    std::function<double(const row&)> value;
  } panels[] = {{"CPU per message (us)", [](const row& r) { return r.cpu_per_message() / 1e3; }},
                {"wake latency p50 (us)", [](const row& r) { return r.p50_ns / 1e3; }}};
  for (int p = 0; p < 2; ++p) {
    double y_min = 1e300, y_max = 0;
    for (const row& r : rows)
      if (r.x_ns > 0) {
        const double v = panels[p].value(r);
        if (v > 0 && !std::isnan(v)) y_min = std::min(y_min, v), y_max = std::max(y_max, v);
      }
    if (y_max <= 0) continue;
    y_min = std::pow(10, std::floor(std::log10(y_min)));
    y_max = std::pow(10, std::ceil(std::log10(y_max)));
    const double x0 = left + p * (panel_w + gap_between);
    auto sx = [&](double x) { return x0 + panel_w * std::log10(x / x_min) / std::log10(x_max / x_min); };
    auto sy = [&](double y) {
      return top + panel_h - panel_h * std::log10(y / y_min) / std::log10(y_max / y_min);
    };
    svg << "<text x=\"" << x0 + panel_w / 2 << "\" y=\"" << top - 15
        << "\" text-anchor=\"middle\" font-weight=\"bold\">" << panels[p].title << " vs gap</text>\n";
    svg << "<rect x=\"" << x0 << "\" y=\"" << top << "\" width=\"" << panel_w << "\" height=\"" << panel_h
        << "\" fill=\"none\" stroke=\"#333\"/>\n";
    for (double y = y_min; y <= y_max * 1.001; y *= 10)
      svg << "<line x1=\"" << x0 << "\" x2=\"" << x0 + panel_w << "\" y1=\"" << sy(y) << "\" y2=\"" << sy(y)
          << "\" stroke=\"#ddd\"/><text x=\"" << x0 - 5 << "\" y=\"" << sy(y) + 4 << "\" text-anchor=\"end\">"
          << y << "</text>\n";
    for (const row& r : rows)
      if (r.x_ns > 0 && r.peer == peers[0])
        svg << "<text x=\"" << sx(r.x_ns) << "\" y=\"" << top + panel_h + 15 << "\" text-anchor=\"middle\">"
            << (r.x_ns >= 1e6 ? fmt(r.x_ns / 1e6, 0) + "ms" : fmt(r.x_ns / 1e3, 0) + "us") << "</text>\n";
    svg << "<text x=\"" << x0 + panel_w / 2 << "\" y=\"" << top + panel_h + 32
        << "\" text-anchor=\"middle\">gap between messages (log)</text>\n";
    for (size_t k = 0; k < peers.size(); ++k) {
      std::string points;
      for (const row& r : rows)
        if (r.x_ns > 0 && r.peer == peers[k]) {
          const double v = panels[p].value(r);
          if (v > 0 && !std::isnan(v)) points += fmt(sx(r.x_ns), 1) + "," + fmt(sy(v), 1) + " ";
        }
      const bool ours = peers[k].rfind("lazyidle", 0) == 0;
      svg << "<polyline fill=\"none\" stroke=\"" << colors[k % (sizeof colors / sizeof colors[0])] << "\" stroke-width=\"" << (ours ? 3 : 1.5)
          << "\" points=\"" << points << "\"/>\n";
    }
  }
  for (size_t k = 0; k < peers.size(); ++k) {
    const double y = top + 10 + 18 * static_cast<double>(k);
    svg << "<line x1=\"" << width + 10 << "\" x2=\"" << width + 35 << "\" y1=\"" << y << "\" y2=\"" << y
        << "\" stroke=\"" << colors[k % (sizeof colors / sizeof colors[0])] << "\" stroke-width=\"3\"/><text x=\"" << width + 40 << "\" y=\""
        << y + 4 << "\">" << peers[k] << "</text>\n";
  }
  svg << "<text x=\"" << left << "\" y=\"" << height - 10
      << "\" fill=\"#555\">bench_waiter one-way notify; one run, shared machine: compare lines, not absolute "
         "values."
      << "</text>\n</svg>\n";
  std::ofstream(path) << svg.str();
  return true;
}

// Issue 3's goals as ratios within this run.
void print_goals(const std::vector<row>& rows) {
  auto find = [&](const std::string& workload, const std::string& peer) -> const row* {
    for (const row& r : rows)
      if (r.workload == workload && r.peer == peer) return &r;
    return nullptr;
  };
  std::printf("\n== goals (issue 3), ratios within this run\n");
  auto goal = [](const char* what, double value, double limit, bool at_least, const row* ours = nullptr) {
    if (std::isnan(value)) {
      std::printf("  %-48s    n/a\n", what);
      return;
    }
    const bool met = at_least ? value >= limit : value <= limit;
    std::printf("  %-48s %6.2f  (goal %s %.2f)  %-6s", what, value, at_least ? ">=" : "<=", limit,
                met ? "met" : "MISSED");
    // Say when a machine guard, not the policy, decided most of those waits.
    if (ours && ours->is_lazyidle && ours->guarded_share() > 0.5)
      std::printf("  [%.0f%% of waits parked by the oversubscription/steal guard]",
                  ours->guarded_share() * 100);
    std::printf("\n");
  };
  std::vector<std::string> ours;
  for (const row& r : rows)
    if (r.is_lazyidle && std::find(ours.begin(), ours.end(), r.peer) == ours.end()) ours.push_back(r.peer);
  for (const std::string& name : ours) {
    std::printf(" %s:\n", name.c_str());
    const row *pp = find("pingpong", name), *pp_spin = find("pingpong", pure_spin::name);
    goal("ping-pong throughput / pure spin",
         pp && pp_spin ? pp->per_second() / pp_spin->per_second() : nan_value, 0.5, true, pp);
    const row *g2 = find("gap/2ms", name), *g2_futex = find("gap/2ms", plain_futex::name);
    goal("2 ms gaps CPU/message / plain futex",
         g2 && g2_futex ? g2->cpu_per_message() / g2_futex->cpu_per_message() : nan_value, 1.25, false, g2);
    const row *pin = find("pinned", name), *pin_futex = find("pinned", plain_futex::name);
    goal("both on one CPU throughput / plain futex",
         pin && pin_futex ? pin->per_second() / pin_futex->per_second() : nan_value, 1.0, true, pin);
    double worst_steady = 0;
    int steady_rows = 0, total_steady = 0;
    for (const row& r : rows)
      if (r.peer == name && r.workload.rfind("gap/", 0) == 0) {
        ++total_steady;
        if (!std::isnan(r.ratio)) worst_steady = std::max(worst_steady, r.ratio), ++steady_rows;
      }
    char what[96];
    std::snprintf(what, sizeof what, "competitive ratio, worst steady gap (%d/%d gaps)", steady_rows,
                  total_steady);
    goal(what, worst_steady > 0 ? worst_steady : nan_value, 1.2, false);
    double worst = 0;
    for (const row& r : rows)
      if (r.peer == name && !std::isnan(r.ratio)) worst = std::max(worst, r.ratio);
    goal("competitive ratio, worst of all workloads", worst > 0 ? worst : nan_value, 3.0, false);
  }
}

int run(int argc, char** argv) {
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
      opt.quick = true;
      opt.point_seconds = 0.04;
      opt.max_messages = 20'000;
      opt.min_messages = 30;  // learning policies need a few dozen idles per point
    } else if (a == "--seconds")
      opt.point_seconds = std::atof(value().c_str());
    else if (a == "--only")
      opt.only = value();
    else if (a == "--repeat")
      opt.repeat = std::max(1, std::atoi(value().c_str()));
    else if (a == "--no-machine-guards")
      opt.machine_guards = false;
    else if (a == "--peers")
      opt.peers = value();
    else if (a == "--json")
      opt.json_path = value();
    else if (a == "--svg" || a == "--plot")
      opt.svg_path = value();
    else {
      std::printf(
          "usage: bench_waiter [--quick] [--seconds S per point] [--repeat R] [--no-machine-guards] [--only "
          "w1,w2] [--peers p1,p2]"
          " [--json FILE] [--svg|--plot FILE]\nworkloads: pingpong gap exponential bimodal bursty "
          "reader_writer"
          " oversubscribed pinned\n");
      return a == "--help" ? 0 : 2;
    }
  }
  auto wanted = [&](const char* workload) {
    if (opt.only.empty()) return true;
    std::stringstream list(opt.only);
    for (std::string item; std::getline(list, item, ',');)
      if (item == workload) return true;
    return false;
  };
  std::printf(
      "bench_waiter: %u CPUs, %.2f s per point x %u interleaved repeats (median kept)%s; futex counting %s\n",
      std::thread::hardware_concurrency(), opt.point_seconds, opt.repeat, opt.quick ? " (--quick)" : "",
      futex_tracepoint_id() >= 0 ? "on (perf tracepoint)" : "off (mount tracefs to enable)");
  // --no-machine-guards: lazyidle ignores oversubscription and steal, so its
  // policies' own decisions show on a machine other tenants keep busy.
  if (!opt.machine_guards) lazyidle::hosted::system_load::instance().suppress(~0u);
  std::printf("lazyidle machine guards (oversubscription, steal): %s\n", opt.machine_guards ? "on" : "OFF");
  std::vector<row> rows;
  const unsigned cpus = std::max(1u, std::thread::hardware_concurrency());
  // Each workload runs every peer `repeat` times, interleaved (peer order
  // A B C A B C ...), and keeps each peer's median run: a burst of load from
  // another tenant then spoils one sample of several peers, not all samples
  // of one. Median by throughput for closed loops, by CPU/message for
  // one-way runs (whose throughput the sender fixes).
  auto measure = [&](bool by_cpu, auto&& one) {
    std::vector<std::vector<row>> runs;
    for (unsigned round = 0; round < opt.repeat; ++round) {
      size_t k = 0;
      for_each_peer(all_peers{}, opt, [&](auto t) {
        if (runs.size() <= k) runs.emplace_back();
        runs[k++].push_back(one(t));
      });
    }
    for (auto& samples : runs) {
      std::sort(samples.begin(), samples.end(), [&](const row& x, const row& y) {
        return by_cpu ? x.cpu_per_message() < y.cpu_per_message() : x.per_second() < y.per_second();
      });
      rows.push_back(std::move(samples[samples.size() / 2]));
    }
  };

  if (wanted("pingpong"))
    measure(false, [&](auto t) {
      return pingpong<typename decltype(t)::type>("pingpong", opt, 1, cpus >= 2 ? spread_cpus : -1);
    });
  if (wanted("gap")) {
    for (u64 gap : {1'000ull, 10'000ull, 50'000ull, 200'000ull, 1'000'000ull, 2'000'000ull, 5'000'000ull}) {
      const std::string name = "gap/" + (gap >= 1'000'000 ? std::to_string(gap / 1'000'000) + "ms"
                                                          : std::to_string(gap / 1'000) + "us");
      const auto gaps = steady_gaps(gap, opt);
      measure(true, [&](auto t) {
        return oneway<typename decltype(t)::type>(name, static_cast<double>(gap), gaps, opt);
      });
    }
  }
  if (wanted("exponential")) {
    const auto gaps = exponential_gaps(50'000, opt);
    measure(true, [&](auto t) { return oneway<typename decltype(t)::type>("exponential", 0, gaps, opt); });
  }
  if (wanted("bimodal")) {
    const auto gaps = bimodal_gaps(opt);
    measure(true, [&](auto t) { return oneway<typename decltype(t)::type>("bimodal", 0, gaps, opt); });
  }
  if (wanted("bursty")) {
    const auto gaps = bursty_gaps(opt);
    measure(true, [&](auto t) { return oneway<typename decltype(t)::type>("bursty", 0, gaps, opt); });
  }
  if (wanted("reader_writer"))
    measure(false, [&](auto t) { return reader_writer<typename decltype(t)::type>(opt, 1); });
  if (wanted("oversubscribed"))
    measure(false,
            [&](auto t) { return pingpong<typename decltype(t)::type>("oversubscribed", opt, cpus, -1); });
  if (wanted("pinned"))
    measure(false, [&](auto t) { return pingpong<typename decltype(t)::type>("pinned", opt, 1, 0); });

  finish_ratios(rows);
  {
    std::ifstream loadavg("/proc/loadavg");
    std::string line;
    std::getline(loadavg, line);
    std::printf("load average at the end of the run: %s\n", line.c_str());
  }
  print_table(rows);
  print_goals(rows);
  if (!opt.json_path.empty()) write_json(rows, opt.json_path);
  const bool plotted = !opt.svg_path.empty() && write_svg(rows, opt.svg_path);
  std::printf("\nwrote %s%s%s\n", opt.json_path.c_str(), plotted ? " and " : " (no gap sweep ran: no plot)",
              plotted ? opt.svg_path.c_str() : "");
  return 0;
}

}  // namespace
}  // namespace bench

int main(int argc, char** argv) { return bench::run(argc, argv); }
