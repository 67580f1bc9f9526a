// SPDX-License-Identifier: GPL-2.0-only OR MIT
// Guest haltpoll, step by step against Linux 6.1
// drivers/cpuidle/governors/haltpoll.c. One step is one idle: budget() is
// haltpoll_select() choosing the poll state with dev->poll_limit_ns (or the
// halt state at once when the limit is 0); an idle longer than the budget
// ran the poll out and then halted, and haltpoll_reflect() for the halt
// state calls adjust_poll_limit() with the halt's residency only.
#include <doctest/doctest.h>

#include <initializer_list>

#include <lazyidle/policy/haltpoll.hpp>

using namespace lazyidle;

namespace {

// One idle of total length idle_ns; returns the poll budget that was used.
duration_ns idle(haltpoll_grow_shrink& policy, duration_ns idle_ns) {
  const duration_ns budget = policy.budget({});
  idle_outcome outcome;
  outcome.idle_ns = idle_ns;
  outcome.budget_ns = budget;
  outcome.block_cost_ns = 20000;
  policy.reflect(outcome);
  return budget;
}

}  // namespace

TEST_CASE("haltpoll defaults: guest_halt_poll_ns 200000, grow 2, shrink 2, grow_start 50000") {
  constexpr haltpoll_grow_shrink::parameters p{};
  CHECK(p.max_poll_ns == 200000);
  CHECK(p.grow == 2);
  CHECK(p.shrink == 2);
  CHECK(p.grow_start_ns == 50000);
  CHECK(p.allow_shrink);
  CHECK(haltpoll_grow_shrink{}.limit_ns() == 0);  // haltpoll_enable_device
}

TEST_CASE("haltpoll: grow on the halt residency, shrink without snapping to 0") {
  haltpoll_grow_shrink hp;

  // haltpoll_select: poll_limit_ns == 0 -> halt at once (budget 0).
  // haltpoll_reflect(index 1) -> adjust_poll_limit(30000): 30000 > 0 and
  // <= 200000 -> grow: 0 * 2 = 0 < grow_start -> 50000.
  CHECK(idle(hp, 30000) == 0);
  CHECK(hp.limit_ns() == 50000);

  // haltpoll_select: poll 50000; the wakeup comes at 20000, inside the poll.
  // haltpoll_reflect(index 0): no adjustment.
  CHECK(idle(hp, 20000) == 50000);
  CHECK(hp.limit_ns() == 50000);

  // Wakeup exactly at the limit still counts as caught while polling.
  CHECK(idle(hp, 50000) == 50000);
  CHECK(hp.limit_ns() == 50000);

  // Poll runs out (poll_time_limit), haltpoll_select picks the halt, which
  // lasts 60000: adjust_poll_limit(60000): > 50000, <= 200000 -> 100000.
  CHECK(idle(hp, 50000 + 60000) == 50000);
  CHECK(hp.limit_ns() == 100000);

  // adjust_poll_limit(120000) -> 200000.
  CHECK(idle(hp, 100000 + 120000) == 100000);
  CHECK(hp.limit_ns() == 200000);

  // A 350000 idle: the halt was 150000, not above the 200000 limit and not
  // above guest_halt_poll_ns: adjust_poll_limit changes nothing (KVM's host
  // rule, which looks at the whole 350000, would shrink here).
  CHECK(idle(hp, 200000 + 150000) == 200000);
  CHECK(hp.limit_ns() == 200000);

  // adjust_poll_limit(200001): > guest_halt_poll_ns -> shrink: / 2.
  CHECK(idle(hp, 200000 + 200001) == 200000);
  CHECK(hp.limit_ns() == 100000);
  CHECK(idle(hp, 100000 + 300000) == 100000);  // adjust_poll_limit: shrink -> 50000
  CHECK(hp.limit_ns() == 50000);
  CHECK(idle(hp, 50000 + 300000) == 50000);  // shrink -> 25000: no snap to 0
  CHECK(hp.limit_ns() == 25000);
  CHECK(idle(hp, 25000 + 300000) == 25000);  // shrink -> 12500
  CHECK(hp.limit_ns() == 12500);

  // adjust_poll_limit(13000): > 12500 -> grow: 25000 < grow_start -> 50000.
  CHECK(idle(hp, 12500 + 13000) == 12500);
  CHECK(hp.limit_ns() == 50000);

  // adjust_poll_limit(40000): not above the limit -> nothing.
  CHECK(idle(hp, 50000 + 40000) == 50000);
  CHECK(hp.limit_ns() == 50000);

  // adjust_poll_limit(200000) exactly: "block_ns <= guest_halt_poll_ns" -> grow.
  CHECK(idle(hp, 50000 + 200000) == 50000);
  CHECK(hp.limit_ns() == 100000);
}

TEST_CASE("haltpoll: grow caps at guest_halt_poll_ns; integer shrink reaches 0") {
  haltpoll_grow_shrink::parameters p;
  p.grow = 3;
  haltpoll_grow_shrink hp{p};
  idle(hp, 1000);  // adjust_poll_limit: grow 0 -> grow_start 50000
  CHECK(hp.limit_ns() == 50000);
  idle(hp, 50000 + 60000);  // grow: 150000
  CHECK(hp.limit_ns() == 150000);
  idle(hp, 150000 + 160000);  // grow: 450000 > guest_halt_poll_ns -> 200000
  CHECK(hp.limit_ns() == 200000);

  haltpoll_grow_shrink::parameters q;
  q.grow_start_ns = 3;
  q.shrink = 2;
  haltpoll_grow_shrink tiny{q};
  idle(tiny, 10);  // grow: 0 -> grow_start 3
  REQUIRE(tiny.limit_ns() == 3);
  idle(tiny, 3 + 300000);  // shrink: 3 / 2 = 1
  CHECK(tiny.limit_ns() == 1);
  idle(tiny, 1 + 300000);  // shrink: 1 / 2 = 0
  CHECK(tiny.limit_ns() == 0);
}

TEST_CASE("haltpoll: shrink 0 clears the limit; allow_shrink false never shrinks") {
  haltpoll_grow_shrink::parameters zero;
  zero.shrink = 0;
  haltpoll_grow_shrink hp{zero};
  idle(hp, 1000);  // grow -> 50000
  idle(hp, 50000 + 300000);  // adjust_poll_limit: "if (shrink == 0) val = 0"
  CHECK(hp.limit_ns() == 0);

  haltpoll_grow_shrink::parameters keep;
  keep.allow_shrink = false;
  haltpoll_grow_shrink sticky{keep};
  idle(sticky, 1000);  // grow -> 50000
  idle(sticky, 50000 + 300000);  // guest_halt_poll_allow_shrink false: nothing
  CHECK(sticky.limit_ns() == 50000);
}

TEST_CASE("haltpoll: reset forgets the limit; the policy is small and constexpr") {
  haltpoll_grow_shrink hp;
  idle(hp, 1000);
  REQUIRE(hp.limit_ns() == 50000);
  hp.reset();
  CHECK(hp.limit_ns() == 0);
  constexpr u32 limit_after_one_idle = [] {
    haltpoll_grow_shrink h;
    idle_outcome o;
    o.idle_ns = 1000;
    h.reflect(o);
    return h.limit_ns();
  }();
  static_assert(limit_after_one_idle == 50000);
  static_assert(sizeof(haltpoll_grow_shrink) <= 24);
  MESSAGE("sizeof(haltpoll_grow_shrink) = " << sizeof(haltpoll_grow_shrink));
}
