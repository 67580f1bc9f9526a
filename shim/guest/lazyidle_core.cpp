// SPDX-License-Identifier: GPL-2.0-only OR MIT
//
// C++ glue: instantiates the freestanding core (include/lazyidle) inside the
// module and exposes it through lazyidle_core.h: the library's default
// governor (whatever lazyidle.hpp names), and last value +
// prediction-augmented break-even for the lambda knob. It includes no kernel header
// and defines no object with a constructor: the module loader ignores
// .init_array, so every governor is built by copying a constant-initialised
// value into the C side's storage. Copies go through __builtin_memcpy on
// trivially copyable types, which keeps object lifetimes well defined without
// <new> (placement new would need the standard library).
//
// These functions run inside cpuidle ->enter() with RCU not watching: they
// must stay pure computation (no calls out of this file besides memcpy,
// which the compiler inlines for these fixed sizes).
#include <lazyidle/lazyidle.hpp>

#include "lazyidle_core.h"

namespace {

using default_type = lazyidle::default_governor;
using augmented_type = lazyidle::governor<lazyidle::last_value_predictor, lazyidle::prediction_augmented>;

template <class G>
constexpr bool fits_blob() {
  static_assert(sizeof(G) <= sizeof(lazyidle_gov_blob), "governor outgrew the 64-byte per-CPU blob");
  static_assert(alignof(G) <= alignof(lazyidle_gov_blob), "blob alignment too small");
  static_assert(__is_trivially_copyable(G), "a governor must be trivially copyable to live in a C blob");
  return true;
}
static_assert(fits_blob<default_type>() && fits_blob<augmented_type>());

static_assert(__is_trivially_copyable(lazyidle::cost_ledger));
static_assert(sizeof(lazyidle::cost_ledger) == sizeof(lazyidle_ledger), "cost_ledger and lazyidle_ledger diverged");
static_assert(__builtin_offsetof(lazyidle::cost_ledger, decision_cost_ns) ==
              __builtin_offsetof(lazyidle_ledger, decision_cost_ns));
static_assert(__builtin_offsetof(lazyidle::cost_ledger, optimal_cost_ns) ==
              __builtin_offsetof(lazyidle_ledger, optimal_cost_ns));
static_assert(__builtin_offsetof(lazyidle::cost_ledger, idles) == __builtin_offsetof(lazyidle_ledger, idles));
static_assert(__builtin_offsetof(lazyidle::cost_ledger, polled_wakeups) ==
              __builtin_offsetof(lazyidle_ledger, polled_wakeups));
static_assert(__builtin_offsetof(lazyidle::cost_ledger, poll_ns) == __builtin_offsetof(lazyidle_ledger, poll_ns));

// constinit: the initial default governor is computed by the compiler; if
// the core ever gains a non-constexpr default constructor this fails to
// compile instead of leaving a zero object and a dead .init_array entry.
constinit const default_type initial_default{};

template <class T, class Blob>
LAZYIDLE_ALWAYS_INLINE T load(const Blob* blob) {
  T value;
  __builtin_memcpy(static_cast<void*>(&value), blob, sizeof(T));
  return value;
}

template <class T, class Blob>
LAZYIDLE_ALWAYS_INLINE void store(Blob* blob, const T& value) {
  __builtin_memcpy(blob, static_cast<const void*>(&value), sizeof(T));
}

template <class G>
LAZYIDLE_ALWAYS_INLINE void select_as(lazyidle_gov_blob* gov, unsigned long long block_cost_ns,
                                      unsigned long long bound_ns, lazyidle_decision* out) {
  auto g = load<G>(gov);
  const lazyidle::governor_decision d = g.select(block_cost_ns, bound_ns);
  store(gov, g);
  out->poll_budget_ns = d.poll_budget_ns;
  out->expected_ns = d.predicted.expected_ns;
  out->confidence_q10 = d.predicted.confidence_q10;
  if constexpr (__is_same(G, augmented_type)) {
    out->lambda_q10 = g.policy().lambda_q10();
  } else {
    out->lambda_q10 = lazyidle::q10_one;
  }
}

template <class G>
LAZYIDLE_ALWAYS_INLINE void reflect_as(lazyidle_gov_blob* gov, unsigned long long idle_ns) {
  auto g = load<G>(gov);
  g.reflect(idle_ns);
  store(gov, g);
}

// A governor may keep no predictor of its own (Predictor = void: the policy's
// history predicts); ask the governor which object predicts for it.
template <class G>
const char* predictor_name() {
  constexpr G governor{};
  return governor.predictor().name;
}

}  // namespace

