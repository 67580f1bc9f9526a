#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only OR MIT
#
# lazyidle-run and the LAZYIDLE_* variables (docs/preload.md): usage errors,
# refusals that run nothing, the exit status, the stats table and JSON,
# never as a pass-through.
#   lazyidle_run_test.sh LAZYIDLE_RUN LIBRARY TEST_PROGRAM STATIC_PROBE
# The test program is preload_semantics (its --exit/--touch modes and its
# cases), built like the library (a sanitizer build can only preload the
# sanitized library into a sanitized program).
set -u
run=$1 library=$2 program=$3 static_probe=$4
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
failures=0
export LAZYIDLE_PRELOAD_LIBRARY="$library"

fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}
# expect STATUS TEXT -- command...: exit status STATUS and TEXT on stderr
expect() {
  want=$1 text=$2
  shift 3
  "$@" >"$dir/out" 2>"$dir/err"
  got=$?
  [ "$got" -eq "$want" ] || fail "$*: exit $got, expected $want ($(cat "$dir/err"))"
  [ -z "$text" ] || grep -q -- "$text" "$dir/err" || fail "$*: no '$text' in: $(cat "$dir/err")"
}
no_marker() {
  [ ! -e "$dir/marker" ] || fail "$1: the program ran"
  rm -f "$dir/marker"
}

# Usage errors: exit 2, a message, nothing run.
for policy in bogus fixed: fixed:abc fixed:-5 fixed:99999999999 "" DEFAULT; do
  expect 2 "unknown policy" -- "$run" --policy "$policy" -- "$program" --touch "$dir/marker"
  no_marker "--policy '$policy'"
done
expect 2 "unknown option --bogus" -- "$run" --bogus -- "$program" --touch "$dir/marker"
no_marker "--bogus"
expect 2 "no program given" -- "$run" --policy default
expect 2 "no program given" -- "$run" --
expect 0 "" -- "$run" --help
grep -q "usage: lazyidle-run" "$dir/out" || fail "--help prints no usage"
expect 127 "command not found" -- "$run" -- lazyidle-no-such-program-here
# A good policy spelled both ways.
expect 0 "" -- "$run" --policy fixed:50000 -- "$program" --exit 0
expect 0 "" -- "$run" --policy=haltpoll -- "$program" --exit 0

# The program's exit status is the command's.
expect 7 "" -- "$run" -- "$program" --exit 7
expect 0 "" -- "$run" -- "$program" --touch "$dir/marker"
[ -e "$dir/marker" ] || fail "the program did not run"
rm -f "$dir/marker"

# Refused: statically linked.
expect 126 "statically linked" -- "$run" -- "$static_probe" "$dir/marker"
no_marker "static executable"
"$static_probe" "$dir/marker" && [ -e "$dir/marker" ] || fail "the static probe does not work by itself"
rm -f "$dir/marker"
# Refused: set-user-ID to someone else (needs root to give the file away).
if [ "$(id -u)" -eq 0 ]; then
  cp "$program" "$dir/setuid-program"
  chown nobody "$dir/setuid-program" && chmod 4755 "$dir/setuid-program"
  expect 126 "set-user/group-ID" -- "$run" -- "$dir/setuid-program" --touch "$dir/marker"
  no_marker "setuid executable"
  chown root:nogroup "$dir/setuid-program" && chmod 2755 "$dir/setuid-program"  # chown clears the mode bits: after it
  expect 126 "set-user/group-ID" -- "$run" -- "$dir/setuid-program" --touch "$dir/marker"
  no_marker "setgid executable"
else
  echo "not root: setuid refusal not checked"
fi
# The library is not found: 126, nothing run.
LAZYIDLE_PRELOAD_LIBRARY="$dir/none.so" expect 126 "cannot find" -- "$run" -- "$program" --touch "$dir/marker"
no_marker "missing library"

# --stats: the per-function table on stderr; waits caught under always.
expect 0 "" -- "$run" --policy always --stats -- "$program" poll_wakes epoll_timeouts_and_wakes receive_results
grep -q "policy always" "$dir/err" || fail "--stats: no header: $(cat "$dir/err")"
grep -q "function .*calls .*passed .*ready .*waits .*caught .*blocked .*guarded .*poll ms .*yields" "$dir/err" ||
  fail "--stats: no column heads: $(cat "$dir/err")"
for function in poll epoll_wait epoll_pwait epoll_pwait2 recv; do
  grep -q "^  $function " "$dir/err" || fail "--stats: no $function row"
