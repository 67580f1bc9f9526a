// SPDX-License-Identifier: GPL-2.0-only OR MIT
//
// Two processes ping-pong a sequence number over a socketpair, each side
// waiting in a different interposed call every exchange (recv, poll+read,
// epoll_wait+recv, select+readv, ppoll+recvmsg): under the preload
// library no event may be lost or duplicated. A lost wake-up shows as a
// wait that times out (10 s) or a side with no progress for 10 s.
//
//   preload_stress [EXCHANGES]   default $LAZYIDLE_PRELOAD_EXCHANGES or
//                                1000000, divided by $LAZYIDLE_STRESS_SCALE
// The full run (docs/preload.md):
//   build/bin/lazyidle-run --policy default -- build/tests/preload/preload_stress 1000000
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <thread>

namespace {

constexpr int wait_ms = 10'000;
std::atomic<unsigned long long> progress{0};

long long now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1'000'000'000ll + ts.tv_nsec;
}

[[noreturn]] void lost(const char* side, unsigned long long at, const char* what) {
  fprintf(stderr, "preload_stress: %s: exchange %llu: %s (errno %d: %s)\n", side, at, what, errno, strerror(errno));
  _exit(3);
}

// One message in, by the wait kind for this exchange.
unsigned long long receive(const char* side, int fd, int epfd, unsigned long long at) {
  unsigned long long value = 0;
  ssize_t n = -1;
  switch (at % 5) {
    case 0:
      n = recv(fd, &value, sizeof value, 0);
      break;
    case 1: {
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, wait_ms) != 1 || !(p.revents & POLLIN)) lost(side, at, "poll did not see the message");
      n = read(fd, &value, sizeof value);
      break;
    }
    case 2: {
      epoll_event event{};
      if (epoll_wait(epfd, &event, 1, wait_ms) != 1 || !(event.events & EPOLLIN))
        lost(side, at, "epoll_wait did not see the message");
      n = recv(fd, &value, sizeof value, 0);
      break;
    }
    case 3: {
      fd_set r;
      FD_ZERO(&r);
      FD_SET(fd, &r);
      timeval tv{wait_ms / 1000, 0};
      if (select(fd + 1, &r, nullptr, nullptr, &tv) != 1 || !FD_ISSET(fd, &r))
        lost(side, at, "select did not see the message");
      iovec v{&value, sizeof value};
      n = readv(fd, &v, 1);
      break;
    }
    default: {
      pollfd p{fd, POLLIN, 0};
      timespec t{wait_ms / 1000, 0};
      if (ppoll(&p, 1, &t, nullptr) != 1 || !(p.revents & POLLIN)) lost(side, at, "ppoll did not see the message");
      iovec v{&value, sizeof value};
      msghdr m{};
      m.msg_iov = &v;
      m.msg_iovlen = 1;
      n = recvmsg(fd, &m, 0);
      break;
    }
  }
  if (n != static_cast<ssize_t>(sizeof value)) lost(side, at, "short or failed receive");
  return value;
}

void watchdog(const char* side) {
  std::thread([side] {
    unsigned long long last = progress.load();
    int still = 0;
    for (;;) {
      sleep(1);
      const unsigned long long now = progress.load();
      still = now == last ? still + 1 : 0;
      last = now;
      if (still >= 10) lost(side, now, "no progress for 10 s");
    }
  }).detach();
}

// The side that sends even numbers, or odd ones.
int side_loop(const char* side, int fd, unsigned long long exchanges, bool first) {
  const int epfd = epoll_create1(0);
  epoll_event event{};
  event.events = EPOLLIN;
  epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &event);
  watchdog(side);
  unsigned long long expected = first ? 1 : 0;
  if (first) {
    unsigned long long zero = 0;
    if (send(fd, &zero, sizeof zero, 0) != sizeof zero) lost(side, 0, "send failed");
  }
  for (unsigned long long i = 0; i < exchanges; ++i) {
    const unsigned long long value = receive(side, fd, epfd, i + (first ? 2 : 0));
    if (value != expected) {
      fprintf(stderr, "preload_stress: %s: got %llu, expected %llu\n", side, value, expected);
      _exit(4);
    }
    progress.store(i + 1, std::memory_order_relaxed);
    if (first && i + 1 == exchanges) break;
    const unsigned long long reply = value + 1;
    if (send(fd, &reply, sizeof reply, 0) != sizeof reply) lost(side, i, "send failed");
    expected += 2;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const char* env = getenv("LAZYIDLE_PRELOAD_EXCHANGES");
  unsigned long long exchanges = argc > 1 ? strtoull(argv[1], nullptr, 10) : env && *env ? strtoull(env, nullptr, 10) : 1'000'000;
  const char* scale = getenv("LAZYIDLE_STRESS_SCALE");
  if (argc == 1 && scale && strtoull(scale, nullptr, 10) > 1) {
    exchanges /= strtoull(scale, nullptr, 10);
    if (exchanges < 1000) exchanges = 1000;
  }
  int sockets[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sockets) != 0) return 1;
  const long long start = now_ns();
  const pid_t child = fork();
  if (child == 0) {
    close(sockets[0]);
    _exit(side_loop("child", sockets[1], exchanges, false));
  }
  close(sockets[1]);
  const int parent = side_loop("parent", sockets[0], exchanges, true);
  int status = 0;
  waitpid(child, &status, 0);
  const double seconds = static_cast<double>(now_ns() - start) / 1e9;
  const bool ok = parent == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  printf("preload_stress: %llu exchanges (%llu messages each way) in %.2f s, %.2f us per round trip: %s\n", exchanges,
         exchanges, seconds, seconds * 1e6 / static_cast<double>(exchanges), ok ? "none lost" : "FAILED");
  return ok ? 0 : 1;
}
