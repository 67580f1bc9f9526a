// SPDX-License-Identifier: GPL-2.0-only OR MIT
// Prediction-augmented break-even (Purohit, Svitkina, Kumar 2018): the two
// budgets by hand, the trust update step by step, and the bounds as
// properties: (1 + 1/lambda_min) * OPT for every idle whatever the
// predictions, (1 + lambda) * OPT (+1 ns rounding) when they are right.
#include <doctest/doctest.h>

#include <initializer_list>

#include <lazyidle/arith.hpp>
#include <lazyidle/cost.hpp>
#include <lazyidle/governor.hpp>
#include <lazyidle/policy/prediction_augmented.hpp>
#include <lazyidle/predictor/last_value.hpp>

using namespace lazyidle;

namespace {

poll_request request_for(duration_ns predicted, duration_ns block_cost) {
  poll_request request;
  request.predicted.expected_ns = predicted;
  request.block_cost_ns = block_cost;
  return request;
}

// One idle; returns its cost.
u64 run_one(prediction_augmented& policy, duration_ns predicted, duration_ns y, duration_ns block_cost) {
  const duration_ns budget = policy.budget(request_for(predicted, block_cost));
  idle_outcome outcome;
  outcome.idle_ns = y;
  outcome.budget_ns = budget;
  outcome.block_cost_ns = block_cost;
  outcome.predicted.expected_ns = predicted;
  policy.reflect(outcome);
  return decision_cost(y, budget, block_cost);
}

prediction_augmented with_lambda(u32 lambda_min, u32 lambda_max) {
  prediction_augmented::parameters p;
  p.lambda_min_q10 = lambda_min;
  p.lambda_max_q10 = lambda_max;
  return prediction_augmented{p};
}

}  // namespace

TEST_CASE("prediction-augmented: block at ceil(lambda B) on a long prediction, floor(B / lambda) on a short one") {
  prediction_augmented fresh;  // starts at lambda_max = 1: break-even both ways
  CHECK(fresh.lambda_q10() == 1024);
  CHECK(fresh.budget(request_for(50000, 10000)) == 10000);
  CHECK(fresh.budget(request_for(5000, 10000)) == 10000);

  prediction_augmented half = with_lambda(512, 512);
  CHECK(half.budget(request_for(10000, 10000)) == 5000);  // y^ >= B: long
  CHECK(half.budget(request_for(9999, 10000)) == 20000);  // y^ < B: short
  CHECK(half.budget(request_for(no_bound, 10000)) == 5000);  // unknown reads as long

  prediction_augmented odd = with_lambda(700, 700);
  CHECK(odd.budget(request_for(no_bound, 10000)) == 6836);  // ceil(6835.94)
  CHECK(odd.budget(request_for(0, 10000)) == 14628);        // floor(14628.57)
  CHECK(odd.budget(request_for(0, 0)) == 0);
  CHECK(odd.budget(request_for(no_bound, u64_max)) <= u64_max);
  CHECK(odd.budget(request_for(0, u64_max)) == u64_max);  // saturates, never wraps
}

TEST_CASE("prediction-augmented: trust follows the running value of the predictions") {
  prediction_augmented policy;  // [512, 1024], score 0: lambda 1024
  const duration_ns b = 10000;
  CHECK(policy.lambda_q10() == 1024);

  // Long prediction, long idle. Distrusting (block at B): 2B = 20000.
  // Trusting (block at 0.5 B): 15000. value = 5000/B = 512/1024.
  // score = 0 + 512 / 16 = 32; lambda = 1024 - 512 * 32/64 = 768.
  run_one(policy, 50000, 60000, b);
  CHECK(policy.score_q10() == 32);
  CHECK(policy.lambda_q10() == 768);

  // Again: score = 32 + (512 - 32) / 16 = 62; lambda = 1024 - 496 = 528.
  run_one(policy, 50000, 60000, b);
  CHECK(policy.score_q10() == 62);
  CHECK(policy.lambda_q10() == 528);

  // Short prediction, short idle: both rules poll through it, value 0.
  // score = 62 + floor(-62 / 16) = 58; lambda = 1024 - 512 * 58/64 = 560.
  run_one(policy, 100, 200, b);
  CHECK(policy.score_q10() == 58);
  CHECK(policy.lambda_q10() == 560);

  // Short prediction, idle of 3B. Distrusting: 2B = 20000. Trusting polls to
  // B/0.5 = 20000 and then blocks: 30000. value = -1024.
  // score = 58 + floor(-1082 / 16) = 58 - 68 = -10: no trust, lambda 1024.
  run_one(policy, 100, 30000, b);
  CHECK(policy.score_q10() == -10);
  CHECK(policy.lambda_q10() == 1024);

  // Long prediction (y^ == B), idle of exactly B: distrusting polls through
  // it (10000), trusting blocked at 5000 (15000). value = -512.
  // score = -10 + floor(-502 / 16) = -42.
  run_one(policy, 10000, 10000, b);
  CHECK(policy.score_q10() == -42);
  CHECK(policy.lambda_q10() == 1024);

  // Trust comes back with savings: -42 -> -8 -> 24 (lambda 832) -> 54
  // (lambda 592) -> 82 (>= 64: full trust, lambda_min).
  run_one(policy, 50000, 60000, b);
  CHECK(policy.score_q10() == -8);
  run_one(policy, 50000, 60000, b);
  CHECK(policy.score_q10() == 24);
  CHECK(policy.lambda_q10() == 832);
  run_one(policy, 50000, 60000, b);
  CHECK(policy.score_q10() == 54);
  CHECK(policy.lambda_q10() == 592);
  run_one(policy, 50000, 60000, b);
  CHECK(policy.score_q10() == 82);
  CHECK(policy.lambda_q10() == 512);

  policy.reset();
  CHECK(policy.score_q10() == 0);
  CHECK(policy.lambda_q10() == 1024);
}

