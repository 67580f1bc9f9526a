// SPDX-License-Identifier: GPL-2.0-only OR MIT
//
// lazyidle::waiter: lazy context switching in userspace (DESIGN §1, remedy 3).
//
//   lazyidle::waiter w;      // one waiting thread at a time, any number of notifiers
//   w.wait_until(pred);      // returns once pred() is true
//   w.notify();              // after making pred true; no syscall unless the waiter is parked
//
// A wait is a ski-rental decision (DESIGN §3). The waiter asks its governor
// for a poll budget p given its block cost B, polls pred() for up to p of
// wall time (pause instructions, the clock read every 8 of them), then parks
// on a futex. It learns B itself, online, by timing its own parks:
//
//   B = B_cpu + w * L      (ns; the currency every ratio it reports is in)
//   B_cpu  CPU of a park/unpark: the waiter thread's CPU time across
//          futex_wait (sampled every 16th park: that clock is a syscall) plus
//          the notifier's futex_wake time;
//   L      wake latency: from the notifier starting its wake to the waiter
//          running again;
//   w      latency weight (options, default 1.0).
//
// Both are EWMAs (1/8), so the bound of the policy (2 for break-even) holds
// against this machine's B, not a constant tuned somewhere else.
//
// It does not spin where spinning cannot help:
//   - the waiter is pinned to one CPU and the last notifier ran on that CPU
//     (hint written by notify(), read at wait entry; the affinity is re-read
//     every 256 waits): the notification cannot come while we spin, so the
//     poll budget is spent in sched_yield() instead of pause: the waiter
//     "becomes the idle task" and switches away whenever something is
//     runnable, the talk's default poll function. Two threads pinned to one
//     CPU then hand off with two yields and no futex call;
//   - the machine is oversubscribed (system_load.hpp): park at once. Neither
//     spinning nor yielding helps there: a thread that stays runnable waits
//     a whole time slice behind the other runnable threads (measured: ms of
//     wake latency), a parked one is woken with the scheduler's wakeup
//     preemption;
//   - the VM is losing time to steal: park at once.
//
// The park protocol (futex word = sequence << 1 | parked; checked for lost
// wakeups by tests/model/park.pml, explained in docs/waiter.md):
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
#ifndef LAZYIDLE_HOSTED_WAIT_HPP
#define LAZYIDLE_HOSTED_WAIT_HPP

#include <sched.h>

#include <atomic>
#include <new>
#include <utility>

#include <lazyidle/cost.hpp>
#include <lazyidle/lazyidle.hpp>

#include "clock.hpp"
#include "futex.hpp"
#include "system_load.hpp"

namespace lazyidle {

struct waiter_options {
  bool yield_when_notifier_shares_cpu = true;
  bool park_when_oversubscribed = true;
  bool park_when_stealing = true;
  duration_ns max_poll_ns = 1'000'000;       // no budget polls longer than this
  duration_ns min_block_cost_ns = 500;       // clamps on the learned B
  duration_ns max_block_cost_ns = 200'000;   // DESIGN §3 sweeps B up to 100 µs
  duration_ns initial_block_cpu_ns = 5'000;  // DESIGN §9 until measured
  duration_ns initial_wake_latency_ns = 10'000;
  u32 latency_weight_q10 = q10_one;  // w in B = B_cpu + w*L
  u32 cpu_sample_period = 16;        // parks per thread-CPU sample (a ~170 ns syscall pair)
};

struct waiter_stats {
  u64 waits = 0;        // waits that found pred() false on entry
  u64 polled = 0;       // of those, satisfied while polling
  u64 yield_waits = 0;  // waits that polled (budget > 0) with sched_yield: pinned, notifier on our CPU
  u64 steal_waits = 0;  // waits that parked at once because of steal
  u64 oversubscribed_waits = 0;     // waits that parked at once because runnable threads > CPUs
  u64 parks = 0;                    // futex_wait calls
  u64 wakes = 0;                    // futex_wake calls made by notifiers
  duration_ns block_cpu_ns = 0;     // current B_cpu estimate
  duration_ns wake_latency_ns = 0;  // current L estimate
  duration_ns block_cost_ns = 0;    // current B
  // Per-wait cost vs OPT (DESIGN §3), B as measured at each wait. `ledger`
  // holds the waits where the policy's budget was played (spin or yield);
  // `guarded_ledger` the waits a machine guard (steal, oversubscription)
  // forced to park at once: there the cost model's premise, that polling
  // only costs our own CPU, does not hold, and no policy bound applies.
  cost_ledger ledger{};
  cost_ledger guarded_ledger{};
};

namespace hosted {

// Shared by the waiter and its notifiers. All-zero bytes are a valid initial
// state, which the C API relies on (a zero-initialised struct works).
struct park_channel {
  static constexpr u32 parked_bit = 1u;
  static constexpr u32 sequence_step = 2u;

