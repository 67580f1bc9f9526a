// SPDX-License-Identifier: GPL-2.0-only OR MIT
// Every predictor, the same contract: it is a predictor (concept), a
// constant stream is predicted as that constant (to the predictor's stated
// resolution), extreme and hostile inputs neither trap nor escape the
// bound, and reset() gives back a predictor that behaves like a new one.
// Adding a predictor = adding it to predictor_types below.
#include <doctest/doctest.h>

#include <lazyidle/concepts.hpp>
#include <lazyidle/predictor/bucketed.hpp>
#include <lazyidle/predictor/ewma.hpp>
#include <lazyidle/predictor/histogram.hpp>
#include <lazyidle/predictor/last_value.hpp>

#include <random>
#include <string>
#include <type_traits>
#include <vector>

using namespace lazyidle;

#define LAZYIDLE_PREDICTOR_TYPES \
  last_value_predictor, ewma_predictor<3>, ewma_predictor<1>, bucketed_correction_predictor, histogram_predictor

namespace {

// How close "converged to the constant c" must be. The histogram only knows
// which bin an idle fell in, so its answer is anywhere in c's bin; the others
// hold the value itself.
template <class P>
bool close_enough(duration_ns predicted, duration_ns c) {
  if constexpr (std::is_same_v<P, histogram_predictor>) {
    const u32 bin = histogram_predictor::bin_of(c);
    return histogram_predictor::lower_edge(bin) <= predicted && predicted <= histogram_predictor::upper_edge(bin);
  } else {
    return predicted == c;
  }
}

const duration_ns probe_bounds[] = {0, 1, 999, 5000, 20000, 100000, 3000000, 1ull << 40, u64_max - 1, no_bound};

template <class P>
std::vector<prediction> probe(const P& p) {
  std::vector<prediction> answers;
  for (duration_ns bound : probe_bounds) answers.push_back(p.predict(bound));
  return answers;
}

template <class P>
void check_sane(const P& p) {
  for (duration_ns bound : probe_bounds) {
    const prediction predicted = p.predict(bound);
    CAPTURE(bound);
    CHECK(predicted.expected_ns <= bound);
    CHECK(predicted.confidence_q10 <= q10_one);
  }
}

}  // namespace

TEST_CASE_TEMPLATE("predictor conformance: satisfies the concept", P, LAZYIDLE_PREDICTOR_TYPES) {
  static_assert(check_predictor<P>());
#if defined(__cpp_concepts)
  static_assert(predictor<P>);
#endif
  static_assert(std::is_trivially_copyable_v<P>, "per-CPU state must be plain data");
  static_assert(sizeof(P) <= 48, "a predictor must leave room in a 64-byte governor");
  MESSAGE(std::string(P::name) << ": sizeof = " << sizeof(P));
  CHECK(P::name[0] != '\0');
}

TEST_CASE_TEMPLATE("predictor conformance: a constant stream converges to the constant", P, LAZYIDLE_PREDICTOR_TYPES) {
  for (duration_ns c : {0ull, 700ull, 3000ull, 40000ull, 150000ull, 2000000ull}) {
    CAPTURE(c);
    P p;
    for (int i = 0; i < 300; ++i) p.observe({c, no_bound});
    const prediction predicted = p.predict(no_bound);
    CHECK(close_enough<P>(predicted.expected_ns, c));
    CHECK(predicted.confidence_q10 >= q10_one * 3 / 4);
    // With a bound above the constant the answer is the same (the bucketed
    // predictor learns per-bound ratios, so it is fed the bound it is asked with).
    P bounded;
    const duration_ns bound = 4 * c + 1000;
    for (int i = 0; i < 300; ++i) bounded.observe({c, bound});
    const duration_ns answer = bounded.predict(bound).expected_ns;
    if constexpr (std::is_same_v<P, bucketed_correction_predictor>) {
      // The factor is a 1/8192 fraction of the bound: the measured ratio is
      // rounded down and integer decay stops up to 7/8192 short of it.
      CHECK(answer + bound * 8 / 8192 + 1 >= c);
      CHECK(answer <= c + bound * 8 / 8192 + 1);
    } else {
      CHECK(close_enough<P>(answer, c));
    }
  }
}

