// SPDX-License-Identifier: GPL-2.0-only OR MIT
//
// Umbrella header: the whole freestanding core, and the library's default
// governor. The default is whatever wins the simulator's sweep
// (bench/sim, README "Choosing the default"); change it only with figures.
#ifndef LAZYIDLE_LAZYIDLE_HPP
#define LAZYIDLE_LAZYIDLE_HPP

#include "arith.hpp"
#include "concepts.hpp"
#include "cost.hpp"
#include "governor.hpp"
#include "state_table.hpp"
#include "vocabulary.hpp"
#include "predictor/last_value.hpp"
#include "predictor/ewma.hpp"
#include "predictor/bucketed.hpp"
#include "predictor/histogram.hpp"
#include "policy/break_even.hpp"
#include "policy/fixed.hpp"
#include "policy/haltpoll.hpp"
#include "policy/kvm.hpp"
#include "policy/prediction_augmented.hpp"
#include "policy/randomized.hpp"
#include "policy/distribution_threshold.hpp"

namespace lazyidle {

// The distribution threshold, predicting from its own histogram: in the
// simulator's sweep (B = 10..100 µs, generated and captured traces) it came
// within 2.1% of the hindsight-best fixed threshold, beat it on ordered
// traces, and matched or beat menu, TEO, ladder, haltpoll and KVM's
// grow/shrink within 0.5% at all 40 trace x B points (README); its
// aggregate cost never exceeds 2.125 x OPT. 64 bytes per CPU.
using default_governor = governor<void, distribution_threshold>;

}  // namespace lazyidle

#endif
