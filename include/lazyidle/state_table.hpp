// SPDX-License-Identifier: GPL-2.0-only OR MIT
//
// Idle-state table: what a CPU can do while it waits, shallow to deep.
//
// Each state has an exit latency (how long a wakeup takes to get the CPU
// back: what PM QoS limits) and a target residency (how long the idle must
// last for the state to pay off against the next shallower one: its
// break-even point). State 0 is always "poll": exit latency 0, residency 0,
// full power. For the cost model each state s gets a line
//
//   cost_s(t) = overhead_s + slope_s * t        (t = time spent in the state)
//
// with slope_s its power relative to polling (Q10, poll = 1024) and overhead_s
// derived so that the line of s meets the line of s-1 exactly at s's target
// residency: overhead_s = overhead_{s-1} + (slope_{s-1} - slope_s) * R_s.
// For the two-state KVM table (poll, trap to host with slope 0) this gives
// overhead = R = B: DESIGN §3's single block cost. The offline optimum is the
// lower envelope min_s cost_s(y); a policy that polls for p and then enters
// s pays p + overhead_s + slope_s * (y - p).
//
// Selection follows cpuidle: the deepest state whose target residency fits
// the predicted idle and whose exit latency fits the latency limit.
// Measured exit latencies replace the table's guesses online; that is how the
// talk's "???" for trap-to-host gets filled in.
#ifndef LAZYIDLE_STATE_TABLE_HPP
#define LAZYIDLE_STATE_TABLE_HPP

#include "arith.hpp"

namespace lazyidle {

struct idle_state {
  const char* name = "";
  duration_ns exit_latency_ns = 0;
  duration_ns target_residency_ns = 0;
  u32 power_q10 = q10_one;  // slope relative to polling
  bool traps_to_host = false;
};

template <u32 Capacity>
class state_table {
  static_assert(Capacity >= 1 && Capacity <= 16, "state_table: capacity 1..16");

 public:
  static constexpr u32 capacity = Capacity;

  constexpr state_table() = default;

  // Appends a state; refuses (returns false) when full or when the table
  // would stop being ordered shallow-to-deep, so a malformed table cannot
  // make select() pick a state that never pays off.
  constexpr bool add(const idle_state& state) {
    if (count_ >= Capacity) return false;
    if (count_ > 0) {
      const idle_state& prev = states_[count_ - 1];
      if (state.target_residency_ns < prev.target_residency_ns || state.power_q10 > prev.power_q10) return false;
    }
    states_[count_] = state;
    ++count_;
    recompute_overheads();
    return true;
  }

  constexpr u32 size() const { return count_; }
  constexpr const idle_state& operator[](u32 index) const { return states_[index]; }
  constexpr duration_ns overhead(u32 index) const { return overhead_ns_[index]; }

  // Deepest state whose residency fits the predicted idle and whose exit
  // latency fits the limit. Never fails: state 0 always qualifies.
  constexpr u32 select(duration_ns predicted_idle_ns, duration_ns latency_limit_ns = no_bound) const {
    u32 chosen = 0;
    for (u32 i = 1; i < count_; ++i) {
      if (states_[i].exit_latency_ns > latency_limit_ns) break;
      if (states_[i].target_residency_ns > predicted_idle_ns) break;
      chosen = i;
    }
    return chosen;
  }

  // Online calibration: a measured exit latency replaces the table's. The
  // target residency follows when the state's residency was defined by its
  // latency (residency_per_latency_q10 > 0), so selection and the cost
  // lines stay consistent. Returns false for an unknown index.
  constexpr bool update_exit_latency(u32 index, duration_ns measured_ns, u32 residency_per_latency_q10 = 0) {
    // index >= Capacity is implied by count_ <= Capacity; saying it lets
    // gcc's -Warray-bounds see it too.
    if (index == 0 || index >= count_ || index >= Capacity) return false;
    states_[index].exit_latency_ns = measured_ns;
    if (residency_per_latency_q10 != 0) {
      duration_ns residency = scale_q10(measured_ns, residency_per_latency_q10);
      // Keep the table ordered: a residency may not undercut a shallower
      // state's or overtake a deeper one's.
      residency = max_of(residency, states_[index - 1].target_residency_ns);
      if (index + 1 < count_ && index + 1 < Capacity) residency = min_of(residency, states_[index + 1].target_residency_ns);
      states_[index].target_residency_ns = residency;
      recompute_overheads();
    }
    return true;
  }

  // Cost of polling for budget_ns and then entering state_index, for an
  // idle of idle_ns (DESIGN §3, multi-state form).
  constexpr duration_ns cost(duration_ns idle_ns, duration_ns budget_ns, u32 state_index) const {
    if (idle_ns <= budget_ns || state_index == 0) return idle_ns;
    return sat_add(sat_add(budget_ns, overhead_ns_[state_index]),
                   scale_q10(idle_ns - budget_ns, states_[state_index].power_q10));
  }

  // Lower envelope: the cheapest state entered at once, knowing the idle.
  constexpr duration_ns optimal_cost(duration_ns idle_ns) const {
    duration_ns best = idle_ns;
    for (u32 i = 1; i < count_; ++i)
      best = min_of(best, sat_add(overhead_ns_[i], scale_q10(idle_ns, states_[i].power_q10)));
    return best;
  }

 private:
  constexpr void recompute_overheads() {
    overhead_ns_[0] = 0;
    for (u32 i = 1; i < count_; ++i) {
      const u32 slope_drop = states_[i - 1].power_q10 - states_[i].power_q10;
      overhead_ns_[i] = sat_add(overhead_ns_[i - 1], scale_q10(states_[i].target_residency_ns, slope_drop));
    }
  }

  idle_state states_[Capacity]{};
  duration_ns overhead_ns_[Capacity]{};
  u32 count_ = 0;
};

inline constexpr idle_state poll_state{"POLL", 0, 0, q10_one, false};

// The talk's Nehalem table (exit latency / target residency in µs, DESIGN
// §1). The talk gives no power figures; these slopes (1/2, 3/10, 1/10, 0 of
// polling power) are chosen so every residency is exactly the break-even
// point against the shallower state with overheads close to the exit
// latencies (3, 7, 23, 103 µs), which is how Intel's residencies were meant.
constexpr state_table<5> nehalem_table() {
  state_table<5> table;
  table.add(poll_state);
  table.add({"C1", 3000, 6000, 512, false});
  table.add({"C1E", 10000, 20000, 307, false});
  table.add({"C3", 20000, 80000, 102, false});
  table.add({"C6", 200000, 800000, 0, false});
  return table;
}

// The talk's KVM table: "stay in guest" and "trap to host". The talk left
// the trap's latency and residency as "???"; here they are parameters: the
// wake latency L, and the block cost B (= the break-even residency) in the
// cost currency. A guest fills them from measurement.
constexpr state_table<2> kvm_table(duration_ns trap_latency_ns, duration_ns trap_block_cost_ns) {
  state_table<2> table;
  table.add({"stay in guest", 0, 0, q10_one, false});
  table.add({"trap to host", trap_latency_ns, trap_block_cost_ns, 0, true});
  return table;
}

}  // namespace lazyidle

#endif
