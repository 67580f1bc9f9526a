// SPDX-License-Identifier: GPL-2.0-only OR MIT
//
// lazyidle::waiter and lazyidle::event: lazy context switching in
// userspace (DESIGN §1, remedy 3).
//
//   lazyidle::waiter w;      // one waiting thread at a time, any number of notifiers
//   w.wait_until(pred);      // returns once pred() is true
//   w.wait_for(pred, 5ms);   // ... or false once 5 ms have passed with pred() false
//   w.notify();              // after making pred true; no syscall unless the waiter is parked
//
//   lazyidle::event e;       // the library owns the flag
//   e.wait();  e.set();      // the waiter may destroy e as soon as wait() returns
//
// A wait is a ski-rental decision (DESIGN §3) made by the hosted wait
// engine (wait_engine.hpp): poll pred() for the governor's budget against
// a block cost B the waiter measures itself (pause instructions, the clock
// read every 8 of them; sched_yield() instead when the waiter is pinned and
// the notifier last ran on its CPU), then park on a futex. B is learned from
// the parks themselves:
//
//   B = B_cpu + min(w * L, B_cpu / 4)   (ns; the currency of its ratios)
//   B_cpu  CPU of a park/unpark: the waiter thread's CPU time across
//          futex_wait (sampled every 16th park: that clock is a syscall) plus
//          a notifier's futex_wake time (the previous one it made: see notify());
//   L      wake latency: from the notifier's stamp just before its wake to
//          the waiter running again;
//   w      latency weight (options, default 1.0), its credit capped (options).
// Only parks that really slept, and about as long as B decides, teach it
// (wait_engine.hpp, "Which blocks teach B").
//
// Lifetimes. notify() reads and writes the waiter's channel, so a waiter
// (and a lazyidle_idle_poll_info) must outlive every notify() call on it:
// with a predicate the caller owns, the waiter may see it true and return
// before the notifier has even entered notify(), and nothing in the waiter
// can know. lazyidle::event, where the library owns the flag, follows the
// rule of the fix to glibc's sem_post (bug 12674): set() publishes the flag
// with the same read-modify-write that finds out whether the waiter is
// parked, and after that touches nothing of the event but the futex_wake
// system call, which is harmless on freed memory. So an event may be
// destroyed as soon as wait() returns (tests/unit/test_waiter_lifetime.cpp,
// under ASan). notify() likewise writes nothing of the channel after its
// wake: its own futex_wake time is kept thread-locally and published at the
// notifier's next wake, as a lagged sample.
//
// The park protocol (futex word = sequence << 1 | parked; bit 31 is an
// event's flag; checked for lost wakeups by tests/model/park.pml,
// explained in docs/waiter.md):
//
//   waiter                              notifier
//   w = word.fetch_or(PARKED) | PARKED   (makes pred true)
//   if pred(): clear PARKED, done        v = word.fetch_or(0)       // RMW, seq_cst
//   futex_wait(word, w)                  if v & PARKED:
//   word.fetch_and(~PARKED)                CAS(word, v, (v+2) & ~PARKED); futex_wake
//   re-check pred, park again if false
//
// The two read-modify-writes on the same word are totally ordered: either
// the notifier's comes after the waiter's (it sees PARKED and changes the
// word, so futex_wait cannot sleep on the old value) or before (the waiter's
// RMW then synchronises with it and its pred() sees the notifier's write).
// No fences are needed, so ThreadSanitizer models it exactly.
//
// Process-shared: with waiter_options::process_shared the futex calls use
// the shared form, so a waiter placed in MAP_SHARED memory can be notified
// from another process (without it, such a wake-up would be lost: private
// futexes are keyed by the address space).
#ifndef LAZYIDLE_HOSTED_WAIT_HPP
#define LAZYIDLE_HOSTED_WAIT_HPP

#include <errno.h>
#include <sched.h>

#include <atomic>
#include <chrono>
#include <utility>

#include <lazyidle/cost.hpp>
#include <lazyidle/lazyidle.hpp>

#include "clock.hpp"
#include "futex.hpp"
#include "system_load.hpp"
#include "wait_engine.hpp"

namespace lazyidle {
namespace hosted {

// The notifying thread's last futex_wake time, published at its next wake.
inline thread_local u64 last_futex_wake_ns = 0;

// Shared by the waiter and its notifiers. All-zero bytes are a valid initial
// state, which the C API relies on (a zero-initialised struct works).
struct park_channel {
  static constexpr u32 parked_bit = 1u;
  static constexpr u32 sequence_step = 2u;
  static constexpr u32 flag_bit = 1u << 31;  // lazyidle::event's flag; never part of the sequence

