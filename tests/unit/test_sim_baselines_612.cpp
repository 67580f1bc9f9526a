// SPDX-License-Identifier: GPL-2.0-only OR MIT
// Linux 6.12 LTS baselines in lazyidle-sim (bench/sim/baselines_612.hpp),
// against sequences traced by hand through Debian's linux-source-6.12
// (6.12.118). Each step names the kernel function and line it exercises.
// Cost model: the simulator defaults, 2-state KVM table: POLL, and "trap"
// with exit latency L = 10 us and target residency B = 21.665 us. The
// governors are told y + the exit latency of the state woken from
// (cpuidle_enter_state()'s local_clock() diff). No timer bound: a 1 s sleep
// length when the governor reads it.
#include <doctest/doctest.h>

#include "registry.hpp"
#include "runner.hpp"

using namespace lazyidle;
using namespace lazyidle::sim;

namespace {

constexpr duration_ns B = 21665;
constexpr duration_ns poll_idle_every = 201 * 26;  // poll_state.c: a clock read per 201 cpu_relax()
constexpr duration_ns poll_idle_for(duration_ns limit) { return (limit / poll_idle_every + 1) * poll_idle_every; }

const environment& kvm() {
  static const environment env = make_environment(cost_options{});
  return env;
}

u64 idle(policy& p, duration_ns y, policy_result& r) { return simulate_idle(p, {y, no_bound, 0, 0}, kvm(), r); }

// ktime_to_us(KTIME_MAX) stored in menu_update_intervals()'s unsigned int.
constexpr unsigned ktime_max_interval = static_cast<unsigned>(0x7fffffffffffffffull / 1000);

}  // namespace

TEST_CASE("menu 6.12: no pattern yet -> the timer is read and the trap chosen; a pattern -> POLL without the timer") {
  menu_612_governor menu(kvm());
  policy_result r = make_result(kvm());
  // 1st menu_select() (menu.c:224): last_residency_ns == 0 ->
  // menu_update_intervals(UINT_MAX). get_typical_interval() (l.125): UINT_MAX
  // > thresh INT_MAX, the seven zeros give max 0 -> `if (!max)` UINT_MAX.
  // predicted > RESIDENCY_THRESHOLD_NS (l.248): read the timer, 1 s, bucket
  // 5, timer_us = 1 s; both states fit -> the trap. (6.1 polled here: its
  // typical interval of the zeros was 0.)
  CHECK(idle(menu, 5000, r) == B);
  CHECK(menu.timer_read());
  CHECK(menu.next_timer_ns() == 1000000000ull);
  // 2nd: menu_update() (l.421): last_residency 5 + 10 us = 15 us, not >
  // 2 * exit latency -> measured /= 2 = 7.5 us -> interval 7. Factor of
  // bucket 5: 8192 - 1024 + 1024 * 7500 / 1e9 = 7168.
  // get_typical_interval(): {7, 0 x 6} -> avg 1, variance 6 <= 400 -> 1 us
  // <= 15 us: the timer is not read (l.285-287): next_timer_ns = KTIME_MAX.
  // Loop: POLL fits 1 us, the trap does not and its residency is not < 15 us
  // (l.331) -> POLL. The 5 us wakeup is caught.
  CHECK(idle(menu, 5000, r) == 5000);
  CHECK(menu.interval(1) == 7);
  CHECK(menu.correction_factor(5) == 7168);
  CHECK(!menu.timer_read());
  CHECK(menu.next_timer_ns() == 0x7fffffffffffffffull);
  // Eight more: POLL each time, measured 5 us (POLL exit latency 0); after
  // the 10th select all eight intervals are 5.
  for (int i = 0; i < 8; ++i) CHECK(idle(menu, 5000, r) == 5000);
  for (int i = 0; i < 8; ++i) CHECK(menu.interval(i) == 5);
  unsigned factor = 7168;
  for (int i = 0; i < 8; ++i) factor -= factor / 8;  // bucket 5 = which_bucket(KTIME_MAX): measured / KTIME_MAX adds 0
  CHECK(menu.correction_factor(5) == factor);

  // A 2 ms idle: POLL with cpuidle_poll_time() = B; poll_idle() stops at its
  // 5th clock read (26.13 us) with poll_time_limit. menu_update(): measured =
  // next_timer_ns = KTIME_MAX; the interval stored is ktime_to_us(KTIME_MAX)
  // truncated to unsigned int (> INT_MAX, so get_typical_interval() drops it
  // as an outlier and the surviving 5s still say 5 us): POLL again. After 8
  // slices no interval is <= INT_MAX: max 0 -> UINT_MAX, the timer is read,
  // and the factor (grown by RESOLUTION per slice) picks the trap.
  const u64 selects_before = r.selects;
  CHECK(idle(menu, 2000000, r) == 8 * poll_idle_for(B) + B);
  CHECK(r.selects - selects_before == 9);
  for (int i = 0; i < 8; ++i) CHECK(menu.interval(i) == ktime_max_interval);
  CHECK(menu.timer_read());
}

