// SPDX-License-Identifier: GPL-2.0-only OR MIT
// Linux 6.1 baselines in lazyidle-sim, against sequences traced by hand
// (6.12: test_sim_baselines_612.cpp)
// through the kernel source (/usr/src/linux-source-6.1). Each step names the
// kernel function it exercises. Cost model: the simulator defaults, 2-state
// KVM table: POLL, and "trap" with exit latency L = 10 us and target
// residency = B = 11.5 + 10 + 0.165 = 21.665 us; host-polled wake: the
// in-kernel exit + re-entry (--host-exit kernel).
// No next-timer bound unless stated: every governor sees a 1 s sleep length.
#include <doctest/doctest.h>

#include "runner.hpp"

#include <climits>

using namespace lazyidle;
using namespace lazyidle::sim;

namespace {

constexpr duration_ns B = 21665;
constexpr duration_ns E = kvm_in_kernel_exit_ns;  // --host-exit kernel
// poll_idle() reads local_clock() once per 201 cpu_relax() (26 ns each by
// default): 5226 ns, and stops at the first reading past the limit.
constexpr duration_ns poll_idle_every = 201 * 26;
constexpr duration_ns poll_idle_for(duration_ns limit) { return (limit / poll_idle_every + 1) * poll_idle_every; }
static_assert(poll_idle_for(B) == 26130 && poll_idle_for(50000) == 52260 && poll_idle_for(100000) == 104520);

const environment& kvm() {
  static const environment env = make_environment(cost_options{});
  return env;
}

u64 idle(policy& p, duration_ns y, policy_result& r, const environment& env = kvm(), duration_ns bound = no_bound) {
  return simulate_idle(p, {y, bound, 0, 0}, env, r);
}

}  // namespace

TEST_CASE("defaults: B and the poll limit cpuidle_poll_time() derives from it") {
  CHECK(kvm().block_cost_ns == B);
  CHECK(kvm().pause_ns == 26);
  CHECK(poll_duration(B, poll_loop::poll_idle, 26) == poll_idle_for(B));
  CHECK(poll_duration(5 * poll_idle_every, poll_loop::poll_idle, 26) == 6 * poll_idle_every);  // `> limit`
  CHECK(poll_duration(64 * 26, poll_loop::lazyidle_driver, 26) == 64 * 26);                    // `>= budget`
  CHECK(poll_duration(64 * 26 + 1, poll_loop::lazyidle_driver, 26) == 96 * 26);
  CHECK(poll_duration(B, poll_loop::exact, 26) == B);
  CHECK(cpuidle_poll_time(kvm().table) == B);  // first residency >= CPUIDLE_POLL_MIN, < CPUIDLE_POLL_MAX
}

TEST_CASE("menu: get_typical_interval() fires on steady 5 us idles and menu_select() polls") {
  menu_governor menu(kvm());
  policy_result r = make_result(kvm());
  // 1st menu_select(): no update yet and last_residency_ns == 0, so
  // menu_update_intervals(UINT_MAX) fills intervals[0]; the other seven are
  // 0, get_typical_interval() averages the zeros -> 0, predicted_ns = 0,
  // latency_req = interactivity_req = 0 < trap exit latency -> POLL.
  // Every later select: menu_update() records measured = 5000 ns (POLL exit
  // latency 0) -> interval 5 us.
  for (int i = 0; i < 9; ++i) CHECK(idle(menu, 5000, r) == 5000);
  CHECK(r.polled_wakeups == 9);
  CHECK(r.cost_ns == r.opt_ns);
  for (int i = 0; i < 8; ++i) CHECK(menu.interval(i) == 5);
  // get_typical_interval(): avg 5, variance 0 <= 400 -> 5 us.
  CHECK(menu.get_typical_interval(1000000) == 5);
  CHECK(menu.typical_interval_fired());
  // menu_update(): correction factor of bucket 5 (1 s sleep length) decays
  // by 1/8 per idle: 5 us / 1 s adds 0.
  unsigned factor = 8192;
  for (int i = 0; i < 8; ++i) factor -= factor / 8;
  CHECK(menu.correction_factor(5) == factor);

  // A 2 ms idle now: POLL (typical 5 us) with limit B; poll_idle() hits the
  // limit at its 5th clock reading, 26.13 us (dev->poll_time_limit), so menu_update() records measured =
  // next_timer_ns (1 s) -> interval 1000000 us. get_typical_interval() trims
  // the 1 s outliers (thresh = max - 1) and still returns 5 while one 5 us
  // interval survives (variance 0 <= 400): POLL again. After 8 slices all
  // intervals are 1 s: typical = 1 s, predicted >= B -> the trap state.
  const u64 selects_before = r.selects;
  CHECK(idle(menu, 2000000, r) == 8 * poll_idle_for(B) + B);
  CHECK(r.selects - selects_before == 9);
  for (int i = 0; i < 8; ++i) CHECK(menu.interval(i) == 1000000);
}

