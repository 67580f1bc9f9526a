// SPDX-License-Identifier: GPL-2.0-only OR MIT
//
// The hosted wait engine: one thread's ski-rental decisions (DESIGN §3),
// whatever it blocks in. lazyidle::waiter blocks in a futex (wait.hpp); the
// preload library blocks in the program's own epoll_wait/poll/recv. Both
// ask the engine the same two questions:
//
//   plan(now, bound)   how to spend this wait: poll for a budget (spinning,
//                      or yielding when the notifier shares our CPU), or
//                      block at once because a guard says polling cannot
//                      pay here; the budget is the governor's answer for
//                      the B this engine has measured;
//   finish(...)        the idle was y, it was caught while polling or not:
//                      teach the governor, account the cost, feed the guards.
//
// and feed it what real blocks cost (learn_block_cpu, learn_wake_latency),
// so that B is this machine's and this process's, not a constant.
//
// Which blocks teach B. What a park costs grows with how long it slept: on
// this project's 2-vCPU VMs a futex park and wake cost the waiting thread
// 2 us of CPU at 5 us gaps and 43 us at 2 ms (an idle vCPU halts, and
// coming back from a halt is slow and cache-cold). Ski rental compares
// polling with blocking for idles near the break-even point, so B must be
// the cost of a block about that long: only parks that slept at most
// max(4 B, 20 us) teach it (teaches_block_cost). When polling catches
// every wait there are no such parks, and a B learned earlier from long
// ones would keep the governor polling idles that blocking serves more
// cheaply; so at most once per 100 ms (and 64 waits) without a teaching
// park, a wait that would have polled blocks at once instead (guard
// `explore`), and its park is timed. Only a park that really slept teaches:
// a futex_wait that returned at once (the word had moved) cost a syscall.
//
// Guards, in the order they are asked (each one forces budget 0, a block at
// once, and is counted in the stats and the trace); none is asked when the
// governor's budget is 0 already:
//   steal            the VM loses > 1/8 of its time to steal (system_load);
//   oversubscribed   more runnable threads than online CPUs (system_load);
//   throttled        the cgroup's cpu.max quota ran out in the last second;
//   shared_cpu       the notifier shares our CPU (then polling means
//                    sched_yield, wait.hpp) and yielding is backed off after
//                    a yield that lost the CPU for more than 100 us;
//   contended        this thread's own run delay grew by > 1/8 of a 16 ms
//                    window: someone wants its CPU (thread_contention);
//   backoff          polling stopped catching: after 32 polled waits in a
//                    row ended in a block, skip polling for 1 wait, then 2,
//                    4 ... 1024 after each further miss, until one catches;
//   poll_share       fruitless polling took more than 1/8 of a CPU over the
//                    last 100 ms window (waiter_options::max_fruitless_poll_share_q10);
//   explore          no park taught B for 100 ms: this one wait blocks so
//                    that one does (above);
//   pollers          usable_cpus() threads of this process poll already
//                    (affinity mask, cgroup quota).
// The governor is still consulted on a guarded wait and still learns its
// idle: it is taught the outcome of the budget it chose (its own
// counterfactual), so its savings account against break-even stays its own.
// Guarded waits go to a separate cost ledger: there polling would cost
// someone else's CPU, which is outside the cost model, and no bound applies.
//
// Cold start: a new engine takes B from the process's estimate and its
// governor from the process's prior (process_state.hpp).
#ifndef LAZYIDLE_HOSTED_WAIT_ENGINE_HPP
#define LAZYIDLE_HOSTED_WAIT_ENGINE_HPP

#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <type_traits>

#include <lazyidle/cost.hpp>
#include <lazyidle/lazyidle.hpp>

#include "clock.hpp"
#include "process_state.hpp"
#include "system_load.hpp"
#include "thread_contention.hpp"

