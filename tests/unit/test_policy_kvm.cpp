// SPDX-License-Identifier: GPL-2.0-only OR MIT
// KVM host halt polling, step by step against Linux 6.1 virt/kvm/kvm_main.c.
// Each step is one halt: budget() is the start of kvm_vcpu_halt() (clip the
// window to halt_poll_ns, poll for it), reflect() its end, where halt_ns is
// the whole halt, polling included.
#include <doctest/doctest.h>

#include <initializer_list>

#include <lazyidle/policy/kvm.hpp>

using namespace lazyidle;

namespace {

// One halt of total length halt_ns; returns the poll budget that was used.
duration_ns halt(kvm_grow_shrink& policy, duration_ns halt_ns) {
  const duration_ns budget = policy.budget({});
  idle_outcome outcome;
  outcome.idle_ns = halt_ns;
  outcome.budget_ns = budget;
  outcome.block_cost_ns = 20000;
  policy.reflect(outcome);
  return budget;
}

}  // namespace

TEST_CASE("kvm 6.1 defaults: halt_poll_ns 200000, grow 2, grow_start 10000, shrink 0") {
  constexpr kvm_grow_shrink::parameters p = kvm_grow_shrink::linux_6_1();
  CHECK(p.max_poll_ns == 200000);
  CHECK(p.grow == 2);
  CHECK(p.grow_start_ns == 10000);
  CHECK(p.shrink == 0);
  CHECK(kvm_grow_shrink::linux_6_11().shrink == 2);
  CHECK(kvm_grow_shrink{}.window_ns() == 0);  // vcpu->halt_poll_ns starts at 0
}

TEST_CASE("kvm 6.1: grow from 0, cap at the next halt, reset to 0 on a long halt") {
  kvm_grow_shrink kvm{kvm_grow_shrink::linux_6_1()};

  // kvm_vcpu_halt: window 0, so do_halt_poll is false: no polling at all.
  // halt_ns 5000 > window 0; window is 0 so no shrink; 0 < max and
  // 5000 < max -> grow_halt_poll_ns: 0 * 2 = 0 < grow_start -> 10000.
  CHECK(halt(kvm, 5000) == 0);
  CHECK(kvm.window_ns() == 10000);

  // kvm_vcpu_halt: polls 10000; halt_ns 3000 <= window: nothing changes.
  CHECK(halt(kvm, 3000) == 10000);
  CHECK(kvm.window_ns() == 10000);

  // halt_ns 10000 == window: still "<= vcpu->halt_poll_ns", nothing changes.
  CHECK(halt(kvm, 10000) == 10000);
  CHECK(kvm.window_ns() == 10000);

  // halt_ns 15000 > window, < max -> grow_halt_poll_ns: 20000.
  CHECK(halt(kvm, 15000) == 10000);
  CHECK(kvm.window_ns() == 20000);
  CHECK(halt(kvm, 50000) == 20000);  // grow_halt_poll_ns: 40000
  CHECK(kvm.window_ns() == 40000);
  CHECK(halt(kvm, 50000) == 40000);  // grow_halt_poll_ns: 80000
  CHECK(kvm.window_ns() == 80000);
  CHECK(halt(kvm, 100000) == 80000);  // grow_halt_poll_ns: 160000
  CHECK(kvm.window_ns() == 160000);
  CHECK(halt(kvm, 150000) == 160000);  // 150000 <= window: nothing
  CHECK(kvm.window_ns() == 160000);

  // halt_ns 199999 < max -> grow_halt_poll_ns: 320000. grow does not cap.
  CHECK(halt(kvm, 199999) == 160000);
  CHECK(kvm.window_ns() == 320000);

  // kvm_vcpu_halt entry: "if (vcpu->halt_poll_ns > max_halt_poll_ns)" clips
  // to 200000 before polling. halt_ns 200000 <= window: nothing.
  CHECK(halt(kvm, 200000) == 200000);
  CHECK(kvm.window_ns() == 200000);

  // halt_ns 200001 > max with a nonzero window -> shrink_halt_poll_ns with
  // shrink 0: val = 0. One long halt throws away all the growth.
  CHECK(halt(kvm, 200001) == 200000);
  CHECK(kvm.window_ns() == 0);

  // Window 0: a long halt cannot shrink it ("vcpu->halt_poll_ns &&") and
  // cannot grow it (halt_ns < max fails): it stays 0.
  CHECK(halt(kvm, 300000) == 0);
  CHECK(kvm.window_ns() == 0);

  // halt_ns == max exactly: neither "> max" nor "< max": unchanged.
  CHECK(halt(kvm, 200000) == 0);
  CHECK(kvm.window_ns() == 0);

  // A short halt again -> grow_halt_poll_ns from grow_start.
  CHECK(halt(kvm, 199999) == 0);
  CHECK(kvm.window_ns() == 10000);
}

