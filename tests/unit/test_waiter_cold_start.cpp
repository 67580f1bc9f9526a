// SPDX-License-Identifier: GPL-2.0-only OR MIT
// Cold start (issue 13): a new engine starts from what the process has
// learned — B from real blocks, the governor from the process's prior —
// and inherits no more than 2 B of another waiter's savings. Driven through
// the engine's plan()/finish() with synthetic idles: no timing involved.
#include <doctest/doctest.h>

#include <lazyidle/hosted/wait.hpp>

using lazyidle::duration_ns;
using lazyidle::u64;
using engine = lazyidle::hosted::wait_engine<lazyidle::default_governor>;

namespace {
lazyidle::waiter_options options_with(bool prior) {
  lazyidle::waiter_options o;
  o.park_when_oversubscribed = false;
  o.park_when_stealing = false;
  o.back_off_when_polls_miss = false;
  o.start_from_process_prior = prior;
  o.initial_block_cpu_ns = 10'000;  // B = 20 us
  o.initial_wake_latency_ns = 10'000;
  return o;
}
// One wait of length idle_ns that blocked (or was caught, if within budget).
duration_ns one_wait(engine& e, u64& clock, duration_ns idle_ns) {
  lazyidle::wait_plan p = e.plan(clock);
  const duration_ns budget = p.budget_ns;
  const bool caught = idle_ns <= budget;
  e.finish(p, idle_ns, caught ? lazyidle::wait_end::caught : lazyidle::wait_end::woken, caught ? idle_ns : budget, caught ? 0 : 1);
  clock += idle_ns + 1000;
  return budget;
}
}  // namespace

TEST_CASE("a fresh engine plays break-even; one born from the prior parks long waits at once") {
  lazyidle::hosted::process_prior<lazyidle::default_governor>.clear();
  u64 clock = 1'000'000'000;
  engine teacher(options_with(false));
  for (int i = 0; i < 640; ++i) one_wait(teacher, clock, 2'000'000);  // 2 ms idles, B = 20 us
  REQUIRE(lazyidle::hosted::process_prior<lazyidle::default_governor>.published());
  CHECK(one_wait(teacher, clock, 2'000'000) == 0);  // the teacher has learned to block at once

  engine fresh(options_with(false));
  CHECK(fresh.stats().prior_adopted == 0);
  CHECK(one_wait(fresh, clock, 2'000'000) == fresh.block_cost_ns());  // break-even: poll B first

  engine warm(options_with(true));
  CHECK(warm.stats().prior_adopted == 1);
  // From its first wait on, it blocks at once: the prior's histogram says
  // "long", and the 2 B of inherited allowance cover the risk.
  int polled = 0;
  for (int i = 0; i < 300; ++i) polled += one_wait(warm, clock, 2'000'000) > 0;
  CHECK(polled == 0);
  // The inherited allowance is capped at 2 B.
  engine capped(options_with(true));
  CHECK(capped.governor().policy().allowance_ns() <= 2 * capped.block_cost_ns());
}

TEST_CASE("an engine's B starts from the process's measured estimate") {
  lazyidle::hosted::process_block_cost.reset(5'000, 10'000);
  lazyidle::waiter_options o;
  engine learner(o);
  for (int i = 0; i < 200; ++i) {
    learner.learn_block_cpu(2'000, 0);
    learner.learn_wake_latency(30'000);
  }
  engine newcomer(o);
  // The newcomer's seeds moved towards what the learner measured (2 us CPU, 30 us latency).
  CHECK(newcomer.stats().block_cpu_ns < 3'000);
  CHECK(newcomer.stats().wake_latency_ns > 25'000);
  lazyidle::hosted::process_block_cost.reset(5'000, 10'000);
}
