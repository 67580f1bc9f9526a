// SPDX-License-Identifier: GPL-2.0-only OR MIT
//
// Linux 6.12 LTS re-implementations, read line by line against Debian's
// linux-source-6.12 (6.12.118; `tar -xJf /usr/src/linux-source-6.12.tar.xz
// linux-source-6.12/drivers/cpuidle linux-source-6.12/virt/kvm/kvm_main.c`).
// File:line references are to that tree. What changed since the 6.1 ports in
// baselines.hpp:
//   menu      governors/menu.c: 6 buckets, no iowait bucket and no
//             performance multiplier (the interactivity cap is gone);
//             get_typical_interval() (l.125) runs first and returns UINT_MAX
//             only when it sees nothing (l.153 `if (!max)`); the timer is
//             read only when the typical interval exceeds
//             RESIDENCY_THRESHOLD_NS = 15 us (gov.h:12, menu.c:248), else
//             next_timer_ns = KTIME_MAX and delta_tick = TICK_NSEC / 2
//             (l.285-287); the POLL-vs-physical rule needs the state's
//             residency < 15 us and its exit latency <= the prediction
//             (l.331-334).
//   teo       governors/teo.c: the 6.1 "recent" ring is gone; hits and
//             intercepts per bin plus an extra hits-only tick bin
//             (tick_hits, l.207-219); teo_select() (l.282) decides from the
//             metrics first and reads the sleep length only when it must
//             (l.433-441, l.458-459): sleep_length_ns = KTIME_MAX otherwise;
//             candidates with residency < 15 us skip the timer check (l.454).
//   haltpoll  governors/haltpoll.c: adjust_poll_limit() (l.79) resets the
//             limit to 0 when a shrink falls below guest_halt_poll_grow_start
//             (l.105-108). Debian 6.12 builds the governor
//             (CONFIG_CPU_IDLE_GOV_HALTPOLL=y); cpuidle-haltpoll.c still
//             loads only with KVM_HINTS_REALTIME or force (l.96-98).
//   kvm       virt/kvm/kvm_main.c: halt_poll_ns_shrink = 2 (l.93; 6.1 has no
//             initialiser, i.e. 0, kvm_main.c:91-92 of 6.1);
//             kvm_vcpu_halt() (l.3866), grow (l.3725) and shrink (l.3744)
//             are otherwise the 6.1 code, so the host side is
//             kvm_halt_poll with shrink 2.
//   poll      poll_state.c and cpuidle_poll_time() (cpuidle.c:426) are the
//             6.1 code (POLL_IDLE_RELAX_COUNT 200, poll_state.c:11).
// Kernel services are replaced as in baselines.hpp (tick never stopped, no
// PM QoS, no iowait).
#ifndef LAZYIDLE_SIM_BASELINES_612_HPP
#define LAZYIDLE_SIM_BASELINES_612_HPP

#include "baselines.hpp"

namespace lazyidle::sim {

namespace linux612 {
inline constexpr u64 nsec_per_usec = 1000;
inline constexpr u64 tick_nsec = 4000000;                      // TICK_NSEC, CONFIG_HZ=250 (Debian 6.12 config)
inline constexpr u64 residency_threshold_ns = 15 * nsec_per_usec;  // RESIDENCY_THRESHOLD_NS, gov.h:12
inline constexpr long long ktime_max = 0x7fffffffffffffffLL;     // KTIME_MAX
inline constexpr long long latency_req_none = linux61::latency_req_none;
}  // namespace linux612

// ============================ Linux 6.12: menu ==============================
class menu_612_governor final : public policy {
 public:
  static constexpr int buckets = 6;             // BUCKETS, menu.c:22
  static constexpr int interval_shift = 3;      // INTERVAL_SHIFT
  static constexpr int intervals = 1 << 3;      // INTERVALS
  static constexpr u64 resolution = 1024;       // RESOLUTION
  static constexpr u64 decay = 8;               // DECAY
  static constexpr u64 max_interesting = 50000 * linux612::nsec_per_usec;  // MAX_INTERESTING

  explicit menu_612_governor(const environment& env) : view_(env.table), poll_limit_ns_(cpuidle_poll_time(view_)) {
    // menu_enable_device()
    for (auto& f : correction_factor_) f = static_cast<unsigned>(resolution * decay);
  }