  std::atomic<u32> word{0};
  std::atomic<u32> notifier_cpu{0};     // last notifier's CPU + 1; 0 = unknown
  std::atomic<u64> notify_stamp_ns{0};  // when a notifier began waking a parked waiter
  std::atomic<u64> wake_syscall_ns{0};  // a notifier's previous futex_wake time (lagged sample)
  u32 shared = 0;                       // 1: process-shared futex; fixed before first use

  void note_notifier_cpu() noexcept {
    const int cpu = sched_getcpu();  // rseq-backed in glibc >= 2.35: one load
    const u32 hint = cpu >= 0 ? static_cast<u32>(cpu) + 1u : 0u;
    if (notifier_cpu.load(std::memory_order_relaxed) != hint) notifier_cpu.store(hint, std::memory_order_relaxed);
  }

  // After the caller made its predicate true.
  void notify() noexcept {
    const bool is_shared = shared != 0;
    note_notifier_cpu();
    // The RMW orders the caller's write of pred before our look at PARKED
    // (see the protocol above). It is the only cost on the fast path.
    u32 value = word.fetch_or(0, std::memory_order_seq_cst);
    while (value & parked_bit) {
      const u64 started = monotonic_ns();
      notify_stamp_ns.store(started, std::memory_order_relaxed);
      wake_syscall_ns.store(last_futex_wake_ns, std::memory_order_relaxed);
      const u32 next = (((value + sequence_step) & ~(parked_bit | flag_bit)) | (value & flag_bit));
      if (word.compare_exchange_weak(value, next, std::memory_order_acq_rel, std::memory_order_relaxed)) {
        futex_wake(word, 1, is_shared);
        last_futex_wake_ns = monotonic_ns() - started;  // thread-local: the channel is not touched again
        return;
      }
    }
  }

