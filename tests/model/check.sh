#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only OR MIT
# Exhaustively checks tests/model/park.pml with SPIN: the protocol as
# implemented must have no invalid end state (lost wakeup) and no assertion
# failure; each deliberately broken variant must produce a counterexample.
set -eu
model=$(cd "$(dirname "$0")" && pwd)/park.pml
cc=${CC:-cc}
command -v spin >/dev/null || { echo "spin not installed (apt install spin)"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

verify() {  # $1 = label, rest = extra -D flags; prints the error count
  label=$1; shift
  rm -f pan pan.* ./*.trail
  spin "$@" -a "$model" > spin.log 2>&1 || { cat spin.log; echo "FAIL: spin -a $label"; exit 1; }
  $cc -O2 -DSAFETY -o pan pan.c 2> cc.log || { cat cc.log; echo "FAIL: cc pan.c $label"; exit 1; }
  ./pan -m100000 > pan.log 2>&1 || true
  errors=$(sed -n 's/.*errors: \([0-9]*\).*/\1/p' pan.log | head -n1)
  states=$(sed -n 's/^ *\([0-9.e+]*\) states, stored.*/\1/p' pan.log | head -n1)
  if grep -q 'max search depth too small' pan.log; then echo "FAIL: $label: search truncated"; cat pan.log; exit 1; fi
  echo "$label: errors=$errors states=$states"
  [ -n "$errors" ] || { cat pan.log; echo "FAIL: no verdict for $label"; exit 1; }
  last_errors=$errors
}

failed=0
verify protocol
[ "$last_errors" -eq 0 ] || { echo "FAIL: the implemented protocol loses a wakeup"; spin -t -p "$model" | tail -40; failed=1; }
verify protocol-no-spurious -DSPURIOUS=0
[ "$last_errors" -eq 0 ] || { echo "FAIL: protocol (no spurious wakeups) fails"; failed=1; }
for mutant in MUTANT_NO_RECHECK MUTANT_CHECK_BEFORE_PUBLISH MUTANT_NO_WORD_CHANGE; do
  verify "$mutant" -D$mutant
  [ "$last_errors" -gt 0 ] || { echo "FAIL: $mutant was not caught: the model cannot see that bug"; failed=1; }
done
verify event -DEVENT
[ "$last_errors" -eq 0 ] || { echo "FAIL: lazyidle::event's set() loses a wakeup"; failed=1; }
verify MUTANT_EVENT_LOAD_THEN_SET -DEVENT -DMUTANT_EVENT_LOAD_THEN_SET
[ "$last_errors" -gt 0 ] || { echo "FAIL: MUTANT_EVENT_LOAD_THEN_SET was not caught"; failed=1; }
[ "$failed" -eq 0 ] && echo "park/unpark model: OK"
exit $failed
