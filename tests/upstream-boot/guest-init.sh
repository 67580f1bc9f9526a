#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only OR MIT
#
# /init of the upstream boot test (scripts/test-upstream-boot builds the
# initramfs around it): a minimal Linux 6.1 with the lazyidle governor patch
# built in, the haltpoll cpuidle driver, booted with cpuidle.governor=lazyidle.
# One PASS:/FAIL: line per check, INFO: lines with the figures, one
# "MEASURE: phase cpu s0_usage s1_usage s0_time_us s1_time_us" line per
# phase and CPU for the host's table, then the sentinel.
#
# The governor exposes no counters of its own (only the block_cost_ns
# parameter), so the figures are the cpuidle core's per-state counters,
# differenced around each workload. With this governor an idle period is
# one of: polled and woken (state 0 only), polled until the budget ran out
# then halted (state 0, then state 1), halted at once (state 1 only). So for
# a phase with s0 poll entries and s1 halt entries (s0 = woken + ran out,
# s1 = ran out + at once):
#   woken share   (s0 - s1) / s0   lower bound on the polls a wakeup ended
#   direct share  (s1 - s0) / s1   lower bound on the halts with no poll first
# The criteria are below, each with the figures it was set from.

# shellcheck disable=SC2154 # the a_*/b_* and u0..t1 variables are set by eval
. /lib/guest-lib.sh

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
echo 1 > /proc/sys/kernel/printk

CPUIDLE=/sys/devices/system/cpu/cpuidle
PARAM=/sys/module/lazyidle/parameters/block_cost_ns

# --- criteria, set from measured boots (docs/upstream.md "Booting it") --------
# Which ones apply depends on B: the boot with B measured (block_cost_ns=0,
# B = halt residency 1 us + the measured wakeup lateness) checks the
# ping-pong, a boot with B fixed (block_cost_ns=N) checks the 1 ms sleeps.
#
# Ping-pong, both CPUs, B measured: the woken share. Measured 996-999/1000 in
# every such boot. Under TCG poll_idle() first reads the clock after 200
# cpu_relax() (each a TCG exit; a poll whose budget ran out lasted ~30 us), so
# even B = 1 ns passes this: it shows that short idles end in the poll state,
# not that the budget was learned. With B fixed at 20 or 50 us the ping-pong
# is a closed loop with two stable regimes (both poll: gaps ~5 us < B, keep
# polling; both halt: gaps ~100 us > B, keep halting; measured 0 to 998), so
# there it is only printed. Best of 3 runs of 1.5 s, each printed.
PP_WOKEN_MIN=900
# and enough idle entries to mean the workload really idled (measured ~1.5e5)
PP_ENTRIES_MIN=20000
# 1 ms sleeps, CPU 0 (sleeploop is pinned there), B fixed: the direct share,
# measured 986-998/1000 at B = 20 and 50 us; 0 at B = 1 ns (break-even polls
# B, then halts), which the script boots as the control that must fail this.
# With B measured it is only printed: it ranged from 27 to 932/1000 (small B,
# decisions between budget 0 and a few us, each ending in a ~30 us TCG poll).
SL_DIRECT_MIN=700
# and, always, the share of CPU 0's idle time spent halted: measured
# 968-999/1000; 0 with B fixed at 4 s (never halts).
SL_HALT_TIME_MIN=900

st() { cat /sys/devices/system/cpu/cpu$1/cpuidle/state$2/$3 2>/dev/null || echo 0; }
# snap PREFIX: stores usage and time (us) of states 0 and 1 of CPUs 0 and 1
snap() {
  for c in 0 1; do
    for s in 0 1; do
      eval "${1}_u${c}${s}=$(st $c $s usage) ${1}_t${c}${s}=$(st $c $s time)"
    done
  done
}
# delta PHASE: MEASURE lines for the difference between snapshots a and b,
# and the sums over both CPUs in S0 S1 T0 T1
delta() {
  S0=0 S1=0 T0=0 T1=0
  for c in 0 1; do
    eval "u0=\$((b_u${c}0 - a_u${c}0)) u1=\$((b_u${c}1 - a_u${c}1)) t0=\$((b_t${c}0 - a_t${c}0)) t1=\$((b_t${c}1 - a_t${c}1))"
    echo "MEASURE: $1 cpu$c $u0 $u1 $t0 $t1"
    S0=$((S0 + u0)) S1=$((S1 + u1)) T0=$((T0 + t0)) T1=$((T1 + t1))
  done
  echo "MEASURE: $1 all $S0 $S1 $T0 $T1"
}
permille() { [ "$2" -gt 0 ] && echo $(( $1 * 1000 / $2 )) || echo 0; }

