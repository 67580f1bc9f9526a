// SPDX-License-Identifier: GPL-2.0-only OR MIT
//
// Sits between the preload library and libc (a DT_NEEDED library of the
// test, so after LD_PRELOAD in the lookup order: the library's
// dlsym(RTLD_NEXT) finds these) and counts the non-blocking tries that
// reach the system: epoll_wait/poll with timeout 0, select with a zero
// timeval. block_first.cpp asserts on the count.
#include <dlfcn.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/select.h>

#include <atomic>

namespace {
std::atomic<unsigned long> zero_timeouts{0};
template <class F>
F next(const char* name) {
  return reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}
}  // namespace

extern "C" {
unsigned long try_counter_zero_timeouts() { return zero_timeouts.load(); }

int epoll_wait(int epfd, epoll_event* events, int maxevents, int timeout) {
  static const auto real = next<int (*)(int, epoll_event*, int, int)>("epoll_wait");
  if (timeout == 0) zero_timeouts.fetch_add(1);
  return real(epfd, events, maxevents, timeout);
}

int poll(pollfd* fds, nfds_t count, int timeout) {
  static const auto real = next<int (*)(pollfd*, nfds_t, int)>("poll");
  if (timeout == 0) zero_timeouts.fetch_add(1);
  return real(fds, count, timeout);
}

int select(int nfds, fd_set* r, fd_set* w, fd_set* e, timeval* timeout) {
  static const auto real = next<int (*)(int, fd_set*, fd_set*, fd_set*, timeval*)>("select");
  if (timeout && timeout->tv_sec == 0 && timeout->tv_usec == 0) zero_timeouts.fetch_add(1);
  return real(nfds, r, w, e, timeout);
}
}