TEST_CASE_TEMPLATE("predictor conformance: extreme and hostile inputs", P, LAZYIDLE_PREDICTOR_TYPES) {
  // Run under the sanitizer build this is the UB check; here it checks that
  // every answer stays within its bound and confidence within [0, 1].
  P p;
  check_sane(p);
  const duration_ns extremes[] = {0, 1, 1ull << 31, (1ull << 32) + 5, 1ull << 63, u64_max - 1, u64_max};
  for (duration_ns y : extremes)
    for (duration_ns bound : {y, no_bound, 0ull, 1ull, y / 2, u64_max - 1}) {
      p.observe({y, bound});
      check_sane(p);
    }
  // Alternating between the ends of the range.
  for (int i = 0; i < 600; ++i) {
    p.observe({i % 2 ? 0ull : 1ull << 63, i % 3 ? no_bound : 50000ull});
    if (i % 50 == 0) check_sane(p);
  }
  check_sane(p);
  // Random durations and bounds, the bound sometimes below the idle (a late
  // timer), sometimes absent.
  std::mt19937_64 rng(3);
  for (int i = 0; i < 3000; ++i) {
    const duration_ns y = rng() >> (rng() % 64);
    const duration_ns bound = rng() % 4 == 0 ? no_bound : (rng() >> (rng() % 64));
    p.observe({y, bound});
  }
  check_sane(p);
}

TEST_CASE_TEMPLATE("predictor conformance: a bound caps every prediction", P, LAZYIDLE_PREDICTOR_TYPES) {
  P p;
  for (int i = 0; i < 100; ++i) p.observe({5000000, no_bound});
  for (duration_ns bound : {0ull, 1ull, 4999ull, 20000ull, 4999999ull}) CHECK(p.predict(bound).expected_ns <= bound);
  P q;
  for (int i = 0; i < 100; ++i) q.observe({5000000, 8000000});
  for (duration_ns bound : {0ull, 1ull, 4999ull, 20000ull, 4999999ull}) CHECK(q.predict(bound).expected_ns <= bound);
}

TEST_CASE_TEMPLATE("predictor conformance: reset() restores initial behaviour", P, LAZYIDLE_PREDICTOR_TYPES) {
  const P fresh{};
  P p;
  std::mt19937_64 rng(5);
  for (int i = 0; i < 1000; ++i) p.observe({rng() % 10000000, rng() % 2 ? no_bound : rng() % 20000000});
  p.reset();
  const std::vector<prediction> before = probe(fresh), after = probe(p);
  for (size_t i = 0; i < before.size(); ++i) {
    CAPTURE(probe_bounds[i]);
    CHECK(after[i].expected_ns == before[i].expected_ns);
    CHECK(after[i].confidence_q10 == before[i].confidence_q10);
  }
  // And it learns again from scratch, exactly as a new one would.
  P again = fresh;
  for (duration_ns y : {3000ull, 90000ull, 3000ull, 3000ull}) {
    p.observe({y, 100000});
    again.observe({y, 100000});
  }
  const std::vector<prediction> relearned = probe(p), reference = probe(again);
  for (size_t i = 0; i < reference.size(); ++i) CHECK(relearned[i].expected_ns == reference[i].expected_ns);
}

TEST_CASE_TEMPLATE("distribution predictor conformance: thresholds and quantiles", P, histogram_predictor) {
  static_assert(is_distribution_predictor_v<P>);
#if defined(__cpp_concepts)
  static_assert(distribution_predictor<P>);
#endif
  P p;
  CHECK(p.best_threshold(20000) == 20000);  // knows nothing: break-even
  std::mt19937_64 rng(9);
  for (int i = 0; i < 2000; ++i) p.observe({rng() >> (rng() % 64), no_bound});
  duration_ns previous = 0;
  for (u32 q = 0; q <= q10_one; q += 64) {
    const duration_ns value = p.quantile(q);
    CHECK(value >= previous);  // quantiles are monotone
    previous = value;
  }
  for (duration_ns block : {0ull, 1ull, 20000ull, 1ull << 40, u64_max}) {
    const duration_ns threshold = p.best_threshold(block);
    CHECK(threshold <= sat_add(histogram_predictor::lower_edge(histogram_predictor::last_bin), block));
  }
}
