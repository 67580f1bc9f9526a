#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only OR MIT
# Regenerates 0001-cpuidle-add-lazyidle-governor.patch (git format-patch
# form, against Linux 6.1) from lazyidle.c and lazyidle_algo.h next to this
# script: the three touched kernel files are copied from a 6.1 tree into a
# throw-away git repository (never the project's), edited, committed with a
# fixed date, and formatted, so the same sources always give the same patch.
# Usage: make-patch.sh [linux-6.1 source tree] (default /usr/src/linux-source-6.1)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=${1:-/usr/src/linux-source-6.1}
out=$here/0001-cpuidle-add-lazyidle-governor.patch
for f in drivers/cpuidle/Kconfig drivers/cpuidle/governors/Makefile MAINTAINERS; do
  [ -f "$src/$f" ] || { echo "make-patch: $src/$f missing (need a Linux 6.1 tree)" >&2; exit 1; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/drivers/cpuidle/governors"
cp "$src/drivers/cpuidle/Kconfig" "$tmp/drivers/cpuidle/Kconfig"
cp "$src/drivers/cpuidle/governors/Makefile" "$tmp/drivers/cpuidle/governors/Makefile"
cp "$src/MAINTAINERS" "$tmp/MAINTAINERS"
export GIT_AUTHOR_NAME="lazyidle developers" GIT_AUTHOR_EMAIL="dev@lazyidle.invalid"
export GIT_COMMITTER_NAME="$GIT_AUTHOR_NAME" GIT_COMMITTER_EMAIL="$GIT_AUTHOR_EMAIL"
export GIT_AUTHOR_DATE="2026-11-25T00:00:00Z" GIT_COMMITTER_DATE="2026-11-25T00:00:00Z"
git -C "$tmp" init -q
git -C "$tmp" -c core.autocrlf=false add -A
git -C "$tmp" commit -q -m "base: Linux 6.1 files touched by the patch"

python3 - "$tmp" <<'PY'
import sys
root = sys.argv[1]

def edit(path, anchor, text, after=True):
    p = f"{root}/{path}"
    s = open(p).read()
    assert s.count(anchor) == 1, (path, anchor)
    s = s.replace(anchor, anchor + text if after else text + anchor)
    open(p, "w").write(s)

edit("drivers/cpuidle/Kconfig",
     "\t  Some virtualized workloads benefit from using it.\n",
     """
config CPU_IDLE_GOV_LAZYIDLE
\tbool "Lazyidle governor (learned poll budget, then halt)"
\thelp
\t  This governor decides, for every idle period, how long to poll
\t  before halting, from the distribution of recent idle periods and
\t  whether short and long ones come in phases, with a guard that keeps
\t  the total cost within 2.125 times the offline optimum. It uses the
\t  polling state and the first halting state only, so it suits
\t  virtualized systems where halting means a trap to the host.

\t  If unsure, say N.
""")
edit("drivers/cpuidle/governors/Makefile",
     "obj-$(CONFIG_CPU_IDLE_GOV_HALTPOLL) += haltpoll.o\n",
     "obj-$(CONFIG_CPU_IDLE_GOV_LAZYIDLE) += lazyidle.o\n")
edit("MAINTAINERS",
     "F:\tdrivers/cpuidle/cpuidle-riscv-sbi.c\n\n",
     """CPUIDLE GOVERNOR - LAZYIDLE
M:\tlazyidle developers <dev@lazyidle.invalid>
L:\tlinux-pm@vger.kernel.org
S:\tMaintained
F:\tdrivers/cpuidle/governors/lazyidle.c
F:\tdrivers/cpuidle/governors/lazyidle_algo.h

""")
PY
cp "$here/lazyidle.c" "$here/lazyidle_algo.h" "$tmp/drivers/cpuidle/governors/"
git -C "$tmp" add -A
git -C "$tmp" commit -q -F - <<'MSG'
cpuidle: add lazyidle governor

Add a cpuidle governor that, for every idle period, polls for a learned
budget and then halts. Polling costs the CPU time spent; halting costs a
fixed B (in a guest, the trap to the host and the wakeup through it),
whatever the idle period's length: the choice of a budget is ski rental.

The budget is the one that would have cost least on the recent idle
periods (a histogram of the last 128-255, 37 log-spaced bins), reweighted
for the mix expected next when short and long idle periods come in phases
(after a short one, after one long one, after a run of long ones).
A guard against break-even (poll for exactly B) keeps the total cost
within 2.125 times the offline optimum on every sequence of idle periods.
The answer is cached per context and rescanned
every 16th idle period: select and reflect together take ~13 ns (measured
in userspace on a 2-vCPU Xeon guest).

B is the halt state's target residency plus the measured wakeup lateness
of halts that outlast their timer; lazyidle.block_cost_ns fixes it
instead. Only state 0 (polling) and state 1 are used, which suits
virtualized systems such as the haltpoll driver's POLL + HALT pair. The
rating is below every other governor's: select it with
cpuidle.governor=lazyidle or through sysfs.

lazyidle_algo.h is a C port of the default governor of the lazyidle
library (freestanding C++), kept identical to it by a userspace test
that replays the same idle periods through both and compares every
decision.

Signed-off-by: lazyidle developers <dev@lazyidle.invalid>
MSG
git -C "$tmp" format-patch -q -1 --stdout --no-signature > "$out"
echo "make-patch: wrote $out"
