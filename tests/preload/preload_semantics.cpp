// SPDX-License-Identifier: GPL-2.0-only OR MIT
//
// Differential tests of liblazyidle-preload.so: the same program, run
// without the library and under it with LAZYIDLE_POLICY never, default and
// always (tests/preload/CMakeLists.txt), must see the same results from
// every interposed call. Each case asserts what the real call does (the
// run without the library proves the assertion is the real behaviour), so
// any run under the library that differs fails.
//
// Timing bounds: a call never returns 0 before its timeout, and returns
// within timeout + late_ms (generous: the machine is shared; the real calls
// need a margin too). "always" polls for the whole wait, so under it a
// signal or a close lands while polling; under "default" mostly while
// blocked.
//
//   preload_semantics [CASE...]      run the named cases (default: all)
//   preload_semantics --exit N       exit with status N (lazyidle-run's tests)
//   preload_semantics --touch FILE   create FILE, exit 0 (lazyidle-run's tests)
// LAZYIDLE_TEST_EXPECT_PRELOAD=1: fail unless the library is mapped.
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "early_thread.h"

#include "preload_mapped.h"

namespace {

int failures = 0;
const char* current_case = "";

#define CHECK(condition)                                                                                 \
  do {                                                                                                   \
    const int check_errno_ = errno;                                                                      \
    if (!(condition)) {                                                                                  \
      fprintf(stderr, "%s:%d: [%s] CHECK(%s) failed (errno %d: %s)\n", __FILE__, __LINE__, current_case, \
              #condition, check_errno_, strerror(check_errno_));                                         \
      ++failures;                                                                                        \
    }                                                                                                    \
  } while (0)

// 1 s, or LAZYIDLE_TEST_LATE_MS: at load 15 on these 2 CPUs (other
// engineers' builds) the real calls were up to 620 ms late under ctest -j2;
// policy always spins through the whole timeout, and CFS deschedules a
// spinning thread behind a full run queue for long (833 ms late for a 40 ms
// poll at load 15.8); its ctest run allows 3 s.
const long long late_ms = [] {
  const char* v = getenv("LAZYIDLE_TEST_LATE_MS");
  return v && *v ? atoll(v) : 1000ll;
}();

long long now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1'000'000'000ll + ts.tv_nsec;
}
long long ms_since(long long start) { return (now_ns() - start) / 1'000'000; }
void sleep_ms(long ms) {
  timespec ts{ms / 1000, (ms % 1000) * 1'000'000};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}
// elapsed >= timeout and <= timeout + late_ms
bool on_time(long long start, long long timeout_ns) {
  const long long elapsed = now_ns() - start;
  const bool ok = elapsed >= timeout_ns && elapsed <= timeout_ns + late_ms * 1'000'000;
  if (!ok) fprintf(stderr, "[%s] %lld ns for a timeout of %lld ns\n", current_case, elapsed, timeout_ns);
  return ok;
}

// Runs action after delay_ms on its own thread; joined on destruction.
class later {
 public:
  later(long delay_ms, std::function<void()> action)
      : thread_([delay_ms, action = std::move(action)] {
          sleep_ms(delay_ms);
          action();
        }) {}
  ~later() { thread_.join(); }

 private:
  std::thread thread_;
};

struct fd_pair {
  int fd[2] = {-1, -1};
  ~fd_pair() {
    for (int f : fd)
      if (f >= 0) close(f);
  }
};
fd_pair make_pipe() {
  fd_pair p;
  if (pipe(p.fd) != 0) abort();
  return p;
}
fd_pair make_socketpair(int type = SOCK_STREAM) {
  fd_pair p;
  if (socketpair(AF_UNIX, type, 0, p.fd) != 0) abort();
  return p;
}
void put(int fd, const char* text) {
  if (write(fd, text, strlen(text)) != static_cast<ssize_t>(strlen(text))) abort();
}
int unused_fd() {
  for (int fd = 900;; ++fd)
    if (fcntl(fd, F_GETFD) == -1) return fd;
}

// ---- signals --------------------------------------------------------------
std::atomic<int> handled{0};
void count_signal(int) { handled.fetch_add(1); }
void install(int signo, void (*handler)(int), bool restart) {
  struct sigaction action {};
  action.sa_handler = handler;
  action.sa_flags = restart ? SA_RESTART : 0;
  sigemptyset(&action.sa_mask);
  sigaction(signo, &action, nullptr);
}
void block_in_thread(int signo, bool block) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, signo);
  pthread_sigmask(block ? SIG_BLOCK : SIG_UNBLOCK, &set, nullptr);
}
sigset_t thread_mask() {
  sigset_t set;
  pthread_sigmask(SIG_BLOCK, nullptr, &set);
  return set;
}
sigset_t with(sigset_t set, int signo) {
  sigaddset(&set, signo);
  return set;
}
sigset_t without(sigset_t set, int signo) {
  sigdelset(&set, signo);
  return set;
}

// Sends signo to the calling thread after delay_ms; if the call it means
// to interrupt is still running 3 s later (a failure), writes a byte to
// rescue_fd so the test ends instead of hanging.
class signal_later {
 public:
  signal_later(long delay_ms, int signo, int rescue_fd = -1)
      : target_(pthread_self()), thread_([this, delay_ms, signo, rescue_fd] {
          sleep_ms(delay_ms);
          pthread_kill(target_, signo);
          for (int i = 0; i < 3000 && !done_.load(); ++i) sleep_ms(1);
          if (!done_.load() && rescue_fd >= 0) put(rescue_fd, "!");
        }) {}
  ~signal_later() {
    done_.store(true);
    thread_.join();
  }

