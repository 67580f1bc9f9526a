// SPDX-License-Identifier: GPL-2.0-only OR MIT
//
// Sits between the preload library and libc (a DT_NEEDED library of the
// test, so the library's dlsym(RTLD_NEXT) finds it, as try_counter.cpp)
// and records the scheduling policy each poll() reaches the system in:
// the library's non-blocking tries (timeout 0) and its real blocking call
// (ppoll, which takes the caller's signal mask while the library holds
// signals during its poll).
// sched_idle.cpp asserts on the counts.
#include <dlfcn.h>
#include <poll.h>
#include <signal.h>
#include <time.h>
#include <sched.h>

#include <atomic>

namespace {
std::atomic<unsigned long> tries_in_sched_idle{0}, tries_other{0}, blocks_in_sched_idle{0}, blocks_other{0};
}  // namespace

extern "C" {
// For the test's writer: how many tries and blocking calls have begun so far.
unsigned long sched_idle_probe_tries() { return tries_in_sched_idle.load() + tries_other.load(); }
unsigned long sched_idle_probe_blocks() { return blocks_in_sched_idle.load() + blocks_other.load(); }
void sched_idle_probe_counts(unsigned long* tries_idle, unsigned long* tries, unsigned long* blocks_idle,
                             unsigned long* blocks) {
  *tries_idle = tries_in_sched_idle.load();
  *tries = tries_other.load();
  *blocks_idle = blocks_in_sched_idle.load();
  *blocks = blocks_other.load();
}

void record(bool zero_timeout) {
  const bool idle = sched_getscheduler(0) == SCHED_IDLE;
  (zero_timeout ? (idle ? tries_in_sched_idle : tries_other) : (idle ? blocks_in_sched_idle : blocks_other))
      .fetch_add(1);
}

int poll(pollfd* fds, nfds_t count, int timeout) {
  static const auto real = reinterpret_cast<int (*)(pollfd*, nfds_t, int)>(dlsym(RTLD_NEXT, "poll"));
  record(timeout == 0);
  return real(fds, count, timeout);
}

int ppoll(pollfd* fds, nfds_t count, const timespec* timeout, const sigset_t* mask) {
  static const auto real =
      reinterpret_cast<int (*)(pollfd*, nfds_t, const timespec*, const sigset_t*)>(dlsym(RTLD_NEXT, "ppoll"));
  record(timeout && timeout->tv_sec == 0 && timeout->tv_nsec == 0);
  return real(fds, count, timeout, mask);
}
}