TEST_CASE("menu: get_typical_interval() does not fire on spread-out intervals; the timer decides") {
  menu_governor menu(kvm());
  // intervals[0] will be overwritten by menu_update_intervals(UINT_MAX) in
  // the first menu_select() (no update pending, last_residency_ns == 0).
  menu.set_intervals({0, 10, 30, 50, 70, 90, 110, 130});
  // get_typical_interval() by hand: pass 1 (thresh INT_MAX, UINT_MAX
  // excluded): 7 values, avg 70, variance 1600: avg^2 = 4900 <= 36*1600 and
  // 1600 > 400; 7*4 > 24 so trim: thresh = 129. Pass 2: 10..110, avg 60,
  // variance 1166: fails again, 6*4 <= 24 -> UINT_MAX ("no pattern").
  select_context c;
  c.bound_ns = 1000000;  // a 1 ms timer
  const choice ch = menu.select(c);
  CHECK(menu.interval(0) == UINT_MAX);
  CHECK(menu.get_typical_interval(1000) == UINT_MAX);
  CHECK(!menu.typical_interval_fired());
  // predicted_us = next_timer (1000 us) * correction 8192 / 8192 = 1000 us;
  // latency_req = 1 ms >= exit latency, residency B <= predicted -> trap.
  CHECK(ch.state == 1);
  CHECK(ch.poll_ns == 0);

  // The same timer with a steady 5 us pattern: typical 5 us caps
  // predicted_ns and latency_req at 5 us < 10 us exit latency -> POLL.
  menu_governor steady(kvm());
  steady.set_intervals({0, 5, 5, 5, 5, 5, 5, 5});
  const choice ch2 = steady.select(c);
  CHECK(steady.typical_interval_fired());
  CHECK(ch2.state == 0);
  CHECK(ch2.poll_ns == B);
}

TEST_CASE("menu: a timer closer than the trap residency means POLL (menu_select() early exit)") {
  menu_governor menu(kvm());
  select_context c;
  c.bound_ns = B - 1;  // next_timer_ns < states[1].target_residency_ns
  CHECK(menu.select(c).state == 0);
}

TEST_CASE("teo: intercepts in the POLL bin make teo_select() pick the shallower state") {
  teo_governor teo(kvm());
  policy_result r = make_result(kvm());
  // 1st teo_select(): no teo_update() (last_state_idx = -1), all bins empty,
  // no alternative -> the deepest state whose residency fits 1 s: trap.
  CHECK(idle(teo, 5000, r) == B);
  CHECK(!teo.chose_shallower_by_intercepts());
  // 2nd teo_select(): teo_update(): time_span 5 us < sleep length;
  // measured = 5000 < exit latency 10000 -> measured /= 2 = 2500. Timer bin
  // (deepest fitting 1 s) = 1, duration bin = 0: an intercept, PULSE 1024 in
  // bin 0 and in the recent ring. Then 2 * idx_intercept_sum (2048) >
  // total - idx_hit_sum (1024): alt_intercepts; the scan down finds bin 0
  // with 2 * 1024 > 1024 -> POLL, duration = middle of bin 0.
  CHECK(idle(teo, 5000, r) == 5000);
  CHECK(teo.chose_shallower_by_intercepts());
  CHECK(teo.bin(0).intercepts == 1024);
  CHECK(teo.bin(0).recent == 1);
  // 3rd: teo_update() decays (1024 - 1024/8 = 896) and adds a PULSE: 1920.
  CHECK(idle(teo, 5000, r) == 5000);
  CHECK(teo.bin(0).intercepts == 896 + 1024);
  CHECK(teo.total() == 1920);
}