extern "C" {

void lazyidle_core_gov_init(lazyidle_gov_blob* gov, unsigned int kind, unsigned int lambda_min_q10,
                            unsigned int lambda_max_q10) {
  *gov = lazyidle_gov_blob{};
  if (kind == LAZYIDLE_GOV_AUGMENTED) {
    lazyidle::prediction_augmented::parameters params;
    params.lambda_min_q10 = lambda_min_q10;
    params.lambda_max_q10 = lambda_max_q10;
    store(gov, augmented_type(lazyidle::prediction_augmented(params)));
  } else {
    store(gov, initial_default);
  }
}

void lazyidle_core_select(lazyidle_gov_blob* gov, unsigned int kind, unsigned long long block_cost_ns,
                          unsigned long long bound_ns, lazyidle_decision* out) {
  if (kind == LAZYIDLE_GOV_AUGMENTED)
    select_as<augmented_type>(gov, block_cost_ns, bound_ns, out);
  else
    select_as<default_type>(gov, block_cost_ns, bound_ns, out);
}

void lazyidle_core_reflect(lazyidle_gov_blob* gov, unsigned int kind, unsigned long long idle_ns) {
  if (kind == LAZYIDLE_GOV_AUGMENTED)
    reflect_as<augmented_type>(gov, idle_ns);
  else
    reflect_as<default_type>(gov, idle_ns);
}

unsigned long long lazyidle_core_reflect_measured(lazyidle_gov_blob* gov, unsigned int kind,
                                                  unsigned long long idle_ns, unsigned long long polled_ns,
                                                  unsigned long long wake_latency_ns) {
  const lazyidle::duration_ns idle = lazyidle::idle_before_wakeup(idle_ns, polled_ns, wake_latency_ns);
  lazyidle_core_reflect(gov, kind, idle);
  return idle;
}

unsigned int lazyidle_core_worst_case_permille(const lazyidle_gov_blob* gov, unsigned int kind) {
  const lazyidle::u32 q10 = kind == LAZYIDLE_GOV_AUGMENTED ? load<augmented_type>(gov).policy().worst_case_ratio_q10()
                                                           : load<default_type>(gov).policy().worst_case_ratio_q10();
  return q10 == lazyidle::u32_max ? q10 : static_cast<unsigned int>(lazyidle::mul_div(q10, 1000, lazyidle::q10_one));
}

void lazyidle_core_ledger_add(lazyidle_ledger* ledger, unsigned long long idle_ns, unsigned long long budget_ns,
                              unsigned long long block_cost_ns) {
  auto l = load<lazyidle::cost_ledger>(ledger);
  l.add(idle_ns, budget_ns, block_cost_ns);
  store(ledger, l);
}

unsigned long long lazyidle_core_ledger_ratio_permille(const lazyidle_ledger* ledger) {
  return load<lazyidle::cost_ledger>(ledger).ratio_permille();
}

unsigned long long lazyidle_core_ewma(unsigned long long average, unsigned long long sample, unsigned int shift) {
  return lazyidle::ewma_step(average, sample, shift);
}

unsigned long long lazyidle_core_mul_div(unsigned long long a, unsigned long long b, unsigned long long c) {
  return lazyidle::mul_div(a, b, c);
}

unsigned long long lazyidle_core_median_step(unsigned long long estimate, unsigned long long sample) {
  // Moves toward the sample by a step proportional to the estimate, so it
  // settles where half the samples lie above and half below; 16 ns minimum
  // so a tiny estimate can still grow.
  const unsigned long long step = lazyidle::max_of(estimate >> 4, 16ull);
  if (sample > estimate) return lazyidle::min_of(sample, lazyidle::sat_add(estimate, step));
  if (sample < estimate) return lazyidle::max_of(sample, lazyidle::sat_sub(estimate, step));
  return estimate;
}

unsigned long long lazyidle_core_wake_latency(const lazyidle_wake_latency_in* in) {
  // A host that publishes 0 has not measured yet, and one above the outlier
  // bound is not trusted for B either: both fall back like B does.
  if (in->b_from_host && in->host_ns != 0 && in->host_ns <= in->calib_max_ns) return in->host_ns;
  return in->calib_samples != 0 ? in->calibrated_ns : 0;
}

int lazyidle_core_halt_blocked(unsigned int seq_known, unsigned int seq_before, unsigned int seq_after) {
  return !seq_known || seq_before != seq_after;
}

const char* lazyidle_core_predictor_name(unsigned int kind) {
  return kind == LAZYIDLE_GOV_AUGMENTED ? predictor_name<augmented_type>() : predictor_name<default_type>();
}
const char* lazyidle_core_policy_name(unsigned int kind) {
  return kind == LAZYIDLE_GOV_AUGMENTED ? augmented_type::policy_type::name : default_type::policy_type::name;
}

}  // extern "C"