guest_info "kernel $(uname -r), $(nproc) CPUs, cmdline: $(cat /proc/cmdline)"

# ---- the governor is registered and active ------------------------------------
driver=$(cat $CPUIDLE/current_driver 2>/dev/null)
governor=$(cat $CPUIDLE/current_governor_ro 2>/dev/null)
available=$(cat $CPUIDLE/available_governors 2>/dev/null)
guest_info "driver '$driver', governor '$governor', available: $available"
if [ "$driver" = haltpoll ]; then guest_pass "current_driver is haltpoll"; else guest_fail "current_driver is '$driver'"; fi
if [ "$governor" = lazyidle ]; then guest_pass "current_governor is lazyidle"; else guest_fail "current_governor is '$governor'"; fi
case " $available " in
  *" lazyidle "*) guest_pass "lazyidle is in available_governors" ;;
  *) guest_fail "lazyidle not in available_governors: $available" ;;
esac
if [ -r $PARAM ]; then
  guest_pass "parameter lazyidle.block_cost_ns = $(cat $PARAM)"
else
  guest_fail "no $PARAM"
fi
for c in 0 1; do
  guest_info "cpu$c state0 '$(st $c 0 name)' residency $(st $c 0 residency) us, state1 '$(st $c 1 name)' latency $(st $c 1 latency) us residency $(st $c 1 residency) us"
done
if [ "$(st 0 0 name)" = POLL ] && [ "$(st 0 1 name)" = "haltpoll idle" ]; then
  guest_pass "states: 0 = POLL, 1 = haltpoll idle"
else
  guest_fail "states: 0 = '$(st 0 0 name)', 1 = '$(st 0 1 name)'"
fi
[ "$driver" = haltpoll ] && [ "$governor" = lazyidle ] || guest_finish

# ---- quiet: what the system does alone -----------------------------------------
snap a; sleep 1; snap b; delta quiet

b_fixed=$(cat $PARAM 2>/dev/null || echo 0)

# ---- ping-pong: short idles, mostly ended by a wakeup while polling -------------
# Two threads pinned to CPU 0 and 1 pass a turn flag through futexes: each
# CPU idles for about one wakeup of the other side.
pp_woken=-1
for run in 1 2 3; do
  snap a
  out=$(/bin/pingpong 1.5)
  snap b
  delta pingpong$run
  woken=$(permille $((S0 > S1 ? S0 - S1 : 0)) "$S0")
  guest_info "pingpong run $run: $out; poll entries $S0, halt entries $S1, woken share >= ${woken}/1000, poll time $((T0 / 1000)) ms, halt time $((T1 / 1000)) ms"
  if [ "$woken" -gt "$pp_woken" ]; then pp_woken=$woken pp_s0=$S0; fi
  [ "$pp_woken" -ge $PP_WOKEN_MIN ] && [ "$pp_s0" -ge $PP_ENTRIES_MIN ] && break
done

# ---- 1 ms sleeps on CPU 0: long idles, halted ----------------------------------------
snap a
out=$(taskset 1 /bin/sleeploop 1000)
snap b
guest_info "$out"
delta sleep1ms
sl_s0=$((b_u00 - a_u00)) sl_s1=$((b_u01 - a_u01)) sl_t0=$((b_t00 - a_t00)) sl_t1=$((b_t01 - a_t01))
sl_direct=$(permille $((sl_s1 > sl_s0 ? sl_s1 - sl_s0 : 0)) "$sl_s1")
sl_halt_time=$(permille "$sl_t1" $((sl_t0 + sl_t1)))
guest_info "sleep1ms cpu0: poll entries $sl_s0, halt entries $sl_s1, direct share >= ${sl_direct}/1000, halt time share ${sl_halt_time}/1000"

