// SPDX-License-Identifier: GPL-2.0-only OR MIT
//
// Arbitrary duration sequences into every predictor x poll policy governor:
// zero, 2^63, u64 max, a clock that went backwards (an idle computed as a
// negative difference arrives as a huge unsigned value), block costs from 0
// up. Built with -fsanitize=fuzzer,address,undefined,integer, so any UB
// aborts; the asserts check outputs stay inside their documented bounds.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <lazyidle/lazyidle.hpp>

using namespace lazyidle;

namespace {

struct byte_reader {
  const uint8_t* data;
  size_t size;
  u64 take(u32 bytes) {
    u64 v = 0;
    for (u32 i = 0; i < bytes && size > 0; ++i, --size) v = (v << 8) | *data++;
    return v;
  }
};

// Durations are drawn from a spread that favours the interesting region
// (around B) but reaches the extremes.
duration_ns next_duration(byte_reader& in) {
  const u64 selector = in.take(1);
  switch (selector & 7) {
    case 0: return 0;
    case 1: return u64_max - in.take(1);         // backwards clock
    case 2: return 1ull << 63;
    case 3: return in.take(8);                   // anything
    default: return in.take(3) << (selector >> 5);  // 0 .. ~128 ms, mostly µs
  }
}

template <class Policy>
Policy make_policy() {
  if constexpr (requires { Policy{duration_ns{20000}}; }) {
    return Policy{duration_ns{20000}};
  } else {
    return Policy{};
  }
}

template <class Predictor, class Policy>
void run(const uint8_t* data, size_t size) {
  governor<Predictor, Policy> gov{make_policy<Policy>()};
  cost_ledger ledger;
  byte_reader in{data, size};
  duration_ns max_block = 0;
  while (in.size > 0) {
    const duration_ns block = in.take(3) + 1;
    const duration_ns bound = (in.take(1) & 1) ? no_bound : next_duration(in);
    const governor_decision decision = gov.select(block, bound);
    const duration_ns idle = next_duration(in);
    if (decision.predicted.confidence_q10 > q10_one) abort();
    if (bound != no_bound && decision.predicted.expected_ns > bound) abort();
    if constexpr (requires { gov.policy().budget_cap_ns(block); }) {
      if (decision.poll_budget_ns > gov.policy().budget_cap_ns(block)) abort();
    }
    max_block = block > max_block ? block : max_block;
    ledger.add(idle, decision.poll_budget_ns, block);
    gov.reflect(idle);
  }
  // A deterministic bounded policy stays inside its bound, aggregated, with
  // one worst idle of slack for amortised bounds. A bound that holds only in
  // expectation (randomized) says nothing about one draw.
  constexpr bool in_expectation = requires { Policy::bound_in_expectation; };
  const u32 bound_q10 = gov.policy().worst_case_ratio_q10();
  if (!in_expectation && bound_q10 != u32_max && ledger.optimal_cost_ns < (u64_max >> 12)) {
    const u64 allowed = sat_add(mul_div(ledger.optimal_cost_ns, bound_q10 + 16, q10_one), sat_mul(max_block, 20));
    if (ledger.decision_cost_ns > allowed) abort();
  }
}

template <class Policy>
void run_all_predictors(const uint8_t* data, size_t size) {
  run<last_value_predictor, Policy>(data, size);
  run<ewma_predictor<3>, Policy>(data, size);
  run<bucketed_correction_predictor, Policy>(data, size);
  run<histogram_predictor, Policy>(data, size);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  switch (data[0] % 8) {
    case 0: run_all_predictors<fixed_poll>(data + 1, size - 1); break;
    case 1: run_all_predictors<kvm_grow_shrink>(data + 1, size - 1); break;
    case 2: run_all_predictors<haltpoll_grow_shrink>(data + 1, size - 1); break;
    case 3: run_all_predictors<break_even>(data + 1, size - 1); break;
    case 4: run_all_predictors<randomized_break_even>(data + 1, size - 1); break;
    case 5: run_all_predictors<prediction_augmented>(data + 1, size - 1); break;
    case 6: run_all_predictors<distribution_threshold>(data + 1, size - 1); break;
    default: run<void, distribution_threshold>(data + 1, size - 1); run<void, distribution_threshold>(data + 1, size - 1); break;
  }
  return 0;
}