namespace lazyidle {

enum class poll_mode : u8 { spin, yield, block };

enum class wait_guard : u8 {
  none,
  steal,
  oversubscribed,
  throttled,
  contended,
  pollers,
  backoff,
  poll_share,
  shared_cpu,
  explore,
};

inline const char* guard_name(wait_guard guard) {
  switch (guard) {
    case wait_guard::none: return "none";
    case wait_guard::steal: return "steal";
    case wait_guard::oversubscribed: return "oversubscribed";
    case wait_guard::throttled: return "throttled";
    case wait_guard::contended: return "contended";
    case wait_guard::pollers: return "pollers";
    case wait_guard::backoff: return "backoff";
    case wait_guard::poll_share: return "poll_share";
    case wait_guard::shared_cpu: return "shared_cpu";
    case wait_guard::explore: return "explore";
  }
  return "?";
}
inline constexpr unsigned wait_guard_count = 10;

// The notifier runs on this waiter's CPU (the waiter is pinned there and the
// last notify came from it): polling cannot see it arrive. yield: hand the
// CPU over with sched_yield(); park: yielding is backed off, block at once.
enum class shared_cpu : u8 { no, yield, park };

// How a wait ended.
enum class wait_end : u8 {
  caught,     // while polling: no block, no wake-up
  woken,      // blocked, then woken by the event
  timed_out,  // the caller's deadline passed first
  other,      // blocked and returned for another reason (signal, error, spurious)
};

// One wait, for waiter_options::trace (docs/waiter.md: how to read one).
struct wait_record {
  u64 start_ns = 0;     // the wait began (predicate found false)
  u64 idle_end_ns = 0;  // the event happened (the notifier's stamp when known)
  u64 end_ns = 0;       // the wait returned
  u32 budget_ns = 0;    // poll budget played (0: blocked at once)
  u32 block_cost_ns = 0;
  u32 polled_ns = 0;    // time actually spent polling
  u16 blocks = 0;       // futex_wait (or blocking-call) entries
  poll_mode mode = poll_mode::spin;
  wait_guard guard = wait_guard::none;
  wait_end end = wait_end::caught;
};

// A ring of wait records the caller owns; the engine appends, never allocates.
struct wait_trace {
  wait_record* records = nullptr;
  u64 capacity = 0;
  u64 count = 0;  // records written so far (the ring holds the last `capacity`)
  void add(const wait_record& r) {
    if (capacity) records[count % capacity] = r;
    ++count;
  }
};

struct waiter_options {
  bool yield_when_notifier_shares_cpu = true;
  u32 yield_rounds = 2;  // sched_yield()s per wait in yield mode before parking
  duration_ns long_yield_ns = 100'000;  // a yield this long stops yielding for 2^k waits (k grows per long yield)
  bool park_when_oversubscribed = true;  // also throttled, contended and the poller limit
  bool park_when_stealing = true;
  bool back_off_when_polls_miss = true;
  duration_ns max_poll_ns = 1'000'000;  // no budget polls longer than this
  u32 max_fruitless_poll_share_q10 = q10_one / 8;
  duration_ns min_block_cost_ns = 500;  // clamps on the learned B
  duration_ns max_block_cost_ns = 200'000;
  // Seeds for B's two parts; 0 = the process's current estimate.
  duration_ns initial_block_cpu_ns = 0;
  duration_ns initial_wake_latency_ns = 0;
  u32 latency_weight_q10 = q10_one;  // w in B = B_cpu + min(w*L, credit*B_cpu)
  // The most the latency a caught wait saves may add to B, as a fraction
  // of B_cpu: with 1/4, B (the governor's break-even point, not a cap on
  // any one poll: policies may poll a multiple of B) is at most 5/4 of the
  // CPU a futex park and wake costs, however slow wake-ups are
  // (docs/waiter.md, "Currency"). u32_max: no cap (B = B_cpu + w*L, the
  // preload library's choice, where a request's latency is its throughput).
  u32 max_latency_credit_q10 = q10_one / 4;
  u32 cpu_sample_period = 16;        // blocks per thread-CPU sample (a ~190 ns syscall pair)
  // Parks that slept at most max(short_park_factor * B, short_park_floor_ns)
  // teach B; explore_period_ns without one, a wait that would poll blocks
  // to get one (0: never explore).
  u32 short_park_factor = 4;
  duration_ns short_park_floor_ns = 20'000;
  duration_ns explore_period_ns = 100'000'000;
  u32 explore_min_waits = 64;  // ... and at least this many waits that would poll since the last
  bool start_from_process_prior = true;
  bool publish_to_process_prior = true;
  bool process_shared = false;       // waiter/event in MAP_SHARED memory, notified from other processes
  wait_trace* trace = nullptr;       // per-wait records, when set
};

struct waiter_stats {
  u64 waits = 0;        // waits that found the predicate false on entry
  u64 polled = 0;       // of those, satisfied while polling
  u64 yield_waits = 0;  // waits that polled (budget > 0) with sched_yield: pinned, notifier on our CPU
  u64 guarded[wait_guard_count] = {};  // waits a guard sent to block at once, by guard
  u64 steal_waits = 0;                 // = guarded[steal]
  u64 oversubscribed_waits = 0;        // = guarded[oversubscribed]
  u64 timed_out = 0;    // timed waits that ended at their deadline
  u64 parks = 0;        // blocking calls (futex_wait)
  u64 wakes = 0;        // parks ended by a notifier's wake
  u64 prior_adopted = 0;  // 1 when this engine started from the process's prior
  duration_ns poll_ns = 0;          // time spent polling, caught or not
  duration_ns fruitless_poll_ns = 0;  // of it, polls that ended in a block
  duration_ns block_cpu_ns = 0;     // current B_cpu estimate
  duration_ns wake_latency_ns = 0;  // current L estimate
  duration_ns block_cost_ns = 0;    // current B
  // Per-wait cost vs OPT (DESIGN §3), B as measured at each wait: `ledger`
  // holds the waits where the policy's budget was played, `guarded_ledger`
  // those a guard forced to block at once.
  cost_ledger ledger{};
  cost_ledger guarded_ledger{};
};

// The decision for one wait.
struct wait_plan {
  u64 start_ns = 0;
  duration_ns budget_ns = 0;
  duration_ns block_cost_ns = 0;
  poll_mode mode = poll_mode::spin;
  wait_guard guard = wait_guard::none;
  bool holds_poller_slot = false;
  bool counted_towards_explore = false;  // explore_min_waits counted this wait
  // An exploring plan: the explore clock and count it reset, for withdraw().
  u64 explore_was_last_ns = 0;
  u32 explore_was_waits = 0;
};

namespace hosted {

namespace detail {
template <class Policy>
concept limits_allowance = requires(Policy& p, duration_ns ns) { p.limit_allowance(ns); };
}  // namespace detail

template <class Governor>
class wait_engine {
 public:
  using governor_type = Governor;
  static constexpr u32 miss_streak_to_back_off = 32;
  static constexpr u32 max_backoff_shift = 10;  // 1024 waits
  static constexpr u64 share_window_ns = 100'000'000;
  static constexpr u64 prior_publish_period = 64;
  static constexpr duration_ns inherited_allowance_in_b = 2;

