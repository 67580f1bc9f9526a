// SPDX-License-Identifier: GPL-2.0-only OR MIT
//
// Reference policies (opt, best_fixed, break_even, randomized) and faithful
// re-implementations of the Linux 6.1 idle governors and halt-polling code
// (menu, menu_haltpoll_driver, teo, ladder, haltpoll, kvm, haltpoll_kvm);
// the 6.12 LTS ports are in baselines_612.hpp.
//
// Each Linux port keeps the kernel's names, constants and integer types so
// it can be read side by side with Debian's linux-source-6.1 (6.1.192;
// /usr/src/linux-source-6.1.tar.xz); every function names the kernel
// function it mirrors. Checked against that tree (file:line):
//   menu      drivers/cpuidle/governors/menu.c: BUCKETS 12 (l.22),
//             which_bucket() l.120, get_typical_interval() l.177,
//             menu_select() l.281 (tick rule l.427-445), menu_reflect() l.460,
//             menu_update() l.474, menu_enable_device() l.566
//   teo       drivers/cpuidle/governors/teo.c: NR_RECENT 9 (l.121),
//             teo_update() l.160, teo_select() l.285 (tick rule l.460-471),
//             teo_reflect() l.483, teo_enable_device() l.507
//   ladder    drivers/cpuidle/governors/ladder.c: PROMOTION_COUNT 4 /
//             DEMOTION_COUNT 1 (l.23-24), ladder_select_state() l.66,
//             ladder_enable_device() l.132, ladder_reflect() l.167
//   haltpoll  drivers/cpuidle/governors/haltpoll.c: knobs l.24-36,
//             haltpoll_select() l.49, adjust_poll_limit() l.79 (no reset
//             below grow_start, l.99-106), haltpoll_reflect() l.115;
//             drivers/cpuidle/cpuidle-haltpoll.c: the 1 us state (l.39-50);
//             Debian 6.1 does not build this governor
//             (# CONFIG_CPU_IDLE_GOV_HALTPOLL is not set)
//   kvm       virt/kvm/kvm_main.c: halt_poll_ns_shrink has no initialiser,
//             i.e. 0 (l.92), grow_halt_poll_ns() l.3383,
//             shrink_halt_poll_ns() l.3402, kvm_vcpu_halt() l.3524
//   poll      drivers/cpuidle/poll_state.c: POLL_IDLE_RELAX_COUNT 200 (l.11),
//             the clock check `> limit` every 201 relaxes (l.29-33), modelled
//             by poll_loop::poll_idle (engine.hpp)
// What the simulator supplies in place of kernel services:
//   tick_nohz_get_sleep_length()  the remaining next-timer bound when the
//                                 trace has one (or --tick-ns), else
//                                 unknown_sleep_length_ns for every policy
//   delta_tick                    remaining tick with --tick-ns, else the
//                                 sleep length
//   tick_nohz_tick_stopped()      false: the idle loop restarts the tick on
//                                 every idle exit and these governors keep it
//                                 running whenever they pick a short state
//   cpuidle_governor_latency_req  no PM QoS request: 2e9 µs
//   nr_iowait_cpu()               0 (traces do not carry it)
//   dev->last_residency_ns        what cpuidle_enter_state() measures around
//                                 ->enter(): the segment's time plus the exit
//                                 latency of the state woken from
//   dev->poll_time_limit          the poll segment hit its limit
#ifndef LAZYIDLE_SIM_BASELINES_HPP
#define LAZYIDLE_SIM_BASELINES_HPP

#include "engine.hpp"

#include <climits>

