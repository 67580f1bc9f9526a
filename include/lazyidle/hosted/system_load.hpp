// SPDX-License-Identifier: GPL-2.0-only OR MIT
//
// Should anyone in this process spin right now? A process-wide, rarely
// sampled view of the machine conditions under which polling cannot pay
// off (DESIGN §5, the crossbeam#821 failure), and a count of the threads
// of this process that are polling at this moment.
//
//   oversubscribed  more runnable threads than online CPUs (procs_running
//                   in /proc/loadavg, averaged, sampled every 20 ms): a
//                   spinning thread takes the CPU from one that could run,
//                   possibly the very one it waits for.
//   stealing        the hypervisor is taking time from this VM ("steal" in
//                   /proc/stat, over >= 500 ms windows): a vCPU that spins
//                   burns host time the notifier's vCPU needs.
//   throttled       the process's cgroup ran out of its cpu.max quota in
//                   the last second: polling spends the quota the work needs.
//   pollers         threads of this process polling now; a thread may start
//                   polling only while fewer than usable_cpus() are, so the
//                   process never spins on more CPUs than it may use
//                   (affinity mask, cgroup cpu.max quota, online CPUs, all
//                   re-read every second: hotplug and cgroup moves count).
//
// The runnable average is an EWMA of weight 1/4 in 1/256ths of a thread,
// rounded to nearest, with hysteresis: oversubscribed above cpus + 1/2,
// clear again below cpus + 1/4. (The first version averaged in 1/16ths and
// truncated each step towards the old value, so with the machine steady at
// exactly `cpus` runnable threads it settled 3/16 above and never got back
// to `cpus`: once set, the guard stayed set on a quiet machine — the
// "guard fires on 100 % of waits" of issue 13; tests/unit/test_system_load.cpp.)
//
// Sampling is elected: whichever thread finds the sample stale and wins a
// try-lock reads the files (proc_files.hpp: open/read/close, no heap, no
// descriptor kept); everyone else reads relaxed atomics. A fork() while
// some thread of the parent holds the try-lock would leave the child's copy
// locked for good, so a pthread_atfork child handler releases it and resets
// the poller count (the child has one thread, and it is not polling).
// Tests and benchmarks can force or suppress any condition.
#ifndef LAZYIDLE_HOSTED_SYSTEM_LOAD_HPP
#define LAZYIDLE_HOSTED_SYSTEM_LOAD_HPP

#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <atomic>

#include <lazyidle/arith.hpp>

#include "proc_files.hpp"

namespace lazyidle::hosted {

// Runnable threads against CPUs, averaged with hysteresis (pure: tested alone).
struct runnable_tracker {
  static constexpr u32 one_thread_q8 = 256;
  static constexpr u32 enter_margin_q8 = 128;  // oversubscribed above cpus + 1/2
  static constexpr u32 leave_margin_q8 = 64;   // clear below cpus + 1/4
  u32 average_q8 = 0;
  bool over = false;

  constexpr void sample(u64 running, u32 cpus) {
    const i64 target = static_cast<i64>(min_of<u64>(running, 1u << 20)) * one_thread_q8;
    if (average_q8 == 0) {
      average_q8 = static_cast<u32>(target);
    } else {
      const i64 delta = target - static_cast<i64>(average_q8);
      // weight 1/4, rounded to nearest: settles within 2/256 of the target
      average_q8 = static_cast<u32>(static_cast<i64>(average_q8) + (delta + (delta < 0 ? -2 : 2)) / 4);
    }
    const u32 cpus_q8 = max_of<u32>(cpus, 1) * one_thread_q8;
    if (average_q8 > cpus_q8 + enter_margin_q8)
      over = true;
    else if (average_q8 < cpus_q8 + leave_margin_q8)
      over = false;
  }
};

// Steal over a window: more than 1/8 of the machine's time (pure).
struct steal_tracker {
  u64 last_total = 0, last_steal = 0;
  bool stealing = false;
  constexpr void sample(u64 total, u64 steal) {
    if (last_total != 0 && total > last_total) {
      const u64 d_total = total - last_total;
      const u64 d_steal = steal >= last_steal ? steal - last_steal : 0;
      stealing = d_steal * 8 > d_total;
    }
    last_total = total;
    last_steal = steal;
  }
};

// Throttling over a window: throttled for more than 1/16 of it (pure).
struct throttle_tracker {
  u64 last_ns = 0, last_usec = 0;
  bool throttled = false;
  constexpr void sample(u64 now_ns, u64 throttled_usec) {
    if (last_ns != 0 && now_ns > last_ns) {
      const u64 d_usec = throttled_usec >= last_usec ? throttled_usec - last_usec : 0;
      throttled = sat_mul(d_usec, 1000 * 16) > now_ns - last_ns;
    }
    last_ns = now_ns;
    last_usec = throttled_usec;
  }
};

class system_load {
 public:
  static constexpr u32 oversubscribed = 1u;
  static constexpr u32 stealing = 2u;
  static constexpr u32 throttled = 4u;
  static constexpr u64 load_period_ns = 20'000'000;
  static constexpr u64 steal_period_ns = 500'000'000;
  static constexpr u64 cpus_period_ns = 1'000'000'000;

