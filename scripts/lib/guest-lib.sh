# shellcheck shell=sh
# SPDX-License-Identifier: GPL-2.0-only OR MIT
#
# Sourced by a guest /init (busybox sh) built with scripts/lib/qemu.sh: mounts
# the pseudo file systems, prints one PASS:/FAIL: line per check, and ends
# with the sentinel line qemu_boot waits for. Kept apart from qemu.sh because
# it runs inside the guest and may use only busybox.

GUEST_SENTINEL=${GUEST_SENTINEL:-LAZYIDLE-GUEST-RESULT:}
guest_failures=0
guest_first_failure=""

guest_setup() {
  mount -t proc proc /proc
  mount -t sysfs sysfs /sys
  mount -t devtmpfs devtmpfs /dev 2>/dev/null
  mount -t debugfs debugfs /sys/kernel/debug
  mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
  mkdir -p /tmp && mount -t tmpfs tmpfs /tmp
  # Keep the console for our lines: kernel messages stay in dmesg.
  echo 1 > /proc/sys/kernel/printk
}

guest_pass() { echo "PASS: $*"; }
guest_info() { echo "INFO: $*"; }
guest_fail() {
  echo "FAIL: $*"
  guest_failures=$((guest_failures + 1))
  [ -n "$guest_first_failure" ] || guest_first_failure="$*"
}

# guest_check NAME COMMAND...: PASS when COMMAND exits 0.
guest_check() {
  _g_name=$1
  shift
  if "$@"; then guest_pass "$_g_name"; else guest_fail "$_g_name"; fi
}

# Fails on any sign that the kernel hurt itself during the run.
guest_check_dmesg_clean() {
  if dmesg | grep -E 'BUG:|WARNING:|Oops|Call Trace|general protection|kernel BUG' > /tmp/dmesg-bad; then
    guest_fail "dmesg clean: $(head -3 /tmp/dmesg-bad | tr '\n' '|')"
    dmesg | tail -60
  else
    guest_pass "dmesg has no BUG/WARNING/Oops/Call Trace"
  fi
}

# Prints the sentinel and powers the guest off; never returns.
guest_finish() {
  if [ "$guest_failures" -eq 0 ]; then
    echo "$GUEST_SENTINEL PASS"
  else
    echo "$GUEST_SENTINEL FAIL $guest_failures check(s) failed, first: $guest_first_failure"
  fi
  sync
  poweroff -f
  sleep 10
}
