// SPDX-License-Identifier: GPL-2.0-only OR MIT
//
// THE policy table of lazyidle-sim. Every policy the simulator knows is one
// row of registry() below: reference yardsticks, the Linux 6.1 and 6.12
// baselines and
// every lazyidle predictor/poll-policy pairing. To add a lazyidle policy,
// include its header and add one row with lazyidle_row<governor<P, Q>>(...).
#ifndef LAZYIDLE_SIM_REGISTRY_HPP
#define LAZYIDLE_SIM_REGISTRY_HPP

#include "baselines.hpp"
#include "baselines_612.hpp"

#include <lazyidle/lazyidle.hpp>
#include <lazyidle/policy/break_even.hpp>
#include <lazyidle/policy/distribution_threshold.hpp>
#include <lazyidle/policy/fixed.hpp>
#include <lazyidle/policy/haltpoll.hpp>
#include <lazyidle/policy/kvm.hpp>
#include <lazyidle/policy/prediction_augmented.hpp>
#include <lazyidle/policy/randomized.hpp>
#include <lazyidle/predictor/bucketed.hpp>
#include <lazyidle/predictor/ewma.hpp>
#include <lazyidle/predictor/histogram.hpp>
#include <lazyidle/predictor/last_value.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace lazyidle::sim {

// A lazyidle governor driven through the simulator: one poll-then-block
// decision per idle. On the 2-state table it polls for the budget and then
// traps; on a deeper table it enters the state the predictor's expected idle
// selects (state_table::select, at least state 1) and passes that state's
// overhead as B.
template <class Governor>
class governor_policy final : public policy {
 public:
  governor_policy(const environment& env, const Governor& governor) : env_(env), governor_(governor) {}

  choice select(const select_context& c) override {
    u32 state = env_.deepest();
    if (env_.table.size() > 2) {
      const prediction p = governor_.predictor().predict(c.bound_ns);
      state = max_of<u32>(1, env_.table.select(p.expected_ns));
    }
    const governor_decision d = governor_.select(env_.table.overhead(state), c.bound_ns);
    return {state, d.poll_budget_ns, 0, poll_loop::lazyidle_driver};
  }
  // What lazyidle_enter() reflects (shim/guest/lazyidle_main.c,
  // lazyidle_core_reflect_measured()): end - start, less the wake latency
  // it measured for the halt, never below the time polled; a wakeup caught
  // polling as it is. The driver's measure is the state's exit latency
  // scaled by --driver-latency-pct. Under --reflect exact the row is told y
  // like every policy. One segment per idle: o.poll_ns is the idle's poll.
  void reflect(const segment_outcome& o) override {
    if (!o.idle_over) return;
    const bool halted = !o.woke_polling && !o.host_polled;
    const duration_ns latency =
        halted && !env_.reflect_exact_idle
            ? mul_div(env_.table[o.state].exit_latency_ns, env_.driver_latency_pct, 100)
            : 0;
    reflected_ns_ = idle_before_wakeup(o.idle_measured_ns, o.poll_ns, latency);
    governor_.reflect(reflected_ns_);
  }
  const Governor& governor() const { return governor_; }
  // The idle the governor was last told (tests/unit/test_sim_driver_reflect.cpp).
  duration_ns last_reflected_ns() const { return reflected_ns_; }

 private:
  const environment& env_;
  Governor governor_;
  duration_ns reflected_ns_ = 0;
};

enum class policy_kind { reference, linux_baseline, lazyidle };

struct policy_entry {
  std::string name;
  policy_kind kind;
  std::function<std::unique_ptr<policy>(const environment&)> make;
  u32 worst_case_ratio_q10 = u32_max;  // the policy's proven bound (lazyidle rows), u32_max = none
};

template <class P, class... Args>
policy_entry row(std::string name, policy_kind kind, Args... args) {
  return {std::move(name), kind,
          [args...](const environment& env) -> std::unique_ptr<policy> { return std::make_unique<P>(env, args...); }};
}