  static system_load& instance() {
    static system_load monitor;
    return monitor;
  }

  // Current conditions; resamples when stale. Safe from any thread.
  u32 conditions(u64 now_ns) {
    if (LAZYIDLE_UNLIKELY(now_ns >= next_sample_ns_.load(std::memory_order_relaxed))) maybe_sample(now_ns);
    return (flags_.load(std::memory_order_relaxed) & ~suppressed_.load(std::memory_order_relaxed)) |
           forced_.load(std::memory_order_relaxed);
  }

  // A thread that wants to poll asks first; false: usable_cpus() threads of
  // this process are polling already. Pair every true with leave_poll().
  bool try_enter_poll() {
    const u32 limit = usable_cpus_.load(std::memory_order_relaxed);
    u32 now = pollers_.load(std::memory_order_relaxed);
    while (now < limit)
      if (pollers_.compare_exchange_weak(now, now + 1, std::memory_order_relaxed)) return true;
    return false;
  }
  void leave_poll() { pollers_.fetch_sub(1, std::memory_order_relaxed); }
  u32 pollers() const { return pollers_.load(std::memory_order_relaxed); }

  // Test hooks: force a condition on, or ignore what the machine says.
  void force(u32 flags) { forced_.store(flags, std::memory_order_relaxed); }
  void suppress(u32 flags) { suppressed_.store(flags, std::memory_order_relaxed); }
  // Override usable_cpus() (0: measure again). For tests of the poller limit.
  void force_usable_cpus(u32 cpus) {
    usable_override_.store(cpus, std::memory_order_relaxed);
    usable_cpus_.store(cpus ? cpus : measured_usable_.load(std::memory_order_relaxed), std::memory_order_relaxed);
  }
  // Hold the sampling try-lock as another thread would mid-sample (the fork test).
  bool hold_sampling_lock_for_test() { return !sampling_.exchange(true, std::memory_order_acquire); }
  void release_sampling_lock_for_test() { sampling_.store(false, std::memory_order_release); }

  u32 online_cpus() const { return online_cpus_.load(std::memory_order_relaxed); }
  // CPUs this process may use: online, in the sampling thread's affinity
  // mask, and within its cgroup's cpu.max quota (rounded up).
  u32 usable_cpus() const { return usable_cpus_.load(std::memory_order_relaxed); }
  u32 runnable_q8() const { return runnable_q8_.load(std::memory_order_relaxed); }
  u64 samples_taken() const { return samples_.load(std::memory_order_relaxed); }

 private:
  system_load() {
    refresh_cpus(0);
    pthread_atfork(nullptr, nullptr, &after_fork_in_child);
  }
  system_load(const system_load&) = delete;
  system_load& operator=(const system_load&) = delete;

  static void after_fork_in_child() {
    system_load& self = instance();
    self.sampling_.store(false, std::memory_order_relaxed);
    self.pollers_.store(0, std::memory_order_relaxed);
    self.next_sample_ns_.store(0, std::memory_order_relaxed);
  }

  void maybe_sample(u64 now_ns) {
    if (sampling_.exchange(true, std::memory_order_acquire)) return;  // someone else is at it
    if (now_ns >= next_sample_ns_.load(std::memory_order_relaxed)) {
      next_sample_ns_.store(now_ns + load_period_ns, std::memory_order_relaxed);
      u32 flags = flags_.load(std::memory_order_relaxed);
      if (now_ns >= next_cpus_ns_) {
        next_cpus_ns_ = now_ns + cpus_period_ns;
        refresh_cpus(now_ns);
        flags = throttle_.throttled ? flags | throttled : flags & ~throttled;
      }
      sample_load();
      flags = runnable_.over ? flags | oversubscribed : flags & ~oversubscribed;
      if (now_ns >= next_steal_ns_) {
        next_steal_ns_ = now_ns + steal_period_ns;
        sample_steal();
        flags = steal_.stealing ? flags | stealing : flags & ~stealing;
      }
      flags_.store(flags, std::memory_order_relaxed);
      samples_.fetch_add(1, std::memory_order_relaxed);
    }
    sampling_.store(false, std::memory_order_release);
  }

