#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR MIT
#
# The upstream form of the guest shim: builds the in-tree governor patch
# (drivers/cpuidle/governors/lazyidle.{c,h}, Kconfig, Makefile) against the
# installed linux-source-6.1 with git format-patch, runs the tree's own
# checkpatch.pl on it, and compile-tests lazyidle.c against the installed
# Debian headers. Usage: make-patch.sh [--update]
#   --update  also store the patch next to this script (the reviewed copy);
#             without it the stored copy must match the regenerated one.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
src=${LINUX_SOURCE:-/usr/src/linux-source-6.1}
kver=$(dpkg-query -W -f='${Depends}' linux-image-amd64 | tr ',' '\n' |
  sed -n 's/^ *linux-image-\([^ ]*\).*/\1/p' | head -1)
kdir=/lib/modules/$kver/build
work=$root/build/c-port
name=0001-cpuidle-add-lazyidle-governor.patch

# A fresh machine has only the tarball: take the few files needed from it.
if [ ! -f "$src/drivers/cpuidle/Kconfig" ]; then
  tarball=/usr/src/linux-source-6.1.tar.xz
  [ -f "$tarball" ] || { echo "make-patch: no $src and no $tarball (apt-get install linux-source-6.1)" >&2; exit 1; }
  src=$root/build/linux-source-6.1-subset/linux-source-6.1
  if [ ! -f "$src/scripts/checkpatch.pl" ]; then
    mkdir -p "$root/build/linux-source-6.1-subset"
    tar -xJf "$tarball" -C "$root/build/linux-source-6.1-subset" \
      linux-source-6.1/drivers/cpuidle/Kconfig linux-source-6.1/drivers/cpuidle/governors/Makefile \
      linux-source-6.1/scripts/checkpatch.pl linux-source-6.1/scripts/spelling.txt \
      linux-source-6.1/scripts/const_structs.checkpatch
  fi
fi

rm -rf "$work"
mkdir -p "$work/linux/drivers/cpuidle/governors" "$work/compile"
cd "$work/linux"
git init -q
git config user.name "lazyidle"
git config user.email "lazyidle@invalid"
cp "$src/drivers/cpuidle/Kconfig" drivers/cpuidle/Kconfig
cp "$src/drivers/cpuidle/governors/Makefile" drivers/cpuidle/governors/Makefile
git add -A
git commit -q -m "linux-source-6.1 base"

cp "$here/lazyidle.c" "$here/lazyidle.h" drivers/cpuidle/governors/
echo 'obj-$(CONFIG_CPU_IDLE_GOV_LAZYIDLE) += lazyidle.o' >> drivers/cpuidle/governors/Makefile
awk '
  { print }
  /^config CPU_IDLE_GOV_HALTPOLL$/ { in_haltpoll = 1 }
  in_haltpoll && /^\t  Some virtualized workloads benefit from using it\.$/ {
    print ""
    print "config CPU_IDLE_GOV_LAZYIDLE"
    print "\tbool \"Lazyidle governor (poll, then halt, with a measured halt cost)\""
    print "\thelp"
    print "\t  This governor polls for a budget learned from recent idle"
    print "\t  lengths, then halts. The cost of a halt is learned per CPU from"
    print "\t  how late timer wakeups arrive. Meant for virtualized systems,"
    print "\t  where a halt traps to the host, together with a driver that"
    print "\t  provides a polling state and a halt state."
    print ""
    print "\t  If unsure, say N."
    in_haltpoll = 0
  }' "$src/drivers/cpuidle/Kconfig" > drivers/cpuidle/Kconfig
git add -A
git commit -q -s -F - <<'MSG'
cpuidle: add lazyidle governor

A guest's deepest idle state traps to the host, and what that costs is
not known when the state table is written (the haltpoll driver guesses
1 us). Add a governor that polls for a budget and then halts, with the
halt's cost B measured and the budget chosen against it.

The budget is the one that would have cost least on the recent idles
under the ski-rental cost model (an idle within the budget T costs its
length, a longer one T + B), from a 39-bin histogram of idle lengths,
reweighted when idles come in phases, and guarded by an allowance of
what it saved against break-even (poll exactly B), so that its total
cost stays within 2.125 times that of an oracle knowing every idle.

B is measured per CPU: after a halt with the tick stopped, the lateness
of the wakeup against the next timer is one sample of the trap round
trip; the governor keeps their running median, so host preemption
spikes do not inflate it. A poll that timed out and the halt after it
are learned as one idle period.

The decision logic is in lazyidle.h, free of kernel headers, so a
userspace test can replay idle traces through it and through the
lazyidle library it is ported from, and compare every decision.
MSG
git format-patch -q -1 -o "$work"
patch=$work/$name
[ -f "$patch" ] || patch=$(ls "$work"/0001-*.patch)

echo "== checkpatch"
# The one warning left on purpose is FILE_PATH_CHANGES ("does MAINTAINERS
# need updating?"): the existing CPU IDLE entry (F: drivers/cpuidle/*)
# already covers the new files. Everything else, --strict checks included,
# must be clean. The Signed-off-by is a placeholder the submitter replaces.
perl "$src/scripts/checkpatch.pl" --no-tree --strict --ignore FILE_PATH_CHANGES "$patch" \
  > "$work/checkpatch.log" 2>&1 || true
cat "$work/checkpatch.log"
grep -q '^total: 0 errors, 0 warnings, 0 checks' "$work/checkpatch.log" ||
  { echo "FAIL: checkpatch is not clean" >&2; exit 1; }
echo "PASS: checkpatch --strict clean"

echo "== compile test against $kdir"
cp "$here/lazyidle.c" "$here/lazyidle.h" "$work/compile/"
echo 'obj-m := lazyidle.o' > "$work/compile/Kbuild"
kcc=$(sed -n 's/^CONFIG_CC_VERSION_TEXT="\([^ ]*\).*/\1/p' "$kdir/include/config/auto.conf")
# Only the object: as a module the governor could not link (it is built-in
# only, cpuidle_register_governor is not exported), but every type, macro
# and warning of the real headers is checked.
make -s -C "$kdir" M="$work/compile" CC="${kcc:-gcc}" W=1 lazyidle.o 2>&1 | tee "$work/compile.log"
! grep -qE 'warning|error' "$work/compile.log"
[ -f "$work/compile/lazyidle.o" ]
echo "PASS: lazyidle.o compiles warning-free (W=1)"

strip_volatile() { sed -e '1d' -e '/^Date: /d' -e '/^index /d' -e '/^-- $/,$d' "$1"; }
if [ "${1:-}" = --update ]; then
  cp "$patch" "$here/$name"
  echo "stored $here/$name"
elif ! diff -u <(strip_volatile "$here/$name") <(strip_volatile "$patch") > "$work/patch.diff" 2>&1; then
  cat "$work/patch.diff"
  echo "FAIL: stored $name is stale; run $0 --update" >&2
  exit 1
fi
echo "PASS: $name"
