// SPDX-License-Identifier: GPL-2.0-only OR MIT
//
// LAZYIDLE_POLL_SCHED_IDLE=1: the library's polling runs in SCHED_IDLE,
// its real blocking call and everything after the call in the thread's own
// policy. sched_idle_probe.cpp, between the library and libc, records the
// policy each poll() reaches the system in. LAZYIDLE_TEST_EXPECT_SCHED_IDLE
// says whether the tries must have been in SCHED_IDLE (1, the option on) or
// never (0, off), so the same program shows that the option, not the
// library, changes the policy. The fixed policy polls 1 ms (the engine's
// max_poll_ns), then blocks. The writer does not go by the clock (a poller
// in SCHED_IDLE on a loaded CPU may not run for far longer than any sleep):
// in the blocking rounds it writes once the probe has seen the real call
// begin, in the caught rounds once it has seen a try, so that every way
// out of the poll is taken whatever the machine's load.
#include <poll.h>
#include <sched.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <chrono>
#include <thread>

extern "C" void sched_idle_probe_counts(unsigned long* tries_idle, unsigned long* tries, unsigned long* blocks_idle,
                                        unsigned long* blocks);
extern "C" unsigned long sched_idle_probe_tries();
extern "C" unsigned long sched_idle_probe_blocks();

namespace {
int failures = 0;

// The library's rule (preload.cpp, sched_idle_scope), read from /proc.
bool library_may_use_sched_idle() {
  rlimit nice_limit{};
  if (getrlimit(RLIMIT_NICE, &nice_limit) == 0 &&
      (nice_limit.rlim_cur == RLIM_INFINITY || nice_limit.rlim_cur >= static_cast<rlim_t>(20 - getpriority(PRIO_PROCESS, 0))))
    return true;
  char link[64] = "";
  if (readlink("/proc/self/ns/user", link, sizeof link - 1) <= 0 || strcmp(link, "user:[4026531837]") != 0) return false;
  FILE* status = fopen("/proc/self/status", "r");
  if (!status) return false;
  char line[256];
  unsigned long long effective = 0;
  while (fgets(line, sizeof line, status))
    if (sscanf(line, "CapEff: %llx", &effective) == 1) break;
  fclose(status);
  return (effective >> 23) & 1;  // CAP_SYS_NICE
}

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
  if (expect_sched_idle && !library_may_use_sched_idle()) {
    printf("sched_idle: skipped: neither RLIMIT_NICE >= 20 - nice nor CAP_SYS_NICE in the initial user namespace, "
           "so the library refuses SCHED_IDLE here\n");
    return 77;
  }
  const int initial_policy = sched_getscheduler(0);
  int fds[2];
  if (pipe(fds) != 0) return 2;
  constexpr int rounds = 6;  // even: blocked; odd: caught while polling
  for (int round = 0; round < rounds; ++round) {
    const unsigned long tries_before = sched_idle_probe_tries(), blocks_before = sched_idle_probe_blocks();
    std::thread writer([&, round] {
      // A try past the first: the poll loop's, in SCHED_IDLE with the option.
      // At most 2 s: a library that never polls fails the checks below instead of hanging.
      for (int waited = 0; waited < 40'000 && (round % 2 ? sched_idle_probe_tries() < tries_before + 2
                                                          : sched_idle_probe_blocks() == blocks_before);
           ++waited)
        std::this_thread::sleep_for(std::chrono::microseconds(50));
      const char byte = 'x';
      if (write(fds[1], &byte, 1) != 1) fprintf(stderr, "write failed\n");
    });
    pollfd p{fds[0], POLLIN, 0};
    const int ready = poll(&p, 1, 5000);
    check(ready == 1 && (p.revents & POLLIN), "poll returns the byte");
    char byte;
    check(read(fds[0], &byte, 1) == 1, "the byte is read");
    writer.join();
    check(sched_getscheduler(0) == initial_policy, "the thread's own policy after the call");
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