  // lazyidle::event's set(): publish the flag and learn whether the waiter
  // is parked in one RMW; after it, only the futex_wake (see the top).
  void publish_flag_and_wake() noexcept {
    const bool is_shared = shared != 0;
    u32 value = word.load(std::memory_order_relaxed);
    if (value & flag_bit) return;  // already set: whoever set it woke the waiter
    note_notifier_cpu();
    u64 started = 0;
    if (value & parked_bit) {  // before the publication, so the waiter is still waiting
      started = monotonic_ns();
      notify_stamp_ns.store(started, std::memory_order_relaxed);
      wake_syscall_ns.store(last_futex_wake_ns, std::memory_order_relaxed);
    }
    value = word.fetch_or(flag_bit, std::memory_order_seq_cst);
    if (value & parked_bit) {
      futex_wake(word, 1, is_shared);
      if (started) last_futex_wake_ns = monotonic_ns() - started;
    }
  }
};

// One wait on a channel: poll, then park, with the engine's decisions.
// deadline_ns: CLOCK_MONOTONIC ns, or no_bound. True once pred() holds;
// false when the deadline passed first.
template <class Governor, class Predicate>
bool wait_on(wait_engine<Governor>& engine, park_channel& channel, Predicate&& pred, u64 deadline_ns = no_bound) {
  if (pred()) return true;
  const u64 start = monotonic_ns();
  if (deadline_ns != no_bound && start >= deadline_ns) return pred();
  shared_cpu here = shared_cpu::no;
  if (engine.options().yield_when_notifier_shares_cpu && engine.pinned_to_one_cpu()) {
    // An unpinned waiter that merely happens to share the notifier's CPU is
    // left alone: the scheduler moves a runnable notifier to an idle CPU.
    const int cpu = sched_getcpu();
    if (cpu >= 0 && channel.notifier_cpu.load(std::memory_order_relaxed) == static_cast<u32>(cpu) + 1u)
      here = engine.yielding_allowed() ? shared_cpu::yield : shared_cpu::park;
  }
  wait_plan plan = engine.plan(start, deadline_ns == no_bound ? no_bound : deadline_ns - start, here);
  u64 now = start;
  if (plan.budget_ns > 0) {
    const u64 poll_deadline = min_of(sat_add(start, plan.budget_ns), deadline_ns);
    bool satisfied = false;
    if (plan.mode == poll_mode::spin) {
      for (;;) {
        for (int i = 0; i < 8 && !satisfied; ++i) {
          cpu_relax();
          satisfied = pred();
        }
        now = monotonic_ns();
        if (satisfied || now >= poll_deadline) break;
      }
    } else {
      // A yield hands the CPU to the notifier only if it is runnable here.
      // One that is asleep (a producer between posts, waiting for its
      // timer) is not, and a waiter that keeps yielding only spins in the
      // scheduler and delays that timer's wake-up: measured pinned at 20 us
      // gaps, p50 10.7 us against futex's 1.1 us. A pinned ping-pong needs
      // one yield per hand-off; after yield_rounds that found nothing, park.
      // And a yield can hand the CPU to a thread that does not give it back
      // for a whole slice (a producer behind its schedule posting back to
      // back: measured 1.4-4 ms inside one sched_yield on Linux 6.18): after
      // a yield that long the engine stops yielding for a while.
      bool long_yield = false;
      for (u32 round = 1;; ++round) {
        const u64 before = monotonic_ns();  // the yield alone, not plan()'s sampling before it
        sched_yield();
        satisfied = pred();
        now = monotonic_ns();
        long_yield = long_yield || now - before > engine.options().long_yield_ns;
        if (satisfied || now >= poll_deadline || round >= engine.options().yield_rounds) break;
      }
      if (long_yield)
        engine.note_long_yield();
      else if (satisfied)
        engine.note_yield_caught();
    }
    if (satisfied) {
      engine.finish(plan, now - start, wait_end::caught, now - start, 0, 0, now);
      return true;
    }
    engine.end_poll(plan);
    if (deadline_ns != no_bound && now >= deadline_ns) {
      engine.finish(plan, now - start, wait_end::timed_out, now - start, 0, 0, now);
      return false;
    }
  }
  const duration_ns polled = now - start;
  const bool is_shared = channel.shared != 0;
  u32 blocks = 0;
  for (;;) {
    channel.notify_stamp_ns.store(0, std::memory_order_relaxed);
    const u32 expected =
        channel.word.fetch_or(park_channel::parked_bit, std::memory_order_seq_cst) | park_channel::parked_bit;
    if (pred()) {
      channel.word.fetch_and(~park_channel::parked_bit, std::memory_order_relaxed);
      now = monotonic_ns();
      engine.finish(plan, now - start, blocks ? wait_end::woken : wait_end::other, polled, blocks, 0, now);
      return true;
    }
    const bool sample_cpu = engine.sample_cpu_now(plan);
    const u64 cpu_before = sample_cpu ? thread_cpu_ns() : 0;
    const u64 park_start = sample_cpu ? monotonic_ns() : 0;
    engine.count_block();
    ++blocks;
    // 0: the thread slept and was woken (or woke spuriously); -1: EAGAIN,
    // the word moved before we slept, or the deadline passed. Only a sleep
    // teaches B: a futex call that returned at once costs a syscall, not a
    // park, and would bias B low.
    const long slept = deadline_ns == no_bound ? futex_wait(channel.word, expected, is_shared)
                                               : futex_wait_until(channel.word, expected, deadline_ns, is_shared);
    const u64 cpu_after = sample_cpu ? thread_cpu_ns() : 0;
    const u64 woke = monotonic_ns();
    // Acquire: pairs with a notifier's CAS so pred() below sees its write
    // even when the notifier found PARKED already cleared by us.
    channel.word.fetch_and(~park_channel::parked_bit, std::memory_order_acq_rel);
    const u64 stamp = channel.notify_stamp_ns.load(std::memory_order_relaxed);
    const bool notified = stamp >= start && stamp <= woke;
    if (notified) {
      // A notification ended this park: learn B from it, if it slept about
      // as long as the idles B decides (wait_engine.hpp, "Which blocks
      // teach B"). The latency is judged by the park's sleep alone.
      engine.count_wake();
      if (slept == 0 && engine.teaches_block_cost(stamp - min_of(stamp, plan.start_ns + polled))) {
        engine.learn_wake_latency(woke - stamp);
        if (sample_cpu && engine.teaches_block_cost(stamp - min_of(stamp, park_start)))
          engine.learn_block_cpu(
              sat_add(cpu_after - cpu_before, channel.wake_syscall_ns.load(std::memory_order_relaxed)), woke);
      }
    }
    if (pred()) {
      // The idle ended when the notifier acted, not when we got the CPU back.
      const u64 idle_end = notified ? stamp : woke;
      engine.finish(plan, idle_end - start, wait_end::woken, polled, blocks, idle_end, woke);
      return true;
    }
    if (deadline_ns != no_bound && woke >= deadline_ns) {
      engine.finish(plan, woke - start, wait_end::timed_out, polled, blocks, woke, woke);
      return false;
    }
  }
}

inline u64 steady_to_monotonic_ns(std::chrono::steady_clock::time_point t) {
  // libstdc++'s steady_clock is CLOCK_MONOTONIC; clamp the past to 0.
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  return ns > 0 ? static_cast<u64>(ns) : 0;
}

template <class Rep, class Period>
u64 deadline_after(const std::chrono::duration<Rep, Period>& timeout) {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(timeout).count();
  return ns <= 0 ? monotonic_ns() : sat_add(monotonic_ns(), static_cast<u64>(ns));
}

}  // namespace hosted

// One waiting thread at a time; notify() from any thread. Governor selects
// predictor and poll policy (governor<Predictor, Policy>); the default is the
// library's (lazyidle.hpp). Must outlive every notify() on it (see the top).
template <class Governor = default_governor>
class basic_waiter {
 public:
  using governor_type = Governor;

