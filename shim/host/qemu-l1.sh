# shellcheck shell=sh
# SPDX-License-Identifier: GPL-2.0-only OR MIT
# Sourced by scripts/test-host and scripts/test-host-l2. Boots one TCG L1 guest with SVM and waits for
# the init's sentinel line. Written here because scripts/lib/qemu.sh did not
# exist when the host test was built; same shape as DESIGN §6 (TCG,
# -no-reboot, panic=-1 oops=panic, serial to a fresh file, kill by PID).
#
# host_qemu_run KERNEL INITRD SERIAL_LOG TIMEOUT_S
#   Default: one L1 vCPU, TCG with deterministic virtual time,
#   "-accel tcg -icount shift=$HOSTTEST_ICOUNT_SHIFT,sleep=off" (shift 3: one
#   L1 instruction = 8 ns of guest time). With real-time TCG the L1 timer
#   interrupts arrive 40-250 us late, ms late now and then, and the halt-poll
#   figures swing from run to run (docs/host-patch.md, "Why the 20 us row
#   swung"). -icount does not boot with -smp 2 here (hangs bringing up CPU 1).
#   HOSTTEST_ACCEL overrides the accelerator options ("-accel tcg" = the old
#   real-time setup), HOSTTEST_SMP the vCPU count (1), HOSTTEST_APPEND adds
#   kernel command line options.
#   returns 0 when the serial log has "HOSTTEST-SENTINEL PASS", 1 otherwise.
# Every QEMU run holds /tmp/lazyidle-qemu.lock: only one guest at a time on
# this machine.
#
# host_l1_dep_modules KVER DIR
#   copies the Debian modules kvm.ko needs and the L1 init loads first
#   (irqbypass, ccp) into DIR, decompressed; 1 with a message if one is
#   missing.
host_l1_dep_modules() {
	for _m in virt/lib/irqbypass.ko drivers/crypto/ccp/ccp.ko; do
		_d=/lib/modules/$1/kernel/$(dirname "$_m")
		_f=$(find "$_d" -maxdepth 1 -name "$(basename "$_m")*" | head -1)
		[ -n "$_f" ] || { echo "no $_d/$(basename "$_m")" >&2; return 1; }
		case $_f in
		*.xz) xz -dc "$_f" >"$2/$(basename "$_m")" ;;
		*.zst) zstd -dc "$_f" >"$2/$(basename "$_m")" ;;
		*) cp "$_f" "$2/" ;;
		esac || return 1
	done
}

host_qemu_run() {
	_k=$1 _i=$2 _log=$3 _to=$4
	rm -f "$_log"
	: > "$_log"
	# shellcheck disable=SC2016 # expanded by the inner sh
	flock /tmp/lazyidle-qemu.lock sh -c '
		qemu-system-x86_64 $5 -cpu max,+svm -smp $6 -m 1024 \
			-nographic -no-reboot -nodefaults -serial file:"$3" \
			-kernel "$1" -initrd "$2" \
			-append "console=ttyS0 panic=-1 oops=panic loglevel=4 quiet $7" &
		qpid=$!
		waited=0
		while kill -0 $qpid 2>/dev/null; do
			if grep -q "HOSTTEST-SENTINEL" "$3" 2>/dev/null; then
				sleep 2
				kill $qpid 2>/dev/null
				break
			fi
			if [ $waited -ge "$4" ]; then
				echo "host_qemu_run: timeout after $4 s" >> "$3"
				kill $qpid 2>/dev/null
				break
			fi
			sleep 1
			waited=$((waited + 1))
		done
		wait $qpid 2>/dev/null
		true
	' sh "$_k" "$_i" "$_log" "$_to" \
		"${HOSTTEST_ACCEL:--accel tcg -icount shift=${HOSTTEST_ICOUNT_SHIFT:-3},sleep=off}" "${HOSTTEST_SMP:-1}" \
		"${HOSTTEST_APPEND-}"
	grep -q "HOSTTEST-SENTINEL PASS" "$_log"
}
