// SPDX-License-Identifier: GPL-2.0-only OR MIT
//
// LD_PRELOAD shim that times a server's blocking waits (epoll_wait,
// epoll_pwait, poll, ppoll) for lazyidle-sim traces. Per call: two vDSO
// clock_gettime(CLOCK_MONOTONIC) reads and a store into a thread-local
// buffer (~50 ns); records are written out 4096 at a time and at exit. Not
// strace: its per-syscall ptrace stops add tens of microseconds, which is
// exactly the scale of the waits that matter.
//
// Output: $LAZYIDLE_WAIT_DIR/waits.PID, one line per wait that could block
// (timeout != 0): "tid start_ns duration_ns timeout_ns" (timeout -1 =
// infinite). scripts/capture-server-waits merges the files into the columns
// trace format: the waiter is the "cpu", the timeout the next-timer bound.
// Build: cc -O2 -shared -fPIC -o wait_timer_preload.so wait_timer_preload.c -ldl
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

struct wait_record {
  uint64_t start_ns;
  uint64_t duration_ns;
  int64_t timeout_ns;
};

enum { buffer_records = 4096 };
static __thread struct wait_record records[buffer_records];
static __thread unsigned record_count;
static __thread pid_t record_tid;

static int (*real_epoll_wait)(int, struct epoll_event*, int, int);
static int (*real_epoll_pwait)(int, struct epoll_event*, int, int, const sigset_t*);
static int (*real_poll)(struct pollfd*, nfds_t, int);
static int (*real_ppoll)(struct pollfd*, nfds_t, const struct timespec*, const sigset_t*);

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void flush_records(void) {
  if (record_count == 0) return;
  const char* dir = getenv("LAZYIDLE_WAIT_DIR");
  if (!dir) dir = "/tmp";
  char path[4096];
  snprintf(path, sizeof path, "%s/waits.%d", dir, (int)getpid());
  const int saved_errno = errno;
  const int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd >= 0) {
    char line[96];
    char chunk[65536];
    size_t used = 0;
    for (unsigned i = 0; i < record_count; ++i) {
      const int n = snprintf(line, sizeof line, "%d %llu %llu %lld\n", (int)record_tid,
                             (unsigned long long)records[i].start_ns, (unsigned long long)records[i].duration_ns,
                             (long long)records[i].timeout_ns);
      if (used + (size_t)n > sizeof chunk) {
        if (write(fd, chunk, used) < 0) break;
        used = 0;
      }
      memcpy(chunk + used, line, (size_t)n);
      used += (size_t)n;
    }
    if (used && write(fd, chunk, used) < 0) { /* nothing to do: the trace is best effort */ }
    close(fd);
  }
  errno = saved_errno;
  record_count = 0;
}

static void record_wait(uint64_t start, uint64_t end, int64_t timeout_ns) {
  if (timeout_ns == 0) return;  // a non-blocking check, not a wait
  if (record_tid == 0) record_tid = (pid_t)syscall(SYS_gettid);
  records[record_count].start_ns = start;
  records[record_count].duration_ns = end - start;
  records[record_count].timeout_ns = timeout_ns;
  if (++record_count == buffer_records) flush_records();
}

// A forked child must not write its parent's unflushed records or tid.
static void after_fork_child(void) {
  record_count = 0;
  record_tid = 0;
}

static void on_exit_flush(void) { flush_records(); }

__attribute__((constructor)) static void wait_timer_init(void) {
  real_epoll_wait = (int (*)(int, struct epoll_event*, int, int))dlsym(RTLD_NEXT, "epoll_wait");
  real_epoll_pwait = (int (*)(int, struct epoll_event*, int, int, const sigset_t*))dlsym(RTLD_NEXT, "epoll_pwait");
  real_poll = (int (*)(struct pollfd*, nfds_t, int))dlsym(RTLD_NEXT, "poll");
  real_ppoll = (int (*)(struct pollfd*, nfds_t, const struct timespec*, const sigset_t*))dlsym(RTLD_NEXT, "ppoll");
  pthread_atfork(NULL, NULL, after_fork_child);
  atexit(on_exit_flush);
}

__attribute__((destructor)) static void wait_timer_fini(void) { flush_records(); }

static int64_t ms_to_ns(int timeout_ms) { return timeout_ms < 0 ? -1 : (int64_t)timeout_ms * 1000000; }

int epoll_wait(int epfd, struct epoll_event* events, int maxevents, int timeout) {
  const uint64_t start = now_ns();
  const int r = real_epoll_wait(epfd, events, maxevents, timeout);
  const int saved_errno = errno;
  record_wait(start, now_ns(), ms_to_ns(timeout));
  errno = saved_errno;
  return r;
}

int epoll_pwait(int epfd, struct epoll_event* events, int maxevents, int timeout, const sigset_t* mask) {
  const uint64_t start = now_ns();
  const int r = real_epoll_pwait(epfd, events, maxevents, timeout, mask);
  const int saved_errno = errno;
  record_wait(start, now_ns(), ms_to_ns(timeout));
  errno = saved_errno;
  return r;
}

int poll(struct pollfd* fds, nfds_t nfds, int timeout) {
  const uint64_t start = now_ns();
  const int r = real_poll(fds, nfds, timeout);
  const int saved_errno = errno;
  record_wait(start, now_ns(), ms_to_ns(timeout));
  errno = saved_errno;
  return r;
}

int ppoll(struct pollfd* fds, nfds_t nfds, const struct timespec* timeout, const sigset_t* mask) {
  const uint64_t start = now_ns();
  const int r = real_ppoll(fds, nfds, timeout, mask);
  const int saved_errno = errno;
  const int64_t t = timeout ? (int64_t)timeout->tv_sec * 1000000000 + timeout->tv_nsec : -1;
  record_wait(start, now_ns(), t);
  errno = saved_errno;
  return r;
}