namespace lazyidle::sim {

// ---- kernel constants (CONFIG_HZ=250 as in Debian's 6.1 config) ----------
namespace linux61 {
inline constexpr u64 nsec_per_usec = 1000;
inline constexpr u64 tick_nsec = 4000000;              // TICK_NSEC, HZ=250
inline constexpr u64 cpuidle_poll_min = 10000;         // CPUIDLE_POLL_MIN
inline constexpr u64 cpuidle_poll_max = tick_nsec / 16;  // CPUIDLE_POLL_MAX
inline constexpr long long latency_req_none = 2000000000LL * 1000;  // PM_QOS default, in ns
}  // namespace linux61

// Sleep length a governor sees when the trace has no timer information: a
// nohz CPU with no timer queued within a second. Identical for every policy.
inline constexpr u64 unknown_sleep_length_ns = 1000000000ull;

inline u64 sleep_length(const select_context& c) { return c.bound_ns == no_bound ? unknown_sleep_length_ns : c.bound_ns; }
inline u64 delta_tick(const select_context& c) { return c.tick_ns == no_bound ? sleep_length(c) : min_of(c.tick_ns, sleep_length(c)); }

// cpuidle_poll_time() (drivers/cpuidle/cpuidle.c) when no governor set
// dev->poll_limit_ns: the first deeper state's target residency of at least
// CPUIDLE_POLL_MIN, capped at CPUIDLE_POLL_MAX.
inline u64 cpuidle_poll_time(const table_type& t) {
  u64 limit = linux61::cpuidle_poll_max;
  for (u32 i = 1; i < t.size(); ++i) {
    const u64 state_limit = t[i].target_residency_ns;
    if (state_limit < linux61::cpuidle_poll_min) continue;
    limit = min_of(state_limit, linux61::cpuidle_poll_max);
    break;
  }
  return limit;
}

// The cpuidle_device fields the governors read, updated as
// cpuidle_enter_state() and poll_idle() update them.
struct cpuidle_device_state {
  int last_state_idx = 0;
  u64 last_residency_ns = 0;
  bool poll_time_limit = false;
  void enter_done(const segment_outcome& o) {
    // cpuidle_enter_state(): dev->last_residency_ns = the local_clock() diff
    // around ->enter(), which includes the exit latency of the state woken
    // from; each governor makes its own correction.
    last_residency_ns = o.measured_ns;
    poll_time_limit = o.poll_time_limit;
  }
};

// ============================ reference policies ============================

// Clairvoyant offline optimum: knows y, pays OPT(y) = lower envelope.
class opt_policy final : public policy {
 public:
  explicit opt_policy(const environment& env) : env_(env) {}
  choice select(const select_context& c) override {
    const table_type& t = env_.table;
    const duration_ns y = c.oracle_idle_ns;
    if (t.optimal_cost(y) >= y) return {env_.deepest(), y, 0};
    u32 best = 1;
    duration_ns best_cost = t.cost(y, 0, 1);
    for (u32 s = 2; s < t.size(); ++s)
      if (t.cost(y, 0, s) < best_cost) best_cost = t.cost(y, 0, s), best = s;
    return {best, 0, 0};
  }
  void reflect(const segment_outcome&) override {}

 private:
  const environment& env_;
};

// Hindsight-best single threshold for this trace (computed by the runner
// with best_fixed_threshold() before the run).
class best_fixed_policy final : public policy {
 public:
  explicit best_fixed_policy(const environment& env) : env_(env) {}
  choice select(const select_context&) override { return {env_.best_fixed_state, env_.best_fixed_budget_ns, 0}; }
  void reflect(const segment_outcome&) override {}

 private:
  const environment& env_;
};

// Deterministic ski rental: poll for B (the deepest state's overhead), then
// enter the deepest state. 2-competitive on the 2-state table.
class break_even_policy final : public policy {
 public:
  explicit break_even_policy(const environment& env) : env_(env) {}
  choice select(const select_context&) override { return {env_.deepest(), env_.table.overhead(env_.deepest()), 0}; }
  void reflect(const segment_outcome&) override {}

 private:
  const environment& env_;
};

// Randomized ski rental (Karlin, Manasse, McGeoch, Owicki 1990): threshold
// T = B ln(1 + U (e - 1)), U uniform in [0,1): density e^{t/B}/(B(e-1)) on
// [0, B], expected cost <= e/(e-1) OPT. Integer only: U is quantised to 12
// bits and ln(1 + U(e-1)) tabulated once with ln_q16 (Q16).
class randomized_policy final : public policy {
 public:
  explicit randomized_policy(const environment& env, u64 seed = 0x5eed) : env_(env), rng_{seed} {
    static const table_holder holder;
    table_ = holder.ln_q16;
  }
  choice select(const select_context&) override {
    const u64 u = rng_.next() >> (64 - levels_log2);
    const duration_ns b = env_.table.overhead(env_.deepest());
    return {env_.deepest(), mul_div(b, table_[u], 65536), 0};
  }
  void reflect(const segment_outcome&) override {}