  basic_waiter() = default;
  explicit basic_waiter(const waiter_options& options, const Governor& governor = {})
      : engine_(options, governor) {
    channel_.shared = options.process_shared ? 1u : 0u;
  }
  basic_waiter(const basic_waiter&) = delete;
  basic_waiter& operator=(const basic_waiter&) = delete;

  // Returns once pred() is true. pred is called repeatedly, from this thread.
  template <class Predicate>
  void wait_until(Predicate&& pred) {
    hosted::wait_on(engine_, channel_, std::forward<Predicate>(pred));
  }
  // The same with a deadline: true once pred() is true, false when the
  // deadline passed with pred() still false.
  template <class Predicate>
  bool wait_until(Predicate&& pred, std::chrono::steady_clock::time_point deadline) {
    return hosted::wait_on(engine_, channel_, std::forward<Predicate>(pred), hosted::steady_to_monotonic_ns(deadline));
  }
  template <class Predicate, class Rep, class Period>
  bool wait_for(Predicate&& pred, const std::chrono::duration<Rep, Period>& timeout) {
    return hosted::wait_on(engine_, channel_, std::forward<Predicate>(pred), hosted::deadline_after(timeout));
  }

  // Call after making pred true. Lock-free; a system call only when the
  // waiter is parked.
  void notify() noexcept { channel_.notify(); }

  // Read from the waiting thread, or after it has been joined.
  waiter_stats stats() const { return engine_.stats(); }
  duration_ns block_cost_ns() const { return engine_.block_cost_ns(); }
  const Governor& governor() const { return engine_.governor(); }

 private:
  // The channel is written by notifiers; keep it off the engine's line.
  alignas(64) hosted::park_channel channel_{};
  alignas(64) hosted::wait_engine<Governor> engine_{};
};

using waiter = basic_waiter<>;

// waiter_with<Policy>: another poll policy, with the predictor that suits it.
template <class Policy, class Predictor = default_predictor_for_t<Policy>>
using waiter_with = basic_waiter<governor<Predictor, Policy>>;

// A flag the library owns: set() from any thread, wait() from one. Unlike a
// waiter, it may be destroyed as soon as wait() returns (see the top).
template <class Governor = default_governor>
class basic_event {
 public:
  basic_event() = default;
  explicit basic_event(const waiter_options& options, const Governor& governor = {}) : engine_(options, governor) {
    channel_.shared = options.process_shared ? 1u : 0u;
  }
  basic_event(const basic_event&) = delete;
  basic_event& operator=(const basic_event&) = delete;

  bool is_set() const noexcept {
    return (channel_.word.load(std::memory_order_acquire) & hosted::park_channel::flag_bit) != 0;
  }
  void set() noexcept { channel_.publish_flag_and_wake(); }
  // Only while no one waits (the waiter's own thread, after wait() returned).
  void reset() noexcept { channel_.word.fetch_and(~hosted::park_channel::flag_bit, std::memory_order_relaxed); }

  void wait() {
    hosted::wait_on(engine_, channel_, [this] { return is_set(); });
  }
  bool wait_until(std::chrono::steady_clock::time_point deadline) {
    return hosted::wait_on(engine_, channel_, [this] { return is_set(); }, hosted::steady_to_monotonic_ns(deadline));
  }
  template <class Rep, class Period>
  bool wait_for(const std::chrono::duration<Rep, Period>& timeout) {
    return hosted::wait_on(engine_, channel_, [this] { return is_set(); }, hosted::deadline_after(timeout));
  }

  waiter_stats stats() const { return engine_.stats(); }

 private:
  alignas(64) hosted::park_channel channel_{};
  alignas(64) hosted::wait_engine<Governor> engine_{};
};

using event = basic_event<>;

}  // namespace lazyidle

#endif