  std::atomic<u32> word{0};
  std::atomic<u32> notifier_cpu{0};     // last notifier's CPU + 1; 0 = unknown
  std::atomic<u64> notify_stamp_ns{0};  // when a notifier began waking a parked waiter
  std::atomic<u64> wake_syscall_ns{0};  // how long that futex_wake took
  std::atomic<u64> wakes{0};

  void notify() noexcept {
    const int cpu = sched_getcpu();  // rseq-backed in glibc >= 2.35: one load
    const u32 hint = cpu >= 0 ? static_cast<u32>(cpu) + 1u : 0u;
    if (notifier_cpu.load(std::memory_order_relaxed) != hint)
      notifier_cpu.store(hint, std::memory_order_relaxed);
    // The RMW orders the caller's write of pred before our look at PARKED
    // (see the protocol above). It is the only cost on the fast path.
    u32 value = word.fetch_or(0, std::memory_order_seq_cst);
    while (value & parked_bit) {
      const u64 started = hosted::monotonic_ns();
      notify_stamp_ns.store(started, std::memory_order_relaxed);
      if (word.compare_exchange_weak(value, (value + sequence_step) & ~parked_bit, std::memory_order_acq_rel,
                                     std::memory_order_relaxed)) {
        hosted::futex_wake(word, 1);
        wake_syscall_ns.store(hosted::monotonic_ns() - started, std::memory_order_relaxed);
        wakes.fetch_add(1, std::memory_order_relaxed);
        return;
      }
    }
  }
};

// The waiting side: governor, learned costs, statistics. Touched only by the
// thread that waits, so nothing here is atomic.
template <class Governor>
class wait_engine {
 public:
  using governor_type = Governor;

  explicit wait_engine(const waiter_options& options = {}, const Governor& governor = {})
      : governor_(governor),
        options_(options),
        block_cpu_ns_(options.initial_block_cpu_ns),
        wake_latency_ns_(options.initial_wake_latency_ns) {}

  duration_ns block_cost_ns() const {
    const duration_ns b = sat_add(block_cpu_ns_, scale_q10(wake_latency_ns_, options_.latency_weight_q10));
    return clamp_to(b, options_.min_block_cost_ns, options_.max_block_cost_ns);
  }

  template <class Predicate>
  void wait_until(park_channel& channel, Predicate&& pred) {
    if (pred()) return;
    const u64 start = hosted::monotonic_ns();
    const duration_ns block_cost = block_cost_ns();
    ++waits_;

    enum class mode { spin, yield, park } how = mode::spin;
    const u32 conditions = hosted::system_load::instance().conditions(start);
    if ((waits_ & 255u) == 1u) pinned_ = pinned_to_one_cpu();
    // An unpinned waiter that merely happens to share the notifier's CPU is
    // left alone: the scheduler moves a runnable notifier to an idle CPU.
    const int cpu = options_.yield_when_notifier_shares_cpu && pinned_ ? sched_getcpu() : -1;
    if (options_.park_when_stealing && (conditions & hosted::system_load::stealing)) {
      how = mode::park;
      ++steal_waits_;
    } else if (cpu >= 0 &&
               channel.notifier_cpu.load(std::memory_order_relaxed) == static_cast<u32>(cpu) + 1u) {
      // Before the oversubscription check: the notifier is known to be
      // runnable right here, so a yield most likely hands the CPU to the very
      // thread we wait for. (Parking instead measured 0.59-0.9x futex for a
      // pinned pair under load, yielding 0.68-1.40x: within this machine's
      // noise, and yielding needs no futex call.)
      how = mode::yield;
    } else if (options_.park_when_oversubscribed && (conditions & hosted::system_load::oversubscribed)) {
      how = mode::park;
      ++oversubscribed_waits_;
    }
    const governor_decision decision = governor_.select(block_cost, no_bound);
    const duration_ns budget = how == mode::park ? 0 : min_of(decision.poll_budget_ns, options_.max_poll_ns);
    if (how == mode::yield && budget > 0) ++yield_waits_;
    guarded_ = how == mode::park;

    if (budget > 0) {
      const u64 deadline = start + budget;
      u64 now = start;
      bool satisfied = false;
      if (how == mode::spin) {
        for (;;) {
          for (int i = 0; i < 8 && !satisfied; ++i) {
            hosted::cpu_relax();
            satisfied = pred();
          }
          now = hosted::monotonic_ns();
          if (satisfied || now >= deadline) break;
        }
      } else {
        for (;;) {
          sched_yield();
          satisfied = pred();
          now = hosted::monotonic_ns();
          if (satisfied || now >= deadline) break;
        }
      }
      if (satisfied) {
        ++polled_;
        finish(now - start, budget, block_cost);
        return;
      }
    }
    park(channel, std::forward<Predicate>(pred), start, budget, block_cost);
  }

