// SPDX-License-Identifier: GPL-2.0-only OR MIT
//
// A signal that reaches a thread asleep inside poll(), ppoll() or
// epoll_wait() interrupts the call (EINTR, no SA_RESTART), whatever part
// of the call the library is in — including its L probe, the short ppoll
// it makes before the real call in a fresh process (preload.cpp, "the L
// probe"). Each trial is a fresh child, whose first block makes that probe
// due: a second thread waits until the caller is asleep (state S in /proc,
// so inside the call, in the probe or in the real call), then signals it.
// The call must return -1/EINTR; it used to sleep out its 300 ms once the
// handler had run between the probe and the real call (21-29 of 40 trials).
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>

namespace {
volatile sig_atomic_t handled = 0;
void on_signal(int) { handled = 1; }

std::atomic<pid_t> caller_tid{0};
pthread_t caller;

// State letter of thread tid ('S': interruptible sleep).
char state_of(pid_t tid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/self/task/%d/stat", static_cast<int>(tid));
  FILE* f = fopen(path, "r");
  if (!f) return '?';
  char line[512];
  const bool got = fgets(line, sizeof line, f) != nullptr;
  fclose(f);
  const char* close = got ? strrchr(line, ')') : nullptr;
  return close && close[1] == ' ' ? close[2] : '?';
}

void* signaller(void*) {
  while (caller_tid.load() == 0) {
  }
  for (int spins = 0; spins < 2'000'000 && state_of(caller_tid.load()) != 'S'; ++spins) {
  }
  pthread_kill(caller, SIGUSR1);
  return nullptr;
}

enum class call_kind { poll_call, ppoll_call, epoll_call };

// 0: EINTR; 1: the handler ran and the call slept on; 2: anything else.
int trial(call_kind kind) {
  struct sigaction action{};
  action.sa_handler = on_signal;  // no SA_RESTART
  sigaction(SIGUSR1, &action, nullptr);
  int fds[2];
  if (pipe(fds) != 0) return 2;
  const int ep = epoll_create1(0);
  epoll_event interest{};
  interest.events = EPOLLIN;
  if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fds[0], &interest) != 0) return 2;
  caller = pthread_self();
  pthread_t other;
  if (pthread_create(&other, nullptr, signaller, nullptr) != 0) return 2;
  caller_tid.store(static_cast<pid_t>(syscall(SYS_gettid)));
  pollfd p{fds[0], POLLIN, 0};
  int n = 0;
  if (kind == call_kind::poll_call) {
    n = poll(&p, 1, 300);
  } else if (kind == call_kind::ppoll_call) {
    const timespec timeout{0, 300'000'000};
    sigset_t none;
    sigemptyset(&none);
    n = ppoll(&p, 1, &timeout, &none);
  } else {
    epoll_event event{};
    n = epoll_wait(ep, &event, 1, 300);
  }
  const int err = errno;
  pthread_join(other, nullptr);
  if (n == -1 && err == EINTR) return 0;
  return n == 0 && handled ? 1 : 2;
}
}  // namespace

int main() {
  constexpr int trials = 20;
  const struct {
    const char* name;
    call_kind kind;
  } kinds[] = {{"poll", call_kind::poll_call}, {"ppoll", call_kind::ppoll_call}, {"epoll_wait", call_kind::epoll_call}};
  int failures = 0;
  for (const auto& k : kinds) {
    int counts[3] = {0, 0, 0};
    for (int i = 0; i < trials; ++i) {
      const pid_t child = fork();
      if (child == 0) _exit(trial(k.kind));
      int status = 0;
      if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) > 2)
        ++counts[2];
      else
        ++counts[WEXITSTATUS(status)];
    }
    printf("probe_signal: %-10s EINTR %d of %d, slept on after the handler %d, other %d\n", k.name, counts[0], trials,
           counts[1], counts[2]);
    if (counts[0] != trials) ++failures;
  }
  return failures ? 1 : 0;
}