  explicit wait_engine(const waiter_options& options = {}, const Governor& governor = {})
      : governor_(governor),
        options_(options),
        block_cpu_ns_(options.initial_block_cpu_ns ? options.initial_block_cpu_ns : process_block_cost.cpu_ns()),
        wake_latency_ns_(options.initial_wake_latency_ns ? options.initial_wake_latency_ns
                                                         : process_block_cost.latency_ns()) {
    if constexpr (std::is_trivially_copyable_v<Governor> && std::is_default_constructible_v<Governor>) {
      if (options.start_from_process_prior) {
        Governor prior;
        if (process_prior<Governor>.read(prior)) {
          governor_ = prior;
          if constexpr (detail::limits_allowance<typename Governor::policy_type>)
            governor_.policy().limit_allowance(sat_mul(block_cost_ns(), inherited_allowance_in_b));
          prior_adopted_ = 1;
        }
      }
    }
  }

  duration_ns block_cost_ns() const {
    duration_ns credit = scale_q10(wake_latency_ns_, options_.latency_weight_q10);
    if (options_.max_latency_credit_q10 != u32_max)
      credit = min_of(credit, scale_q10(block_cpu_ns_, options_.max_latency_credit_q10));
    return clamp_to(sat_add(block_cpu_ns_, credit), options_.min_block_cost_ns, options_.max_block_cost_ns);
  }

