// SPDX-License-Identifier: GPL-2.0-only OR MIT
// A waiter in MAP_SHARED memory, waiting in a child process and notified by
// the parent (issue 12: private futexes lose such wake-ups). With
// waiter_options::process_shared the wake reaches the child; without it the
// child sleeps on through the notify and only its timeout ends the wait —
// which this test shows too, so the option is known to be needed.
#include <doctest/doctest.h>

#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <new>

#include <lazyidle/hosted/wait.hpp>

using namespace std::chrono_literals;
using lazyidle::u32;
using lazyidle::u64;

namespace {
struct never_poll {
  static constexpr const char* name = "never_poll";
  constexpr lazyidle::duration_ns budget(const lazyidle::poll_request&) const { return 0; }
  constexpr void reflect(const lazyidle::idle_outcome&) {}
  constexpr void reset() {}
  constexpr lazyidle::u32 worst_case_ratio_q10() const { return lazyidle::u32_max; }
};
using parking_waiter = lazyidle::waiter_with<never_poll, lazyidle::last_value_predictor>;

struct shared_page {
  std::atomic<u32> flag{0};
  std::atomic<u32> child_waiting{0};
  parking_waiter waiter;
  explicit shared_page(const lazyidle::waiter_options& o) : waiter(o) {}
};

// Returns how long the child's wait took, in ms (or -1 on failure).
long child_wait_ms(bool process_shared) {
  void* memory = mmap(nullptr, sizeof(shared_page), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  REQUIRE(memory != MAP_FAILED);
  lazyidle::waiter_options options;
  options.process_shared = process_shared;
  options.park_when_oversubscribed = false;
  auto* page = new (memory) shared_page(options);
  int pipe_fds[2];
  REQUIRE(pipe(pipe_fds) == 0);
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    close(pipe_fds[0]);
    page->child_waiting.store(1);
    const auto t0 = std::chrono::steady_clock::now();
    const bool ready = page->waiter.wait_for([&] { return page->flag.load(std::memory_order_acquire) != 0; }, 2s);
    const long ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
    const long out = ready ? ms : -1;
    (void)!write(pipe_fds[1], &out, sizeof out);
    _exit(0);
  }
  close(pipe_fds[1]);
  // Notify once the child is parked (the word's PARKED bit is visible here).
  while (!page->child_waiting.load()) usleep(100);
  usleep(50'000);
  page->flag.store(1, std::memory_order_release);
  page->waiter.notify();
  long ms = -2;
  REQUIRE(read(pipe_fds[0], &ms, sizeof ms) == sizeof ms);
  close(pipe_fds[0]);
  int status = 0;
  waitpid(child, &status, 0);
  page->~shared_page();
  munmap(memory, sizeof(shared_page));
  return ms;
}
}  // namespace

TEST_CASE("process_shared: a notify from another process wakes the waiter") {
  const long ms = child_wait_ms(true);
  CHECK(ms >= 0);
  CHECK(ms < 1500);  // woken by the notify (~50 ms in), not by the 2 s timeout
}

TEST_CASE("without process_shared the cross-process wake-up is lost (why the option exists)") {
  const long ms = child_wait_ms(false);
  // The child finds the flag set only when its 2 s timeout ends the park.
  CHECK(ms >= 1900);
}
