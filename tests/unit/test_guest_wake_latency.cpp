// SPDX-License-Identifier: GPL-2.0-only OR MIT
// Which measurement the guest driver takes as the wake latency L of its
// halts (subtracted from a halted idle, published as the state's exit
// latency): lazyidle_core_wake_latency() of the driver's C++ glue
// (shim/guest/lazyidle_core.cpp, built here in userspace, the same file the
// module links). The host's figure when the last B came from it and it is
// non-zero and within calib_max_ns, else the own median once there is a
// sample, else 0.
#include <doctest/doctest.h>

extern "C" {
#include "lazyidle_core.h"
}

namespace {

constexpr unsigned long long calib_max = 2000000;
constexpr unsigned long long own_median = 55000;

lazyidle_wake_latency_in inputs(unsigned int b_from_host, unsigned long long host_ns,
                                unsigned long long samples = 12) {
  lazyidle_wake_latency_in in{};
  in.host_ns = host_ns;
  in.calib_max_ns = calib_max;
  in.calibrated_ns = own_median;
  in.calib_samples = samples;
  in.b_from_host = b_from_host;
  return in;
}

unsigned long long wake_latency(const lazyidle_wake_latency_in& in) { return lazyidle_core_wake_latency(&in); }

}  // namespace

TEST_CASE("guest wake latency: the host's figure when B came from it and it is in range") {
  CHECK(wake_latency(inputs(1, 300000)) == 300000);
  CHECK(wake_latency(inputs(1, 1)) == 1);
  // calib_max_ns itself is in range, as for the own samples.
  CHECK(wake_latency(inputs(1, calib_max)) == calib_max);
  // The host's figure does not need own samples.
  CHECK(wake_latency(inputs(1, 300000, 0)) == 300000);
}

TEST_CASE("guest wake latency: a host figure of 0 (not measured yet) falls back to the own median") {
  CHECK(wake_latency(inputs(1, 0)) == own_median);
  CHECK(wake_latency(inputs(1, 0, 0)) == 0);
}

TEST_CASE("guest wake latency: a host figure above calib_max_ns falls back to the own median") {
  CHECK(wake_latency(inputs(1, calib_max + 1)) == own_median);
  CHECK(wake_latency(inputs(1, 4294967295ull)) == own_median);
  // The bound is the knob's current value, not a constant.
  lazyidle_wake_latency_in in = inputs(1, 300000);
  in.calib_max_ns = 299999;
  CHECK(wake_latency(in) == own_median);
}

TEST_CASE("guest wake latency: B not from the host takes the own median, whatever the host publishes") {
  CHECK(wake_latency(inputs(0, 300000)) == own_median);
  CHECK(wake_latency(inputs(0, 0)) == own_median);
  CHECK(wake_latency(inputs(0, calib_max + 1)) == own_median);
}

TEST_CASE("guest wake latency: no own sample and no usable host figure is 0, whatever the median holds") {
  CHECK(wake_latency(inputs(0, 300000, 0)) == 0);
  CHECK(wake_latency(inputs(1, calib_max + 1, 0)) == 0);
  // The median is reported as measured once there is one sample.
  CHECK(wake_latency(inputs(0, 0, 1)) == own_median);
}