  // bound_ns: the wait ends by then at the latest (a timeout), or no_bound.
  // here: whether the event must come from a thread on this very CPU (the
  // waiter's hint), so that polling can only mean yielding, or nothing.
  wait_plan plan(u64 now_ns, duration_ns bound_ns = no_bound, shared_cpu here = shared_cpu::no) {
    wait_plan p;
    p.start_ns = now_ns;
    p.block_cost_ns = block_cost_ns();
    ++waits_;
    const governor_decision decision = governor_.select(p.block_cost_ns, bound_ns);
    p.budget_ns = min_of(decision.poll_budget_ns, options_.max_poll_ns);
    if (p.budget_ns == 0) {
      // Nothing to guard: the machine is sampled only for waits that want
      // to poll (at 20 ms gaps sampling on every wait cost 25 us of CPU per
      // message, bench_regimes), and a long wait learns nothing from it.
      p.mode = poll_mode::block;
      return p;
    }
    const u32 conditions = system_load::instance().conditions(now_ns);
    const pthread_t self = pthread_self();
    if (!pthread_equal(self, owner_)) {
      owner_ = self;
      contention_.restart();
    }
    const bool machine_busy = options_.park_when_oversubscribed &&
                              (conditions & (system_load::oversubscribed | system_load::throttled));
    if (options_.park_when_stealing && (conditions & system_load::stealing))
      p.guard = wait_guard::steal;
    else if (machine_busy)
      // Before the shared-CPU rule: on a busy machine a yield hands the CPU
      // to a stranger for a slice, not to the notifier (pinned pair, load
      // 12 on 2 CPUs: yielding 0.62x futex at gap 0, p50 17x futex at
      // 20 us gaps, bench_regimes).
      p.guard = (conditions & system_load::oversubscribed) ? wait_guard::oversubscribed : wait_guard::throttled;
    else if (here == shared_cpu::park)
      p.guard = wait_guard::shared_cpu;
    else if (here == shared_cpu::yield)
      // Before the contention guard, which a pinned pair trips by itself:
      // the notifier is known to run right here, so a yield most likely
      // hands the CPU to the very thread we wait for, with no futex call.
      p.mode = poll_mode::yield;
    else if (options_.park_when_oversubscribed && contention_.contended(now_ns))
      p.guard = wait_guard::contended;
    if (p.guard == wait_guard::none && p.mode == poll_mode::spin) {
      if (now_ns - share_window_start_ns_ >= share_window_ns) {
        share_window_start_ns_ = now_ns;
        fruitless_in_window_ns_ = 0;
      }
      if (options_.back_off_when_polls_miss && backoff_remaining_ > 0) {
        --backoff_remaining_;
        p.guard = wait_guard::backoff;
      } else if (fruitless_in_window_ns_ > scale_q10(share_window_ns, options_.max_fruitless_poll_share_q10)) {
        p.guard = wait_guard::poll_share;
      } else {
        p.counted_towards_explore = options_.explore_period_ns != 0;
        const u64 last_explore_before = last_explore_ns_;
        const u32 waits_before = waits_since_explore_;
        if (explore_due(now_ns, bound_ns)) {
          p.guard = wait_guard::explore;
          p.explore_was_last_ns = last_explore_before;
          p.explore_was_waits = waits_before + 1;  // explore_due counted this wait before resetting
        }
        else if (options_.park_when_oversubscribed && !system_load::instance().try_enter_poll())
          p.guard = wait_guard::pollers;
        else
          p.holds_poller_slot = options_.park_when_oversubscribed;
      }
    }
    if (p.guard != wait_guard::none) {
      p.mode = poll_mode::block;
      p.budget_ns = 0;
      ++guarded_[static_cast<unsigned>(p.guard)];
    } else if (p.mode == poll_mode::yield) {
      ++yield_waits_;
    }
    return p;
  }

  // A plan made before the caller knew the call would wait (the preload's
  // block-first path) for a call that turned out not to: it was never a
  // wait, so what plan() counted is taken back — the wait, the guard's
  // count, the back-off step it used up, its step towards the next exploring
  // block (explore_min_waits) and, for an exploring plan, the explore clock
  // and count it reset, so the next wait explores instead of one a period
  // later. Only for a plan that blocks at once and holds no poller slot,
  // and only directly after its plan(): an exploring plan's restore would
  // undo the waits counted by plans made in between.
  // withdrawable() still leaves exploring plans out: the preload tries
  // first there (its block must sleep to teach), then withdraws the plan
  // if the try found the call ready. The governor's record of its decision
  // is simply overwritten by the next select; no policy counts selects
  // (budget() is const in every policy the preload runs).
  void withdraw(const wait_plan& p) {
    if (p.budget_ns != 0 || p.holds_poller_slot) return;
    if (waits_ > 0) --waits_;
    if (p.guard != wait_guard::none) {
      auto& guarded = guarded_[static_cast<unsigned>(p.guard)];
      if (guarded > 0) --guarded;
      if (p.guard == wait_guard::backoff) ++backoff_remaining_;
    }
    if (p.guard == wait_guard::explore) {
      last_explore_ns_ = p.explore_was_last_ns;
      waits_since_explore_ = p.explore_was_waits;
    }
    if (p.counted_towards_explore && waits_since_explore_ > 0) --waits_since_explore_;
  }
  // Whether a plan blocks at once in a way withdraw() can take back.
  static bool withdrawable(const wait_plan& p) {
    return p.budget_ns == 0 && !p.holds_poller_slot && p.guard != wait_guard::explore;
  }

