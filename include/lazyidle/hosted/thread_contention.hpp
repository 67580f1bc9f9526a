// SPDX-License-Identifier: GPL-2.0-only OR MIT
//
// Is this thread's CPU wanted by someone else? The scheduler knows: the
// run delay in /proc/thread-self/schedstat (CONFIG_SCHED_INFO) grows while
// the thread is runnable but another one has its CPU. A spinning thread on
// a CPU shared with other runnable work is preempted at every tick and
// accumulates run delay; one that has its CPU to itself accumulates none.
// Unlike the machine-wide count of runnable threads (system_load.hpp) this
// sees exactly the CPUs the thread may run on: affinity masks, cpusets, a
// neighbour pinned to our CPU on an otherwise idle machine.
//
// One sample per window (16 ms) per thread: open/read/close of one small
// file, 3-5 us. Contended when the run delay grew by more than 1/8 of the
// window. Missing file (no CONFIG_SCHED_INFO, no /proc): never contended.
#ifndef LAZYIDLE_HOSTED_THREAD_CONTENTION_HPP
#define LAZYIDLE_HOSTED_THREAD_CONTENTION_HPP

#include <lazyidle/arith.hpp>

#include "proc_files.hpp"

namespace lazyidle::hosted {

// The decision from two samples (pure: tested alone).
struct run_delay_tracker {
  static constexpr u64 window_ns = 16'000'000;
  static constexpr u32 contended_shift = 3;  // run delay > window / 8
  u64 last_ns = 0, last_delay_ns = 0;
  bool contended = false;

  constexpr bool due(u64 now_ns) const { return now_ns - last_ns >= window_ns; }
  constexpr void sample(u64 now_ns, u64 run_delay_ns) {
    if (last_ns != 0 && now_ns > last_ns) {
      const u64 grown = run_delay_ns >= last_delay_ns ? run_delay_ns - last_delay_ns : 0;
      contended = (grown << contended_shift) > now_ns - last_ns;
    }
    last_ns = now_ns;
    last_delay_ns = run_delay_ns;
  }
};

class thread_contention {
 public:
  // Call at most once per wait; reads the file only when a window has passed.
  bool contended(u64 now_ns) {
    if (LAZYIDLE_UNLIKELY(tracker_.due(now_ns))) {
      char text[96];
      u64 delay;
      if (read_small_file("/proc/thread-self/schedstat", text, sizeof text) > 0 &&
          parse::schedstat_run_delay(text, delay))
        tracker_.sample(now_ns, delay);
      else
        tracker_.last_ns = now_ns;  // no data: try again next window, stay uncontended
    }
    return tracker_.contended;
  }
  // A new thread took over the engine (or the engine is new): the previous
  // thread's run delay is not ours.
  void restart() { tracker_ = {}; }

 private:
  run_delay_tracker tracker_{};
};

}  // namespace lazyidle::hosted

#endif