TEST_CASE("teo: hits in the deep bin win once long idles dominate") {
  teo_governor teo(kvm());
  policy_result r = make_result(kvm());
  for (int i = 0; i < 3; ++i) idle(teo, 5000, r);
  // Long idles under POLL: poll_idle() hits its limit, teo_reflect() sets
  // time_span = sleep length, teo_update() counts measured = U64_MAX as a
  // hit in the timer bin (1); intercepts in bin 0 decay by 1/8 per update.
  for (int i = 0; i < 12; ++i) idle(teo, 2000000, r);
  CHECK(teo.bin(1).hits > teo.bin(0).intercepts);
  policy_result last = make_result(kvm());
  CHECK(idle(teo, 2000000, last) == B);  // straight to the trap: no poll slice
}

TEST_CASE("ladder: never polls (first_idx = 1); promotes after 4 long residencies, demotes after 1 short") {
  ladder_governor on_kvm(kvm());
  policy_result r = make_result(kvm());
  for (duration_ns y : {1000ull, 5000ull, 900000ull}) CHECK(idle(on_kvm, y, r) == B);

  cost_options o;
  o.states = "nehalem";
  const environment neh = make_environment(o);
  ladder_governor ladder(neh);
  policy_result n = make_result(neh);
  // ladder_enable_device(): start at C1 (index 1), promotion_time = C1 exit
  // latency 3 us. ladder_select_state() counts last_residency - exit latency
  // (100 - 3 us) > 3 us: promotion_count 1, 2, 3, 4 -> C1E on the 5th select.
  for (int i = 0; i < 5; ++i) idle(ladder, 100000, n, neh);
  CHECK(ladder.last_state_idx() == 2);
  // A 2 us idle in C1E: 2 - 10 us < demotion_time 10 us, demotion_count 1
  // >= DEMOTION_COUNT -> back to C1.
  idle(ladder, 2000, n, neh);
  idle(ladder, 100000, n, neh);
  CHECK(ladder.last_state_idx() == 1);
}

TEST_CASE("haltpoll: adjust_poll_limit() grows from 50 us, doubles, halves on long halts") {
  haltpoll_governor hp(kvm());
  policy_result r = make_result(kvm());
  // haltpoll_select(): poll_limit_ns == 0 -> HLT. haltpoll_reflect() ->
  // adjust_poll_limit(30 us): 0 < 30 us <= 200 us, 0 * 2 < grow_start -> 50 us.
  CHECK(idle(hp, 30000, r) == B);
  CHECK(hp.poll_limit_ns() == 50000);
  // Last state was halt -> poll (limit 50 us); poll_idle() times out at
  // 52.26 us, haltpoll_select() sees poll_time_limit -> HLT for the other
  // 67.74 us; adjust_poll_limit(67.74 + 10 us exit latency): 50 < 77.74 <=
  // 200 -> 100 us.
  CHECK(idle(hp, 120000, r) == poll_idle_for(50000) + B);
  CHECK(hp.poll_limit_ns() == 100000);
  // 1 ms: poll 100 us, halt 900 us > guest_halt_poll_ns -> shrink /2 = 50 us.
  CHECK(idle(hp, 1000000, r) == poll_idle_for(100000) + B);
  CHECK(hp.poll_limit_ns() == 50000);
  // Again: 25 us. 6.1's haltpoll has no reset below grow_start (KVM has).
  CHECK(idle(hp, 1000000, r) == poll_idle_for(50000) + B);
  CHECK(hp.poll_limit_ns() == 25000);
  // A 10 us idle is caught by the poll; polls are not adjusted.
  CHECK(idle(hp, 10000, r) == 10000);
  CHECK(hp.poll_limit_ns() == 25000);
  // Last state poll without poll_time_limit -> poll again.
  CHECK(hp.select({}).state == 0);
}

