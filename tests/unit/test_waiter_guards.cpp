// SPDX-License-Identifier: GPL-2.0-only OR MIT
// The wait engine's guards, each forced or driven through plan()/finish()
// with synthetic idles: every guard sends the wait to block at once, is
// counted under its own name, and lets go when its condition does.
#include <doctest/doctest.h>

#include <atomic>
#include <thread>

#include <lazyidle/hosted/wait.hpp>

using lazyidle::duration_ns;
using lazyidle::u64;
using lazyidle::wait_guard;
using fixed_governor = lazyidle::governor<lazyidle::last_value_predictor, lazyidle::fixed_poll>;
using engine = lazyidle::hosted::wait_engine<fixed_governor>;

namespace {
lazyidle::waiter_options base() {
  lazyidle::waiter_options o;
  o.park_when_oversubscribed = false;  // machine guards off unless a test turns them on
  o.park_when_stealing = false;
  o.start_from_process_prior = false;
  o.publish_to_process_prior = false;
  o.explore_period_ns = 0;  // its own test below
  return o;
}
// The explore tests' options: one exploration per 100 ms period at most.
lazyidle::waiter_options explore_options() {
  lazyidle::waiter_options o = base();
  o.explore_period_ns = 100'000'000;
  return o;
}
// A wait of idle_ns against the plan: caught if within the budget.
lazyidle::wait_plan wait_once(engine& e, u64& clock, duration_ns idle_ns) {
  lazyidle::wait_plan p = e.plan(clock);
  const bool caught = p.budget_ns > 0 && idle_ns <= p.budget_ns;
  e.finish(p, idle_ns, caught ? lazyidle::wait_end::caught : lazyidle::wait_end::woken,
           caught ? idle_ns : p.budget_ns, caught ? 0 : 1);
  clock += idle_ns + 1000;
  return p;
}
u64 guarded(const engine& e, wait_guard g) { return e.stats().guarded[static_cast<unsigned>(g)]; }
}  // namespace