 private:
  pthread_t target_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

// ---- poll and ppoll ---------------------------------------------------------
void poll_results() {
  auto ready = make_pipe(), empty = make_pipe();
  put(ready.fd[1], "x");
  const int closed = unused_fd();
  for (int variant = 0; variant < 2; ++variant) {
    pollfd fds[5] = {{ready.fd[0], POLLIN, 0x7ff},
                     {empty.fd[0], POLLIN, 0x7ff},
                     {-1, POLLIN, 0x7ff},
                     {closed, POLLIN, 0x7ff},
                     {ready.fd[1], POLLOUT, 0x7ff}};
    timespec timeout{0, 100'000'000};
    const int n = variant == 0 ? poll(fds, 5, 100) : ppoll(fds, 5, &timeout, nullptr);
    CHECK(n == 3);
    CHECK(fds[0].revents == POLLIN);
    CHECK(fds[1].revents == 0);
    CHECK(fds[2].revents == 0);
    CHECK(fds[3].revents == POLLNVAL);
    CHECK(fds[4].revents == POLLOUT);
  }
}

void poll_timeouts() {
  auto empty = make_pipe();
  pollfd fd{empty.fd[0], POLLIN, 0};
  long long start = now_ns();
  CHECK(poll(&fd, 1, 40) == 0);
  CHECK(on_time(start, 40'000'000));
  CHECK(fd.revents == 0);
  timespec timeout{0, 40'500'000};
  start = now_ns();
  CHECK(ppoll(&fd, 1, &timeout, nullptr) == 0);
  CHECK(on_time(start, 40'500'000));
  CHECK(timeout.tv_sec == 0 && timeout.tv_nsec == 40'500'000);  // glibc's ppoll leaves it alone
  start = now_ns();
  CHECK(poll(&fd, 1, 0) == 0);
  CHECK(ms_since(start) < late_ms);
  timespec zero{0, 0};
  CHECK(ppoll(&fd, 1, &zero, nullptr) == 0);
  timespec invalid{0, 2'000'000'000};
  errno = 0;
  CHECK(ppoll(&fd, 1, &invalid, nullptr) == -1 && errno == EINVAL);
  start = now_ns();
  CHECK(poll(nullptr, 0, 30) == 0);  // a sleep
  CHECK(on_time(start, 30'000'000));
}

void poll_wakes() {
  auto p = make_pipe();
  {
    later write_soon(20, [&] { put(p.fd[1], "x"); });
    pollfd fd{p.fd[0], POLLIN, 0};
    CHECK(poll(&fd, 1, -1) == 1 && fd.revents == POLLIN);
  }
  char c;
  CHECK(read(p.fd[0], &c, 1) == 1);
  {
    later write_soon(20, [&] { put(p.fd[1], "x"); });
    pollfd fd{p.fd[0], POLLIN, 0};
    CHECK(ppoll(&fd, 1, nullptr, nullptr) == 1 && fd.revents == POLLIN);
  }
  CHECK(read(p.fd[0], &c, 1) == 1);
  {
    later write_soon(20, [&] { put(p.fd[1], "x"); });
    pollfd fd{p.fd[0], POLLIN, 0};
    const long long start = now_ns();
    CHECK(poll(&fd, 1, 2000) == 1 && fd.revents == POLLIN);
    CHECK(ms_since(start) < 1000);
  }
  CHECK(read(p.fd[0], &c, 1) == 1);
}

// ---- epoll --------------------------------------------------------------------
using epoll_call = std::function<int(int, epoll_event*, int, int /*ms, -1 none*/)>;
std::vector<std::pair<const char*, epoll_call>> epoll_variants() {
  return {
      {"epoll_wait", [](int e, epoll_event* v, int n, int ms) { return epoll_wait(e, v, n, ms); }},
      {"epoll_pwait", [](int e, epoll_event* v, int n, int ms) { return epoll_pwait(e, v, n, ms, nullptr); }},
      {"epoll_pwait2",
       [](int e, epoll_event* v, int n, int ms) {
         timespec ts{ms / 1000, (ms % 1000) * 1'000'000l};
         return epoll_pwait2(e, v, n, ms < 0 ? nullptr : &ts, nullptr);
       }},
  };
}

void epoll_results() {
  fd_pair pipes[4] = {make_pipe(), make_pipe(), make_pipe(), make_pipe()};
  const int epfd = epoll_create1(EPOLL_CLOEXEC);
  for (int i = 0; i < 4; ++i) {
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u32 = 100 + static_cast<unsigned>(i);
    CHECK(epoll_ctl(epfd, EPOLL_CTL_ADD, pipes[i].fd[0], &event) == 0);
    if (i < 3) put(pipes[i].fd[1], "x");
  }
  const int closed = unused_fd();
  auto not_epoll = make_pipe();
  for (auto& [name, call] : epoll_variants()) {
    current_case = name;
    epoll_event events[8];
    memset(events, 0xa5, sizeof events);
    CHECK(call(epfd, events, 2, 100) == 2);  // maxevents respected
    for (int i = 0; i < 2; ++i) CHECK(events[i].events == EPOLLIN && events[i].data.u32 >= 100 && events[i].data.u32 < 103);
    CHECK(events[2].data.u64 == 0xa5a5a5a5a5a5a5a5ull);  // nothing written past maxevents
    CHECK(call(epfd, events, 8, 100) == 3);
    errno = 0;
    CHECK(call(epfd, events, 0, 100) == -1 && errno == EINVAL);
    errno = 0;
    CHECK(call(not_epoll.fd[0], events, 8, 100) == -1 && errno == EINVAL);
    errno = 0;
    CHECK(call(closed, events, 8, 100) == -1 && errno == EBADF);
  }
  current_case = "epoll_results";
  timespec invalid{0, -1};
  epoll_event events[2];
  errno = 0;
  CHECK(epoll_pwait2(epfd, events, 2, &invalid, nullptr) == -1 && errno == EINVAL);
  close(epfd);
}

void epoll_timeouts_and_wakes() {
  auto p = make_pipe();
  const int epfd = epoll_create1(EPOLL_CLOEXEC);
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.u32 = 7;
  CHECK(epoll_ctl(epfd, EPOLL_CTL_ADD, p.fd[0], &event) == 0);
  for (auto& [name, call] : epoll_variants()) {
    current_case = name;
    epoll_event events[4];
    long long start = now_ns();
    CHECK(call(epfd, events, 4, 40) == 0);
    CHECK(on_time(start, 40'000'000));
    start = now_ns();
    CHECK(call(epfd, events, 4, 0) == 0);
    CHECK(ms_since(start) < late_ms);
    {
      later write_soon(20, [&] { put(p.fd[1], "x"); });
      CHECK(call(epfd, events, 4, -1) == 1 && events[0].data.u32 == 7 && events[0].events == EPOLLIN);
    }
    char c;
    CHECK(read(p.fd[0], &c, 1) == 1);
  }
  current_case = "epoll_timeouts_and_wakes";
  timespec ns_timeout{0, 30'700'000};
  epoll_event events[4];
  const long long start = now_ns();
  CHECK(epoll_pwait2(epfd, events, 4, &ns_timeout, nullptr) == 0);
  CHECK(on_time(start, 30'700'000));
  close(epfd);
}

// ---- select and pselect ------------------------------------------------------------
void select_results() {
  auto ready = make_pipe(), empty = make_pipe();
  put(ready.fd[1], "x");
  const int nfds = 1 + std::max({ready.fd[0], ready.fd[1], empty.fd[0], empty.fd[1]});
  for (int variant = 0; variant < 2; ++variant) {
    fd_set r, w, e;
    FD_ZERO(&r);
    FD_ZERO(&w);
    FD_ZERO(&e);
    FD_SET(ready.fd[0], &r);
    FD_SET(empty.fd[0], &r);
    FD_SET(ready.fd[1], &w);
    FD_SET(empty.fd[0], &e);
    timeval tv{1, 0};
    timespec ts{1, 0};
    const int n = variant == 0 ? select(nfds, &r, &w, &e, &tv) : pselect(nfds, &r, &w, &e, &ts, nullptr);
    CHECK(n == 2);
    CHECK(FD_ISSET(ready.fd[0], &r) && !FD_ISSET(empty.fd[0], &r));
    CHECK(FD_ISSET(ready.fd[1], &w));
    CHECK(!FD_ISSET(empty.fd[0], &e));
    if (variant == 0)
      CHECK(tv.tv_sec == 0 ? tv.tv_usec > 500'000 : tv.tv_sec == 1 && tv.tv_usec == 0);  // the time not slept
    else
      CHECK(ts.tv_sec == 1 && ts.tv_nsec == 0);
  }
  // Timeout: sets cleared, Linux writes back the time left (none).
  fd_set r;
  FD_ZERO(&r);
  FD_SET(empty.fd[0], &r);
  timeval tv{0, 40'000};
  long long start = now_ns();
  CHECK(select(nfds, &r, nullptr, nullptr, &tv) == 0);
  CHECK(on_time(start, 40'000'000));
  CHECK(!FD_ISSET(empty.fd[0], &r));
  CHECK(tv.tv_sec == 0 && tv.tv_usec == 0);
  FD_SET(empty.fd[0], &r);
  timespec ts{0, 40'300'000};
  start = now_ns();
  CHECK(pselect(nfds, &r, nullptr, nullptr, &ts, nullptr) == 0);
  CHECK(on_time(start, 40'300'000));
  CHECK(!FD_ISSET(empty.fd[0], &r));
  // Wakes.
  {
    FD_SET(empty.fd[0], &r);
    later write_soon(20, [&] { put(empty.fd[1], "x"); });
    CHECK(select(nfds, &r, nullptr, nullptr, nullptr) == 1 && FD_ISSET(empty.fd[0], &r));
  }
  // Errors.
  const int closed = dup(0);  // a number inside the descriptor table, closed
  close(closed);
  fd_set bad;
  FD_ZERO(&bad);
  FD_SET(closed, &bad);
  timeval second{1, 0};
  errno = 0;
  CHECK(select(closed + 1, &bad, nullptr, nullptr, &second) == -1 && errno == EBADF);
  errno = 0;
  CHECK(select(-1, nullptr, nullptr, nullptr, &second) == -1 && errno == EINVAL);
  timeval negative{0, -1};
  errno = 0;
  CHECK(select(nfds, &r, nullptr, nullptr, &negative) == -1 && errno == EINVAL);
}

// A program may pass fd_sets sized for nfds only (howmany(nfds, NFDBITS)
// words, as poll-less event loops allocate them): the real select touches
// no byte past them. The sets sit at the end of a page followed by an
// inaccessible one.
void select_small_sets() {
  auto ready = make_pipe(), empty = make_pipe();
  put(ready.fd[1], "x");
  const int nfds = 1 + std::max(ready.fd[0], empty.fd[0]);
  CHECK(nfds <= 64);
  const long page = sysconf(_SC_PAGESIZE);
  auto* area = static_cast<unsigned char*>(mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  CHECK(mprotect(area + page, page, PROT_NONE) == 0);
  auto* word = reinterpret_cast<unsigned long*>(area + page - sizeof(unsigned long));
  auto* set = reinterpret_cast<fd_set*>(word);
  for (int variant = 0; variant < 2; ++variant) {
    *word = (1ul << ready.fd[0]) | (1ul << empty.fd[0]);
    timeval tv{0, 50'000};
    timespec ts{0, 50'000'000};
    const int n = variant == 0 ? select(nfds, set, nullptr, nullptr, &tv) : pselect(nfds, set, nullptr, nullptr, &ts, nullptr);
    CHECK(n == 1 && *word == (1ul << ready.fd[0]));
    *word = 1ul << empty.fd[0];
    tv = timeval{0, 50'000};
    const long long start = now_ns();
    const int m = variant == 0 ? select(nfds, set, nullptr, nullptr, &tv) : pselect(nfds, set, nullptr, nullptr, &ts, nullptr);
    CHECK(m == 0 && *word == 0);
    CHECK(on_time(start, 50'000'000));
  }
  munmap(area, 2 * page);
}

// ---- receives -------------------------------------------------------------------------
using receive_call = std::function<ssize_t(int, char*, size_t)>;
std::vector<std::pair<const char*, receive_call>> receive_variants() {
  return {
      {"recv", [](int fd, char* b, size_t n) { return recv(fd, b, n, 0); }},
      {"recvfrom", [](int fd, char* b, size_t n) { return recvfrom(fd, b, n, 0, nullptr, nullptr); }},
      {"recvmsg",
       [](int fd, char* b, size_t n) {
         iovec v{b, n};
         msghdr m{};
         m.msg_iov = &v;
         m.msg_iovlen = 1;
         return recvmsg(fd, &m, 0);
       }},
      {"read", [](int fd, char* b, size_t n) { return read(fd, b, n); }},
      {"readv",
       [](int fd, char* b, size_t n) {
         iovec v[2] = {{b, 2}, {b + 2, n - 2}};
         return readv(fd, v, 2);
       }},
  };
}

void receive_results() {
  auto s = make_socketpair();
  for (auto& [name, call] : receive_variants()) {
    current_case = name;
    char buffer[16] = {};
    {
      later write_soon(20, [&] { put(s.fd[1], "hello"); });
      CHECK(call(s.fd[0], buffer, sizeof buffer) == 5 && memcmp(buffer, "hello", 5) == 0);
    }
    put(s.fd[1], "ready");
    CHECK(call(s.fd[0], buffer, sizeof buffer) == 5 && memcmp(buffer, "ready", 5) == 0);
    const int closed = unused_fd();
    errno = 0;
    CHECK(call(closed, buffer, sizeof buffer) == -1 && errno == EBADF);
  }
  current_case = "receive_results";
  // EOF.
  {
    auto eof = make_socketpair();
    later shut(20, [&] { shutdown(eof.fd[1], SHUT_WR); });
    char c;
    CHECK(recv(eof.fd[0], &c, 1, 0) == 0);
  }
  // MSG_PEEK leaves the data; MSG_WAITALL waits for all of it.
  {
    char buffer[8] = {};
    later write_soon(20, [&] { put(s.fd[1], "ab"); });
    CHECK(recv(s.fd[0], buffer, sizeof buffer, MSG_PEEK) == 2);
    CHECK(recv(s.fd[0], buffer, sizeof buffer, 0) == 2 && memcmp(buffer, "ab", 2) == 0);
  }
  {
    char buffer[5] = {};
    later write_soon(20, [&] {
      put(s.fd[1], "ab");
      sleep_ms(20);
      put(s.fd[1], "cde");
    });
    CHECK(recv(s.fd[0], buffer, 5, MSG_WAITALL) == 5 && memcmp(buffer, "abcde", 5) == 0);
  }
  // Not a socket: recv says ENOTSOCK, read reads.
  {
    auto p = make_pipe();
    char c;
    errno = 0;
    CHECK(recv(p.fd[0], &c, 1, 0) == -1 && errno == ENOTSOCK);
    later write_soon(20, [&] { put(p.fd[1], "z"); });
    CHECK(read(p.fd[0], &c, 1) == 1 && c == 'z');
  }
  // recvfrom's address, on UDP.
  {
    const int receiver = socket(AF_INET, SOCK_DGRAM, 0), sender = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(bind(receiver, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    CHECK(bind(sender, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    sockaddr_in receiver_address{}, sender_address{}, from{};
    socklen_t length = sizeof receiver_address;
    getsockname(receiver, reinterpret_cast<sockaddr*>(&receiver_address), &length);
    length = sizeof sender_address;
    getsockname(sender, reinterpret_cast<sockaddr*>(&sender_address), &length);
    later send_soon(20, [&] {
      sendto(sender, "dgram", 5, 0, reinterpret_cast<sockaddr*>(&receiver_address), sizeof receiver_address);
    });
    char buffer[3];
    socklen_t from_length = sizeof from;
    // A datagram longer than the buffer: truncated, and MSG_TRUNC's length.
    CHECK(recvfrom(receiver, buffer, sizeof buffer, MSG_TRUNC, reinterpret_cast<sockaddr*>(&from), &from_length) == 5);
    CHECK(from_length == sizeof from && from.sin_port == sender_address.sin_port);
    CHECK(memcmp(buffer, "dgr", 3) == 0);
    close(receiver);
    close(sender);
  }
  // recvmsg with a descriptor passed in its control data.
  {
    auto pass = make_pipe();
    later send_soon(20, [&] {
      char byte = 'f';
      iovec v{&byte, 1};
      alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
      msghdr m{};
      m.msg_iov = &v;
      m.msg_iovlen = 1;
      m.msg_control = control;
      m.msg_controllen = sizeof control;
      cmsghdr* c = CMSG_FIRSTHDR(&m);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int));
      memcpy(CMSG_DATA(c), &pass.fd[1], sizeof(int));
      sendmsg(s.fd[1], &m, 0);
    });
    char byte = 0;
    iovec v{&byte, 1};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr m{};
    m.msg_iov = &v;
    m.msg_iovlen = 1;
    m.msg_control = control;
    m.msg_controllen = sizeof control;
    CHECK(recvmsg(s.fd[0], &m, MSG_CMSG_CLOEXEC) == 1 && byte == 'f');
    cmsghdr* c = CMSG_FIRSTHDR(&m);
    CHECK(c && c->cmsg_type == SCM_RIGHTS && (m.msg_flags & ~MSG_CMSG_CLOEXEC) == 0);
    if (c) {
      int received;
      memcpy(&received, CMSG_DATA(c), sizeof received);
      CHECK(fcntl(received, F_GETFD) == FD_CLOEXEC);
      put(received, "q");
      char q;
      CHECK(read(pass.fd[0], &q, 1) == 1 && q == 'q');
      close(received);
    }
  }
}

// Non-blocking descriptors and receive timeouts go straight through.
void receive_nonblocking() {
  auto s = make_socketpair();
  char buffer[8];
  long long start = now_ns();
  errno = 0;
  CHECK(recv(s.fd[0], buffer, sizeof buffer, MSG_DONTWAIT) == -1 && errno == EAGAIN);
  CHECK(ms_since(start) < late_ms);
  put(s.fd[1], "x");
  CHECK(read(s.fd[0], buffer, sizeof buffer) == 1);  // a blocking use first
  int on = 1;
  CHECK(ioctl(s.fd[0], FIONBIO, &on) == 0);  // non-blocking behind fcntl's back
  for (auto& [name, call] : receive_variants()) {
    current_case = name;
    start = now_ns();
    errno = 0;
    CHECK(call(s.fd[0], buffer, sizeof buffer) == -1 && errno == EAGAIN);
    CHECK(ms_since(start) < late_ms);
  }
  current_case = "receive_nonblocking";
  auto t = make_socketpair();
  timeval timeout{0, 40'000};
  CHECK(setsockopt(t.fd[0], SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout) == 0);
  for (auto& [name, call] : receive_variants()) {
    current_case = name;
    start = now_ns();
    errno = 0;
    CHECK(call(t.fd[0], buffer, sizeof buffer) == -1 && errno == EAGAIN);
    CHECK(on_time(start, 40'000'000));
  }
  current_case = "receive_nonblocking";
  auto p = make_pipe();
  fcntl(p.fd[0], F_SETFL, O_NONBLOCK);
  errno = 0;
  CHECK(read(p.fd[0], buffer, sizeof buffer) == -1 && errno == EAGAIN);
}

// A descriptor number once a socket, closed behind the library's back
// (fclose, the raw system call) and reused for a pipe, reads as a pipe.
void reused_descriptor() {
  for (int variant = 0; variant < 2; ++variant) {
    auto s = make_socketpair();
    put(s.fd[1], "s");
    char c;
    CHECK(read(s.fd[0], &c, 1) == 1);
    const int number = s.fd[0];
    if (variant == 0)
      syscall(SYS_close, number);
    else
      fclose(fdopen(number, "r"));
    s.fd[0] = -1;
    fd_pair p = make_pipe();
    if (p.fd[0] != number) {
      fprintf(stderr, "[reused_descriptor] descriptor %d not reused (%d): case not exercised\n", number, p.fd[0]);
      ++failures;
      return;
    }
    put(p.fd[1], "p");
    errno = 0;
    CHECK(read(p.fd[0], &c, 1) == 1 && c == 'p');
    put(p.fd[1], "v");
    iovec v{&c, 1};
    errno = 0;
    CHECK(readv(p.fd[0], &v, 1) == 1 && c == 'v');
  }
}

// ---- signals ------------------------------------------------------------------------------------
// Every call a handler without SA_RESTART interrupts: EINTR, well before
// its 2 s timeout, the handler run once.
struct interruptible {
  const char* name;
  std::function<int(int fd)> call;  // fd: an empty socket's read end
};
std::vector<interruptible> interruptible_calls(const sigset_t* mask) {
  std::vector<interruptible> calls = {
      {"poll", [](int fd) { pollfd p{fd, POLLIN, 0}; return poll(&p, 1, 2000); }},
      {"ppoll",
       [mask](int fd) {
         pollfd p{fd, POLLIN, 0};
         timespec t{2, 0};
         return ppoll(&p, 1, &t, mask);
       }},
      {"epoll_wait",
       [](int fd) {
         const int e = epoll_create1(0);
         epoll_event ev{EPOLLIN, {}};
         epoll_ctl(e, EPOLL_CTL_ADD, fd, &ev);
         const int n = epoll_wait(e, &ev, 1, 2000);
         const int saved = errno;
         close(e);
         errno = saved;
         return n;
       }},
      {"epoll_pwait",
       [mask](int fd) {
         const int e = epoll_create1(0);
         epoll_event ev{EPOLLIN, {}};
         epoll_ctl(e, EPOLL_CTL_ADD, fd, &ev);
         const int n = epoll_pwait(e, &ev, 1, 2000, mask);
         const int saved = errno;
         close(e);
         errno = saved;
         return n;
       }},
      {"epoll_pwait2",
       [mask](int fd) {
         const int e = epoll_create1(0);
         epoll_event ev{EPOLLIN, {}};
         epoll_ctl(e, EPOLL_CTL_ADD, fd, &ev);
         timespec t{2, 0};
         const int n = epoll_pwait2(e, &ev, 1, &t, mask);
         const int saved = errno;
         close(e);
         errno = saved;
         return n;
       }},
      {"select",
       [](int fd) {
         fd_set r;
         FD_ZERO(&r);
         FD_SET(fd, &r);
         timeval t{2, 0};
         return select(fd + 1, &r, nullptr, nullptr, &t);
       }},
      {"pselect",
       [mask](int fd) {
         fd_set r;
         FD_ZERO(&r);
         FD_SET(fd, &r);
         timespec t{2, 0};
         return pselect(fd + 1, &r, nullptr, nullptr, &t, mask);
       }},
  };
  if (!mask) {  // receives have no mask and no timeout
    for (auto& [name, receive] : receive_variants()) {
      receive_call r = receive;
      calls.push_back({name, [r](int fd) {
                         char buffer[4];
                         return static_cast<int>(r(fd, buffer, sizeof buffer));
                       }});
    }
  }
  return calls;
}

void drain(int fd) {
  char buffer[64];
  while (recv(fd, buffer, sizeof buffer, MSG_DONTWAIT) > 0) {
  }
}

void eintr() {
  install(SIGUSR1, count_signal, false);
  auto s = make_socketpair();
  for (auto& c : interruptible_calls(nullptr)) {
    current_case = c.name;
    handled = 0;
    long long start;
    int n;
    {
      signal_later interrupt(30, SIGUSR1, s.fd[1]);
      start = now_ns();
      errno = 0;
      n = c.call(s.fd[0]);
      CHECK(n == -1 && errno == EINTR);
    }
    CHECK(ms_since(start) < 1000);
    CHECK(handled == 1);
    drain(s.fd[0]);
  }
  current_case = "eintr";
  install(SIGUSR1, SIG_DFL, false);
}

// SA_RESTART: receives carry on (and get the data that comes later); the
// multiplexers never restart (signal(7)).
void sa_restart() {
  install(SIGUSR1, count_signal, true);
  auto s = make_socketpair();
  for (auto& c : interruptible_calls(nullptr)) {
    current_case = c.name;
    const bool receive = strncmp(c.name, "re", 2) == 0;
    handled = 0;
    int n;
    {
      signal_later interrupt(30, SIGUSR1, s.fd[1]);
      if (receive) {
        later write_soon(100, [&] { put(s.fd[1], "ok"); });
        errno = 0;
        n = c.call(s.fd[0]);
        CHECK(n == 2);
      } else {
        errno = 0;
        n = c.call(s.fd[0]);
        CHECK(n == -1 && errno == EINTR);
      }
    }
    CHECK(handled == 1);
    drain(s.fd[0]);
  }
  current_case = "sa_restart";
  install(SIGUSR1, SIG_DFL, false);
}

bool has_mask(const char* name) {
  return strcmp(name, "ppoll") == 0 || strcmp(name, "pselect") == 0 || strcmp(name, "epoll_pwait") == 0 ||
         strcmp(name, "epoll_pwait2") == 0;
}

// The p-variants wait under the call's mask, whatever the thread's.
void call_masks() {
  install(SIGUSR1, count_signal, false);
  auto s = make_socketpair();
  // 1. The thread lets SIGUSR1 in, the call's mask blocks it: not
  //    interrupted; the handler runs once the call has returned.
  {
    const sigset_t blocked = with(thread_mask(), SIGUSR1);
    for (auto& c : interruptible_calls(&blocked)) {
      if (!has_mask(c.name)) continue;
      current_case = c.name;
      handled = 0;
      {
        // A write at 300 ms ends the wait (its timeout is 2 s).
        later write_soon(300, [&] { put(s.fd[1], "x"); });
        signal_later interrupt(30, SIGUSR1);
        const long long start = now_ns();
        errno = 0;
        const int n = c.call(s.fd[0]);
        const int call_errno = errno;
        CHECK(n == 1);
        if (n != 1) fprintf(stderr, "[%s] returned %d, errno %d, after %lld ms\n", c.name, n, call_errno, ms_since(start));
        CHECK(ms_since(start) >= 290);
      }
      CHECK(handled == 1);  // by now: the signal thread has sent it (it may be late on a loaded machine)
      drain(s.fd[0]);
    }
  }
  // 2. The thread blocks SIGUSR1, the call's mask lets it in: EINTR, also
  //    when the signal is already pending at the call.
  block_in_thread(SIGUSR1, true);
  const sigset_t open = without(thread_mask(), SIGUSR1);
  for (int pending_first = 0; pending_first < 2; ++pending_first) {
    for (auto& c : interruptible_calls(&open)) {
      if (!has_mask(c.name)) continue;
      current_case = c.name;
      handled = 0;
      const long long start = now_ns();
      int n;
      {
        if (pending_first) raise(SIGUSR1);
        signal_later interrupt(pending_first ? 0 : 30, pending_first ? 0 : SIGUSR1, s.fd[1]);
        errno = 0;
        n = c.call(s.fd[0]);
        CHECK(n == -1 && errno == EINTR);
      }
      CHECK(ms_since(start) < 1000);
      CHECK(handled == 1);
      drain(s.fd[0]);
    }
  }
  // 3. The thread blocks it and the call has no mask: not interrupted.
  {
    current_case = "poll blocked";
    handled = 0;
    later write_soon(200, [&] { put(s.fd[1], "x"); });
    signal_later interrupt(30, SIGUSR1);
    pollfd p{s.fd[0], POLLIN, 0};
    const long long start = now_ns();
    CHECK(poll(&p, 1, 2000) == 1);
    CHECK(ms_since(start) >= 190);
    CHECK(handled == 0);
  }
  drain(s.fd[0]);
  block_in_thread(SIGUSR1, false);  // the pending one is delivered here
  CHECK(handled == 1);
  // 4. A signal the program ignores interrupts nothing.
  current_case = "ignored signal";
  install(SIGUSR2, SIG_IGN, false);
  {
    signal_later interrupt(20, SIGUSR2);
    pollfd p{s.fd[0], POLLIN, 0};
    const long long start = now_ns();
    CHECK(poll(&p, 1, 80) == 0);
    CHECK(on_time(start, 80'000'000));
  }
  current_case = "call_masks";
  install(SIGUSR1, SIG_DFL, false);
  install(SIGUSR2, SIG_DFL, false);
}

// Interposed calls made from a signal handler: while the thread is inside
// an interposed wait, and while it is not.
struct handler_results {
  std::atomic<int> runs{0};
  std::atomic<int> bad{0};
} in_handler;
int handler_pipe[2] = {-1, -1};
fd_pair* handler_socket = nullptr;

void calls_from_handler(int) {
  const int saved_errno = errno;
  in_handler.runs++;
  pollfd ready{handler_pipe[0], POLLIN, 0};
  if (poll(&ready, 1, 100) != 1 || ready.revents != POLLIN) in_handler.bad++;
  const int epfd = epoll_create1(0);
  epoll_event event{};
  const long long start = now_ns();
  if (epoll_wait(epfd, &event, 1, 5) != 0 || now_ns() - start < 5'000'000) in_handler.bad++;
  close(epfd);
  put(handler_socket->fd[1], "h");
  char c = 0;
  if (recv(handler_socket->fd[0], &c, 1, 0) != 1 || c != 'h') in_handler.bad++;
  errno = saved_errno;
}

void signal_handler_calls() {
  auto p = make_pipe();
  auto s = make_socketpair();
  auto idle = make_socketpair();
  handler_pipe[0] = p.fd[0];
  handler_pipe[1] = p.fd[1];
  handler_socket = &s;
  put(p.fd[1], "x");
  install(SIGUSR1, calls_from_handler, false);
  // Not inside a wait.
  in_handler.runs = 0;
  in_handler.bad = 0;
  raise(SIGUSR1);
  CHECK(in_handler.runs == 1 && in_handler.bad == 0);
  // Inside each kind of wait.
  for (auto& c : interruptible_calls(nullptr)) {
    current_case = c.name;
    in_handler.runs = 0;
    in_handler.bad = 0;
    {
      signal_later interrupt(30, SIGUSR1, idle.fd[1]);
      errno = 0;
      CHECK(c.call(idle.fd[0]) == -1 && errno == EINTR);
    }
    CHECK(in_handler.runs == 1 && in_handler.bad == 0);
    drain(idle.fd[0]);
  }
  current_case = "signal_handler_calls";
  install(SIGUSR1, SIG_DFL, false);
  handler_socket = nullptr;
}

// ---- fork and threads -------------------------------------------------------------------
// The child's waits, as the parent's: a poll, an epoll and a recv that
// wait for a thread of the child.
int child_waits() {
  int bad = 0;
  auto p = make_pipe();
  auto s = make_socketpair();
  {
    later write_soon(5, [&] { put(p.fd[1], "x"); });
    pollfd fd{p.fd[0], POLLIN, 0};
    if (poll(&fd, 1, 5000) != 1) ++bad;
  }
  const int epfd = epoll_create1(0);
  epoll_event event{EPOLLIN, {}};
  epoll_ctl(epfd, EPOLL_CTL_ADD, s.fd[0], &event);
  {
    later write_soon(5, [&] { put(s.fd[1], "y"); });
    if (epoll_wait(epfd, &event, 1, 5000) != 1) ++bad;
  }
  char c;
  if (recv(s.fd[0], &c, 1, 0) != 1 || c != 'y') ++bad;
  {
    later write_soon(5, [&] { put(s.fd[1], "z"); });
    if (read(s.fd[0], &c, 1) != 1 || c != 'z') ++bad;
  }
  pollfd fd{p.fd[0], POLLIN, 0};
  char drained;
  if (read(p.fd[0], &drained, 1) != 1) ++bad;
  const long long start = now_ns();
  // Not early; how late is the parent's cases' business (ASan children of
  // a process with five threads are slow to schedule).
  if (poll(&fd, 1, 20) != 0 || now_ns() - start < 20'000'000) ++bad;
  if (bad) fprintf(stderr, "[%s] child %d: %d wrong result(s)\n", current_case, static_cast<int>(getpid()), bad);
  close(epfd);
  return bad;
}

// Waits for the child for at most 20 s: true when it exited with 0.
bool child_succeeded(pid_t child) {
  for (int i = 0; i < 20000; ++i) {
    int status;
    const pid_t done = waitpid(child, &status, WNOHANG);
    if (done == child) return WIFEXITED(status) && WEXITSTATUS(status) == 0;
    sleep_ms(1);
  }
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  fprintf(stderr, "[%s] child %d hung\n", current_case, static_cast<int>(child));
  return false;
}

void fork_child() {
  CHECK(child_waits() == 0);  // the parent has an engine before it forks
  const pid_t child = fork();
  if (child == 0) _exit(child_waits() == 0 ? 0 : 1);
  CHECK(child_succeeded(child));
}

// Other threads are inside waits (polling, blocked, in a receive) while
// the main thread forks.
void fork_during_waits() {
  std::atomic<bool> stop{false};
  auto p = make_pipe();
  auto s = make_socketpair();
  std::vector<std::thread> waiters;
  waiters.emplace_back([&] {
    pollfd fd{p.fd[0], POLLIN, 0};
    while (!stop) poll(&fd, 1, 2);
  });
  waiters.emplace_back([&] {
    const int epfd = epoll_create1(0);
    epoll_event event{EPOLLIN, {}};
    epoll_ctl(epfd, EPOLL_CTL_ADD, p.fd[0], &event);
    while (!stop) epoll_wait(epfd, &event, 1, 1);
    close(epfd);
  });
  waiters.emplace_back([&] {
    char c;
    while (recv(s.fd[0], &c, 1, 0) == 1 && c == 'c') {
    }
  });
  // The child starts no thread: after a fork from a process whose other
  // threads are running, ASan's allocator lock may be held by one of them
  // for good (seen: a child hung in pthread_create's free). The parent
  // feeds it instead.
  for (int i = 0; i < 20; ++i) {
    if (i % 4 == 0) put(s.fd[1], "c");
    auto feed = make_socketpair();
    const pid_t child = fork();
    if (child == 0) {
      int bad = 0;
      char c = 0;
      pollfd fd{feed.fd[0], POLLIN, 0};
      if (poll(&fd, 1, 5000) != 1 || recv(feed.fd[0], &c, 1, 0) != 1 || c != 'a') ++bad;
      const int epfd = epoll_create1(0);
      epoll_event event{EPOLLIN, {}};
      epoll_ctl(epfd, EPOLL_CTL_ADD, feed.fd[0], &event);
      if (epoll_wait(epfd, &event, 1, 5000) != 1 || read(feed.fd[0], &c, 1) != 1 || c != 'b') ++bad;
      if (recv(feed.fd[0], &c, 1, 0) != 1 || c != 'c') ++bad;  // a blocking receive that waits
      const long long start = now_ns();
      if (poll(&fd, 1, 20) != 0 || now_ns() - start < 20'000'000) ++bad;
      _exit(bad);
    }
    for (const char* byte : {"a", "b", "c"}) {
      sleep_ms(3);
      put(feed.fd[1], byte);
    }
    CHECK(child_succeeded(child));
  }
  stop = true;
  put(s.fd[1], "e");
  for (auto& t : waiters) t.join();
}

// Threads started after load, many at once, each waiting for its own
// peer; and the thread a library constructor started before the preload
// library's own constructor ran (early_thread.cpp).
void threads() {
  constexpr int count = 6;
  std::vector<std::thread> workers;
  std::atomic<int> bad{0};
  for (int i = 0; i < count; ++i)
    workers.emplace_back([&] {
      for (int round = 0; round < 20; ++round) {
        auto s = make_socketpair();
        later write_soon(round % 3, [&] { put(s.fd[1], "t"); });
        pollfd fd{s.fd[0], POLLIN, 0};
        char c;
        if (poll(&fd, 1, 5000) != 1 || recv(s.fd[0], &c, 1, 0) != 1 || c != 't') bad++;
      }
    });
  for (auto& t : workers) t.join();
  CHECK(bad == 0);
  CHECK(early_thread_finish() == 0);
}

// close() of a descriptor another thread waits on: no crash, no hang, and
// a result the real call gives when the close comes before or during it.
void close_while_waiting() {
  {
    auto p = make_pipe();
    const int fd = p.fd[0];
    later close_soon(30, [&] {
      close(fd);
      p.fd[0] = -1;
    });
    pollfd watched{fd, POLLIN, 0};
    const long long start = now_ns();
    CHECK(poll(&watched, 1, 200) == 1 && watched.revents == POLLNVAL);
    CHECK(ms_since(start) <= 200 + late_ms);
  }
  {
    auto p = make_pipe();
    const int epfd = epoll_create1(0);
    epoll_event event{EPOLLIN, {}};
    epoll_ctl(epfd, EPOLL_CTL_ADD, p.fd[0], &event);
    later close_soon(30, [&] {
      close(p.fd[0]);
      p.fd[0] = -1;
    });
    const long long start = now_ns();
    CHECK(epoll_wait(epfd, &event, 1, 150) == 0);
    CHECK(on_time(start, 150'000'000));
    close(epfd);
  }
  {
    auto p = make_pipe();
    const int fd = p.fd[0];
    std::atomic<bool> closed{false};
    later close_soon(30, [&] {
      close(fd);
      p.fd[0] = -1;
      closed = true;
    });
    fd_set r;
    FD_ZERO(&r);
    FD_SET(fd, &r);
    timeval tv{0, 200'000};
    errno = 0;
    const int n = select(fd + 1, &r, nullptr, nullptr, &tv);
    const bool closed_before_return = closed;
    // Linux reports a descriptor closed during the wait as ready; closed
    // before the call, EBADF.
    CHECK((n == 1 && FD_ISSET(fd, &r)) || (n == -1 && errno == EBADF) || (n == 0 && !closed_before_return));
  }
}


struct test_case {
  const char* name;
  void (*run)();
};
const test_case cases[] = {
    {"poll_results", poll_results},
    {"poll_timeouts", poll_timeouts},
    {"poll_wakes", poll_wakes},
    {"epoll_results", epoll_results},
    {"epoll_timeouts_and_wakes", epoll_timeouts_and_wakes},
    {"select_results", select_results},
    {"select_small_sets", select_small_sets},
    {"receive_results", receive_results},
    {"receive_nonblocking", receive_nonblocking},
    {"reused_descriptor", reused_descriptor},
    {"eintr", eintr},
    {"sa_restart", sa_restart},
    {"call_masks", call_masks},
    {"signal_handler_calls", signal_handler_calls},
    {"fork_child", fork_child},
    {"fork_during_waits", fork_during_waits},
    {"threads", threads},
    {"close_while_waiting", close_while_waiting},
};

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && strcmp(argv[1], "--exit") == 0) return atoi(argv[2]);
  if (argc == 3 && strcmp(argv[1], "--touch") == 0) {
    FILE* f = fopen(argv[2], "w");
    return f && fclose(f) == 0 ? 0 : 1;
  }
  const char* expect = getenv("LAZYIDLE_TEST_EXPECT_PRELOAD");
  if (expect && strcmp(expect, "1") == 0 && !preload_mapped()) {
    fprintf(stderr, "LAZYIDLE_TEST_EXPECT_PRELOAD=1 but liblazyidle-preload.so is not loaded\n");
    return 1;
  }
  bool ran_threads = false;
  for (const test_case& c : cases) {
    bool selected = argc == 1;
    for (int i = 1; i < argc; ++i) selected |= strcmp(argv[i], c.name) == 0;
    if (!selected) continue;
    ran_threads |= c.run == threads;
    current_case = c.name;
    const int before = failures;
    const long long start = now_ns();
    c.run();
    printf("%-26s %s (%lld ms)\n", c.name, failures == before ? "ok" : "FAILED", ms_since(start));
    fflush(stdout);
  }
  if (!ran_threads) early_thread_finish();
  printf("%d failure(s)\n", failures);
  return failures ? 1 : 0;
}