TEST_CASE("kvm 6.1: kvm_vcpu_halt() grows from 10 us and resets to 0 on a long halt") {
  kvm_policy kvm61(kvm(), 0);
  policy_result r = make_result(kvm());
  // halt_poll_ns 0: no polling, block. halt_ns 5 us < max: grow_halt_poll_ns()
  // 0 * 2 < grow_start -> 10 us.
  CHECK(idle(kvm61, 5000, r) == B);
  CHECK(kvm61.host().halt_poll_ns == 10000);
  // 8 us: caught by host polling: the exit is paid, the block is not.
  CHECK(idle(kvm61, 8000, r) == E + 8000);
  CHECK(kvm61.host().halt_poll_ns == 10000);  // halt_ns <= halt_poll_ns: unchanged
  // 15 us: poll 10 us in vain, block; 15 us < max -> grow to 20 us.
  CHECK(idle(kvm61, 15000, r) == 10000 + B);
  CHECK(kvm61.host().halt_poll_ns == 20000);
  // 300 us > max_halt_poll_ns (200 us): shrink_halt_poll_ns(), shrink = 0 -> 0.
  CHECK(idle(kvm61, 300000, r) == 20000 + B);
  CHECK(kvm61.host().halt_poll_ns == 0);

  // 6.12: halt_poll_ns_shrink = 2 (virt/kvm/kvm_main.c:93 of 6.12).
  kvm_policy kvm612(kvm(), 2);
  policy_result s = make_result(kvm());
  idle(kvm612, 5000, s);
  idle(kvm612, 15000, s);
  CHECK(kvm612.host().halt_poll_ns == 20000);
  // shrink 2: 20 -> 10 us, then 5 us < grow_start -> 0.
  idle(kvm612, 300000, s);
  CHECK(kvm612.host().halt_poll_ns == 10000);
  idle(kvm612, 300000, s);
  CHECK(kvm612.host().halt_poll_ns == 0);
}

TEST_CASE("haltpoll_kvm: guest polls, exits, then the host polls") {
  haltpoll_kvm_policy both(kvm());
  policy_result r = make_result(kvm());
  // Guest limit 0 -> HLT; host halt_poll_ns 0 -> block. Guest grows to 50 us,
  // host to 10 us.
  CHECK(idle(both, 30000, r) == B);
  // 60 us: guest polls 50 us in vain, HLT; the host catches the last 10 us.
  CHECK(idle(both, 60000, r) == 50000 + E + 10000);
  CHECK(r.host_polled_wakeups == 1);
}

TEST_CASE("menu on cpuidle-haltpoll's table (Debian 6.1 guest): HLT advertised as 1 us") {
  const table_type view = haltpoll_driver_view(kvm());
  CHECK(view[1].exit_latency_ns == 1000);
  CHECK(view[1].target_residency_ns == 1000);
  // cpuidle_poll_time(): 1 us < CPUIDLE_POLL_MIN, no other state -> POLL_MAX.
  CHECK(cpuidle_poll_time(view) == linux61::cpuidle_poll_max);
  menu_governor menu(kvm(), &view);
  menu.set_intervals({0, 5, 5, 5, 5, 5, 5, 5});
  // get_typical_interval() = 5 us -> latency_req 5 us >= HLT's advertised
  // 1 us and residency 1 us <= 5 us: HLT (it costs the real B regardless).
  const choice c = menu.select({});
  CHECK(menu.typical_interval_fired());
  CHECK(c.state == 1);
  // A fresh device: intervals are 0, typical 0 -> latency_req 0 < 1 us ->
  // POLL, and with the 250 us limit a 50 us idle is polled through.
  policy_result r = make_result(kvm());
  menu_haltpoll_driver_policy guest(kvm());
  CHECK(idle(guest, 50000, r) == 50000);
}
