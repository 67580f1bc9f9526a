// SPDX-License-Identifier: GPL-2.0-only OR MIT
//
// bench_passthrough: what loading liblazyidle-preload.so costs a call that
// does not wait (issue 14: `never` must cost <= 1 % at saturation; a
// saturated server's calls find their events ready). The servers' own
// benchmark cannot resolve 1 %: redis -c50 -P16 runs spread by +-20 % here.
//
// The parent runs itself as a child three ways, interleaved, --repeat times:
// without the library, with it under LAZYIDLE_POLICY=never (every call
// passed through) and under default (the first non-blocking try finds the
// event: a "ready" call). Each child times `calls` calls of poll, epoll_wait
// and recv(MSG_PEEK) on a descriptor that is always ready, timeout -1 (so the
// library's own path runs, not the timeout-0 pass-through) and prints ns per
// call. The parent prints the medians and their ratios to no library.
//
//   bench_passthrough LIBRARY [--calls N] [--repeat R]
#include <poll.h>
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

extern char** environ;

namespace {

long long now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int child(long calls) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0 || write(sv[1], "x", 1) != 1) return 1;
  const int ep = epoll_create1(0);
  epoll_event ev{};
  ev.events = EPOLLIN;
  if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, sv[0], &ev) != 0) return 1;
  double ns[3];
  for (int which = 0; which < 3; ++which) {
    const long long t0 = now_ns();
    for (long i = 0; i < calls; ++i) {
      if (which == 0) {
        pollfd p{sv[0], POLLIN, 0};
        if (poll(&p, 1, -1) != 1) return 1;
      } else if (which == 1) {
        epoll_event out;
        if (epoll_wait(ep, &out, 1, -1) != 1) return 1;
      } else {
        char c;
        if (recv(sv[0], &c, 1, MSG_PEEK) != 1) return 1;
      }
    }
    ns[which] = static_cast<double>(now_ns() - t0) / static_cast<double>(calls);
  }
  std::printf("%.1f %.1f %.1f\n", ns[0], ns[1], ns[2]);
  return 0;
}

bool run_child(const char* self, const char* library, const char* policy, long calls, double out[3]) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e)
    if (std::strncmp(*e, "LD_PRELOAD=", 11) != 0 && std::strncmp(*e, "LAZYIDLE_", 9) != 0) env.emplace_back(*e);
  if (policy) {
    env.push_back(std::string("LD_PRELOAD=") + library);
    env.push_back(std::string("LAZYIDLE_POLICY=") + policy);
  }
  std::vector<char*> envp;
  for (auto& s : env) envp.push_back(s.data());
  envp.push_back(nullptr);
  const std::string n = std::to_string(calls);
  char* argv[] = {const_cast<char*>(self), const_cast<char*>("--child"), const_cast<char*>(n.c_str()), nullptr};
  int pipefd[2];
  if (pipe(pipefd) != 0) return false;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
  posix_spawn_file_actions_addclose(&fa, pipefd[0]);
  pid_t pid;
  const int rc = posix_spawn(&pid, self, &fa, nullptr, argv, envp.data());
  posix_spawn_file_actions_destroy(&fa);
  close(pipefd[1]);
  if (rc != 0) return false;
  char buf[128] = {};
  const ssize_t got = read(pipefd[0], buf, sizeof buf - 1);
  close(pipefd[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return got > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
         std::sscanf(buf, "%lf %lf %lf", &out[0], &out[1], &out[2]) == 3;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "--child") == 0) return child(std::atol(argv[2]));
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s LIBRARY [--calls N] [--repeat R]\n", argv[0]);
    return 2;
  }
  const char* library = argv[1];
  long calls = 1000000;
  int repeat = 5;
  for (int i = 2; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--calls") == 0) calls = std::atol(argv[i + 1]);
    else if (std::strcmp(argv[i], "--repeat") == 0) repeat = std::atoi(argv[i + 1]);
    else {
      std::fprintf(stderr, "unknown option %s\n", argv[i]);
      return 2;
    }
  }
  if (calls <= 0 || repeat <= 0 || access(library, R_OK) != 0) {
    std::fprintf(stderr, "bench_passthrough: bad --calls/--repeat or unreadable library %s\n", library);
    return 2;
  }
  const char* policies[3] = {nullptr, "never", "default"};
  const char* names[3] = {"no library", "never", "default"};
  std::vector<double> ns[3][3];
  for (int r = 0; r < repeat; ++r)
    for (int k = 0; k < 3; ++k) {
      double out[3];
      if (!run_child(argv[0], library, policies[k], calls, out)) {
        std::fprintf(stderr, "bench_passthrough: the %s child failed\n", names[k]);
        return 1;
      }
      for (int c = 0; c < 3; ++c) ns[k][c].push_back(out[c]);
    }
  std::printf("ns per call that finds its event ready (median of %d runs of %ld calls), ratio to no library\n",
              repeat, calls);
  std::printf("%-12s %16s %16s %16s\n", "", "poll", "epoll_wait", "recv(MSG_PEEK)");
  for (int k = 0; k < 3; ++k) {
    std::printf("%-12s", names[k]);
    for (int c = 0; c < 3; ++c) {
      const double m = median(ns[k][c]);
      std::printf("   %6.1f (%5.3fx)", m, m / median(ns[0][c]));
    }
    std::printf("\n");
  }
  return 0;
}
