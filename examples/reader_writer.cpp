// SPDX-License-Identifier: GPL-2.0-only OR MIT
//
// The talk's reader/writer experiment (DESIGN §1): a writer thread and a
// reader thread pass messages through a queue guarded by one lock. When the
// queue is empty the reader waits, when it is full the writer waits; how
// they wait is the whole experiment. The talk measured 135,531 msg/s for a
// Java version in a KVM guest and 218,260 when the guest never trapped.
//
// Here the waiting is done by lazyidle::basic_waiter with different poll
// policies (the lock is a plain std::mutex), and, for reference, by a waiter
// that never polls (park at once: the "always trap" end) and one that always
// polls (the "never trap" end). Prints messages/s per policy.
//
//   reader_writer [--seconds S] [--capacity N] [--rounds R] [--no-machine-guards]
//
// --no-machine-guards: ignore oversubscription and steal, so the policies'
// own decisions show even when other tenants keep the machine busy (by
// default every waiter then parks at once: "guard-parked" in the output).
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <lazyidle/hosted/wait.hpp>
#include <lazyidle/lazyidle.hpp>

namespace {

using lazyidle::duration_ns;
using lazyidle::u32;
using lazyidle::u64;

// Reference ends of the ski-rental spectrum, as poll policies.
struct never_poll {
  static constexpr const char* name = "never poll (always park)";
  constexpr duration_ns budget(const lazyidle::poll_request&) const { return 0; }
  constexpr void reflect(const lazyidle::idle_outcome&) {}
  constexpr void reset() {}
  constexpr u32 worst_case_ratio_q10() const { return lazyidle::u32_max; }
};
struct always_poll {
  static constexpr const char* name = "always poll (1 ms cap)";
  constexpr duration_ns budget(const lazyidle::poll_request&) const { return 1'000'000; }
  constexpr void reflect(const lazyidle::idle_outcome&) {}
  constexpr void reset() {}
  constexpr u32 worst_case_ratio_q10() const { return lazyidle::u32_max; }
};

struct result {
  double messages_per_second = 0;
  u64 parks = 0;
  u64 waits = 0;
  u64 block_cost_ns = 0;
  u64 guarded = 0;  // waits the oversubscription/steal guard parked at once
};

template <class Governor>
result run(double seconds, unsigned capacity) {
  constexpr u64 finish = ~0ull;
  std::mutex lock;  // the one lock on the queue
  std::deque<u64> queue;
  std::atomic<u32> size{0};  // lets a waiter poll without taking the lock
  lazyidle::basic_waiter<Governor> not_empty, not_full;
  u64 received = 0;
  const auto start = std::chrono::steady_clock::now();
  const auto stop = start + std::chrono::duration<double>(seconds);

  std::thread writer([&] {
    for (u64 m = 0;; ++m) {
      const bool last = (m & 255) == 0 && std::chrono::steady_clock::now() >= stop;
      not_full.wait_until([&] { return size.load(std::memory_order_acquire) < capacity; });
      {
        std::lock_guard guard(lock);
        queue.push_back(last ? finish : m);
        size.fetch_add(1, std::memory_order_release);
      }
      not_empty.notify();
      if (last) return;
    }
  });
  std::thread reader([&] {
    for (;;) {
      not_empty.wait_until([&] { return size.load(std::memory_order_acquire) > 0; });
      u64 m;
      {
        std::lock_guard guard(lock);
        m = queue.front();
        queue.pop_front();
        size.fetch_sub(1, std::memory_order_release);
      }
      not_full.notify();
      if (m == finish) return;
      ++received;
    }
  });
  writer.join();
  reader.join();
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto a = not_empty.stats(), b = not_full.stats();
  return {static_cast<double>(received) / elapsed, a.parks + b.parks, a.waits + b.waits,
          (a.block_cost_ns + b.block_cost_ns) / 2,
          a.steal_waits + a.oversubscribed_waits + b.steal_waits + b.oversubscribed_waits};
}

// One policy's runs; rounds are interleaved across policies (A B C A B C ...)
// so a burst of load from another tenant spoils one run of several policies,
// not every run of one.
struct policy_runs {
  std::string name;
  result (*run)(double seconds, unsigned capacity);
  std::vector<result> results;
};

void report(const policy_runs& p) {
  std::vector<result> sorted = p.results;
  std::sort(sorted.begin(), sorted.end(),
            [](const result& a, const result& b) { return a.messages_per_second < b.messages_per_second; });
  const result& median = sorted[sorted.size() / 2];
  const double waits = static_cast<double>(median.waits);
  std::printf("%-42s %10.0f msg/s (median of %zu)  parks/wait %.3f  guard-parked %3.0f%%  B %llu ns\n",
              p.name.c_str(), median.messages_per_second, sorted.size(),
              median.waits ? static_cast<double>(median.parks) / waits : 0.0,
              median.waits ? 100.0 * static_cast<double>(median.guarded) / waits : 0.0, median.block_cost_ns);
}

template <class Policy>
using with = lazyidle::governor<lazyidle::default_predictor_for_t<Policy>, Policy>;

}  // namespace

int main(int argc, char** argv) {
  double seconds = 1.0;
  unsigned capacity = 1;
  unsigned rounds = 3;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--seconds") && i + 1 < argc)
      seconds = std::atof(argv[++i]);
    else if (!std::strcmp(argv[i], "--capacity") && i + 1 < argc)
      capacity = static_cast<unsigned>(std::atoi(argv[++i]));
    else if (!std::strcmp(argv[i], "--rounds") && i + 1 < argc)
      rounds = static_cast<unsigned>(std::atoi(argv[++i]));
    else if (!std::strcmp(argv[i], "--no-machine-guards"))
      lazyidle::hosted::system_load::instance().suppress(~0u);
    else {
      std::printf("usage: reader_writer [--seconds S] [--capacity N] [--rounds R] [--no-machine-guards]\n");
      return std::strcmp(argv[i], "--help") ? 2 : 0;
    }
  }
  if (capacity == 0 || rounds == 0) return 2;
  std::printf("reader/writer, one lock on a queue of %u, %.2f s x %u per policy, %u CPUs\n", capacity,
              seconds, rounds, std::thread::hardware_concurrency());
  std::vector<policy_runs> policies;
  policies.push_back({std::string("lazyidle default (") + lazyidle::default_governor::policy_type::name + ")",
                      &run<lazyidle::default_governor>,
                      {}});
  policies.push_back({"break_even", &run<with<lazyidle::break_even>>, {}});
#if __has_include(<lazyidle/policy/prediction_augmented.hpp>)
  policies.push_back({"prediction_augmented", &run<with<lazyidle::prediction_augmented>>, {}});
#endif
  policies.push_back(
      {never_poll::name, &run<lazyidle::governor<lazyidle::last_value_predictor, never_poll>>, {}});
  policies.push_back(
      {always_poll::name, &run<lazyidle::governor<lazyidle::last_value_predictor, always_poll>>, {}});
  for (unsigned r = 0; r < rounds; ++r)
    for (auto& p : policies) p.results.push_back(p.run(seconds, capacity));
  for (const auto& p : policies) report(p);
  return 0;
}
