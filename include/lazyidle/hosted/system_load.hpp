// SPDX-License-Identifier: GPL-2.0-only OR MIT
//
// Should anyone spin right now? A process-wide, rarely sampled view of the two
// machine conditions under which polling cannot pay off (DESIGN §5, the
// crossbeam#821 failure):
//
//   oversubscribed  more runnable threads than online CPUs (procs_running in
//                   /proc/loadavg, EWMA, sampled at most every 20 ms): a
//                   spinning waiter takes the CPU from a thread that could
//                   run, possibly the very notifier it waits for.
//   stealing        the hypervisor is taking time from this VM ("steal" in
//                   /proc/stat, over >= 500 ms windows): a vCPU that spins
//                   burns host time the notifier's vCPU needs.
//
// Sampling is elected: whichever waiter finds the sample stale and wins a
// try-lock reads the file (0.4 µs for /proc/loadavg, 2 µs for /proc/stat
// here, fd kept open); everyone else reads one relaxed atomic. The cost is
// per unit of time, so it matters most to waiters with long idles, which
// is why the periods are not shorter. Tests and benchmarks can force either condition.
#ifndef LAZYIDLE_HOSTED_SYSTEM_LOAD_HPP
#define LAZYIDLE_HOSTED_SYSTEM_LOAD_HPP

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>

#include <lazyidle/arith.hpp>

namespace lazyidle::hosted {

class system_load {
 public:
  static constexpr u32 oversubscribed = 1u;
  static constexpr u32 stealing = 2u;
  static constexpr u64 load_period_ns = 20'000'000;
  static constexpr u64 steal_period_ns = 500'000'000;

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

  // Test hooks: force a condition on, or ignore what the machine says.
  void force(u32 flags) { forced_.store(flags, std::memory_order_relaxed); }
  void suppress(u32 flags) { suppressed_.store(flags, std::memory_order_relaxed); }

  u32 online_cpus() const { return cpus_; }
  // Runnable threads (procs_running, EWMA) in Q4: 16 = one thread.
  u32 runnable_q4() const { return running_q4_.load(std::memory_order_relaxed); }

 private:
  system_load() {
    const long n = sysconf(_SC_NPROCESSORS_ONLN);
    cpus_ = n > 0 ? static_cast<u32>(n) : 1u;
    loadavg_fd_ = open("/proc/loadavg", O_RDONLY | O_CLOEXEC);
    stat_fd_ = open("/proc/stat", O_RDONLY | O_CLOEXEC);
  }
  ~system_load() {
    if (loadavg_fd_ >= 0) close(loadavg_fd_);
    if (stat_fd_ >= 0) close(stat_fd_);
  }
  system_load(const system_load&) = delete;
  system_load& operator=(const system_load&) = delete;

  void maybe_sample(u64 now_ns) {
    if (sampling_.exchange(true, std::memory_order_acquire)) return;  // someone else is at it
    if (now_ns >= next_sample_ns_.load(std::memory_order_relaxed)) {
      next_sample_ns_.store(now_ns + load_period_ns, std::memory_order_relaxed);
      u32 flags = flags_.load(std::memory_order_relaxed);
      sample_load(flags);
      if (now_ns >= next_steal_ns_) {
        next_steal_ns_ = now_ns + steal_period_ns;
        sample_steal(flags);
      }
      flags_.store(flags, std::memory_order_relaxed);
    }
    sampling_.store(false, std::memory_order_release);
  }

  void sample_load(u32& flags) {
    char buffer[128];
    if (loadavg_fd_ < 0) return;
    const ssize_t n = pread(loadavg_fd_, buffer, sizeof buffer - 1, 0);
    if (n <= 0) return;
    buffer[n] = '\0';
    // "0.52 0.40 0.17 2/90 4359": the fourth field is running/total.
    const char* p = buffer;
    for (int field = 0; field < 3 && p; ++field) {
      p = std::strchr(p, ' ');
      if (p) ++p;
    }
    if (!p) return;
    const u64 running = std::strtoull(p, nullptr, 10);
    // The sampling thread counts itself; it is a waiter about to decide, so
    // it is one of the threads that would spin: keep it in the count.
    const u32 sample_q4 = sat_u32(running << 4);
    u32 average = running_q4_.load(std::memory_order_relaxed);
    average = average == 0 ? sample_q4 : static_cast<u32>(ewma_step(average, sample_q4, 2));
    running_q4_.store(average, std::memory_order_relaxed);
    // Hysteresis: enter above cpus + 1/2, leave at or below cpus.
    const u32 cpus_q4 = cpus_ << 4;
    if (average > cpus_q4 + 8)
      flags |= oversubscribed;
    else if (average <= cpus_q4)
      flags &= ~oversubscribed;
  }

  void sample_steal(u32& flags) {
    char buffer[256];
    if (stat_fd_ < 0) return;
    const ssize_t n = pread(stat_fd_, buffer, sizeof buffer - 1, 0);
    if (n <= 0) return;
    buffer[n] = '\0';
    if (std::strncmp(buffer, "cpu ", 4) != 0) return;
    // cpu user nice system idle iowait irq softirq steal ...
    const char* p = buffer + 4;
    u64 total = 0, steal = 0;
    for (int field = 0; field < 8; ++field) {
      char* end = nullptr;
      const u64 v = std::strtoull(p, &end, 10);
      if (end == p) return;
      total += v;
      if (field == 7) steal = v;
      p = end;
    }
    if (last_total_ != 0 && total > last_total_) {
      const u64 d_total = total - last_total_;
      const u64 d_steal = steal - last_steal_;
      // More than 1/8 of the machine's time stolen over the window (>= 500 ms:
      // at USER_HZ = 100 that is >= 100 ticks on 2 CPUs).
      if (d_steal * 8 > d_total)
        flags |= stealing;
      else
        flags &= ~stealing;
    }
    last_total_ = total;
    last_steal_ = steal;
  }

  std::atomic<u64> next_sample_ns_{0};
  std::atomic<u32> flags_{0};
  std::atomic<u32> forced_{0};
  std::atomic<u32> suppressed_{0};
  std::atomic<u32> running_q4_{0};
  std::atomic<bool> sampling_{false};
  // Owned by whoever holds sampling_.
  u64 next_steal_ns_ = 0;
  u64 last_total_ = 0;
  u64 last_steal_ = 0;
  u32 cpus_ = 1;
  int loadavg_fd_ = -1;
  int stat_fd_ = -1;
};

}  // namespace lazyidle::hosted

#endif
