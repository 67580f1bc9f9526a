#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only OR MIT
#
# /init of the second test guest, booted with the CPUID hypervisor bit
# cleared (-cpu qemu64,-hypervisor): lazyidle must refuse to load on what
# looks like bare metal, and load with force=1.

. /lib/guest-lib.sh
guest_setup
CPUIDLE=/sys/devices/system/cpu/cpuidle

guest_info "hypervisor flag in /proc/cpuinfo: $(grep -c hypervisor /proc/cpuinfo)"
if insmod /lib/lazyidle.ko 2>/dev/null; then
  guest_fail "insmod without force refused on a non-hypervisor CPU"; rmmod lazyidle
else
  guest_pass "insmod without force refused on a non-hypervisor CPU ($(dmesg | grep 'lazyidle: ' | tail -1 | sed 's/^\[[^]]*\] //'))"
fi
if insmod /lib/lazyidle.ko force=1 && [ "$(cat $CPUIDLE/current_driver)" = lazyidle ]; then
  a=$(awk '$1 == "entries" { print $2 }' /sys/kernel/debug/lazyidle/cpu0/stats)
  sleep 1
  b=$(awk '$1 == "entries" { print $2 }' /sys/kernel/debug/lazyidle/cpu0/stats)
  if [ "$b" -gt "$a" ]; then guest_pass "force=1 loads and idles through lazyidle (+$((b - a)) entries)"
  else guest_fail "force=1 loaded but cpu0 never idled through it"; fi
  rmmod lazyidle || guest_fail "rmmod after force=1"
else
  guest_fail "insmod force=1"
fi
guest_check_dmesg_clean
guest_finish