done
# A function's few waits may all be ones that time out (polled to the
# deadline, then counted as blocked); all of them together caught some.
caught=$(awk '/^  [a-z_0-9]+ +[0-9]/ { sum += $6 } END { print sum + 0 }' "$dir/err")
[ "$caught" -gt 0 ] || fail "--stats: always caught no wait: $(cat "$dir/err")"
# --stats=FILE: one JSON line per process.
expect 0 "" -- "$run" --policy default --stats="$dir/stats.json" -- "$program" poll_wakes
[ "$(wc -l <"$dir/stats.json")" -ge 1 ] || fail "--stats=FILE wrote nothing"
grep -q '"policy":"default".*"calls":{"poll":{"calls":' "$dir/stats.json" || fail "--stats=FILE: $(cat "$dir/stats.json")"
# The poll loop's sched_yield (a peer woken onto this CPU runs, instead of
# waiting for the poll to end): poll_wakes' events come after 20 ms, so a
# 50 ms fixed budget polls them for thousands of rounds (--no-guards: the
# machine's load must not decide). LAZYIDLE_POLL_YIELD=1 yields; 0, unset
# (the default is off), and always do not.
yields() {
  python3 -c 'import json, sys
print(sum(c.get("yields", 0) for line in open(sys.argv[1]) for c in json.loads(line)["calls"].values()))' "$1"
}
rm -f "$dir/y.json"
LAZYIDLE_POLL_YIELD=1 expect 0 "" -- "$run" --policy fixed:50000000 --no-guards --stats="$dir/y.json" -- "$program" poll_wakes
[ "$(yields "$dir/y.json")" -gt 0 ] || fail "poll yield: no sched_yield in 20 ms polls: $(cat "$dir/y.json")"
for off in "env LAZYIDLE_POLL_YIELD=0 $run --policy fixed:50000000 --no-guards" \
  "env -u LAZYIDLE_POLL_YIELD $run --policy fixed:50000000" \
  "env LAZYIDLE_POLL_YIELD=1 $run --policy always"; do
  rm -f "$dir/y.json"
  # shellcheck disable=SC2086
  expect 0 "" -- $off --stats="$dir/y.json" -- "$program" poll_wakes
  [ "$(yields "$dir/y.json")" -eq 0 ] || fail "poll yield: $off yielded: $(cat "$dir/y.json")"
done
# never: every call passed through.
expect 0 "" -- "$run" --policy never --stats -- "$program" poll_wakes receive_results
awk '/^  [a-z_0-9]+ +[0-9]/ { if ($2 != $3 || $6 != 0) bad = 1; rows++ } END { exit !(rows > 0 && !bad) }' "$dir/err" ||
  fail "never: calls not all passed through: $(cat "$dir/err")"

# The variables without lazyidle-run.
LD_PRELOAD="$library" LAZYIDLE_POLICY=always LAZYIDLE_STATS=- "$program" poll_wakes >/dev/null 2>"$dir/err" ||
  fail "LAZYIDLE_POLICY=always: the program failed"
grep -q "policy always" "$dir/err" || fail "LAZYIDLE_STATS=-: no table: $(cat "$dir/err")"
LD_PRELOAD="$library" LAZYIDLE_POLICY=bogus LAZYIDLE_STATS=- "$program" poll_wakes >/dev/null 2>"$dir/err" ||
  fail "LAZYIDLE_POLICY=bogus: the program failed"
grep -q "LAZYIDLE_POLICY=bogus: unknown policy" "$dir/err" || fail "LAZYIDLE_POLICY=bogus: no message: $(cat "$dir/err")"
awk '/^  [a-z_0-9]+ +[0-9]/ { if ($2 != $3) bad = 1; rows++ } END { exit !(rows > 0 && !bad) }' "$dir/err" ||
  fail "LAZYIDLE_POLICY=bogus: not run as never: $(cat "$dir/err")"
LD_PRELOAD="$library" LAZYIDLE_POLICY=always LAZYIDLE_GUARDS=0 LAZYIDLE_STATS="$dir/guards.json" "$program" poll_wakes >/dev/null ||
  fail "LAZYIDLE_GUARDS=0: the program failed"
grep -q '"guarded":0' "$dir/guards.json" || fail "LAZYIDLE_GUARDS=0: $(cat "$dir/guards.json")"
if grep -q '"guarded":[1-9]' "$dir/guards.json"; then fail "LAZYIDLE_GUARDS=0: a wait was guarded"; fi
LD_PRELOAD="$library" LAZYIDLE_LATENCY_WEIGHT_PCT=5000 "$program" poll_wakes >/dev/null 2>"$dir/err" ||
  fail "LAZYIDLE_LATENCY_WEIGHT_PCT=5000: the program failed"
grep -q "LAZYIDLE_LATENCY_WEIGHT_PCT=5000: not a percentage in 0..1000; keeping 300" "$dir/err" ||
  fail "LAZYIDLE_LATENCY_WEIGHT_PCT=5000: no message: $(cat "$dir/err")"

echo "lazyidle-run: $failures failure(s)"
[ "$failures" -eq 0 ]
