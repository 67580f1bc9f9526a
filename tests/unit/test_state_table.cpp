// SPDX-License-Identifier: GPL-2.0-only OR MIT
#include <doctest/doctest.h>

#include <lazyidle/state_table.hpp>

using namespace lazyidle;

TEST_CASE("the talk's KVM table: the trap's overhead is its residency, B") {
  constexpr auto table = kvm_table(11500, 30000);
  static_assert(table.size() == 2);
  CHECK(table.overhead(1) == 30000);
  CHECK(table.select(10000) == 0);
  CHECK(table.select(30000) == 1);
  CHECK(table.select(1000000, 5000) == 0);  // latency limit forbids the trap
  // Two-state costs are DESIGN §3's: poll p then pay B.
  CHECK(table.cost(5000, 10000, 1) == 5000);
  CHECK(table.cost(50000, 10000, 1) == 40000);
  CHECK(table.optimal_cost(50000) == 30000);
  CHECK(table.optimal_cost(7000) == 7000);
}

TEST_CASE("the talk's Nehalem table: residencies are break-even points of the cost lines") {
  constexpr auto table = nehalem_table();
  static_assert(table.size() == 5);
  for (u32 s = 1; s < table.size(); ++s) {
    const duration_ns r = table[s].target_residency_ns;
    const duration_ns deeper = table.cost(r, 0, s);
    const duration_ns shallower = table.cost(r, 0, s - 1);
    // Equal up to rounding of the Q10 slopes.
    CHECK(deeper <= shallower + 2);
    CHECK(shallower <= deeper + 2);
  }
  CHECK(table.select(5000) == 0);
  CHECK(table.select(6000) == 1);
  CHECK(table.select(100000) == 3);
  CHECK(table.select(900000) == 4);
  CHECK(table.select(900000, 50000) == 3);  // PM QoS latency limit
  // The envelope is never above polling and is the cheapest state's line.
  for (duration_ns y = 0; y < 2000000; y += 997) {
    duration_ns best = y;
    for (u32 s = 1; s < table.size(); ++s) best = best < table.cost(y, 0, s) ? best : table.cost(y, 0, s);
    REQUIRE(table.optimal_cost(y) == best);
  }
}

TEST_CASE("online calibration replaces a state's exit latency and keeps the table ordered") {
  auto table = kvm_table(1000, 20000);
  CHECK(table.update_exit_latency(1, 11500));
  CHECK(table[1].exit_latency_ns == 11500);
  CHECK(table[1].target_residency_ns == 20000);  // residency untouched without a ratio
  CHECK(table.update_exit_latency(1, 11500, 2 * q10_one));
  CHECK(table[1].target_residency_ns == 23000);
  CHECK(table.overhead(1) == 23000);
  CHECK_FALSE(table.update_exit_latency(0, 5));  // poll has no exit latency
  CHECK_FALSE(table.update_exit_latency(7, 5));
}

TEST_CASE("a malformed table is refused state by state") {
  state_table<3> table;
  CHECK(table.add(poll_state));
  CHECK(table.add({"deep", 100, 1000, 0, false}));
  CHECK_FALSE(table.add({"shallower than deep", 10, 100, 512, false}));
  CHECK(table.size() == 2);
  CHECK(table.add({"deeper", 200, 2000, 0, false}));
  CHECK_FALSE(table.add({"overflow", 300, 3000, 0, false}));
}