TEST_CASE("prediction-augmented: one idle's value is clamped to [-2, 1] B, and B = 0 teaches nothing") {
  prediction_augmented wide = with_lambda(256, 1024);
  // Short prediction, y just past B/0.25: trusting polls 40000 and blocks
  // (50000), distrusting blocks at B (20000): value -3 B, clamped to -2 B.
  run_one(wide, 0, 40001, 10000);
  CHECK(wide.score_q10() == -2048 / 16);
  prediction_augmented policy;
  run_one(policy, 0, 12345, 0);
  CHECK(policy.score_q10() == 0);
  run_one(policy, 0, u64_max, 10000);  // trusting 3B, distrusting 2B: -1
  CHECK(policy.score_q10() == -1024 / 16);
}

TEST_CASE("prediction-augmented: the reported bound is 1 + 1/lambda_min, and out-of-range trust is clamped") {
  CHECK(prediction_augmented{}.worst_case_ratio_q10() == 3 * 1024);  // default keeps <= 3
  CHECK(with_lambda(700, 1024).worst_case_ratio_q10() == 1024 + 1498);  // ceil(1497.97)
  CHECK(with_lambda(1024, 1024).worst_case_ratio_q10() == 2048);  // break-even
  const prediction_augmented clamped = with_lambda(0, 5000);
  CHECK(clamped.lambda_min_q10() == 1);
  CHECK(clamped.lambda_max_q10() == 1024);
  CHECK(clamped.worst_case_ratio_q10() == 1024 + 1048576);
  const prediction_augmented inverted = with_lambda(800, 600);
  CHECK(inverted.lambda_max_q10() == 800);
  CHECK(inverted.budget_cap_ns(8000) == 10240);
  static_assert(sizeof(prediction_augmented) == 8);
}

TEST_CASE("prediction-augmented: never above (1 + 1/lambda_min) * OPT, whatever the predictions") {
  splitmix64 rng{7};
  for (u32 lambda_min : {256u, 512u, 700u, 1024u}) {
    for (duration_ns block_cost : {10000ull, 20000ull, 50000ull, 100000ull}) {
      prediction_augmented policy = with_lambda(lambda_min, 1024);
      const u64 bound_q10 = policy.worst_case_ratio_q10();
      u64 worst_q10 = 0;
      for (int i = 0; i < 20000; ++i) {
        duration_ns predicted = 0;
        duration_ns y = 0;
        const int phase = i % 64;
        if (phase < 10) {  // random idle, random prediction
          y = rng.next() % (4 * block_cost);
          predicted = rng.next() % (4 * block_cost);
        } else if (phase < 20) {  // the prediction lies about the side of B
          y = rng.next() % (4 * block_cost);
          predicted = y >= block_cost ? 0 : no_bound;
        } else if (phase < 63) {  // right predictions earn back full trust
          y = rng.next() % (4 * block_cost);
          predicted = y;
        } else {  // adaptive adversary: sees the budget, ends the idle just after it
          predicted = rng.next() % 2 ? 0 : no_bound;
          y = sat_add(policy.budget(request_for(predicted, block_cost)), 1);
        }
        const u64 cost = run_one(policy, predicted, y, block_cost);
        const u64 opt = optimal_cost(y, block_cost);
        CHECK(cost * q10_one <= bound_q10 * opt);
        if (opt != 0) worst_q10 = max_of(worst_q10, cost * q10_one / opt);
      }
      MESSAGE("lambda_min " << lambda_min << ", B " << block_cost << ": worst idle " << worst_q10
                            << "/1024 * OPT, bound " << bound_q10);
      // The adversary gets close to the bound: it is not loose by much.
      CHECK(worst_q10 * 100 >= bound_q10 * 95);
    }
  }
}

TEST_CASE("prediction-augmented: right predictions cost at most (1 + lambda) * OPT, and earn lambda_min") {
  splitmix64 rng{99};
  for (duration_ns block_cost : {10000ull, 20000ull, 50000ull, 100000ull}) {
    prediction_augmented policy;
    u64 cost_sum = 0;
    u64 opt_sum = 0;
    int fully_trusted = 0;
    for (int i = 0; i < 20000; ++i) {
      const duration_ns y = rng.next() % 2 ? rng.next() % block_cost : block_cost + rng.next() % (10 * block_cost);
      const u32 lambda = policy.lambda_q10();
      const u64 cost = run_one(policy, y, y, block_cost);  // perfect predictor
      const u64 opt = optimal_cost(y, block_cost);
      CHECK(cost * q10_one <= (q10_one + lambda) * opt + q10_one);  // +1 ns of rounding up
      if (i >= 100) {
        cost_sum += cost;
        opt_sum += opt;
        fully_trusted += lambda == 512 ? 1 : 0;
      }
    }
    CHECK(fully_trusted >= 19900 * 99 / 100);
    CHECK(cost_sum * 1000 <= opt_sum * 1501);  // (1 + 0.5) * OPT
  }
}

TEST_CASE("prediction-augmented composes with a predictor in the governor") {
  governor<last_value_predictor, prediction_augmented> g;
  for (int i = 0; i < 20; ++i) {
    const governor_decision d = g.select(10000);
    CHECK(d.poll_budget_ns <= g.policy().budget_cap_ns(10000));
    g.reflect(60000);  // steady long idles: last-value is right every time
  }
  CHECK(g.policy().lambda_q10() == 512);
  CHECK(g.select(10000).poll_budget_ns == 5000);  // trusted: block early
  MESSAGE("sizeof(governor<last_value, prediction_augmented>) = "
          << sizeof(governor<last_value_predictor, prediction_augmented>));
}