 private:
  static constexpr u32 levels_log2 = 12;
  struct table_holder {
    u64 ln_q16[1u << levels_log2];
    table_holder() {
      constexpr u64 e_minus_1_q16 = 112610;  // (e - 1) * 2^16
      for (u64 i = 0; i < (1u << levels_log2); ++i) {
        // midpoint of the i-th quantile cell keeps the mean unbiased
        const u64 u_q16 = ((2 * i + 1) << 16) >> (levels_log2 + 1);
        ln_q16[i] = ln_q16_of(65536 + ((u_q16 * e_minus_1_q16) >> 16));
      }
    }
    static u64 ln_q16_of(u64 x) { return lazyidle::ln_q16(x); }
  };
  const environment& env_;
  splitmix64 rng_;
  const u64* table_ = nullptr;
};

// The table cpuidle-haltpoll registers (drivers/cpuidle/cpuidle-haltpoll.c):
// POLL, then "haltpoll idle" with exit_latency = target_residency = 1 us.
// Debian's 6.1 kernel does not build the haltpoll governor, so a Debian
// guest with this driver runs menu on this table (DESIGN §4).
inline table_type haltpoll_driver_view(const environment& env) {
  table_type view;
  view.add(poll_state);
  idle_state halt = env.table[1];
  halt.name = "haltpoll idle";
  halt.exit_latency_ns = 1000;
  halt.target_residency_ns = 1000;
  view.add(halt);
  return view;
}

// ============================ Linux 6.1: menu ===============================
// drivers/cpuidle/governors/menu.c
class menu_governor final : public policy {
 public:
  static constexpr int buckets = 12;            // BUCKETS
  static constexpr int interval_shift = 3;      // INTERVAL_SHIFT
  static constexpr int intervals = 1 << 3;      // INTERVALS
  static constexpr u64 resolution = 1024;       // RESOLUTION
  static constexpr u64 decay = 8;               // DECAY
  static constexpr u64 max_interesting = 50000 * linux61::nsec_per_usec;  // MAX_INTERESTING

  // view: the state table the governor is shown (drv->states); by default
  // the cost table. cpuidle-haltpoll's driver advertises HLT as 1 us exit
  // latency / 1 us residency whatever it costs: see haltpoll_driver_view().
  explicit menu_governor(const environment& env, const table_type* view = nullptr)
      : view_(view ? *view : env.table), poll_limit_ns_(cpuidle_poll_time(view_)) {
    // menu_enable_device()
    for (auto& f : correction_factor_) f = static_cast<unsigned>(resolution * decay);
  }

  // which_bucket()
  static int which_bucket(u64 duration_ns, unsigned nr_iowaiters) {
    int bucket = 0;
    if (nr_iowaiters) bucket = buckets / 2;
    if (duration_ns < 10ULL * linux61::nsec_per_usec) return bucket;
    if (duration_ns < 100ULL * linux61::nsec_per_usec) return bucket + 1;
    if (duration_ns < 1000ULL * linux61::nsec_per_usec) return bucket + 2;
    if (duration_ns < 10000ULL * linux61::nsec_per_usec) return bucket + 3;
    if (duration_ns < 100000ULL * linux61::nsec_per_usec) return bucket + 4;
    return bucket + 5;
  }
  // performance_multiplier()
  static int performance_multiplier(unsigned nr_iowaiters) { return 1 + 10 * static_cast<int>(nr_iowaiters); }

  // menu_update_intervals()
  void update_intervals(unsigned interval_us) {
    intervals_[interval_ptr_++] = interval_us;
    if (interval_ptr_ >= intervals) interval_ptr_ = 0;
  }

  // get_typical_interval(): UINT_MAX when the recent intervals show no
  // pattern (too much variance even after trimming outliers).
  unsigned get_typical_interval(unsigned predicted_us) const {
    unsigned thresh = INT_MAX;
    for (;;) {
      unsigned min = UINT_MAX, max = 0;
      u64 sum = 0;
      int divisor = 0;
      for (int i = 0; i < intervals; i++) {
        const unsigned value = intervals_[i];
        if (value <= thresh) {
          sum += value;
          divisor++;
          if (value > max) max = value;
          if (value < min) min = value;
        }
      }
      if (min >= predicted_us) return UINT_MAX;
      const unsigned avg = divisor == intervals ? static_cast<unsigned>(sum >> interval_shift)
                                                : static_cast<unsigned>(sum / static_cast<u64>(divisor));
      u64 variance = 0;
      for (int i = 0; i < intervals; i++) {
        const unsigned value = intervals_[i];
        if (value <= thresh) {
          const long long diff = static_cast<long long>(value) - avg;
          variance += static_cast<u64>(diff * diff);
        }
      }
      if (divisor == intervals)
        variance >>= interval_shift;
      else
        variance /= static_cast<u64>(divisor);
      if (variance <= ~0ull / 36) {
        if ((static_cast<u64>(avg) * avg > variance * 36 && divisor * 4 >= intervals * 3) || variance <= 400)
          return avg;
      }
      if (divisor * 4 <= intervals * 3) return UINT_MAX;
      thresh = max - 1;
    }
  }

