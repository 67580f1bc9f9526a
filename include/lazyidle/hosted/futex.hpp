// SPDX-License-Identifier: GPL-2.0-only OR MIT
//
// The futex operations the waiter needs, on a 32-bit atomic word.
// futex_wait sleeps only if the word still holds `expected` when the kernel
// looks (atomically with queueing the sleeper): that check is what makes
// "set parked flag, re-check predicate, sleep" free of lost wakeups
// (docs/waiter.md, tests/model/park.pml).
//
// Private futexes (the default) are keyed by (mm, address): cheaper, but a
// waiter and a notifier in different processes sharing a MAP_SHARED page
// never meet. `shared` selects the inode/offset-keyed form for that case.
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

inline int futex_op(int op, bool shared) { return shared ? op : (op | FUTEX_PRIVATE_FLAG); }

// Sleeps while *word == expected. Returns on a wake, a signal, a spurious
// wakeup, or at once when the word already differs; the caller re-checks
// its condition in every case.
inline long futex_wait(std::atomic<u32>& word, u32 expected, bool shared = false) {
  return syscall(SYS_futex, reinterpret_cast<u32*>(&word), futex_op(FUTEX_WAIT, shared), expected, nullptr,
                 nullptr, 0);
}

// The same with an absolute CLOCK_MONOTONIC deadline (FUTEX_WAIT_BITSET
// takes an absolute time, so spurious wakeups cannot stretch the wait).
// -1 with errno ETIMEDOUT once the deadline has passed.
inline long futex_wait_until(std::atomic<u32>& word, u32 expected, u64 deadline_ns, bool shared = false) {
  timespec deadline{static_cast<time_t>(deadline_ns / 1'000'000'000ull),
                    static_cast<long>(deadline_ns % 1'000'000'000ull)};
  return syscall(SYS_futex, reinterpret_cast<u32*>(&word), futex_op(FUTEX_WAIT_BITSET, shared), expected,
                 &deadline, nullptr, FUTEX_BITSET_MATCH_ANY);
}

// Wakes up to `count` sleepers on the word; returns how many it woke. A
// private wake only hashes the address and never touches the memory, so it
// is safe on memory the woken thread may already have freed (the rule
// glibc's sem_post follows, bug 12674); a shared one looks the page up and
// fails with EFAULT if it has been unmapped.
inline long futex_wake(std::atomic<u32>& word, int count = 1, bool shared = false) {
  return syscall(SYS_futex, reinterpret_cast<u32*>(&word), futex_op(FUTEX_WAKE, shared), count, nullptr,
                 nullptr, 0);
}

}  // namespace lazyidle::hosted

#endif
