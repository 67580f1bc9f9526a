// SPDX-License-Identifier: GPL-2.0-only OR MIT
//
// The L probe (preload.cpp, "the L probe") reaches every process that
// blocks: one that waits in poll() (LAZYIDLE_TEST_WAIT=poll, 300-us gaps),
// and one whose waits are all shorter than the probe's first 100-us sleep
// (LAZYIDLE_TEST_WAIT=epoll, 60-us gaps: the probe halves its sleep until
// the timer, not the event, ends it). A child makes 400 waits under policy
// fixed:0 (every wait blocks, so every probe that is due runs) and exits;
// its stats line must show a wake latency other than the 10-us seed. Before
// the probe covered poll(), and before it shortened, both kept the seed.
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <thread>

#include "stats_line.h"

namespace {
constexpr long seed_wake_latency_ns = 10'000;  // process_block_cost's seed (DESIGN §9)
constexpr int waits = 400;

int child(bool use_poll, long gap_ns) {
  int sockets[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sockets) != 0) return 2;
  const int ep = epoll_create1(0);
  epoll_event interest{};
  interest.events = EPOLLIN;
  interest.data.fd = sockets[0];
  if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, sockets[0], &interest) != 0) return 2;
  std::thread writer([&] {
    prctl(PR_SET_TIMERSLACK, 1, 0, 0, 0);  // gaps as asked, not 50 us longer
    for (int i = 0; i < waits; ++i) {
      timespec gap{0, gap_ns};
      nanosleep(&gap, nullptr);
      if (write(sockets[1], "x", 1) != 1) abort();
    }
  });
  for (int i = 0; i < waits; ++i) {
    if (use_poll) {
      pollfd p{sockets[0], POLLIN, 0};
      if (poll(&p, 1, 5000) != 1) return 3;
    } else {
      epoll_event event{};
      if (epoll_wait(ep, &event, 1, 5000) != 1) return 3;
    }
    char c;
    if (read(sockets[0], &c, 1) != 1) return 4;
  }
  writer.join();
  return 0;
}
}  // namespace

int main() {
  const char* mode = getenv("LAZYIDLE_TEST_WAIT");
  const char* stats = getenv("LAZYIDLE_STATS");
  if (!mode || (strcmp(mode, "poll") != 0 && strcmp(mode, "epoll") != 0) || !stats || !*stats ||
      strcmp(stats, "-") == 0) {
    fprintf(stderr, "wake_latency: set LAZYIDLE_TEST_WAIT=poll or epoll and LAZYIDLE_STATS=FILE\n");
    return 2;
  }
  const bool use_poll = strcmp(mode, "poll") == 0;
  if (FILE* old_lines = fopen(stats, "w")) fclose(old_lines);  // the library appends
  const pid_t pid = fork();
  if (pid == 0) exit(child(use_poll, use_poll ? 300'000 : 60'000));  // exit(): the library writes the stats
  int status = 0;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "FAIL: the child's waits did not all return their byte (status %d)\n", status);
    return 1;
  }
  const long wake_latency = stats_value(stats, pid, nullptr, "wake_latency_ns");
  printf("wake_latency: %s waits, the child's L %ld ns (seed %ld)\n", mode, wake_latency, seed_wake_latency_ns);
  if (wake_latency < 0) {
    fprintf(stderr, "FAIL: no stats line for the child\n");
    return 1;
  }
  if (wake_latency == seed_wake_latency_ns) {
    fprintf(stderr, "FAIL: L never left its seed: no probe sampled it\n");
    return 1;
  }
  return 0;
}