  // menu_select()
  choice select(const select_context& c) override {
    const table_type& t = view_;
    long long latency_req = linux61::latency_req_none;
    if (needs_update_) {
      update();
      needs_update_ = 0;
    } else if (!dev_.last_residency_ns) {
      update_intervals(UINT_MAX);
    }
    const u64 delta = sleep_length(c);
    const u64 tick = delta_tick(c);
    next_timer_ns_ = delta;
    bucket_ = static_cast<unsigned>(which_bucket(next_timer_ns_, 0));
    last_select_polled_ = false;
    if (t.size() <= 1 || next_timer_ns_ < t[1].target_residency_ns ||
        latency_req < static_cast<long long>(t[1].exit_latency_ns)) {
      return poll_choice();
    }
    // Round up the result for half microseconds.
    const u64 den = resolution * decay * linux61::nsec_per_usec;
    const unsigned predicted_us =
        static_cast<unsigned>(min_of<u64>((next_timer_ns_ * correction_factor_[bucket_] + den / 2) / den, UINT_MAX));
    u64 predicted_ns = static_cast<u64>(min_of(predicted_us, get_typical_interval(predicted_us))) *
                       linux61::nsec_per_usec;
    last_typical_fired_ = predicted_ns < static_cast<u64>(predicted_us) * linux61::nsec_per_usec;
    // Tick not stopped: the interactivity requirement caps the latency.
    const u64 interactivity_req = predicted_ns / static_cast<u64>(performance_multiplier(0));
    if (latency_req > static_cast<long long>(interactivity_req)) latency_req = static_cast<long long>(interactivity_req);

    int idx = -1;
    for (u32 i = 0; i < t.size(); i++) {
      const idle_state& s = t[i];
      if (idx == -1) idx = static_cast<int>(i);
      if (s.target_residency_ns > predicted_ns) {
        // Use a physical idle state, not busy polling, unless a timer is
        // going to trigger soon enough.
        if (idx == 0 && static_cast<long long>(s.exit_latency_ns) <= latency_req &&
            s.target_residency_ns <= next_timer_ns_) {
          predicted_ns = s.target_residency_ns;
          idx = static_cast<int>(i);
          break;
        }
        if (predicted_ns < linux61::tick_nsec) break;
        // !tick_nohz_tick_stopped(): stay with the shallower state.
        predicted_ns = t[static_cast<u32>(idx)].target_residency_ns;
        break;
      }
      if (static_cast<long long>(s.exit_latency_ns) > latency_req) break;
      idx = static_cast<int>(i);
    }
    if (idx == -1) idx = 0;
    // Don't stop the tick if the selected state is a polling one or the
    // expected idle is short: then avoid states deeper than the tick allows.
    if (idx == 0 || predicted_ns < linux61::tick_nsec) {
      if (idx > 0 && t[static_cast<u32>(idx)].target_residency_ns > tick) {
        for (int i = idx - 1; i >= 0; i--) {
          idx = i;
          if (t[static_cast<u32>(i)].target_residency_ns <= tick) break;
        }
      }
    }
    if (idx == 0) return poll_choice();
    return {static_cast<u32>(idx), 0, 0};
  }

  // menu_reflect()
  void reflect(const segment_outcome& o) override {
    dev_.last_state_idx = static_cast<int>(o.state);
    dev_.enter_done(o);
    needs_update_ = 1;
    tick_wakeup_ = o.tick_wakeup;
  }

  // Test hooks.
  void set_intervals(const unsigned (&values)[intervals]) {
    for (int i = 0; i < intervals; ++i) intervals_[i] = values[i];
    interval_ptr_ = 0;
  }
  unsigned correction_factor(int bucket) const { return correction_factor_[bucket]; }
  unsigned interval(int i) const { return intervals_[i]; }
  bool typical_interval_fired() const { return last_typical_fired_; }

 private:
  choice poll_choice() {
    last_select_polled_ = true;
    return {0, poll_limit_ns_, 0, poll_loop::poll_idle};
  }

  // menu_update()
  void update() {
    const table_type& t = view_;
    const int last_idx = dev_.last_state_idx;
    const idle_state& target = t[static_cast<u32>(last_idx)];
    u64 measured_ns;
    if (tick_wakeup_ && next_timer_ns_ > linux61::tick_nsec) {
      measured_ns = 9 * max_interesting / 10;
    } else if (last_idx == 0 && dev_.poll_time_limit) {
      measured_ns = next_timer_ns_;
    } else {
      measured_ns = dev_.last_residency_ns;
      if (measured_ns > 2 * target.exit_latency_ns)
        measured_ns -= target.exit_latency_ns;
      else
        measured_ns /= 2;
    }
    if (measured_ns > next_timer_ns_) measured_ns = next_timer_ns_;
    unsigned new_factor = correction_factor_[bucket_];
    new_factor -= static_cast<unsigned>(new_factor / decay);
    if (next_timer_ns_ > 0 && measured_ns < max_interesting)
      new_factor += static_cast<unsigned>(resolution * measured_ns / next_timer_ns_);
    else
      new_factor += static_cast<unsigned>(resolution);
    correction_factor_[bucket_] = new_factor;
    update_intervals(static_cast<unsigned>(min_of<u64>(measured_ns / 1000, UINT_MAX)));
  }

