// SPDX-License-Identifier: GPL-2.0-only OR MIT
// A halted idle is told to the core less the wake latency L only when the
// halt blocked in the host: lazyidle_core_halt_blocked() of the guest
// driver's C++ glue (shim/guest/lazyidle_core.cpp, the file the module
// links). KVM rewrites the steal-time area, bumping its version, only after
// the vCPU was scheduled out; the driver reads the version consistently
// (even, stable) before and after the halt. Unchanged: the host's halt
// polling caught the wakeup (or the halt never blocked), nothing of L was
// paid. Changed, or no steal-time area to tell: blocked, as before.
#include <doctest/doctest.h>

extern "C" {
#include "lazyidle_core.h"
}

TEST_CASE("host-polled halt: an unchanged steal-time version means the vCPU did not block") {
  CHECK(lazyidle_core_halt_blocked(1, 8, 8) == 0);
  CHECK(lazyidle_core_halt_blocked(1, 0, 0) == 0);
  CHECK(lazyidle_core_halt_blocked(1, 0xfffffffeu, 0xfffffffeu) == 0);
}

TEST_CASE("host-polled halt: a version that moved means the vCPU blocked") {
  CHECK(lazyidle_core_halt_blocked(1, 8, 10) == 1);
  CHECK(lazyidle_core_halt_blocked(1, 8, 12) == 1);
  CHECK(lazyidle_core_halt_blocked(1, 0xfffffffeu, 0) == 1);  // wrapped around
}

TEST_CASE("host-polled halt: without a steal-time area every halt counts as blocked") {
  CHECK(lazyidle_core_halt_blocked(0, 0, 0) == 1);
  CHECK(lazyidle_core_halt_blocked(0, 8, 8) == 1);
}

// What lazyidle_enter() then tells the core: L only for a blocked halt.
TEST_CASE("host-polled halt: what the core is told through the driver's reflect call") {
  constexpr unsigned long long latency = 10000;
  lazyidle_gov_blob blob{};
  lazyidle_core_gov_init(&blob, LAZYIDLE_GOV_DEFAULT, 0, 0);
  auto told = [&](unsigned int before, unsigned int after) {
    return lazyidle_core_reflect_measured(&blob, LAZYIDLE_GOV_DEFAULT, 60000, 3000,
                                          lazyidle_core_halt_blocked(1, before, after) ? latency : 0);
  };
  // Polled 3 us, halted, end - start = 60 us. Blocked in the host: the vCPU
  // ran again L = 10 us after the wakeup, so the idle was 50 us.
  CHECK(told(8, 10) == 50000);
  // Caught by the host's polling: the 60 us are the idle (less one VM exit
  // nobody measured).
  CHECK(told(8, 8) == 60000);
}
