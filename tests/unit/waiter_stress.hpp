// SPDX-License-Identifier: GPL-2.0-only OR MIT
// Lost-wakeup stress harness shared by test_waiter_{stress,pinned,oversubscribed}.
//
// Pairs of threads hand a token back and forth through two waiters: thread A
// waits for the token to become odd, B for even, each passes it on and
// notifies. A lost wakeup leaves both threads waiting forever, so a watchdog
// aborts the process (with the stuck pair's state) when the total hand-off
// count stops moving for watchdog_seconds: the test fails instead of hanging.
// Poll budgets are drawn at random from [0, jitter_ns] per wait, so the
// notify lands before, during and after the park in every proportion.
// Each side also checks that every wait returned with its predicate true
// and that the waiters counted exactly the waits the test saw start.
#ifndef LAZYIDLE_TESTS_WAITER_STRESS_HPP
#define LAZYIDLE_TESTS_WAITER_STRESS_HPP

#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <lazyidle/hosted/wait.hpp>

namespace stress {

using lazyidle::u64;

// Poll budget uniform in [0, jitter]: a policy for tests, not for use.
struct jitter_policy {
  static constexpr const char* name = "jitter";
  lazyidle::splitmix64 random{0x1234};
  lazyidle::duration_ns jitter_ns = 3000;
  lazyidle::duration_ns budget(const lazyidle::poll_request&) {
    return jitter_ns ? random.next() % (jitter_ns + 1) : 0;
  }
  void reflect(const lazyidle::idle_outcome&) {}
  void reset() {}
  lazyidle::u32 worst_case_ratio_q10() const { return lazyidle::u32_max; }
};
using jitter_governor = lazyidle::governor<lazyidle::last_value_predictor, jitter_policy>;

struct config {
  u64 handoffs_per_pair = 1'000'000;
  unsigned pairs = 1;
  int pin_cpu = -1;  // >= 0: every thread on this CPU
  lazyidle::duration_ns jitter_ns = 3000;
  bool yield_on_shared_cpu = true;
  bool ignore_system_load = false;  // true: spin even if the machine looks oversubscribed
  int watchdog_seconds = 15;
};

// A count from the environment (or the default), divided by
// LAZYIDLE_STRESS_SCALE when set: scripts/test-all runs the sanitizer builds
// with a scale of 10, the long ctest configuration sets the count itself.
inline u64 env_or(const char* name, u64 fallback) {
  const char* v = std::getenv(name);
  const u64 count = v && *v ? std::strtoull(v, nullptr, 10) : fallback;
  const char* s = std::getenv("LAZYIDLE_STRESS_SCALE");
  const u64 scale = s && *s ? std::strtoull(s, nullptr, 10) : 1;
  return scale > 1 ? std::max<u64>(count / scale, 1000) : count;
}

struct pair_state {
  std::atomic<u64> token{0};
  lazyidle::basic_waiter<jitter_governor> odd_waiter, even_waiter;
  pair_state(const lazyidle::waiter_options& options, u64 seed, lazyidle::duration_ns jitter)
      : odd_waiter(options, jitter_governor(jitter_policy{{seed}, jitter})),
        even_waiter(options, jitter_governor(jitter_policy{{seed * 7 + 1}, jitter})) {}
};

struct result {
  u64 handoffs = 0;
  u64 premature = 0;   // wait_until returned while the token was not the one waited for
  u64 waits_seen = 0;  // waits whose first predicate call was false, counted by the test
  u64 waits = 0;       // the same, counted by the waiters
  u64 guarded = 0;     // waits a machine guard sent to park at once
  u64 parks = 0;
  u64 wakes = 0;
  u64 polled = 0;
  u64 yield_waits = 0;
  double seconds = 0;
};

inline void pin(int cpu) {
  if (cpu < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof set, &set) != 0) {
    std::perror("sched_setaffinity");
    std::abort();
  }
}