  table_type view_;
  cpuidle_device_state dev_;
  u64 poll_limit_ns_;
  int needs_update_ = 0;
  bool tick_wakeup_ = false;
  u64 next_timer_ns_ = 0;
  unsigned bucket_ = 0;
  unsigned correction_factor_[buckets]{};
  unsigned intervals_[intervals]{};
  int interval_ptr_ = 0;
  bool last_select_polled_ = false;
  bool last_typical_fired_ = false;
};

// menu over cpuidle-haltpoll's advertised table (a Debian 6.1 guest).
class menu_haltpoll_driver_policy final : public policy {
 public:
  explicit menu_haltpoll_driver_policy(const environment& env) : view_(haltpoll_driver_view(env)), menu_(env, &view_) {}
  choice select(const select_context& c) override { return menu_.select(c); }
  void reflect(const segment_outcome& o) override { menu_.reflect(o); }

 private:
  table_type view_;
  menu_governor menu_;
};

// ============================ Linux 6.1: teo ================================
// drivers/cpuidle/governors/teo.c (with the 6.1 "recent" ring)
class teo_governor final : public policy {
 public:
  static constexpr unsigned pulse = 1024;    // PULSE
  static constexpr unsigned decay_shift = 3;  // DECAY_SHIFT
  static constexpr int nr_recent = 9;         // NR_RECENT

  struct teo_bin {
    unsigned intercepts = 0;
    unsigned hits = 0;
    unsigned recent = 0;
  };

  explicit teo_governor(const environment& env) : env_(env), poll_limit_ns_(cpuidle_poll_time(env.table)) {
    // teo_enable_device()
    for (int& r : recent_idx_) r = -1;
    dev_.last_state_idx = -1;
  }

  // teo_update()
  void update() {
    const table_type& t = env_.table;
    int idx_timer = 0, idx_duration = 0;
    u64 measured_ns;
    if (time_span_ns_ >= sleep_length_ns_) {
      measured_ns = u64_max;
    } else {
      const u64 lat_ns = t[static_cast<u32>(dev_.last_state_idx)].exit_latency_ns;
      measured_ns = dev_.last_residency_ns;
      if (measured_ns >= lat_ns)
        measured_ns -= lat_ns / 2;
      else
        measured_ns /= 2;
    }
    total_ = 0;
    for (u32 i = 0; i < t.size(); i++) {
      const long long target_residency_ns = static_cast<long long>(t[i].target_residency_ns);
      teo_bin& bin = bins_[i];
      bin.hits -= bin.hits >> decay_shift;
      bin.intercepts -= bin.intercepts >> decay_shift;
      total_ += bin.hits + bin.intercepts;
      if (target_residency_ns <= sleep_length_ns_) {
        idx_timer = static_cast<int>(i);
        if (static_cast<u64>(target_residency_ns) <= measured_ns) idx_duration = static_cast<int>(i);
      }
    }
    const int i = next_recent_idx_++;
    if (next_recent_idx_ >= nr_recent) next_recent_idx_ = 0;
    if (recent_idx_[i] >= 0) bins_[recent_idx_[i]].recent--;
    if (idx_timer == idx_duration) {
      bins_[idx_timer].hits += pulse;
      recent_idx_[i] = -1;
    } else {
      bins_[idx_duration].intercepts += pulse;
      bins_[idx_duration].recent++;
      recent_idx_[i] = idx_duration;
    }
    total_ += pulse;
  }

  static bool teo_time_ok(u64) { return true; }  // tick never stopped here

  long long teo_middle_of_bin(int idx) const {
    return static_cast<long long>((env_.table[static_cast<u32>(idx)].target_residency_ns +
                                   env_.table[static_cast<u32>(idx) + 1].target_residency_ns) / 2);
  }

  // teo_find_shallower_state()
  int find_shallower_state(int state_idx, long long duration_ns) const {
    for (int i = state_idx - 1; i >= 0; i--) {
      state_idx = i;
      if (static_cast<long long>(env_.table[static_cast<u32>(i)].target_residency_ns) <= duration_ns) break;
    }
    return state_idx;
  }

