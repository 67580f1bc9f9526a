// SPDX-License-Identifier: GPL-2.0-only OR MIT
//
// The two futex operations the waiter needs, on a 32-bit atomic word,
// process-private. futex_wait sleeps only if the word still holds `expected`
// when the kernel looks (atomically with queueing the sleeper): that check is
// what makes "set parked flag, re-check predicate, sleep" free of lost
// wakeups (docs/waiter.md, tests/model/park.pml).
#ifndef LAZYIDLE_HOSTED_FUTEX_HPP
#define LAZYIDLE_HOSTED_FUTEX_HPP

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <climits>

#include <lazyidle/config.hpp>

namespace lazyidle::hosted {

static_assert(sizeof(std::atomic<u32>) == sizeof(u32) && std::atomic<u32>::is_always_lock_free,
              "futex: std::atomic<u32> must be a plain 32-bit word");

// Sleeps while *word == expected. Returns on a wake, a signal, a spurious
// wakeup, a timeout, or at once when the word already differs; the caller
// re-checks its condition in every case.
inline long futex_wait(std::atomic<u32>& word, u32 expected, const timespec* relative_timeout = nullptr) {
  return syscall(SYS_futex, reinterpret_cast<u32*>(&word), FUTEX_WAIT_PRIVATE, expected, relative_timeout,
                 nullptr, 0);
}

// Wakes up to `count` sleepers on the word; returns how many it woke.
inline long futex_wake(std::atomic<u32>& word, int count = 1) {
  return syscall(SYS_futex, reinterpret_cast<u32*>(&word), FUTEX_WAKE_PRIVATE, count, nullptr, nullptr, 0);
}

}  // namespace lazyidle::hosted

#endif
