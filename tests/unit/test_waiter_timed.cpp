// SPDX-License-Identifier: GPL-2.0-only OR MIT
// Timed waits: wait_for / wait_until(deadline) on waiter and event. A
// timed-out wait returns false and never before its deadline; a satisfied
// one returns true; the engine counts what happened. Only lower bounds on
// elapsed time are asserted (an upper bound would be a timing test).
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include <lazyidle/hosted/wait.hpp>

using namespace std::chrono_literals;
using lazyidle::u64;

namespace {
// Budget 0: every wait goes straight to the futex, so the timeout path of
// futex_wait_until is the one under test.
struct never_poll {
  static constexpr const char* name = "never_poll";
  constexpr lazyidle::duration_ns budget(const lazyidle::poll_request&) const { return 0; }
  constexpr void reflect(const lazyidle::idle_outcome&) {}
  constexpr void reset() {}
  constexpr lazyidle::u32 worst_case_ratio_q10() const { return lazyidle::u32_max; }
};
// Polls until the bound: the timeout is reached while polling.
struct poll_forever {
  static constexpr const char* name = "poll_forever";
  constexpr lazyidle::duration_ns budget(const lazyidle::poll_request&) const { return 1'000'000'000; }
  constexpr void reflect(const lazyidle::idle_outcome&) {}
  constexpr void reset() {}
  constexpr lazyidle::u32 worst_case_ratio_q10() const { return lazyidle::u32_max; }
};
lazyidle::waiter_options unguarded() {
  lazyidle::waiter_options o;
  o.park_when_oversubscribed = false;
  o.park_when_stealing = false;
  o.back_off_when_polls_miss = false;
  o.max_poll_ns = 1'000'000'000;
  return o;
}
}  // namespace

TEST_CASE_TEMPLATE("wait_for times out no earlier than asked, parked or polling", Policy, never_poll, poll_forever) {
  lazyidle::waiter_with<Policy, lazyidle::last_value_predictor> w(unguarded());
  for (auto timeout : {1ms, 5ms}) {
    const auto t0 = std::chrono::steady_clock::now();
    const bool ready = w.wait_for([] { return false; }, timeout);
    const auto elapsed = std::chrono::steady_clock::now() - t0;
    CHECK_FALSE(ready);
    CHECK(elapsed >= timeout);
  }
  const auto s = w.stats();
  CHECK(s.waits == 2);
  CHECK(s.timed_out == 2);
  CHECK(s.polled == 0);
}

TEST_CASE("wait_until(deadline) in the past returns at once with the predicate's value") {
  lazyidle::waiter w;
  CHECK_FALSE(w.wait_until([] { return false; }, std::chrono::steady_clock::now() - 1s));
  CHECK(w.wait_until([] { return true; }, std::chrono::steady_clock::now() - 1s));
  CHECK(w.stats().timed_out == 0);  // no wait was begun
}

TEST_CASE("a notify before the deadline ends a timed wait with true") {
  lazyidle::waiter_with<never_poll, lazyidle::last_value_predictor> w(unguarded());
  std::atomic<bool> flag{false};
  std::thread notifier([&] {
    std::this_thread::sleep_for(2ms);
    flag.store(true, std::memory_order_release);
    w.notify();
  });
  const bool ready = w.wait_for([&] { return flag.load(std::memory_order_acquire); }, 10s);
  notifier.join();
  CHECK(ready);
  CHECK(w.stats().timed_out == 0);
}

TEST_CASE("event: wait_for times out unset, returns once set, stays set until reset") {
  lazyidle::event e;
  const auto t0 = std::chrono::steady_clock::now();
  CHECK_FALSE(e.wait_for(2ms));
  CHECK(std::chrono::steady_clock::now() - t0 >= 2ms);
  std::thread setter([&] {
    std::this_thread::sleep_for(1ms);
    e.set();
  });
  CHECK(e.wait_for(10s));
  setter.join();
  CHECK(e.is_set());
  CHECK(e.wait_for(0ms));
  e.reset();
  CHECK_FALSE(e.is_set());
  CHECK_FALSE(e.wait_for(1ms));
}
