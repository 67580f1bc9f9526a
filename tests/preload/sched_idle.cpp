// SPDX-License-Identifier: GPL-2.0-only OR MIT
//
// LAZYIDLE_POLL_SCHED_IDLE=1: the library's polling runs in SCHED_IDLE,
// its real blocking call and everything after the call in the thread's own
// policy. sched_idle_probe.cpp, between the library and libc, records the
// policy each poll() reaches the system in. LAZYIDLE_TEST_EXPECT_SCHED_IDLE
// says whether the tries must have been in SCHED_IDLE (1, the option on) or
// never (0, off), so the same program shows that the option, not the
// library, changes the policy. The fixed policy polls 1 ms (the engine's
// max_poll_ns), then blocks; the writer ends each call 5 ms in, so each
// call polls and then blocks, whatever the machine's load.
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <thread>

extern "C" void sched_idle_probe_counts(unsigned long* tries_idle, unsigned long* tries, unsigned long* blocks_idle,
                                        unsigned long* blocks);

namespace {
int failures = 0;

void check(bool ok, const char* what) {
  if (!ok) {
    fprintf(stderr, "FAIL: %s\n", what);
    ++failures;
  }
}
}  // namespace

int main() {
  const char* expect_text = getenv("LAZYIDLE_TEST_EXPECT_SCHED_IDLE");
  if (!expect_text) {
    fprintf(stderr, "sched_idle: set LAZYIDLE_TEST_EXPECT_SCHED_IDLE\n");
    return 2;
  }
  const bool expect_sched_idle = atoi(expect_text) != 0;
  int fds[2];
  if (pipe(fds) != 0) return 2;
  constexpr int rounds = 3;
  for (int round = 0; round < rounds; ++round) {
    std::thread writer([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      const char byte = 'x';
      if (write(fds[1], &byte, 1) != 1) fprintf(stderr, "write failed\n");
    });
    pollfd p{fds[0], POLLIN, 0};
    const int ready = poll(&p, 1, 5000);
    check(ready == 1 && (p.revents & POLLIN), "poll returns the byte");
    char byte;
    check(read(fds[0], &byte, 1) == 1, "the byte is read");
    writer.join();
    check(sched_getscheduler(0) == SCHED_OTHER, "SCHED_OTHER after the call");
  }
  unsigned long tries_idle, tries, blocks_idle, blocks;
  sched_idle_probe_counts(&tries_idle, &tries, &blocks_idle, &blocks);
  printf("sched_idle: tries in SCHED_IDLE %lu, in SCHED_OTHER %lu; blocks in SCHED_IDLE %lu, in SCHED_OTHER %lu\n",
         tries_idle, tries, blocks_idle, blocks);
  check(expect_sched_idle ? tries_idle > 0 : tries_idle == 0,
        expect_sched_idle ? "the polling tries ran in SCHED_IDLE" : "no try ran in SCHED_IDLE without the option");
  check(blocks_idle == 0, "no blocking call in SCHED_IDLE");
  check(tries + tries_idle > 0 && blocks > 0, "the calls polled and blocked (the probe saw them)");
  return failures ? 1 : 0;
}