  // teo_select()
  choice select(const select_context& c) override {
    const table_type& t = env_.table;
    const long long latency_req = linux61::latency_req_none;
    unsigned idx_intercept_sum = 0, intercept_sum = 0, idx_recent_sum = 0, recent_sum = 0;
    unsigned idx_hit_sum = 0, hit_sum = 0;
    int constraint_idx = 0;
    int idx0 = 0, idx = -1;
    if (dev_.last_state_idx >= 0) {
      update();
      dev_.last_state_idx = -1;
    }
    long long duration_ns = static_cast<long long>(sleep_length(c));
    const long long tick = static_cast<long long>(delta_tick(c));
    sleep_length_ns_ = duration_ns;
    last_alt_ = false;
    if (t.size() < 2) {
      idx = 0;
    } else {
      idx = 0;
      if (static_cast<long long>(t[1].target_residency_ns) <= duration_ns) {
        for (u32 i = 1; i < t.size(); i++) {
          const teo_bin& prev_bin = bins_[i - 1];
          intercept_sum += prev_bin.intercepts;
          hit_sum += prev_bin.hits;
          recent_sum += prev_bin.recent;
          if (static_cast<long long>(t[i].target_residency_ns) > duration_ns) break;
          idx = static_cast<int>(i);
          if (static_cast<long long>(t[i].exit_latency_ns) <= latency_req) constraint_idx = static_cast<int>(i);
          idx_intercept_sum = intercept_sum;
          idx_hit_sum = hit_sum;
          idx_recent_sum = recent_sum;
        }
        if (idx != idx0) {
          const bool alt_intercepts = 2 * idx_intercept_sum > total_ - idx_hit_sum;
          const bool alt_recent = idx_recent_sum > nr_recent / 2;
          if (alt_recent || alt_intercepts) {
            long long first_suitable_span_ns = duration_ns;
            int first_suitable_idx = idx;
            intercept_sum = 0;
            recent_sum = 0;
            for (int i = idx - 1; i >= 0; i--) {
              const teo_bin& bin = bins_[i];
              intercept_sum += bin.intercepts;
              recent_sum += bin.recent;
              const long long span_ns = teo_middle_of_bin(i);
              if ((!alt_recent || 2 * recent_sum > idx_recent_sum) &&
                  (!alt_intercepts || 2 * intercept_sum > idx_intercept_sum)) {
                if (teo_time_ok(static_cast<u64>(span_ns))) {
                  idx = i;
                  duration_ns = span_ns;
                } else {
                  idx = first_suitable_idx;
                  duration_ns = first_suitable_span_ns;
                }
                last_alt_ = true;
                break;
              }
              first_suitable_span_ns = span_ns;
              first_suitable_idx = i;
            }
          }
        }
        if (idx > constraint_idx) idx = constraint_idx;
      }
    }
    // end: keep the tick and stay shallower than it when polling or short.
    if (idx == 0 || duration_ns < static_cast<long long>(linux61::tick_nsec)) {
      if (idx > idx0 && static_cast<long long>(t[static_cast<u32>(idx)].target_residency_ns) > tick)
        idx = find_shallower_state(idx, tick);
    }
    if (idx == 0) return {0, poll_limit_ns_, 0, poll_loop::poll_idle};
    return {static_cast<u32>(idx), 0, 0};
  }

  // teo_reflect()
  void reflect(const segment_outcome& o) override {
    dev_.last_state_idx = static_cast<int>(o.state);
    dev_.enter_done(o);
    if (dev_.poll_time_limit || (o.tick_wakeup && sleep_length_ns_ > static_cast<long long>(linux61::tick_nsec))) {
      dev_.poll_time_limit = false;
      time_span_ns_ = sleep_length_ns_;
    } else {
      time_span_ns_ = static_cast<long long>(o.measured_ns);
    }
  }

  // Test hooks.
  const teo_bin& bin(int i) const { return bins_[i]; }
  unsigned total() const { return total_; }
  bool chose_shallower_by_intercepts() const { return last_alt_; }

 private:
  const environment& env_;
  cpuidle_device_state dev_;
  u64 poll_limit_ns_;
  long long time_span_ns_ = 0;
  long long sleep_length_ns_ = 0;
  teo_bin bins_[16]{};
  unsigned total_ = 0;
  int next_recent_idx_ = 0;
  int recent_idx_[nr_recent]{};
  bool last_alt_ = false;
};

// ============================ Linux 6.1: ladder =============================
// drivers/cpuidle/governors/ladder.c. State 0 is a polling state, so
// first_idx = 1: ladder never polls (on the 2-state table it always traps).
class ladder_governor final : public policy {
 public:
  static constexpr u32 promotion_count = 4;  // PROMOTION_COUNT
  static constexpr u32 demotion_count = 1;   // DEMOTION_COUNT

  explicit ladder_governor(const environment& env) : env_(env) {
    // ladder_enable_device()
    const table_type& t = env.table;
    first_idx_ = t.size() > 1 ? 1 : 0;
    dev_.last_state_idx = first_idx_;
    for (u32 i = static_cast<u32>(first_idx_); i < t.size(); ++i) {
      auto& l = states_[i];
      l.threshold.promotion_count = promotion_count;
      l.threshold.demotion_count = demotion_count;
      if (i < t.size() - 1) l.threshold.promotion_time_ns = t[i].exit_latency_ns;
      if (static_cast<int>(i) > first_idx_) l.threshold.demotion_time_ns = t[i].exit_latency_ns;
    }
  }