  waiter_stats stats(const park_channel& channel) const {
    waiter_stats s;
    s.waits = waits_;
    s.polled = polled_;
    s.yield_waits = yield_waits_;
    s.steal_waits = steal_waits_;
    s.oversubscribed_waits = oversubscribed_waits_;
    s.parks = parks_;
    s.wakes = channel.wakes.load(std::memory_order_relaxed);
    s.block_cpu_ns = block_cpu_ns_;
    s.wake_latency_ns = wake_latency_ns_;
    s.block_cost_ns = block_cost_ns();
    s.ledger = ledger_;
    s.guarded_ledger = guarded_ledger_;
    return s;
  }

  const Governor& governor() const { return governor_; }
  const waiter_options& options() const { return options_; }

 private:
  template <class Predicate>
  void park(park_channel& channel, Predicate&& pred, u64 start, duration_ns budget, duration_ns block_cost) {
    for (;;) {
      channel.notify_stamp_ns.store(0, std::memory_order_relaxed);
      const u32 expected = channel.word.fetch_or(park_channel::parked_bit, std::memory_order_seq_cst) |
                           park_channel::parked_bit;
      if (pred()) {
        channel.word.fetch_and(~park_channel::parked_bit, std::memory_order_relaxed);
        finish(hosted::monotonic_ns() - start, budget, block_cost);
        return;
      }
      const bool sample_cpu = ++parks_since_cpu_sample_ >= options_.cpu_sample_period;
      const u64 cpu_before = sample_cpu ? hosted::thread_cpu_ns() : 0;
      ++parks_;
      hosted::futex_wait(channel.word, expected);
      const u64 cpu_after = sample_cpu ? hosted::thread_cpu_ns() : 0;
      const u64 woke = hosted::monotonic_ns();
      // Acquire: pairs with a notifier's CAS so pred() below sees its write
      // even when the notifier found PARKED already cleared by us.
      channel.word.fetch_and(~park_channel::parked_bit, std::memory_order_acq_rel);
      const u64 stamp = channel.notify_stamp_ns.load(std::memory_order_relaxed);
      if (stamp >= start && stamp <= woke) {
        // A notification ended this park: learn B from it.
        // Winsorised: one sample may at most double the estimate, so a single
        // descheduling (ms on a loaded machine) cannot make B, and with it
        // the poll budget, jump; a lasting rise still gets through in a few parks.
        const u64 latency = min_of(woke - stamp, sat_add(sat_mul(wake_latency_ns_, 2), 1000));
        wake_latency_ns_ = ewma_step(wake_latency_ns_, latency, 3);
        if (sample_cpu) {
          parks_since_cpu_sample_ = 0;
          const u64 waker = channel.wake_syscall_ns.load(std::memory_order_relaxed);
          const u64 cpu =
              min_of(sat_add(cpu_after - cpu_before, waker), sat_add(sat_mul(block_cpu_ns_, 2), 1000));
          block_cpu_ns_ = ewma_step(block_cpu_ns_, cpu, 3);
        }
      }
      if (pred()) {
        // The idle ended when the notifier acted, not when we got the CPU back.
        const u64 idle_end = (stamp >= start && stamp <= woke) ? stamp : woke;
        finish(idle_end - start, budget, block_cost);
        return;
      }
    }
  }

  static bool pinned_to_one_cpu() {
    cpu_set_t set;
    CPU_ZERO(&set);
    return sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) == 1;
  }

  void finish(duration_ns idle_ns, duration_ns budget, duration_ns block_cost) {
    governor_.reflect(idle_ns);
    (guarded_ ? guarded_ledger_ : ledger_).add(idle_ns, budget, block_cost);
  }

  Governor governor_;
  waiter_options options_;
  duration_ns block_cpu_ns_;
  duration_ns wake_latency_ns_;
  u32 parks_since_cpu_sample_ = 0;
  u64 waits_ = 0;
  u64 polled_ = 0;
  u64 yield_waits_ = 0;
  u64 steal_waits_ = 0;
  u64 oversubscribed_waits_ = 0;
  u64 parks_ = 0;
  cost_ledger ledger_{};
  cost_ledger guarded_ledger_{};
  bool guarded_ = false;
  bool pinned_ = false;  // the current wait was forced to park by a machine guard
};

}  // namespace hosted

// One waiting thread at a time; notify() from any thread. Governor selects
// predictor and poll policy (governor<Predictor, Policy>); the default is the
// library's (lazyidle.hpp).
template <class Governor = default_governor>
class basic_waiter {
 public:
  using governor_type = Governor;

  basic_waiter() = default;
  explicit basic_waiter(const waiter_options& options, const Governor& governor = {})
      : engine_(options, governor) {}
  basic_waiter(const basic_waiter&) = delete;
  basic_waiter& operator=(const basic_waiter&) = delete;

  // Returns once pred() is true. pred is called repeatedly, from this thread.
  template <class Predicate>
  void wait_until(Predicate&& pred) {
    engine_.wait_until(channel_, std::forward<Predicate>(pred));
  }

  // Call after making pred true. Lock-free; a system call only when the
  // waiter is parked.
  void notify() noexcept { channel_.notify(); }

  // Read from the waiting thread, or after it has been joined.
  waiter_stats stats() const { return engine_.stats(channel_); }
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

}  // namespace lazyidle

#endif
