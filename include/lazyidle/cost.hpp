// SPDX-License-Identifier: GPL-2.0-only OR MIT
//
// The one cost model every layer reports in (DESIGN §3). An idle period of
// true length y meets a policy that polls for a budget p and then blocks
// (halts, traps to the host, parks on a futex):
//
//   y <= p : cost = y             the CPU spent polling, no added latency
//   y >  p : cost = p + B         B = B_cpu + w*L (+ F when trapping to a host)
//
// B_cpu is the CPU the block path burns, L the wake latency it adds, w the
// weight of latency against CPU (1.0 by default) and F the FPU/extended-state
// save a host context switch costs. Time spent blocked is not charged: the CPU
// is free for others. The offline optimum knows y: OPT(y) = min(y, B). Every
// ratio lazyidle prints is sum(cost) / sum(OPT) over a trace, with B's currency
// stated next to it.
#ifndef LAZYIDLE_COST_HPP
#define LAZYIDLE_COST_HPP

#include "arith.hpp"

namespace lazyidle {

struct cost_model {
  duration_ns block_cpu_ns = 5000;      // futex park/unpark CPU here (DESIGN §9)
  duration_ns wake_latency_ns = 10000;  // added wake latency of an idle waiter
  u32 latency_weight_q10 = q10_one;     // w, 1024 = latency costs like CPU
  duration_ns fpu_save_ns = 0;          // F, only for trap-to-host states

  // B for a blocking state; trap_to_host adds the extended-state save.
  constexpr duration_ns block_cost(bool trap_to_host = false) const {
    const duration_ns b = sat_add(block_cpu_ns, scale_q10(wake_latency_ns, latency_weight_q10));
    return trap_to_host ? sat_add(b, fpu_save_ns) : b;
  }
};

// Cost of one idle under a poll-then-block decision.
constexpr duration_ns decision_cost(duration_ns idle_ns, duration_ns budget_ns, duration_ns block_cost_ns) {
  return idle_ns <= budget_ns ? idle_ns : sat_add(budget_ns, block_cost_ns);
}

constexpr duration_ns optimal_cost(duration_ns idle_ns, duration_ns block_cost_ns) {
  return min_of(idle_ns, block_cost_ns);
}

// The idle a blocked wait really lasted, from the waiter's own clock. A
// layer times an idle from its start until the waiter runs again (the guest
// driver's end - start around HLT, KVM's halt_ns, a waiter's wait), so a
// blocked idle of length y reads y + L: the wake latency L came after the
// wakeup. L is part of the price of blocking (B), not of the idle; taught
// y + L, a predictor learns idles L too long after every block and drifts
// towards polling through them. menu_update() subtracts the state's exit
// latency for the same reason. wake_latency_ns is the layer's own measure
// of L (0 for a wakeup caught by polling: nothing to subtract). Never below
// polled_ns: the wakeup of a blocked idle came after its poll ended, so an
// over-estimated L cannot make it look caught.
constexpr duration_ns idle_before_wakeup(duration_ns measured_ns, duration_ns polled_ns, duration_ns wake_latency_ns) {
  return max_of(sat_sub(measured_ns, wake_latency_ns), polled_ns);
}

// Running sums for the empirical competitive ratio. Sums saturate rather than
// wrap: a saturated ledger reads as ratio 1.0, never as a bogus small ratio.
struct cost_ledger {
  u64 decision_cost_ns = 0;
  u64 optimal_cost_ns = 0;
  u64 idles = 0;
  u64 polled_wakeups = 0;  // idles that ended inside the poll budget
  u64 poll_ns = 0;         // CPU spent polling, successful or not

  constexpr void add(duration_ns idle_ns, duration_ns budget_ns, duration_ns block_cost_ns) {
    decision_cost_ns = sat_add(decision_cost_ns, decision_cost(idle_ns, budget_ns, block_cost_ns));
    optimal_cost_ns = sat_add(optimal_cost_ns, optimal_cost(idle_ns, block_cost_ns));
    idles += 1;
    polled_wakeups += idle_ns <= budget_ns ? 1 : 0;
    poll_ns = sat_add(poll_ns, min_of(idle_ns, budget_ns));
  }
  constexpr void merge(const cost_ledger& other) {
    decision_cost_ns = sat_add(decision_cost_ns, other.decision_cost_ns);
    optimal_cost_ns = sat_add(optimal_cost_ns, other.optimal_cost_ns);
    idles = sat_add(idles, other.idles);
    polled_wakeups = sat_add(polled_wakeups, other.polled_wakeups);
    poll_ns = sat_add(poll_ns, other.poll_ns);
  }
  // sum(cost) / sum(OPT) in per-mille; 1000 when nothing was accounted.
  constexpr u64 ratio_permille() const {
    if (optimal_cost_ns == 0) return decision_cost_ns == 0 ? 1000 : u64_max;
    return mul_div(decision_cost_ns, 1000, optimal_cost_ns);
  }
};

}  // namespace lazyidle

#endif