  // ladder_select_state()
  choice select(const select_context&) override {
    const table_type& t = env_.table;
    const int last_idx = dev_.last_state_idx;
    auto& last_state = states_[last_idx];
    const long long last_residency =
        static_cast<long long>(dev_.last_residency_ns) - static_cast<long long>(t[static_cast<u32>(last_idx)].exit_latency_ns);
    if (static_cast<u32>(last_idx) + 1 < t.size() &&
        last_residency > static_cast<long long>(last_state.threshold.promotion_time_ns)) {
      last_state.stats.promotion_count++;
      last_state.stats.demotion_count = 0;
      if (last_state.stats.promotion_count >= static_cast<int>(last_state.threshold.promotion_count))
        return select_state(last_idx, last_idx + 1);
    }
    if (last_idx > first_idx_ && last_residency < static_cast<long long>(last_state.threshold.demotion_time_ns)) {
      last_state.stats.demotion_count++;
      last_state.stats.promotion_count = 0;
      if (last_state.stats.demotion_count >= static_cast<int>(last_state.threshold.demotion_count))
        return select_state(last_idx, last_idx - 1);
    }
    return to_choice(last_idx);
  }

  // ladder_reflect()
  void reflect(const segment_outcome& o) override {
    if (o.state > 0) dev_.last_state_idx = static_cast<int>(o.state);
    dev_.last_residency_ns = o.measured_ns;
  }

  int last_state_idx() const { return dev_.last_state_idx; }

 private:
  // ladder_do_selection()
  choice select_state(int old_idx, int new_idx) {
    states_[old_idx].stats.promotion_count = 0;
    states_[old_idx].stats.demotion_count = 0;
    dev_.last_state_idx = new_idx;
    return to_choice(new_idx);
  }
  choice to_choice(int idx) const {
    if (idx == 0) return {0, cpuidle_poll_time(env_.table), 0, poll_loop::poll_idle};
    return {static_cast<u32>(idx), 0, 0};
  }

  struct ladder_device_state {
    struct {
      u32 promotion_count = 0;
      u32 demotion_count = 0;
      u64 promotion_time_ns = 0;
      u64 demotion_time_ns = 0;
    } threshold;
    struct {
      int promotion_count = 0;
      int demotion_count = 0;
    } stats;
  };
  const environment& env_;
  cpuidle_device_state dev_;
  int first_idx_ = 1;
  ladder_device_state states_[16]{};
};

// ======================= Linux 6.1: guest haltpoll ==========================
// drivers/cpuidle/governors/haltpoll.c + drivers/cpuidle/cpuidle-haltpoll.c
// (states: 0 = POLL with dev->poll_limit_ns, 1 = "haltpoll idle" = HLT,
// which is the table's state 1) + poll_state.c's limit and the re-select.
class haltpoll_governor final : public policy {
 public:
  u32 guest_halt_poll_ns = 200000;
  u32 guest_halt_poll_shrink = 2;
  u32 guest_halt_poll_grow = 2;
  u32 guest_halt_poll_grow_start = 50000;
  bool guest_halt_poll_allow_shrink = true;

  // 6.12's adjust_poll_limit() (haltpoll.c:105-108 of 6.12) resets a limit
  // shrunk below guest_halt_poll_grow_start to 0; 6.1's (haltpoll.c:99-104)
  // keeps it.
  enum version { linux_6_1, linux_6_12 };

  explicit haltpoll_governor(const environment&, version v = linux_6_1) : reset_below_grow_start_(v == linux_6_12) {}

  // haltpoll_select()
  choice select(const select_context&) override {
    if (poll_limit_ns_ == 0) return {1, 0, 0};
    if (dev_.last_state_idx == 0) {
      if (dev_.poll_time_limit) return {1, 0, 0};  // no event in the poll window: halt
      return {0, poll_limit_ns_, 0, poll_loop::poll_idle};               // otherwise poll again
    }
    return {0, poll_limit_ns_, 0, poll_loop::poll_idle};  // last state was halt: poll
  }

