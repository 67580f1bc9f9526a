// SPDX-License-Identifier: GPL-2.0-only OR MIT
//
// Userspace clocks and the CPU-relax instruction, in one place.
//
// monotonic_ns() is clock_gettime(CLOCK_MONOTONIC) through the vDSO: ~16 ns on
// this machine with the tsc clocksource, cheap enough to read every few pause
// instructions, which is how the waiter budgets its spin in time rather than
// in iterations (a pause costs 9.5 ns here idle, 25-43 ns under load, and 10x
// more on some CPUs: DESIGN §5). thread_cpu_ns() is a real system call
// (~170 ns here), so the waiter only samples it.
#ifndef LAZYIDLE_HOSTED_CLOCK_HPP
#define LAZYIDLE_HOSTED_CLOCK_HPP

#include <time.h>

#include <lazyidle/config.hpp>

namespace lazyidle::hosted {

inline u64 timespec_ns(const timespec& t) {
  return static_cast<u64>(t.tv_sec) * 1000000000ull + static_cast<u64>(t.tv_nsec);
}

// Wall time that never goes backwards; the waiter's only time base.
inline u64 monotonic_ns() {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return timespec_ns(t);
}

// CPU time the calling thread has consumed, user + system.
inline u64 thread_cpu_ns() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return timespec_ns(t);
}

// One spin-wait hint: tells the core (and, under a hypervisor, pause-loop
// exiting) that this is a busy-wait, frees the sibling hyperthread.
LAZYIDLE_ALWAYS_INLINE void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#else
  asm volatile("" ::: "memory");
#endif
}

}  // namespace lazyidle::hosted

#endif
