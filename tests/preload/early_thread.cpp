// SPDX-License-Identifier: GPL-2.0-only OR MIT
#include "early_thread.h"

#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <atomic>

namespace {

int sockets[2] = {-1, -1};
pthread_t thread;
bool started = false;
int bad = 0;
std::atomic<bool> waiting{false};  // the timed calls are done

// Calls from the first instant on: timeouts 0 and 1 ms, then a wait
// that ends when the program writes.
void* early_calls(void*) {
  pollfd fd{sockets[0], POLLIN, 0};
  for (int i = 0; i < 200; ++i) {
    if (poll(&fd, 1, i % 2) != 0) ++bad;
    char c;
    if (recv(sockets[0], &c, 1, MSG_DONTWAIT) != -1) ++bad;
  }
  waiting.store(true);
  if (poll(&fd, 1, -1) != 1 || fd.revents != POLLIN) ++bad;
  char c = 0;
  if (read(sockets[0], &c, 1) != 1 || c != 'g') ++bad;
  if (recv(sockets[0], &c, 1, 0) != 1 || c != 'o') ++bad;
  return nullptr;
}

__attribute__((constructor)) void start_early_thread() {
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sockets) != 0) return;
  started = pthread_create(&thread, nullptr, early_calls, nullptr) == 0;
}

}  // namespace

extern "C" int early_thread_finish() {
  if (!started) return 1;
  started = false;
  timespec pause{0, 5'000'000};
  while (!waiting.load()) nanosleep(&pause, nullptr);
  nanosleep(&pause, nullptr);
  if (write(sockets[1], "g", 1) != 1) return 1;
  nanosleep(&pause, nullptr);
  if (write(sockets[1], "o", 1) != 1) return 1;
  pthread_join(thread, nullptr);
  return bad;
}
