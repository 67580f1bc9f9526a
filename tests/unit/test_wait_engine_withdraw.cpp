// SPDX-License-Identifier: GPL-2.0-only OR MIT
// wait_engine::withdraw(): a plan made before the caller knew the call
// would wait (the preload's block-first order) is taken back when the call
// turns out not to: the wait count, the guard's count and the back-off
// step it used are as if the plan had never been made.
#include <doctest/doctest.h>

#include <lazyidle/hosted/wait.hpp>

using lazyidle::duration_ns;
using lazyidle::u64;
using lazyidle::wait_guard;
using fixed_governor = lazyidle::governor<lazyidle::last_value_predictor, lazyidle::fixed_poll>;
using engine = lazyidle::hosted::wait_engine<fixed_governor>;

namespace {
lazyidle::waiter_options base() {
  lazyidle::waiter_options o;
  o.park_when_oversubscribed = false;
  o.park_when_stealing = false;
  o.start_from_process_prior = false;
  o.publish_to_process_prior = false;
  o.explore_period_ns = 0;
  return o;
}
void miss(engine& e, u64& clock) {
  lazyidle::wait_plan p = e.plan(clock);
  e.finish(p, 1'000'000, lazyidle::wait_end::woken, p.budget_ns, 1);
  clock += 1'001'000;
}
}  // namespace

TEST_CASE("a zero-budget plan withdrawn leaves no wait counted") {
  engine e(base(), fixed_governor(lazyidle::fixed_poll(0)));
  const lazyidle::wait_plan p = e.plan(1'000'000'000);
  CHECK(p.budget_ns == 0);
  CHECK(engine::withdrawable(p));
  CHECK(e.stats().waits == 1);
  e.withdraw(p);
  CHECK(e.stats().waits == 0);
}

TEST_CASE("a back-off plan withdrawn gives its skipped wait back") {
  engine e(base(), fixed_governor(lazyidle::fixed_poll(10'000)));
  u64 clock = 1'000'000'000;
  for (int i = 0; i < 32; ++i) miss(e, clock);  // back-off: the next wait is skipped
  const lazyidle::wait_plan skipped = e.plan(clock);
  REQUIRE(skipped.guard == wait_guard::backoff);
  REQUIRE(engine::withdrawable(skipped));
  e.withdraw(skipped);
  CHECK(e.stats().guarded[static_cast<unsigned>(wait_guard::backoff)] == 0);
  CHECK(e.stats().waits == 32);
  // The skip is still owed: the next plan is the one backed off.
  lazyidle::wait_plan again = e.plan(clock);
  CHECK(again.guard == wait_guard::backoff);
  e.finish(again, 1'000'000, lazyidle::wait_end::woken, 0, 1);
  CHECK(e.plan(clock + 2'000'000).guard == wait_guard::none);
}

TEST_CASE("a plan that polls is not withdrawable, and withdraw leaves it alone") {
  engine e(base(), fixed_governor(lazyidle::fixed_poll(10'000)));
  const lazyidle::wait_plan p = e.plan(1'000'000'000);
  CHECK(p.budget_ns == 10'000);
  CHECK_FALSE(engine::withdrawable(p));
  e.withdraw(p);
  CHECK(e.stats().waits == 1);
}

TEST_CASE("an exploring plan is not withdrawable: the preload tries first there") {
  lazyidle::waiter_options o = base();
  o.explore_period_ns = 100'000'000;
  engine e(o, fixed_governor(lazyidle::fixed_poll(10'000)));
  u64 clock = 1'000'000'000;
  bool explored = false;
  for (int i = 0; i < 200 && !explored; ++i) {
    lazyidle::wait_plan p = e.plan(clock);
    if (p.guard == wait_guard::explore) {
      explored = true;
      CHECK(p.budget_ns == 0);
      CHECK_FALSE(engine::withdrawable(p));
    }
    e.finish(p, 5'000, p.budget_ns ? lazyidle::wait_end::caught : lazyidle::wait_end::woken, 5'000, 0);
    clock += 2'000'000;
  }
  CHECK(explored);
}

TEST_CASE("a withdrawn plan does not bring the next exploring block closer") {
  // Ready calls taken back must not count towards explore_min_waits, or a
  // process whose multiplexer mostly finds work ready would explore (block
  // a wait that should poll) every period instead of every 64 real waits.
  auto& load = lazyidle::hosted::system_load::instance();
  // Undone on the way out, a failed REQUIRE included: later tests share it.
  struct restore_load {
    lazyidle::hosted::system_load& load;
    ~restore_load() {
      load.force_usable_cpus(0);
      load.suppress(0);
    }
  } restore{load};
  load.suppress(~0u);
  load.force_usable_cpus(1);
  lazyidle::waiter_options o = base();
  o.park_when_oversubscribed = true;  // the poller limit: the guard a withdrawn plan can carry here
  o.explore_period_ns = 100'000'000;
  o.explore_min_waits = 64;
  engine e(o, fixed_governor(lazyidle::fixed_poll(10'000)));
  u64 clock = 1'000'000'000;
  lazyidle::wait_plan first = e.plan(clock);  // starts the explore clock; counted wait 1
  REQUIRE(first.guard == wait_guard::none);
  e.finish(first, 5'000, lazyidle::wait_end::caught, 5'000);
  clock += 200'000'000;  // the period has passed: only the wait count holds exploring back
  REQUIRE(load.try_enter_poll());  // another thread polls: every plan below is guarded
  for (int i = 0; i < 200; ++i) {
    const lazyidle::wait_plan p = e.plan(clock);
    REQUIRE(p.guard == wait_guard::pollers);
    REQUIRE(engine::withdrawable(p));
    e.withdraw(p);
    clock += 1'000;
  }
  load.leave_poll();
  int explored_at = 0;
  for (int wait = 2; wait <= 100 && !explored_at; ++wait) {
    lazyidle::wait_plan p = e.plan(clock);
    if (p.guard == wait_guard::explore) explored_at = wait;
    e.finish(p, 5'000, p.budget_ns ? lazyidle::wait_end::caught : lazyidle::wait_end::woken, 5'000, 0);
    clock += 6'000;
  }
  CHECK(explored_at == 64);
}

TEST_CASE("a withdrawn exploring plan leaves the next wait to explore") {
  // The preload tries first on an exploring plan and withdraws it when the
  // call was ready: that wait taught nothing, so the explore is still owed
  // now, not one period and 64 waits later.
  lazyidle::waiter_options o = base();
  o.explore_period_ns = 100'000'000;
  o.explore_min_waits = 64;
  engine e(o, fixed_governor(lazyidle::fixed_poll(10'000)));
  u64 clock = 1'000'000'000;
  lazyidle::wait_plan p{};
  for (int i = 0; i < 200; ++i) {
    p = e.plan(clock);
    if (p.guard == wait_guard::explore) break;
    e.finish(p, 5'000, lazyidle::wait_end::caught, 5'000);
    clock += 2'000'000;
  }
  REQUIRE(p.guard == wait_guard::explore);
  const auto explored_before = e.stats().guarded[static_cast<unsigned>(wait_guard::explore)];
  e.withdraw(p);
  CHECK(e.stats().guarded[static_cast<unsigned>(wait_guard::explore)] == explored_before - 1);
  clock += 1'000;
  const lazyidle::wait_plan next = e.plan(clock);
  CHECK(next.guard == wait_guard::explore);
}