# ---- criteria ----------------------------------------------------------------------
pp_line="ping-pong idles end in the poll state: woken share >= ${pp_woken}/1000 (min $PP_WOKEN_MIN) of $pp_s0 polls (min $PP_ENTRIES_MIN)"
if [ "$b_fixed" -ne 0 ]; then
  guest_info "B fixed at $b_fixed ns, not a criterion: $pp_line"
elif [ "$pp_s0" -ge $PP_ENTRIES_MIN ] && [ "$pp_woken" -ge $PP_WOKEN_MIN ]; then
  guest_pass "$pp_line"
else
  guest_fail "$pp_line"
fi
if [ "$sl_halt_time" -ge $SL_HALT_TIME_MIN ]; then
  guest_pass "1 ms sleeps end in the halt state: halt time ${sl_halt_time}/1000 (min $SL_HALT_TIME_MIN)"
else
  guest_fail "1 ms sleeps end in the halt state: halt time ${sl_halt_time}/1000 (min $SL_HALT_TIME_MIN)"
fi
sl_line="1 ms sleeps halt at once: direct share >= ${sl_direct}/1000 (min $SL_DIRECT_MIN) with B fixed at $b_fixed ns"
if [ "$b_fixed" -eq 0 ]; then
  guest_info "B measured, not a criterion: direct share >= ${sl_direct}/1000"
elif [ "$sl_direct" -ge $SL_DIRECT_MIN ]; then
  guest_pass "$sl_line"
else
  guest_fail "$sl_line"
fi
tot0=$(( $(st 0 0 usage) + $(st 1 0 usage) )) tot1=$(( $(st 0 1 usage) + $(st 1 1 usage) ))
if [ "$tot0" -gt 0 ] && [ "$tot1" -gt 0 ]; then
  guest_pass "both states used: poll $tot0, halt $tot1 entries since boot"
else
  guest_fail "both states used: poll $tot0, halt $tot1 entries since boot"
fi

# ---- block_cost_ns is bounded ------------------------------------------------------
# Like the module's knobs: above 10 ms, or not a number, is refused (-EINVAL)
# and the old value stays; 10 ms itself is taken. After the measurements: a
# moment at B = 10 ms changes what the governor has learned (the control boot
# at B = 1 ns then halted 1 ms sleeps at once, 999/1000, instead of polling B
# first, and its one expected failure went missing).
old_b=$(cat $PARAM 2>/dev/null)
bound_ok=1
for bad in 10000001 4294967295 -1 abc; do
  if echo "$bad" > $PARAM 2>/dev/null; then guest_info "block_cost_ns accepted '$bad'"; bound_ok=0; fi
  [ "$(cat $PARAM)" = "$old_b" ] || { guest_info "block_cost_ns changed to $(cat $PARAM) on '$bad'"; bound_ok=0; }
done
echo 10000000 > $PARAM && [ "$(cat $PARAM)" = 10000000 ] || { guest_info "block_cost_ns refused 10000000"; bound_ok=0; }
echo "$old_b" > $PARAM
if [ $bound_ok -eq 1 ]; then guest_pass "block_cost_ns bounded: > 10000000 and garbage refused, old value $old_b kept"
else guest_fail "block_cost_ns bounds"; fi

# ---- switching away and back (the governor's disable() and enable()) --------------
if echo menu > $CPUIDLE/current_governor && [ "$(cat $CPUIDLE/current_governor_ro)" = menu ] && sleep 0.2 &&
  echo lazyidle > $CPUIDLE/current_governor && [ "$(cat $CPUIDLE/current_governor_ro)" = lazyidle ]; then
  snap a; /bin/pingpong 0.3 > /dev/null; sleep 0.2; snap b
  delta reswitch > /dev/null
  if [ "$S0" -gt 0 ] && [ "$S1" -gt 0 ]; then
    guest_pass "switched to menu and back to lazyidle; after: poll $S0, halt $S1 entries"
  else
    guest_fail "after switching back: poll $S0, halt $S1 entries"
  fi
else
  guest_fail "switching governor to menu and back (now '$(cat $CPUIDLE/current_governor_ro)')"
fi

guest_check_dmesg_clean
guest_finish