TEST_CASE("teo 6.12: one intercept in the POLL bin makes teo_select() poll; the sleep length is read for it") {
  teo_612_governor teo(kvm());
  policy_result r = make_result(kvm());
  // 1st teo_select() (teo.c:282): no update, empty bins, no intercept
  // majority; the trap's residency is not < 15 us (l.454), so the sleep
  // length is read (1 s); duration >= TICK_NSEC -> the trap.
  CHECK(idle(teo, 5000, r) == B);
  CHECK(teo.sleep_length_read());
  // 2nd: teo_update() (l.148): time_span 15 us < 1 s; measured = 15 us -
  // L/2 = 10 us. Timer bin: the trap (1), then the tick bin (l.207-219:
  // the deepest residency < TICK_NSEC, TICK_NSEC <= 1 s -> idx_timer = 2);
  // 4 ms > measured. Duration bin 0 != 2: an intercept in bin 0, total 1024.
  // teo_select(): 2 * 1024 > 1024 - 0 -> scan down: bin 0 has 2 * 1024 >
  // 1024 -> idx 0; `!idx && prev_intercept_idx` (l.433): read the sleep
  // length and poll.
  CHECK(idle(teo, 5000, r) == 5000);
  CHECK(teo.chose_shallower_by_intercepts());
  CHECK(teo.bin(0).intercepts == 1024);
  CHECK(teo.total() == 1024);
  CHECK(teo.sleep_length_read());
  // 3rd: decay (1024 - 128 = 896), another intercept: 1920.
  CHECK(idle(teo, 5000, r) == 5000);
  CHECK(teo.bin(0).intercepts == 896 + 1024);
  CHECK(teo.total() == 1920);
  CHECK(teo.tick_hits() == 0);
}

TEST_CASE("teo 6.12: poll timeouts feed the tick bin (tick_hits), and then the trap wins") {
  teo_612_governor teo(kvm());
  policy_result r = make_result(kvm());
  for (int i = 0; i < 3; ++i) idle(teo, 5000, r);
  // A 2 ms idle under POLL: poll_idle() times out, teo_reflect() (l.506)
  // sets time_span = sleep_length (1 s); teo_update(): measured = U64_MAX,
  // which reaches the tick bin: tick_hits += PULSE (`goto end`, l.216), no
  // bin's hits grow. 6.1 had no tick bin and counted a hit in the trap's bin.
  policy_result first = make_result(kvm());
  idle(teo, 2000000, first);
  CHECK(teo.tick_hits() >= 1024);
  CHECK(teo.bin(1).hits == 0);
  // Poll slices go on while the POLL bin's intercepts are the majority
  // (2 * intercepts > total - 0); every slice decays them and adds a tick
  // hit, so the trap is reached within this idle and stays chosen.
  CHECK(first.selects > 1);
  for (int i = 0; i < 4; ++i) idle(teo, 2000000, r);
  policy_result last = make_result(kvm());
  CHECK(idle(teo, 2000000, last) == B);  // straight to the trap: no poll slice
  CHECK(last.selects == 1);
}

TEST_CASE("haltpoll 6.12: a shrink below guest_halt_poll_grow_start resets the limit to 0 (6.1 keeps it)") {
  haltpoll_governor hp612(kvm(), haltpoll_governor::linux_6_12);
  haltpoll_governor hp61(kvm(), haltpoll_governor::linux_6_1);
  for (haltpoll_governor* hp : {&hp612, &hp61}) {
    policy_result r = make_result(kvm());
    // As in the 6.1 test: 0 -> 50 us (adjust_poll_limit(), haltpoll.c:79,
    // 30 + 10 us measured), 100 us, then shrink /2 on a 1 ms halt: 50 us.
    CHECK(idle(*hp, 30000, r) == B);
    CHECK(idle(*hp, 120000, r) == poll_idle_for(50000) + B);
    CHECK(idle(*hp, 1000000, r) == poll_idle_for(100000) + B);
    CHECK(hp->poll_limit_ns() == 50000);
    CHECK(idle(*hp, 1000000, r) == poll_idle_for(50000) + B);
  }
  // 50 / 2 = 25 us < grow_start 50 us: 6.12 (l.105-108) -> 0; 6.1 -> 25 us.
  CHECK(hp612.poll_limit_ns() == 0);
  CHECK(hp61.poll_limit_ns() == 25000);
  // With limit 0 haltpoll_select() halts at once: a 10 us idle pays B.
  policy_result r = make_result(kvm());
  CHECK(idle(hp612, 10000, r) == B);
  CHECK(idle(hp61, 10000, r) == 10000);
}

TEST_CASE("6.12 rows: every 6.1 Linux row has a 6.12 twin in the registry (ladder and the 6.1-only driver view aside)") {
  for (const char* name : {"menu_6.12", "teo_6.12", "haltpoll_6.12", "kvm_6.12", "haltpoll_kvm_6.12"}) {
    CAPTURE(name);
    const policy_entry* e = find_policy(name);
    REQUIRE(e);
    CHECK(e->kind == policy_kind::linux_baseline);
  }
  CHECK(!find_policy("kvm_shrink2"));  // the unchecked "6.11" label is gone: kvm_6.12 cites the source
}

TEST_CASE("the guest ports are told y + the exit latency: menu 6.12 subtracts it, KVM keeps it") {
  // A 50 us idle in the trap state: cpuidle_enter_state() measures 60 us.
  menu_612_governor menu(kvm());
  policy_result r = make_result(kvm());
  idle(menu, 50000, r);  // 1st select: trap (as above)
  idle(menu, 5000, r);   // menu_update(): 60 us > 2 * 10 us -> 60 - 10 = 50 us -> interval 50
  CHECK(menu.interval(1) == 50);
  // kvm_vcpu_halt(): halt_ns = block + the vCPU thread's wake latency.
  kvm_policy host(kvm(), 2);
  policy_result h = make_result(kvm());
  idle(host, 195000, h);  // 195 + 10 = 205 us > max_halt_poll_ns: no grow (the exact y would grow)
  CHECK(host.host().halt_poll_ns == 0);
  cost_options exact;
  exact.reflect_exact_idle = true;
  const environment env = make_environment(exact);
  kvm_policy told_y(env, 2);
  policy_result e = make_result(env);
  simulate_idle(told_y, {195000, no_bound, 0, 0}, env, e);
  CHECK(told_y.host().halt_poll_ns == 10000);
}
