// SPDX-License-Identifier: GPL-2.0-only OR MIT
//
// The small value types that flow between predictors, poll policies, the
// state table and the governor. They are plain aggregates so a C shim can
// fill them field by field.
#ifndef LAZYIDLE_VOCABULARY_HPP
#define LAZYIDLE_VOCABULARY_HPP

#include "config.hpp"

namespace lazyidle {

// One finished idle period as a predictor learns it.
struct idle_sample {
  duration_ns idle_ns = 0;          // measured length, from entry to wakeup
  duration_ns bound_ns = no_bound;  // next-timer bound at entry, if the layer had one
};

// What a predictor expects of the coming idle period.
struct prediction {
  duration_ns expected_ns = no_bound;
  u32 confidence_q10 = 0;  // 0 = no idea, 1024 = the last predictions were exact
};

// Everything a poll policy may use to size its budget. Policies never see
// more than a guest module could know: a bound only when a timer gives one.
struct poll_request {
  prediction predicted{};
  duration_ns block_cost_ns = 0;    // B of the state entered after polling
  duration_ns bound_ns = no_bound;  // next timer
};

// What happened after a budget was chosen; the policy's teacher.
struct idle_outcome {
  duration_ns idle_ns = 0;        // y: total idle, polling included
  duration_ns budget_ns = 0;      // the budget that was in force
  duration_ns block_cost_ns = 0;  // B at decision time
  prediction predicted{};

  constexpr bool woke_while_polling() const { return idle_ns <= budget_ns; }
  // The part of the idle spent blocked (KVM's and haltpoll's "block_ns").
  constexpr duration_ns blocked_ns() const { return idle_ns > budget_ns ? idle_ns - budget_ns : 0; }
};

}  // namespace lazyidle

#endif