inline result run(const config& cfg) {
  lazyidle::waiter_options options;
  options.yield_when_notifier_shares_cpu = cfg.yield_on_shared_cpu;
  options.park_when_oversubscribed = !cfg.ignore_system_load;
  // The jittered budgets are the point: the back-off and the poll-share cap
  // would replace most of them by 0 (most 0-3 us polls miss a hand-off).
  options.back_off_when_polls_miss = false;
  options.max_fruitless_poll_share_q10 = lazyidle::u32_max;
  options.start_from_process_prior = false;  // each waiter keeps its own random seed
  options.publish_to_process_prior = false;
  std::vector<std::unique_ptr<pair_state>> pairs;
  for (unsigned p = 0; p < cfg.pairs; ++p)
    pairs.push_back(std::make_unique<pair_state>(options, 0x9e37 + p, cfg.jitter_ns));
  const u64 target = 2 * cfg.handoffs_per_pair;  // token value when a pair is done
  std::atomic<bool> done{false};
  std::atomic<u64> premature{0}, waits_seen{0};
  const auto begin = std::chrono::steady_clock::now();

  std::thread watchdog([&] {
    u64 last = ~0ull;
    int still = 0;
    while (!done.load(std::memory_order_acquire)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      u64 total = 0;
      for (auto& p : pairs) total += p->token.load(std::memory_order_relaxed);
      still = total == last ? still + 1 : 0;
      last = total;
      if (still >= cfg.watchdog_seconds * 10) {
        std::fprintf(stderr, "LOST WAKEUP: no hand-off for %d s\n", cfg.watchdog_seconds);
        for (unsigned i = 0; i < pairs.size(); ++i)
          std::fprintf(stderr, "  pair %u token %llu\n", i, pairs[i]->token.load());
        std::abort();
      }
    }
  });

  std::vector<std::thread> threads;
  // One side: wait for `parity` values, pass the token on. The predicate
  // counts the waits it saw start, and the token is checked again after
  // each return: a waiter that returns with the predicate false fails here.
  auto side = [&](pair_state* p, u64 first, lazyidle::basic_waiter<jitter_governor>& mine,
                  lazyidle::basic_waiter<jitter_governor>& theirs) {
    pin(cfg.pin_cpu);
    u64 seen = 0, early = 0;
    for (u64 v = first; v < target; v += 2) {
      bool first_call = true;
      mine.wait_until([&] {
        const bool ready = p->token.load(std::memory_order_acquire) == v;
        if (first_call && !ready) ++seen;
        first_call = false;
        return ready;
      });
      if (p->token.load(std::memory_order_acquire) != v) ++early;
      p->token.store(v + 1, std::memory_order_release);
      theirs.notify();
    }
    waits_seen.fetch_add(seen);
    premature.fetch_add(early);
  };
  for (auto& pp : pairs) {
    pair_state* p = pp.get();
    // Thread "odd" moves the token from even to odd, "even" the other way.
    threads.emplace_back([p, &side] { side(p, 0, p->odd_waiter, p->even_waiter); });
    threads.emplace_back([p, &side] { side(p, 1, p->even_waiter, p->odd_waiter); });
  }
  for (auto& t : threads) t.join();
  done.store(true, std::memory_order_release);
  watchdog.join();

  result r;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  for (auto& p : pairs) {
    r.handoffs += p->token.load();
    for (const auto* w : {&p->odd_waiter, &p->even_waiter}) {
      const auto s = w->stats();
      r.parks += s.parks;
      r.wakes += s.wakes;
      r.polled += s.polled;
      r.yield_waits += s.yield_waits;
      r.waits += s.waits;
      for (u64 g : s.guarded) r.guarded += g;
    }
  }
  r.premature = premature.load();
  r.waits_seen = waits_seen.load();
  std::printf(
      "%llu hand-offs in %.2f s: %llu waits, %llu parks, %llu futex wakes, %llu polled, %llu yield-polled, %llu "
      "guarded\n",
      r.handoffs, r.seconds, r.waits, r.parks, r.wakes, r.polled, r.yield_waits, r.guarded);
  return r;
}

}  // namespace stress

#endif