TEST_CASE("back-off: 32 polls in a row that miss stop polling, doubling, until one catches") {
  engine e(base(), fixed_governor(lazyidle::fixed_poll(10'000)));
  u64 clock = 1'000'000'000;
  for (int i = 0; i < 31; ++i) CHECK(wait_once(e, clock, 1'000'000).guard == wait_guard::none);
  CHECK(wait_once(e, clock, 1'000'000).guard == wait_guard::none);  // the 32nd miss
  CHECK(wait_once(e, clock, 1'000'000).guard == wait_guard::backoff);  // 1 wait skipped
  CHECK(wait_once(e, clock, 1'000'000).guard == wait_guard::none);     // tried again: a miss
  CHECK(wait_once(e, clock, 1'000'000).guard == wait_guard::backoff);  // now 2 skipped
  CHECK(wait_once(e, clock, 1'000'000).guard == wait_guard::backoff);
  CHECK(wait_once(e, clock, 5'000).guard == wait_guard::none);  // tried again: caught
  for (int i = 0; i < 10; ++i) CHECK(wait_once(e, clock, 5'000).guard == wait_guard::none);
  CHECK(guarded(e, wait_guard::backoff) == 3);
}

TEST_CASE("poll share: fruitless polling is capped at 1/8 of a CPU per 100 ms window") {
  lazyidle::waiter_options o = base();
  o.back_off_when_polls_miss = false;
  engine e(o, fixed_governor(lazyidle::fixed_poll(1'000'000)));
  u64 clock = 1'000'000'000;
  // 1 ms polls that miss, 2 ms apart: past 12.5 ms of fruitless polling in
  // the window, the guard takes over until the window ends.
  int allowed = 0;
  for (int i = 0; i < 40; ++i) allowed += wait_once(e, clock, 1'500'000).guard == wait_guard::none;
  CHECK(allowed == 13);
  CHECK(guarded(e, wait_guard::poll_share) == 27);
  clock += 100'000'000;
  CHECK(wait_once(e, clock, 1'000'000).guard == wait_guard::none);  // a new window
}

TEST_CASE("poller slots: a thread does not poll while usable_cpus() others poll") {
  auto& load = lazyidle::hosted::system_load::instance();
  load.suppress(~0u);
  load.force_usable_cpus(1);
  lazyidle::waiter_options o = base();
  o.park_when_oversubscribed = true;
  engine e(o, fixed_governor(lazyidle::fixed_poll(10'000)));
  u64 clock = lazyidle::hosted::monotonic_ns();
  REQUIRE(load.try_enter_poll());  // another thread is polling
  CHECK(wait_once(e, clock, 5'000).guard == wait_guard::pollers);
  load.leave_poll();
  lazyidle::wait_plan p = e.plan(clock);
  CHECK(p.guard == wait_guard::none);
  CHECK(p.holds_poller_slot);
  CHECK(load.pollers() == 1);
  e.end_poll(p);
  CHECK(load.pollers() == 0);
  e.finish(p, 5'000, lazyidle::wait_end::caught, 5'000);
  load.force_usable_cpus(0);
  load.suppress(0);
}

TEST_CASE("forced machine conditions park at once, each counted under its name") {
  auto& load = lazyidle::hosted::system_load::instance();
  struct row {
    lazyidle::u32 condition;
    wait_guard guard;
  } rows[] = {{lazyidle::hosted::system_load::stealing, wait_guard::steal},
              {lazyidle::hosted::system_load::oversubscribed, wait_guard::oversubscribed},
              {lazyidle::hosted::system_load::throttled, wait_guard::throttled}};
  for (const row& r : rows) {
    load.force(r.condition);
    load.suppress(~r.condition);
    lazyidle::waiter_options o = base();
    o.park_when_oversubscribed = true;
    o.park_when_stealing = true;
    engine e(o, fixed_governor(lazyidle::fixed_poll(10'000)));
    u64 clock = lazyidle::hosted::monotonic_ns();
    for (int i = 0; i < 5; ++i) {
      const auto p = wait_once(e, clock, 5'000);
      CHECK(p.guard == r.guard);
      CHECK(p.budget_ns == 0);
    }
    CHECK(guarded(e, r.guard) == 5);
    CHECK(e.stats().guarded_ledger.idles == 5);
    CHECK(e.stats().ledger.idles == 0);
  }
  load.force(0);
  load.suppress(0);
}

TEST_CASE("a real waiter under a forced guard parks every wait it makes") {
  auto& load = lazyidle::hosted::system_load::instance();
  load.force(lazyidle::hosted::system_load::oversubscribed);
  load.suppress(~lazyidle::hosted::system_load::oversubscribed);
  lazyidle::waiter_options o;
  o.yield_when_notifier_shares_cpu = false;
  lazyidle::waiter_with<lazyidle::break_even> w(o);  // would always poll B otherwise
  std::atomic<u64> sent{0};
  std::thread notifier([&] {
    for (u64 i = 1; i <= 50; ++i) {
      std::this_thread::sleep_for(std::chrono::microseconds(50));
      sent.store(i, std::memory_order_release);
      w.notify();
    }
  });
  for (u64 i = 1; i <= 50; ++i) w.wait_until([&] { return sent.load(std::memory_order_acquire) >= i; });
  notifier.join();
  load.force(0);
  load.suppress(0);
  const auto s = w.stats();
  CHECK(s.waits >= 1);
  CHECK(s.polled == 0);
  CHECK(s.oversubscribed_waits == s.waits);
  CHECK(s.poll_ns == 0);
}

TEST_CASE("explore: without a park that taught B for 100 ms, one wait that would poll blocks") {
  engine e(explore_options(), fixed_governor(lazyidle::fixed_poll(10'000)));
  u64 clock = 1'000'000'000;
  // Every wait caught: no park, so nothing teaches B. The first wait starts
  // the period; polling goes on until it has run out.
  int polled = 0;
  while (clock < 1'100'000'000) polled += wait_once(e, clock, 5'000).guard == wait_guard::none;
  CHECK(polled > 10'000);
  CHECK(guarded(e, wait_guard::explore) == 0);
  CHECK(wait_once(e, clock, 5'000).guard == wait_guard::explore);
  CHECK(e.sample_cpu_now(lazyidle::wait_plan{0, 0, 0, lazyidle::poll_mode::block, wait_guard::explore}));
  // Once per period, not once per wait.
  for (int i = 0; i < 1000; ++i) CHECK(wait_once(e, clock, 5'000).guard == wait_guard::none);
  CHECK(guarded(e, wait_guard::explore) == 1);
  // A park that taught B (learn_block_cpu) holds exploring off for a period.
  clock += 100'000'000;
  e.learn_block_cpu(3'000, clock);
  CHECK(wait_once(e, clock, 5'000).guard == wait_guard::none);
  clock += 100'000'000;
  CHECK(wait_once(e, clock, 5'000).guard == wait_guard::explore);
}

TEST_CASE("shared_cpu: a yield that lost the CPU for long backs yielding off for 64, then 128 waits") {
  engine e(base(), fixed_governor(lazyidle::fixed_poll(10'000)));
  CHECK(e.yielding_allowed());
  e.note_long_yield();
  int refused = 0;
  while (!e.yielding_allowed()) ++refused;
  CHECK(refused == 64);
  e.note_long_yield();
  refused = 0;
  while (!e.yielding_allowed()) ++refused;
  CHECK(refused == 128);
  u64 clock = 1'000'000'000;
  lazyidle::wait_plan p = e.plan(clock, lazyidle::no_bound, lazyidle::shared_cpu::park);
  CHECK(p.guard == wait_guard::shared_cpu);
  CHECK(p.budget_ns == 0);
  e.finish(p, 5'000, lazyidle::wait_end::woken, 0, 1);
  p = e.plan(clock + 10'000, lazyidle::no_bound, lazyidle::shared_cpu::yield);
  CHECK(p.mode == lazyidle::poll_mode::yield);
  CHECK(p.budget_ns > 0);
}

TEST_CASE("explore: a thread that waits less than once per period does not explore on every wait") {
  engine e(explore_options(), fixed_governor(lazyidle::fixed_poll(10'000)));
  u64 clock = 1'000'000'000;
  // 5 waits a second, each caught: no park ever teaches B, the period has
  // always run out, but 64 waits must pass between explorations.
  int explored = 0;
  for (int i = 0; i < 200; ++i) {
    explored += wait_once(e, clock, 5'000).guard == wait_guard::explore;
    clock += 200'000'000;
  }
  CHECK(explored >= 2);
  CHECK(explored <= 200 / 64 + 1);
}

TEST_CASE("explore: not on a timed wait too short to teach B") {
  lazyidle::waiter_options o = explore_options();
  o.explore_min_waits = 1;
  engine e(o, fixed_governor(lazyidle::fixed_poll(10'000)));
  u64 clock = 1'000'000'000;
  CHECK(e.plan(clock, 5'000).guard == wait_guard::none);  // starts the period
  clock += 200'000'000;
  lazyidle::wait_plan p = e.plan(clock, 5'000);  // bound 5 us: within the short-park limit
  CHECK(p.guard == wait_guard::none);
  e.finish(p, 5'000, lazyidle::wait_end::caught, 5'000);
  CHECK(e.plan(clock + 10'000, lazyidle::no_bound).guard == wait_guard::explore);
}

TEST_CASE("a busy machine parks before the shared-CPU yield rule") {
  auto& load = lazyidle::hosted::system_load::instance();
  lazyidle::waiter_options o = base();
  o.park_when_oversubscribed = true;
  engine e(o, fixed_governor(lazyidle::fixed_poll(10'000)));
  u64 clock = lazyidle::hosted::monotonic_ns();
  load.suppress(~0u);  // this machine's real load is not the test's
  load.force(lazyidle::hosted::system_load::oversubscribed);
  lazyidle::wait_plan p = e.plan(clock, lazyidle::no_bound, lazyidle::shared_cpu::yield);
  CHECK(p.guard == wait_guard::oversubscribed);
  CHECK(p.mode == lazyidle::poll_mode::block);
  e.finish(p, 5'000, lazyidle::wait_end::woken, 0, 1);
  load.force(0);
  p = e.plan(clock + 10'000, lazyidle::no_bound, lazyidle::shared_cpu::yield);
  CHECK(p.mode == lazyidle::poll_mode::yield);
  e.finish(p, 5'000, lazyidle::wait_end::caught, 5'000);
  load.suppress(0);
}