  // Polling is over (caught or not): give the poller slot back before
  // blocking, so another thread may poll while this one sleeps.
  void end_poll(wait_plan& p) {
    if (p.holds_poller_slot) {
      system_load::instance().leave_poll();
      p.holds_poller_slot = false;
    }
  }

  // idle_ns: from the wait's start to the event (for a caught wait, to the
  // poll that saw it; for a woken one, to the notifier's stamp when known);
  // polled_ns: time spent polling; blocks: blocking calls made.
  void finish(wait_plan& p, duration_ns idle_ns, wait_end end, duration_ns polled_ns, u32 blocks = 0,
              u64 idle_end_ns = 0, u64 end_ns = 0) {
    end_poll(p);
    governor_.reflect(idle_ns);
    (p.guard == wait_guard::none ? ledger_ : guarded_ledger_).add(idle_ns, p.budget_ns, p.block_cost_ns);
    poll_ns_ = sat_add(poll_ns_, polled_ns);
    if (end == wait_end::caught) {
      ++polled_;
      miss_streak_ = 0;
      backoff_shift_ = 0;
    } else if (p.budget_ns > 0) {
      fruitless_poll_ns_ = sat_add(fruitless_poll_ns_, polled_ns);
      fruitless_in_window_ns_ = sat_add(fruitless_in_window_ns_, polled_ns);
      if (backoff_shift_ > 0 || ++miss_streak_ >= miss_streak_to_back_off) {
        backoff_remaining_ = 1u << backoff_shift_;
        backoff_shift_ = min_of(backoff_shift_ + 1, max_backoff_shift);
        miss_streak_ = 0;
      }
    }
    if (end == wait_end::timed_out) ++timed_out_;
    if constexpr (std::is_trivially_copyable_v<Governor>)
      if (options_.publish_to_process_prior && waits_ % prior_publish_period == 0)
        process_prior<Governor>.publish(governor_);
    if (options_.trace) {
      wait_record r;
      r.start_ns = p.start_ns;
      r.idle_end_ns = idle_end_ns ? idle_end_ns : p.start_ns + idle_ns;
      r.end_ns = end_ns;
      r.budget_ns = sat_u32(p.budget_ns);
      r.block_cost_ns = sat_u32(p.block_cost_ns);
      r.polled_ns = sat_u32(polled_ns);
      r.blocks = static_cast<u16>(min_of<u32>(blocks, 0xffff));
      r.mode = p.mode;
      r.guard = p.guard;
      r.end = end;
      options_.trace->add(r);
    }
  }

  // What real blocks cost. Winsorised: one sample may at most double the
  // estimate, so a single descheduling (ms on a loaded machine) cannot make
  // B, and with it the poll budget, jump; a lasting rise gets through in a
  // few samples. Each sample goes to this engine and to the process.
  void learn_wake_latency(u64 latency_ns) {
    const u64 sample = min_of(latency_ns, sat_add(sat_mul(wake_latency_ns_, 2), 1000));
    wake_latency_ns_ = ewma_step(wake_latency_ns_, sample, 3);
    process_block_cost.add_latency(sample);
  }
  void learn_block_cpu(u64 cpu_ns, u64 now_ns) {
    last_teaching_park_ns_ = now_ns;
    const u64 sample = min_of(cpu_ns, sat_add(sat_mul(block_cpu_ns_, 2), 1000));
    block_cpu_ns_ = ewma_step(block_cpu_ns_, sample, 3);
    process_block_cost.add_cpu(sample);
  }
  // Whether a park that slept park_ns may teach B (top of this file).
  bool teaches_block_cost(duration_ns park_ns) const {
    return park_ns <= max_of(sat_mul(block_cost_ns(), options_.short_park_factor), options_.short_park_floor_ns);
  }
  // Whether this block should time its CPU (the thread CPU clock is a real
  // system call, so only every cpu_sample_period-th block pays for it, and
  // every exploring one).
  bool sample_cpu_now(const wait_plan& p) {
    if (p.guard == wait_guard::explore) return true;
    if (++blocks_since_cpu_sample_ < options_.cpu_sample_period) return false;
    blocks_since_cpu_sample_ = 0;
    return true;
  }
  // sample_cpu_now()'s answer for the next block, without using it up.
  bool cpu_sample_due() const { return blocks_since_cpu_sample_ + 1 >= options_.cpu_sample_period; }
  void count_block() { ++parks_; }
  // Yield mode's back-off (wait.hpp): after a yield that took longer than
  // long_yield_ns, no yielding for 64, then 128 ... 65536 waits.
  // A yield that caught the notifier shows the CPU is shared with it
  // again, not with a stranger: the next long yield backs off from 64.
  void note_long_yield() {
    yield_backoff_ = 64u << min_of<u32>(long_yields_, 10);
    ++long_yields_;
  }
  void note_yield_caught() { long_yields_ = 0; }
  bool yielding_allowed() {
    if (yield_backoff_ == 0) return true;
    --yield_backoff_;
    return false;
  }
  void count_wake() { ++wakes_; }