  // adjust_poll_limit()
  void adjust_poll_limit(u64 block_ns) {
    if (block_ns > poll_limit_ns_ && block_ns <= guest_halt_poll_ns) {
      u32 val = poll_limit_ns_ * guest_halt_poll_grow;
      if (val < guest_halt_poll_grow_start) val = guest_halt_poll_grow_start;
      if (val > guest_halt_poll_ns) val = guest_halt_poll_ns;
      poll_limit_ns_ = val;
    } else if (block_ns > guest_halt_poll_ns && guest_halt_poll_allow_shrink) {
      u32 val = poll_limit_ns_;
      if (guest_halt_poll_shrink == 0)
        val = 0;
      else
        val /= guest_halt_poll_shrink;
      if (reset_below_grow_start_ && guest_halt_poll_shrink != 0 && val < guest_halt_poll_grow_start) val = 0;
      poll_limit_ns_ = val;
    }
  }

  // haltpoll_reflect()
  void reflect(const segment_outcome& o) override {
    const int index = o.state == 0 ? 0 : 1;
    dev_.last_state_idx = index;
    dev_.enter_done(o);
    if (index != 0) adjust_poll_limit(dev_.last_residency_ns);
  }

  u32 poll_limit_ns() const { return poll_limit_ns_; }

 private:
  cpuidle_device_state dev_;
  bool reset_below_grow_start_;
  u32 poll_limit_ns_ = 0;  // haltpoll_enable_device()
};

// ===================== Linux KVM host halt polling ==========================
// virt/kvm/kvm_main.c: kvm_vcpu_halt(), grow_halt_poll_ns(),
// shrink_halt_poll_ns(). shrink = 0 is 6.1's default (reset to 0 on a long
// halt), shrink = 2 the 6.11 default.
struct kvm_halt_poll {
  unsigned halt_poll_ns = 0;  // vcpu->halt_poll_ns
  unsigned max_halt_poll_ns = 200000;  // KVM_HALT_POLL_NS_DEFAULT (x86)
  unsigned halt_poll_ns_grow = 2;
  unsigned halt_poll_ns_grow_start = 10000;
  unsigned halt_poll_ns_shrink = 0;

  // grow_halt_poll_ns()
  void grow() {
    unsigned val = halt_poll_ns;
    if (!halt_poll_ns_grow) return;
    val *= halt_poll_ns_grow;
    if (val < halt_poll_ns_grow_start) val = halt_poll_ns_grow_start;
    halt_poll_ns = val;
  }
  // shrink_halt_poll_ns()
  void shrink() {
    unsigned val = halt_poll_ns;
    if (halt_poll_ns_shrink == 0)
      val = 0;
    else
      val /= halt_poll_ns_shrink;
    if (val < halt_poll_ns_grow_start) val = 0;
    halt_poll_ns = val;
  }
  // kvm_vcpu_halt(), before polling: the budget.
  unsigned begin_halt() {
    if (halt_poll_ns > max_halt_poll_ns) halt_poll_ns = max_halt_poll_ns;
    return halt_poll_ns;
  }
  // kvm_vcpu_halt(), after the wakeup (valid wakeup, polling allowed).
  void end_halt(u64 halt_ns) {
    if (max_halt_poll_ns) {
      if (halt_ns <= halt_poll_ns) {
      } else if (halt_poll_ns && halt_ns > max_halt_poll_ns) {
        shrink();  // we had a long block, shrink polling
      } else if (halt_poll_ns < max_halt_poll_ns && halt_ns < max_halt_poll_ns) {
        grow();  // we had a short halt and our poll time is too small
      }
    } else {
      halt_poll_ns = 0;
    }
  }
};

// Guest without a cpuidle driver (default_idle: HLT at once) on a host with
// KVM halt polling.
class kvm_policy final : public policy {
 public:
  kvm_policy(const environment&, unsigned shrink) { host_.halt_poll_ns_shrink = shrink; }
  choice select(const select_context&) override { return {1, 0, host_.begin_halt()}; }
  void reflect(const segment_outcome& o) override { host_.end_halt(o.host_halt_ns); }
  const kvm_halt_poll& host() const { return host_; }

 private:
  kvm_halt_poll host_;
};

// Guest haltpoll over host KVM polling. cpuidle-haltpoll's
// arch_haltpoll_enable() turns host polling off through
// MSR_KVM_POLL_CONTROL when the host offers it (then this is `haltpoll`);
// this models the host that does not (older KVM, or poll control masked),
// where both layers poll: guest poll, HLT exit, host poll, host block.
class haltpoll_kvm_policy final : public policy {
 public:
  explicit haltpoll_kvm_policy(const environment& env) : guest_(env) {}
  choice select(const select_context& c) override {
    choice ch = guest_.select(c);
    if (ch.state != 0) ch.host_poll_ns = host_.begin_halt();
    return ch;
  }
  void reflect(const segment_outcome& o) override {
    guest_.reflect(o);
    if (o.state != 0) host_.end_halt(o.host_halt_ns);
  }

 private:
  haltpoll_governor guest_;
  kvm_halt_poll host_;
};

}  // namespace lazyidle::sim

#endif
