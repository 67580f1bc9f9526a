#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only OR MIT
# A type that misses a requirement must be told which one, in a sentence:
# each case below leaves out one member and expects the static_assert text
# from concepts.hpp in the compiler's output (and the compile to fail).
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
cxx=${CXX:-g++}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0
count=0

expect() { # NAME EXPECTED-MESSAGE SOURCE
  count=$((count + 1))
  printf '#include <lazyidle/lazyidle.hpp>\nusing namespace lazyidle;\n%s\n' "$3" > "$tmp/$1.cpp"
  if $cxx -std=c++20 -fsyntax-only -I "$root/include" "$tmp/$1.cpp" > "$tmp/$1.log" 2>&1; then
    echo "FAIL: $1 compiled, expected: $2"; failed=$((failed + 1))
  elif ! grep -qF "$2" "$tmp/$1.log"; then
    echo "FAIL: $1 did not say: $2"; head -5 "$tmp/$1.log"; failed=$((failed + 1))
  fi
}

policy_without_reset='struct p { static constexpr const char* name = "p";
  duration_ns budget(const poll_request&) { return 0; } void reflect(const idle_outcome&) {}
  u32 worst_case_ratio_q10() const { return 0; } };'
expect policy_reset "poll policy: needs void reset()" "$policy_without_reset
static_assert(check_poll_policy<p>());"

policy_wrong_budget='struct p { static constexpr const char* name = "p";
  int budget(const poll_request&) { return 0; } void reflect(const idle_outcome&) {} void reset() {}
  u32 worst_case_ratio_q10() const { return 0; } };'
expect policy_budget "poll policy: needs duration_ns budget(const poll_request&)" "$policy_wrong_budget
static_assert(check_poll_policy<p>());"

predictor_without_predict='struct q { static constexpr const char* name = "q";
  void observe(const idle_sample&) {} void reset() {} };'
expect predictor_predict "predictor: needs prediction predict(duration_ns bound) const" "$predictor_without_predict
governor<q, break_even> g;"

predictor_without_name='struct q { void observe(const idle_sample&) {} void reset() {}
  prediction predict(duration_ns) const { return {}; } };'
expect predictor_name "predictor: needs static constexpr const char* name" "$predictor_without_name
static_assert(check_predictor<q>());"

echo "$count concept messages checked, $failed failed"
[ "$failed" -eq 0 ]