template <class Governor>
policy_entry lazyidle_row(std::string name, Governor prototype = Governor{}) {
  return {std::move(name), policy_kind::lazyidle,
          [prototype](const environment& env) -> std::unique_ptr<policy> {
            return std::make_unique<governor_policy<Governor>>(env, prototype);
          },
          prototype.policy().worst_case_ratio_q10()};
}

inline const std::vector<policy_entry>& registry() {
  using lv = last_value_predictor;
  static const std::vector<policy_entry> table = {
      // ---- reference yardsticks (DESIGN §3) ----
      row<opt_policy>("opt", policy_kind::reference),
      row<best_fixed_policy>("best_fixed", policy_kind::reference),
      row<break_even_policy>("break_even", policy_kind::reference),
      row<randomized_policy>("randomized", policy_kind::reference),
      // ---- Linux 6.1 re-implementations (baselines.hpp) ----
      row<menu_governor>("menu", policy_kind::linux_baseline),
      row<menu_haltpoll_driver_policy>("menu_haltpoll_driver", policy_kind::linux_baseline),
      row<teo_governor>("teo", policy_kind::linux_baseline),
      row<ladder_governor>("ladder", policy_kind::linux_baseline),
      row<haltpoll_governor>("haltpoll", policy_kind::linux_baseline),
      row<kvm_policy>("kvm", policy_kind::linux_baseline, 0u),
      row<haltpoll_kvm_policy>("haltpoll_kvm", policy_kind::linux_baseline),
      // ---- Linux 6.12 LTS re-implementations (baselines_612.hpp) ----
      row<menu_612_governor>("menu_6.12", policy_kind::linux_baseline),
      row<teo_612_governor>("teo_6.12", policy_kind::linux_baseline),
      row<haltpoll_governor>("haltpoll_6.12", policy_kind::linux_baseline, haltpoll_governor::linux_6_12),
      row<kvm_policy>("kvm_6.12", policy_kind::linux_baseline, 2u),
      row<haltpoll_kvm_612_policy>("haltpoll_kvm_6.12", policy_kind::linux_baseline),
      // ---- lazyidle core: the library default first ----
      lazyidle_row<default_governor>("lazyidle"),
      lazyidle_row<governor<lv, break_even>>("lz_break_even"),
      lazyidle_row<governor<lv, randomized_break_even>>("lz_randomized_break_even"),
      lazyidle_row<governor<lv, fixed_poll>>("lz_fixed_50us", governor<lv, fixed_poll>(fixed_poll(50000))),
      lazyidle_row<governor<lv, kvm_grow_shrink>>("lz_kvm_grow_shrink"),
      lazyidle_row<governor<lv, kvm_grow_shrink>>(
          "lz_kvm_grow_shrink_6.11", governor<lv, kvm_grow_shrink>(kvm_grow_shrink(kvm_grow_shrink::linux_6_11()))),
      lazyidle_row<governor<lv, haltpoll_grow_shrink>>("lz_haltpoll_grow_shrink"),
      lazyidle_row<governor<lv, prediction_augmented>>("lz_prediction_augmented+last_value"),
      lazyidle_row<governor<ewma_predictor<>, prediction_augmented>>("lz_prediction_augmented+ewma"),
      lazyidle_row<governor<bucketed_correction_predictor, prediction_augmented>>("lz_prediction_augmented+bucketed"),
      lazyidle_row<governor<histogram_predictor, prediction_augmented>>("lz_prediction_augmented+histogram"),
      lazyidle_row<governor<void, distribution_threshold>>("lz_distribution_threshold"),
  };
  return table;
}

inline const policy_entry* find_policy(const std::string& name) {
  for (const auto& e : registry())
    if (e.name == name) return &e;
  return nullptr;
}

}  // namespace lazyidle::sim

#endif
