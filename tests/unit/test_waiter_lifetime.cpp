// SPDX-License-Identifier: GPL-2.0-only OR MIT
// Lifetimes (issue 12, defect 3). An event, and a C info in flag mode, may
// be freed by the waiter as soon as its wait returns, while the setter is
// still inside set(): after publishing the flag the setter may touch
// nothing of the object but the futex_wake system call (glibc's sem_post
// rule, bug 12674). Run under ASan (scripts/test-all's sanitize step), a
// write after the publication is a heap-use-after-free report.
//
// Both threads are pinned to one CPU, so the futex_wake that ends the
// waiter's park hands it the CPU at once (wakeup preemption): the waiter
// frees the object while the setter has not yet returned from the system
// call. A setter that stores its wake time in the object after futex_wake,
// as the first park_channel::notify() did, made ASan report a
// heap-use-after-free in 3 runs of 3 (tried as a mutant, not kept).
#include <doctest/doctest.h>

#include <sched.h>

#include <atomic>
#include <memory>
#include <thread>

#include <lazyidle/c/idle_poll.h>
#include <lazyidle/hosted/wait.hpp>

namespace {
void pin_to_cpu0() {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(0, &set);
  sched_setaffinity(0, sizeof set, &set);
}
lazyidle::waiter_options parks_at_once() {
  lazyidle::waiter_options o;
  o.max_poll_ns = 0;  // park every time: the setter always finds PARKED and wakes
  return o;
}
constexpr int rounds = 2000;
}  // namespace

TEST_CASE("an event may be destroyed as soon as wait() returns") {
  std::atomic<lazyidle::event*> slot{nullptr};
  std::atomic<int> done{0};
  std::thread setter([&] {
    pin_to_cpu0();
    for (int i = 0; i < rounds; ++i) {
      lazyidle::event* e;
      while (!(e = slot.exchange(nullptr, std::memory_order_acq_rel))) sched_yield();
      e->set();  // the waiter frees *e as soon as it sees the flag
      done.fetch_add(1, std::memory_order_relaxed);
    }
  });
  pin_to_cpu0();
  lazyidle::u64 parks = 0;
  for (int i = 0; i < rounds; ++i) {
    auto* e = new lazyidle::event(parks_at_once());
    slot.store(e, std::memory_order_release);
    e->wait();
    parks += e->stats().parks;
    delete e;
  }
  setter.join();
  CHECK(done.load() == rounds);
  CHECK(parks > 0);  // the park/wake path ran, or the test showed nothing
}

namespace {
std::atomic<lazyidle_idle_poll_info*> c_slot{nullptr};
}

TEST_CASE("a C info in flag mode may be freed as soon as lazyidle_idle_poll() returns") {
  std::thread signaller([] {
    pin_to_cpu0();
    for (int i = 0; i < rounds; ++i) {
      lazyidle_idle_poll_info* info;
      while (!(info = c_slot.exchange(nullptr, std::memory_order_acq_rel))) sched_yield();
      lazyidle_idle_signal(info);
    }
  });
  pin_to_cpu0();
  lazyidle::u64 parks = 0;
  for (int i = 0; i < rounds; ++i) {
    auto* info = new lazyidle_idle_poll_info{};  // poll == NULL: the flag mode
    c_slot.store(info, std::memory_order_release);
    REQUIRE(lazyidle_idle_poll(info) == 0);
    lazyidle_idle_poll_stats stats;
    lazyidle_idle_poll_get_stats(info, &stats);
    parks += stats.parks;
    delete info;
  }
  signaller.join();
  CHECK(parks > 0);
}