TEST_CASE("kvm compares the whole halt, polling included, not the blocked part") {
  kvm_grow_shrink kvm;
  halt(kvm, 5000);  // grow_halt_poll_ns -> 10000
  halt(kvm, 15000);  // grow_halt_poll_ns -> 20000
  REQUIRE(kvm.window_ns() == 20000);
  // Polled 20000, then blocked 185000: the blocked part alone is below max,
  // but halt_ns = 205000 > max -> shrink_halt_poll_ns (-> 0 with shrink 0).
  CHECK(halt(kvm, 205000) == 20000);
  CHECK(kvm.window_ns() == 0);
}

TEST_CASE("kvm 6.11 default shrink 2: halve, then drop below grow_start to 0") {
  kvm_grow_shrink kvm{kvm_grow_shrink::linux_6_11()};
  halt(kvm, 1);       // grow_halt_poll_ns: 10000
  halt(kvm, 15000);   // grow_halt_poll_ns: 20000
  halt(kvm, 25000);   // grow_halt_poll_ns: 40000
  halt(kvm, 45000);   // grow_halt_poll_ns: 80000
  REQUIRE(kvm.window_ns() == 80000);
  CHECK(halt(kvm, 250000) == 80000);  // shrink_halt_poll_ns: 80000 / 2
  CHECK(kvm.window_ns() == 40000);
  CHECK(halt(kvm, 250000) == 40000);  // shrink_halt_poll_ns: 20000
  CHECK(kvm.window_ns() == 20000);
  CHECK(halt(kvm, 250000) == 20000);  // shrink_halt_poll_ns: 10000, not < grow_start
  CHECK(kvm.window_ns() == 10000);
  CHECK(halt(kvm, 250000) == 10000);  // shrink_halt_poll_ns: 5000 < grow_start -> 0
  CHECK(kvm.window_ns() == 0);
}

TEST_CASE("kvm: halt_poll_ns = 0 disables polling; grow = 0 never grows") {
  kvm_grow_shrink::parameters off;
  off.max_poll_ns = 0;
  kvm_grow_shrink disabled{off};
  for (duration_ns y : {0ull, 5000ull, 300000ull}) {
    CHECK(halt(disabled, y) == 0);  // "} else { vcpu->halt_poll_ns = 0; }"
    CHECK(disabled.window_ns() == 0);
  }
  kvm_grow_shrink::parameters no_grow;
  no_grow.grow = 0;
  kvm_grow_shrink frozen{no_grow};
  halt(frozen, 5000);  // grow_halt_poll_ns: "if (!grow) goto out"
  CHECK(frozen.window_ns() == 0);
}

TEST_CASE("kvm: a zero-length halt on a zero window is a success, not a grow") {
  kvm_grow_shrink kvm;
  halt(kvm, 0);  // halt_ns 0 <= window 0
  CHECK(kvm.window_ns() == 0);
}

TEST_CASE("kvm: reset forgets the window; the policy is small and constexpr") {
  kvm_grow_shrink kvm;
  halt(kvm, 5000);
  REQUIRE(kvm.window_ns() == 10000);
  kvm.reset();
  CHECK(kvm.window_ns() == 0);
  static_assert(sizeof(kvm_grow_shrink) <= 20);
  constexpr u32 window_after_one_halt = [] {
    kvm_grow_shrink k;
    (void)k.budget({});
    idle_outcome o;
    o.idle_ns = 5000;
    k.reflect(o);
    return k.window_ns();
  }();
  static_assert(window_after_one_halt == 10000);
  MESSAGE("sizeof(kvm_grow_shrink) = " << sizeof(kvm_grow_shrink));
}
