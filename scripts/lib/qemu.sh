# shellcheck shell=sh
# SPDX-License-Identifier: GPL-2.0-only OR MIT
#
# Boot a real Debian kernel under QEMU TCG with a throw-away busybox
# initramfs and read one verdict back from the serial console. Sourced by
# scripts/test-guest (the cpuidle module) and by the host/KVM tests, so every
# function takes its inputs as arguments and keeps no state besides the
# variables it documents. Nothing here ever loads code into the machine's own
# kernel: the running kernel is not Debian's, and kernel code is only tested
# inside the guest.
#
# Guest side protocol (see scripts/lib/guest-lib.sh for the /init helpers):
#   "PASS: <check> ..." / "FAIL: <check> ..."  one line per check
#   "$QEMU_SENTINEL PASS" or "$QEMU_SENTINEL FAIL <reason>"  exactly once, last
#
# Functions:
#   qemu_debian_kernel_version        version string of the installed linux-image-amd64
#   qemu_build_initramfs OUT INIT [SRC=DEST ...]
#   qemu_pack_initramfs DIR OUT       packs a prepared root directory
#   qemu_boot KERNEL INITRD LOG TIMEOUT_S [extra qemu args...]
#                                     sets QEMU_VERDICT to PASS, FAIL, TIMEOUT or NOSENTINEL
#   qemu_log_checks LOG               prints the PASS:/FAIL: lines of a log

QEMU_SENTINEL=${QEMU_SENTINEL:-LAZYIDLE-GUEST-RESULT:}

# The Debian metapackage names the ABI version it pulls in (Depends:
# linux-image-6.1.0-NN-amd64); that is the only trustworthy source, since the
# machine itself may run some other kernel. 6.1 only: new code takes the
# kernel from scripts/lib/kernels.sh (LAZYIDLE_KERNELS, every series, versions
# checked); this stays until the host tests move to it.
qemu_debian_kernel_version() {
  dpkg-query -W -f='${Depends}' linux-image-amd64 2>/dev/null |
    tr ',' '\n' | sed -n 's/^ *linux-image-\([^ ]*\).*/\1/p' | head -1
}

# qemu_build_initramfs OUT INIT [SRC=DEST ...]
# OUT: the .cpio.gz to write; INIT: script copied to /init; each SRC=DEST
# copies a host file to DEST inside the guest (parent directories created).
# busybox-static provides every tool; applets are linked at build time so
# /init can start with a plain #!/bin/sh.
qemu_build_initramfs() {
  _q_out=$1 _q_init=$2
  shift 2
  _q_root=$(mktemp -d)
  mkdir -p "$_q_root/bin" "$_q_root/sbin" "$_q_root/proc" "$_q_root/sys" "$_q_root/dev" \
    "$_q_root/tmp" "$_q_root/etc" "$_q_root/usr/bin" "$_q_root/usr/sbin"
  cp /bin/busybox "$_q_root/bin/busybox" || { rm -rf "$_q_root"; return 1; }
  for _q_applet in $(/bin/busybox --list); do
    [ -e "$_q_root/bin/$_q_applet" ] || ln -s busybox "$_q_root/bin/$_q_applet"
  done
  cp "$_q_init" "$_q_root/init" && chmod 755 "$_q_root/init"
  for _q_pair in "$@"; do
    _q_src=${_q_pair%%=*} _q_dst=${_q_pair#*=}
    mkdir -p "$_q_root/$(dirname "$_q_dst")"
    cp "$_q_src" "$_q_root/$_q_dst" || { rm -rf "$_q_root"; return 1; }
  done
  qemu_pack_initramfs "$_q_root" "$_q_out"
  _q_rc=$?
  rm -rf "$_q_root"
  return $_q_rc
}

# qemu_pack_initramfs DIR OUT
# The newc cpio of DIR, gzip -1, written to OUT: for a caller that lays out
# its root itself (the nested host tests carry modules, QEMU and firmware).
qemu_pack_initramfs() {
  (cd "$1" && find . | cpio -o -H newc --quiet | gzip -1) > "$2"
}

# qemu_boot KERNEL INITRD LOG TIMEOUT_S [extra qemu args...]
# Boots under TCG (KVM does not boot Linux on these machines), serial console
# to a fresh LOG, and returns when the sentinel appears, QEMU exits, or the
# timeout passes; QEMU is then killed by its own PID. Extra args come last so
# a caller can override -smp/-m/-cpu (QEMU takes the last one);
# QEMU_MACHINE_ARGS replaces the default "-accel tcg -smp 2 -m 512"
# altogether. QEMU_APPEND adds kernel arguments.
qemu_boot() {
  _q_kernel=$1 _q_initrd=$2 _q_log=$3 _q_timeout=$4
  shift 4
  : > "$_q_log"
  QEMU_VERDICT=NOSENTINEL
  # panic=-1 + -no-reboot: a guest panic ends QEMU at once instead of
  # hanging until the timeout; oops=panic makes every Oops a verdict.
  # shellcheck disable=SC2086
  qemu-system-x86_64 ${QEMU_MACHINE_ARGS:--accel tcg -smp 2 -m 512} -nographic -no-reboot \
    -kernel "$_q_kernel" -initrd "$_q_initrd" \
    -append "console=ttyS0 panic=-1 oops=panic quiet loglevel=4 ${QEMU_APPEND:-}" \
    "$@" < /dev/null > "$_q_log" 2>&1 &
  _q_pid=$!
  _q_deadline=$(( $(date +%s) + _q_timeout ))
  while :; do
    if grep -q "^$QEMU_SENTINEL" "$_q_log" 2>/dev/null; then
      if grep -q "^$QEMU_SENTINEL PASS" "$_q_log"; then QEMU_VERDICT=PASS; else QEMU_VERDICT=FAIL; fi
      break
    fi
    kill -0 "$_q_pid" 2>/dev/null || break
    if [ "$(date +%s)" -ge "$_q_deadline" ]; then QEMU_VERDICT=TIMEOUT; break; fi
    sleep 0.5
  done
  # The sentinel line can arrive before the guest powers off; give it a
  # moment to flush, then make sure this QEMU (and only it) is gone.
  _q_i=0
  while kill -0 "$_q_pid" 2>/dev/null && [ $_q_i -lt 10 ]; do sleep 0.3; _q_i=$((_q_i + 1)); done
  kill "$_q_pid" 2>/dev/null
  wait "$_q_pid" 2>/dev/null
  # The serial console uses CRLF; strip CR so callers can grep with ^ and $.
  sed -i 's/\r$//' "$_q_log"
  [ "$QEMU_VERDICT" = PASS ]
}

qemu_log_checks() {
  grep -E '^(PASS|FAIL|INFO): ' "$1"
}
