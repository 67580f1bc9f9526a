#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only OR MIT
# Prints the "Measured results" section of docs/simulator.md: the sweep on
# the generated traces and on the real traces in tests/data, and the goal
# check. Usage: bench/sim/measure-results.sh path/to/lazyidle-sim
set -eu
sim=$1
root=$(cd "$(dirname "$0")/../.." && pwd)
data=$root/tests/data
real="$data/guest-idle-trace.txt.gz $data/pgbench-waits.trace.gz $data/redis-waits.trace.gz"
rev=$(git -C "$root" log -1 --format=%h 2>/dev/null || echo unknown)
# Only the code the figures come from: a docs edit in progress is not "work".
dirty=""
[ -n "$(git -C "$root" status --porcelain -- include bench shim src 2>/dev/null)" ] && dirty=" plus uncommitted work"
echo "## Measured results"
echo
echo "Measured on $(date -u +%Y-%m-%d) with the tree at $rev$dirty (the core's"
echo "policies change as they are tuned: re-run \`bench/sim/measure-results.sh\`; the figures"
echo "here are a snapshot, not a contract). \`lazyidle\` is the core's \`default_governor\`."
echo
echo '```'
echo "lazyidle-sim --sweep --markdown --generate all          # 200000 idles per trace, seed 1"
echo "lazyidle-sim --sweep --markdown $(echo $real | sed "s|$root/||g")"
echo "lazyidle-sim --sweep --goals --generate all $(echo $real | sed "s|$root/||g")"
echo '```'
echo
echo '```'
# shellcheck disable=SC2086
"$sim" --sweep --goals --generate all $real 2>/dev/null | sed -n '/^goals/,$p'
echo '```'
echo
echo "### Generated traces"
"$sim" --sweep --markdown --generate all
echo
echo "### Real traces"
# shellcheck disable=SC2086
"$sim" --sweep --markdown $real 2>/dev/null