  // which_bucket(), menu.c:90
  static int which_bucket(u64 duration_ns) {
    int bucket = 0;
    if (duration_ns < 10ULL * linux612::nsec_per_usec) return bucket;
    if (duration_ns < 100ULL * linux612::nsec_per_usec) return bucket + 1;
    if (duration_ns < 1000ULL * linux612::nsec_per_usec) return bucket + 2;
    if (duration_ns < 10000ULL * linux612::nsec_per_usec) return bucket + 3;
    if (duration_ns < 100000ULL * linux612::nsec_per_usec) return bucket + 4;
    return bucket + 5;
  }

  // menu_update_intervals(), menu.c:109
  void update_intervals(unsigned interval_us) {
    intervals_[interval_ptr_++] = interval_us;
    if (interval_ptr_ >= intervals) interval_ptr_ = 0;
  }

  // get_typical_interval(), menu.c:125
  unsigned get_typical_interval() const {
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
      if (!max) return UINT_MAX;
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

  // menu_select(), menu.c:224
  choice select(const select_context& c) override {
    const table_type& t = view_;
    const long long latency_req = linux612::latency_req_none;
    u64 delta_tick_ns;
    if (needs_update_) {
      update();
      needs_update_ = 0;
    } else if (!dev_.last_residency_ns) {
      update_intervals(UINT_MAX);
    }
    u64 predicted_ns = static_cast<u64>(get_typical_interval()) * linux612::nsec_per_usec;
    timer_read_ = predicted_ns > linux612::residency_threshold_ns;  // || tick_nohz_tick_stopped(): false
    if (timer_read_) {
      next_timer_ns_ = sleep_length(c);
      delta_tick_ns = delta_tick(c);
      bucket_ = static_cast<unsigned>(which_bucket(next_timer_ns_));
      // Round up the result for half microseconds.
      const u64 den = resolution * decay * linux612::nsec_per_usec;
      const u64 timer_us = (den / 2 + next_timer_ns_ * correction_factor_[bucket_]) / den;
      predicted_ns = min_of(timer_us * linux612::nsec_per_usec, predicted_ns);
      // tick_nohz_tick_stopped() is false: no `predicted_ns = next_timer_ns`.
    } else {
      // The timer is not read: no timer in sight, the tick half a period away.
      next_timer_ns_ = static_cast<u64>(linux612::ktime_max);
      delta_tick_ns = linux612::tick_nsec / 2;
      bucket_ = static_cast<unsigned>(which_bucket(static_cast<u64>(linux612::ktime_max)));
    }
    if (t.size() <= 1 || next_timer_ns_ < t[1].target_residency_ns ||
        latency_req < static_cast<long long>(t[1].exit_latency_ns))
      return poll_choice();

    int idx = -1;
    for (u32 i = 0; i < t.size(); i++) {
      const idle_state& s = t[i];
      if (idx == -1) idx = static_cast<int>(i);
      if (static_cast<long long>(s.exit_latency_ns) > latency_req) break;
      if (s.target_residency_ns <= predicted_ns) {
        idx = static_cast<int>(i);
        continue;
      }
      // Use a physical idle state instead of busy polling so long as its
      // target residency is below the residency threshold, its exit
      // latency is not greater than the predicted idle duration, and the
      // next timer doesn't expire soon.
      if (idx == 0 && s.target_residency_ns < linux612::residency_threshold_ns &&
          s.target_residency_ns <= next_timer_ns_ && s.exit_latency_ns <= predicted_ns) {
        predicted_ns = s.target_residency_ns;
        idx = static_cast<int>(i);
        break;
      }
      if (predicted_ns < linux612::tick_nsec) break;
      // !tick_nohz_tick_stopped(): retain the tick, stay shallow.
      predicted_ns = t[static_cast<u32>(idx)].target_residency_ns;
      break;
    }
    if (idx == -1) idx = 0;
    // menu.c:374-390: the tick is kept for a polling state or a short
    // prediction, so the state must fit before the next tick.
    if (idx == 0 || predicted_ns < linux612::tick_nsec) {
      if (idx > 0 && t[static_cast<u32>(idx)].target_residency_ns > delta_tick_ns) {
        for (int i = idx - 1; i >= 0; i--) {
          idx = i;
          if (t[static_cast<u32>(i)].target_residency_ns <= delta_tick_ns) break;
        }
      }
    }
    if (idx == 0) return poll_choice();
    return {static_cast<u32>(idx), 0, 0};
  }

  // menu_reflect(), menu.c:410
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
  bool timer_read() const { return timer_read_; }
  u64 next_timer_ns() const { return next_timer_ns_; }

 private:
  choice poll_choice() { return {0, poll_limit_ns_, 0, poll_loop::poll_idle}; }

  // menu_update(), menu.c:421
  void update() {
    const table_type& t = view_;
    const int last_idx = dev_.last_state_idx;
    const idle_state& target = t[static_cast<u32>(last_idx)];
    u64 measured_ns;
    if (tick_wakeup_ && next_timer_ns_ > linux612::tick_nsec) {
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
    // ktime_to_us() into menu_update_intervals()'s unsigned int, truncating
    // as the kernel does (KTIME_MAX after a poll timeout with no timer read).
    update_intervals(static_cast<unsigned>(measured_ns / linux612::nsec_per_usec));
  }

  table_type view_;
  cpuidle_device_state dev_;
  u64 poll_limit_ns_;
  int needs_update_ = 0;
  bool tick_wakeup_ = false;
  bool timer_read_ = false;
  u64 next_timer_ns_ = 0;
  unsigned bucket_ = 0;
  unsigned correction_factor_[buckets]{};
  unsigned intervals_[intervals]{};
  int interval_ptr_ = 0;
};

// ============================ Linux 6.12: teo ===============================
class teo_612_governor final : public policy {
 public:
  static constexpr unsigned pulse = 1024;     // PULSE, teo.c:112
  static constexpr unsigned decay_shift = 3;  // DECAY_SHIFT, teo.c:113

  struct teo_bin {
    unsigned intercepts = 0;
    unsigned hits = 0;
  };

  explicit teo_612_governor(const environment& env) : env_(env), poll_limit_ns_(cpuidle_poll_time(env.table)) {
    dev_.last_state_idx = -1;  // teo_enable_device() memsets; the core starts with no last state
  }

  // teo_update(), teo.c:148
  void update() {
    const table_type& t = env_.table;
    int idx_timer = 0, idx_duration = 0;
    long long target_residency_ns = 0;
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
      teo_bin& bin = bins_[i];
      bin.hits -= bin.hits >> decay_shift;
      bin.intercepts -= bin.intercepts >> decay_shift;
      total_ += bin.hits + bin.intercepts;
      target_residency_ns = static_cast<long long>(t[i].target_residency_ns);
      if (target_residency_ns <= sleep_length_ns_) {
        idx_timer = static_cast<int>(i);
        if (static_cast<u64>(target_residency_ns) <= measured_ns) idx_duration = static_cast<int>(i);
      }
    }
    // The deepest state is shallower than the tick: an extra hits-only bin.
    if (target_residency_ns < static_cast<long long>(linux612::tick_nsec)) {
      tick_hits_ -= tick_hits_ >> decay_shift;
      total_ += tick_hits_;
      if (static_cast<long long>(linux612::tick_nsec) <= sleep_length_ns_) {
        idx_timer = static_cast<int>(t.size());
        if (linux612::tick_nsec <= measured_ns) {
          tick_hits_ += pulse;
          total_ += pulse;
          return;
        }
      }
    }
    if (idx_timer == idx_duration)
      bins_[idx_timer].hits += pulse;
    else
      bins_[idx_duration].intercepts += pulse;
    total_ += pulse;
  }

  // teo_state_ok(): the tick is never stopped here.
  static bool teo_state_ok(int) { return true; }

  // teo_find_shallower_state(), no state disabled.
  int find_shallower_state(int state_idx, long long duration_ns) const {
    for (int i = state_idx - 1; i >= 0; i--) {
      state_idx = i;
      if (static_cast<long long>(env_.table[static_cast<u32>(i)].target_residency_ns) <= duration_ns) break;
    }
    return state_idx;
  }

  // teo_select(), teo.c:282
  choice select(const select_context& c) override {
    const table_type& t = env_.table;
    const long long latency_req = linux612::latency_req_none;
    long long delta_tick_ns = static_cast<long long>(linux612::tick_nsec / 2);
    unsigned tick_intercept_sum = 0, idx_intercept_sum = 0, intercept_sum = 0, idx_hit_sum = 0, hit_sum = 0;
    int constraint_idx = 0;
    int idx0 = 0, idx = -1;
    int prev_intercept_idx;
    long long duration_ns = 0;
    if (dev_.last_state_idx >= 0) {
      update();
      dev_.last_state_idx = -1;
    }
    sleep_length_ns_ = linux612::ktime_max;
    sleep_length_read_ = false;
    auto read_sleep_length = [&] {
      duration_ns = static_cast<long long>(sleep_length(c));
      delta_tick_ns = static_cast<long long>(delta_tick(c));
      sleep_length_ns_ = duration_ns;
      sleep_length_read_ = true;
    };
    if (t.size() < 2) return finish(0);
    idx = 0;  // state 0 enabled
    for (u32 i = 1; i < t.size(); i++) {
      const teo_bin& prev_bin = bins_[i - 1];
      intercept_sum += prev_bin.intercepts;
      hit_sum += prev_bin.hits;
      if (idx < 0) idx0 = static_cast<int>(i);
      idx = static_cast<int>(i);
      if (static_cast<long long>(t[i].exit_latency_ns) <= latency_req) constraint_idx = static_cast<int>(i);
      idx_intercept_sum = intercept_sum;
      idx_hit_sum = hit_sum;
    }
    if (idx == idx0) {
      duration_ns = static_cast<long long>(t[static_cast<u32>(idx)].target_residency_ns);
      return end(idx, duration_ns, delta_tick_ns);
    }
    tick_intercept_sum = intercept_sum + bins_[t.size() - 1].intercepts;
    prev_intercept_idx = idx;
    last_alt_ = false;
    if (2 * idx_intercept_sum > total_ - idx_hit_sum) {
      int first_suitable_idx = idx;
      intercept_sum = 0;
      for (int i = idx - 1; i >= 0; i--) {
        intercept_sum += bins_[i].intercepts;
        if (2 * intercept_sum > idx_intercept_sum) {
          idx = teo_state_ok(i) ? i : first_suitable_idx;
          last_alt_ = true;
          break;
        }
        first_suitable_idx = i;
      }
    }
    if (!idx && prev_intercept_idx) {
      // Query the sleep length, or the wakeup cannot be classified.
      read_sleep_length();
      return finish(idx);
    }
    if (idx > constraint_idx) idx = constraint_idx;
    if (!idx) return finish(idx);
    // State 0 polls: a candidate this shallow skips the timers check.
    if (t[static_cast<u32>(idx)].target_residency_ns < linux612::residency_threshold_ns) return finish(idx);
    read_sleep_length();
    if (static_cast<long long>(t[static_cast<u32>(idx)].target_residency_ns) > duration_ns)
      idx = find_shallower_state(idx, duration_ns);
    if (t[static_cast<u32>(idx)].target_residency_ns < linux612::tick_nsec &&
        tick_intercept_sum > total_ / 2 + total_ / 8)
      duration_ns = static_cast<long long>(linux612::tick_nsec / 2);
    return end(idx, duration_ns, delta_tick_ns);
  }

  // teo_reflect(), teo.c:506
  void reflect(const segment_outcome& o) override {
    dev_.last_state_idx = static_cast<int>(o.state);
    dev_.enter_done(o);
    if (dev_.poll_time_limit || (o.tick_wakeup && sleep_length_ns_ > static_cast<long long>(linux612::tick_nsec))) {
      dev_.poll_time_limit = false;
      time_span_ns_ = sleep_length_ns_;
    } else {
      time_span_ns_ = static_cast<long long>(o.measured_ns);
    }
  }

  // Test hooks.
  const teo_bin& bin(int i) const { return bins_[i]; }
  unsigned tick_hits() const { return tick_hits_; }
  unsigned total() const { return total_; }
  bool chose_shallower_by_intercepts() const { return last_alt_; }
  bool sleep_length_read() const { return sleep_length_read_; }

 private:
  // end: (teo.c:478-498) keep the tick for a polling state or a short
  // duration, and then stay within the time to the next tick.
  choice end(int idx, long long duration_ns, long long delta_tick_ns) {
    if (idx != 0 && duration_ns >= static_cast<long long>(linux612::tick_nsec)) return to_choice(idx);
    if (idx > 0 && static_cast<long long>(env_.table[static_cast<u32>(idx)].target_residency_ns) > delta_tick_ns)
      idx = find_shallower_state(idx, delta_tick_ns);
    return finish(idx);
  }
  // out_tick: *stop_tick = false.
  choice finish(int idx) { return to_choice(idx); }
  choice to_choice(int idx) const {
    if (idx == 0) return {0, poll_limit_ns_, 0, poll_loop::poll_idle};
    return {static_cast<u32>(idx), 0, 0};
  }

  const environment& env_;
  cpuidle_device_state dev_;
  u64 poll_limit_ns_;
  long long time_span_ns_ = 0;
  long long sleep_length_ns_ = 0;
  teo_bin bins_[16]{};
  unsigned total_ = 0;
  unsigned tick_hits_ = 0;
  bool last_alt_ = false;
  bool sleep_length_read_ = false;
};

// Guest haltpoll 6.12 over host KVM polling 6.12 (see haltpoll_kvm_policy).
class haltpoll_kvm_612_policy final : public policy {
 public:
  explicit haltpoll_kvm_612_policy(const environment& env) : guest_(env, haltpoll_governor::linux_6_12) {
    host_.halt_poll_ns_shrink = 2;
  }
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
