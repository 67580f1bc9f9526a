// SPDX-License-Identifier: GPL-2.0-only OR MIT
//
// Block first (preload.cpp, wait()): while a thread's waits block at once,
// a multiplexer's wait makes the real call at once, with no non-blocking
// try before it; a call whose event is already there still returns it at
// once and is counted ready, not as a wait; a timeout is still kept. Run
// under the library with LAZYIDLE_TEST_TRIES=few (policy fixed:0: only the
// first wait of a thread tries) or =many (a 1 ms budget, guards off: every
// wait polls, so every wait is seen to try — the counter counts).
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "preload_mapped.h"
#include "stats_line.h"

extern "C" unsigned long try_counter_zero_timeouts();

namespace {

constexpr int rounds = 60;          // per multiplexer
constexpr long gap_ns = 2'000'000;  // far above any B: no governor polls such gaps
int sockets[2];
int failures = 0;

void check(bool ok, const char* what, int round) {
  if (!ok) {
    fprintf(stderr, "block_first: %s (round %d)\n", what, round);
    ++failures;
  }
}

long now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1'000'000'000L + ts.tv_nsec;
}

void* writer(void*) {
  for (int i = 0; i < 3 * rounds; ++i) {
    timespec gap{0, gap_ns};
    nanosleep(&gap, nullptr);
    if (write(sockets[1], "x", 1) != 1) abort();
  }
  return nullptr;
}

void take_byte(int round) {
  char c = 0;
  check(read(sockets[0], &c, 1) == 1 && c == 'x', "the byte written", round);
}


}  // namespace

int main() {
  const char* expected = getenv("LAZYIDLE_TEST_TRIES");
  if (!expected || (strcmp(expected, "few") != 0 && strcmp(expected, "many") != 0)) {
    fprintf(stderr, "block_first: set LAZYIDLE_TEST_TRIES=few or many\n");
    return 2;
  }
  const bool few = strcmp(expected, "few") == 0;
  if (!preload_mapped()) {
    fprintf(stderr, "block_first: liblazyidle-preload.so is not loaded (LD_PRELOAD)\n");
    return 1;
  }
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sockets) != 0) return 2;
  const int ep = epoll_create1(0);
  epoll_event interest{};
  interest.events = EPOLLIN;
  interest.data.fd = sockets[0];
  if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, sockets[0], &interest) != 0) return 2;

  // Waits of 2 ms in each multiplexer; per wait, did a try reach the system?
  int waits_that_tried = 0;
  auto tried_since = [&](unsigned long before) {
    if (try_counter_zero_timeouts() != before) ++waits_that_tried;
  };
  const long waits_start = now_ns();
  pthread_t thread;
  if (pthread_create(&thread, nullptr, writer, nullptr) != 0) return 2;
  for (int i = 0; i < rounds; ++i) {
    epoll_event event{};
    const unsigned long before = try_counter_zero_timeouts();
    check(epoll_wait(ep, &event, 1, 5000) == 1 && event.data.fd == sockets[0], "epoll_wait's event", i);
    tried_since(before);
    take_byte(i);
  }
  for (int i = 0; i < rounds; ++i) {
    pollfd fd{sockets[0], POLLIN, 0};
    const unsigned long before = try_counter_zero_timeouts();
    check(poll(&fd, 1, 5000) == 1 && fd.revents == POLLIN, "poll's revents", i);
    tried_since(before);
    take_byte(i);
  }
  for (int i = 0; i < rounds; ++i) {
    fd_set set;
    FD_ZERO(&set);
    FD_SET(sockets[0], &set);
    timeval limit{5, 0};
    const unsigned long before = try_counter_zero_timeouts();
    check(select(sockets[0] + 1, &set, nullptr, nullptr, &limit) == 1 && FD_ISSET(sockets[0], &set),
          "select's set", i);
    tried_since(before);
    take_byte(i);
  }
  pthread_join(thread, nullptr);
  const int waits = 3 * rounds;
  // The thread's first wait tries (its engine is new), and so does a wait
  // when the L probe is due (one per 50 ms per process); none else.
  const int probes = static_cast<int>((now_ns() - waits_start) / 50'000'000) + 1;
  if (few)
    check(waits_that_tried <= 1 + probes, "waits with no budget made no try", waits_that_tried);
  else
    check(waits_that_tried == waits, "every polled wait tried", waits_that_tried);

  // Timeouts are kept: never early.
  for (int i = 0; i < 5; ++i) {
    epoll_event event{};
    const long start = now_ns();
    check(epoll_wait(ep, &event, 1, 3) == 0, "a timeout with nothing there", i);
    check(now_ns() - start >= 3'000'000, "a timeout not cut short", i);
  }

  // An event already there comes back at once and is counted ready, not as
  // a wait (the plan made first is withdrawn): a child that waits once
  // (its engine learns to block first), then makes 20 calls that find
  // their event ready, then exits and writes its stats.
  const char* stats = getenv("LAZYIDLE_STATS");
  if (few && stats && *stats && strcmp(stats, "-") != 0) {
    const int failures_before = failures;
    // The library appends; an earlier run's line of a reused pid must not be read.
    if (FILE* old_lines = fopen(stats, "w")) fclose(old_lines);
    const pid_t child = fork();
    if (child == 0) {
      pthread_t late;
      if (pthread_create(&late, nullptr, [](void*) -> void* {
            timespec gap{0, gap_ns};
            nanosleep(&gap, nullptr);
            if (write(sockets[1], "x", 1) != 1) abort();
            return nullptr;
          }, nullptr) != 0)
        _exit(2);
      epoll_event event{};
      if (epoll_wait(ep, &event, 1, 5000) != 1) _exit(3);
      pthread_join(late, nullptr);
      take_byte(0);
      for (int i = 0; i < 20; ++i) {
        if (write(sockets[1], "x", 1) != 1) _exit(2);
        if (epoll_wait(ep, &event, 1, 5000) != 1 || event.data.fd != sockets[0]) _exit(4);
        take_byte(i);
      }
      exit(failures > failures_before ? 5 : 0);  // exit(), not _exit(): the library writes the stats
    }
    int status = 0;
    pid_t reaped;
    do reaped = waitpid(child, &status, 0);
    while (reaped < 0 && errno == EINTR);
    check(reaped == child && WIFEXITED(status) && WEXITSTATUS(status) == 0,
          "the child's calls returned their events", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    const long ready = stats_value(stats, child, "epoll_wait", "ready");
    const long child_waits = stats_value(stats, child, "epoll_wait", "waits");
    // One or two of the 20 may take longer than a sleep would (the child's
    // first touches of its copied pages fault: 5.5 us measured) and count
    // as waits; counted as the try-first order counts them, without the
    // withdrawal, all 20 would be waits.
    check(ready >= 18, "ready calls counted ready", static_cast<int>(ready));
    check(child_waits >= 1 && child_waits <= 3, "ready calls not counted as waits", static_cast<int>(child_waits));
  }
  printf("block_first: %s, %d waits, %d of them tried first\n", failures ? "FAILED" : "ok", waits,
         waits_that_tried);
  return failures ? 1 : 0;
}