  void sample_load() {
    char buffer[128];
    u64 running;
    if (read_small_file("/proc/loadavg", buffer, sizeof buffer) <= 0 ||
        !parse::loadavg_running(buffer, running))
      return;
    // The sampling thread counts itself: it is about to decide whether to
    // spin, and a spinning thread is a runnable one.
    runnable_.sample(running, online_cpus());
    runnable_q8_.store(runnable_.average_q8, std::memory_order_relaxed);
  }

  void sample_steal() {
    char buffer[256];
    u64 total, steal;
    if (read_small_file("/proc/stat", buffer, sizeof buffer) <= 0 || !parse::stat_totals(buffer, total, steal))
      return;
    steal_.sample(total, steal);
  }

  // Online CPUs, the affinity mask, the cgroup quota; and the cgroup's
  // throttled time, summed over the levels that have a quota.
  void refresh_cpus(u64 now_ns) {
    const long online = sysconf(_SC_NPROCESSORS_ONLN);
    u32 cpus = online > 0 ? static_cast<u32>(online) : 1u;
    online_cpus_.store(cpus, std::memory_order_relaxed);
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
      cpus = min_of(cpus, static_cast<u32>(CPU_COUNT(&set)));
    u64 throttled_usec = 0;
    const u64 quota = cgroup_quota_cpus(throttled_usec);
    if (quota != no_bound) cpus = min_of<u32>(cpus, sat_u32(quota));
    measured_usable_.store(cpus, std::memory_order_relaxed);
    const u32 forced = usable_override_.load(std::memory_order_relaxed);
    usable_cpus_.store(forced ? forced : cpus, std::memory_order_relaxed);
    if (now_ns) throttle_.sample(now_ns, throttled_usec);
  }

  static u64 cgroup_quota_cpus(u64& throttled_usec) {
    char text[512], path[512 + 32];
    if (read_small_file("/proc/self/cgroup", text, sizeof text) <= 0) return no_bound;
    char group[512];
    if (!parse::cgroup_v2_path(text, group, sizeof group)) return no_bound;
    u64 tightest = no_bound;
    // From the process's own cgroup up to the root: a parent's quota binds too.
    for (;;) {
      char value[64];
      u64 quota, period;
      if (build_path(path, sizeof path, group, "/cpu.max") && read_small_file(path, value, sizeof value) > 0 &&
          parse::cpu_max(value, quota, period) && quota != no_bound) {
        tightest = min_of(tightest, parse::quota_cpus(quota, period));
        char stat[512];
        u64 usec;
        if (build_path(path, sizeof path, group, "/cpu.stat") && read_small_file(path, stat, sizeof stat) > 0 &&
            parse::cpu_stat_throttled_usec(stat, usec))
          throttled_usec = sat_add(throttled_usec, usec);
      }
      if (group[0] == '/' && group[1] == '\0') break;  // the root is done
      unsigned long last_slash = 0;
      for (unsigned long i = 0; group[i]; ++i)
        if (group[i] == '/') last_slash = i;
      group[last_slash == 0 ? 1 : last_slash] = '\0';  // "/a/b" -> "/a", "/a" -> "/"
    }
    return tightest;
  }

  static bool build_path(char* out, unsigned long size, const char* group, const char* file) {
    const char* prefix = "/sys/fs/cgroup";
    unsigned long n = 0;
    for (const char* p = prefix; *p; ++p)
      if (n + 1 < size) out[n++] = *p;
    if (!(group[0] == '/' && group[1] == '\0'))
      for (const char* p = group; *p; ++p)
        if (n + 1 < size) out[n++] = *p;
    for (const char* p = file; *p; ++p)
      if (n + 1 < size) out[n++] = *p;
    if (n + 1 >= size) return false;
    out[n] = '\0';
    return true;
  }

  std::atomic<u64> next_sample_ns_{0};
  std::atomic<u32> flags_{0};
  std::atomic<u32> forced_{0};
  std::atomic<u32> suppressed_{0};
  std::atomic<u32> runnable_q8_{0};
  std::atomic<u32> online_cpus_{1};
  std::atomic<u32> usable_cpus_{1};
  std::atomic<u32> measured_usable_{1};
  std::atomic<u32> usable_override_{0};
  std::atomic<u32> pollers_{0};
  std::atomic<u64> samples_{0};
  std::atomic<bool> sampling_{false};
  // Owned by whoever holds sampling_.
  u64 next_steal_ns_ = 0;
  u64 next_cpus_ns_ = 0;
  runnable_tracker runnable_{};
  steal_tracker steal_{};
  throttle_tracker throttle_{};
};

}  // namespace lazyidle::hosted

#endif