  waiter_stats stats() const {
    waiter_stats s;
    s.waits = waits_;
    s.polled = polled_;
    s.yield_waits = yield_waits_;
    for (unsigned i = 0; i < wait_guard_count; ++i) s.guarded[i] = guarded_[i];
    s.steal_waits = guarded_[static_cast<unsigned>(wait_guard::steal)];
    s.oversubscribed_waits = guarded_[static_cast<unsigned>(wait_guard::oversubscribed)];
    s.timed_out = timed_out_;
    s.parks = parks_;
    s.wakes = wakes_;
    s.prior_adopted = prior_adopted_;
    s.poll_ns = poll_ns_;
    s.fruitless_poll_ns = fruitless_poll_ns_;
    s.block_cpu_ns = block_cpu_ns_;
    s.wake_latency_ns = wake_latency_ns_;
    s.block_cost_ns = block_cost_ns();
    s.ledger = ledger_;
    s.guarded_ledger = guarded_ledger_;
    return s;
  }

  const Governor& governor() const { return governor_; }
  const waiter_options& options() const { return options_; }
  duration_ns wake_latency_estimate_ns() const { return wake_latency_ns_; }
  bool pinned_to_one_cpu() {
    if ((waits_ & 255u) == 0 || !pinned_known_) {
      cpu_set_t set;
      CPU_ZERO(&set);
      pinned_ = sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) == 1;
      pinned_known_ = true;
    }
    return pinned_;
  }

 private:
  // One exploring block per explore_period_ns without a teaching park.
  // Time alone is not enough: a thread that waits less than once per
  // period would explore on every wait, so explore_min_waits poll-eligible
  // waits must also have passed. A timed wait that ends within the
  // short-park limit could only time out in its park: it would teach
  // nothing and use the period up.
  bool explore_due(u64 now_ns, duration_ns bound_ns) {
    if (options_.explore_period_ns == 0) return false;
    ++waits_since_explore_;
    if (!explore_clock_started_) {  // a fresh engine polls first
      explore_clock_started_ = true;
      last_explore_ns_ = now_ns;
    }
    if (waits_since_explore_ < options_.explore_min_waits) return false;
    if (bound_ns != no_bound && teaches_block_cost(bound_ns)) return false;
    if (sat_sub(now_ns, last_teaching_park_ns_) < options_.explore_period_ns ||
        sat_sub(now_ns, last_explore_ns_) < options_.explore_period_ns)
      return false;
    last_explore_ns_ = now_ns;
    waits_since_explore_ = 0;
    return true;
  }
  Governor governor_;
  waiter_options options_;
  duration_ns block_cpu_ns_;
  duration_ns wake_latency_ns_;
  u32 blocks_since_cpu_sample_ = 0;
  u32 yield_backoff_ = 0;
  u64 last_teaching_park_ns_ = 0;
  u64 last_explore_ns_ = 0;
  u32 waits_since_explore_ = 0;
  bool explore_clock_started_ = false;
  u32 long_yields_ = 0;
  u32 miss_streak_ = 0;
  u32 backoff_remaining_ = 0;
  u32 backoff_shift_ = 0;
  u64 share_window_start_ns_ = 0;
  u64 fruitless_in_window_ns_ = 0;
  u64 waits_ = 0;
  u64 polled_ = 0;
  u64 yield_waits_ = 0;
  u64 guarded_[wait_guard_count] = {};
  u64 timed_out_ = 0;
  u64 parks_ = 0;
  u64 wakes_ = 0;
  u64 prior_adopted_ = 0;
  duration_ns poll_ns_ = 0;
  duration_ns fruitless_poll_ns_ = 0;
  cost_ledger ledger_{};
  cost_ledger guarded_ledger_{};
  thread_contention contention_{};
  pthread_t owner_{};
  bool pinned_ = false;
  bool pinned_known_ = false;
};

}  // namespace hosted
}  // namespace lazyidle

#endif
