#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only OR MIT
#
# /init of the lazyidle.ko test guest (scripts/test-guest builds the
# initramfs around it). Runs every check of issue 5 in order, one PASS:/FAIL:
# line each, INFO: lines with the measured figures, then the sentinel.
# Thresholds are set from measurement; each one says where it comes from.

. /lib/guest-lib.sh
guest_setup

MOD=/lib/lazyidle.ko
PP_MOD=/lib/lazyidle_pingpong.ko
DBG=/sys/kernel/debug/lazyidle
PARAMS=/sys/module/lazyidle/parameters
CPUIDLE=/sys/devices/system/cpu/cpuidle

T=/sys/kernel/tracing
# no_ipi_wakes CMD...: runs CMD with sched:sched_wake_idle_without_ipi
# traced and sets NO_IPI to the number of wakeups that reached an idle CPU
# by setting TIF_NEED_RESCHED on a polling idle task, i.e. without an IPI.
no_ipi_wakes() {
  echo 8192 > $T/buffer_size_kb
  echo > $T/trace
  echo 1 > $T/events/sched/sched_wake_idle_without_ipi/enable
  "$@"
  echo 0 > $T/events/sched/sched_wake_idle_without_ipi/enable
  NO_IPI=$(grep -c 'sched_wake_idle_without_ipi:' $T/trace)
  echo > $T/trace
}

# stat CPU KEY: one value from a CPU's debugfs stats
stat() { awk -v k="$2" '$1 == k { print $2 }' "$DBG/cpu$1/stats"; }
# sum KEY: the value summed over CPU 0 and 1
sum() { echo $(( $(stat 0 "$1") + $(stat 1 "$1") )); }
# counted CMD...: runs CMD in this shell (so no_ipi_wakes can set NO_IPI),
# leaving its output in RUN_OUT and, over both CPUs, the idle entries it
# caused (RUN_ENTRIES), those caught while polling (RUN_HITS) and their
# share in 1/1000 (RUN_PERMILLE).
counted() {
  _entries=$(sum entries); _hits=$(sum poll_hits)
  "$@" > /tmp/counted.out
  RUN_OUT=$(cat /tmp/counted.out)
  RUN_ENTRIES=$(( $(sum entries) - _entries )); RUN_HITS=$(( $(sum poll_hits) - _hits ))
  RUN_PERMILLE=$(( RUN_ENTRIES > 0 ? RUN_HITS * 1000 / RUN_ENTRIES : 0 ))
}

guest_info "kernel $(uname -r), $(nproc) CPUs, hypervisor: $(grep -c hypervisor /proc/cpuinfo) flags"

# ---- load --------------------------------------------------------------------
if insmod $MOD; then guest_pass "insmod lazyidle.ko"; else guest_fail "insmod lazyidle.ko"; guest_finish; fi
driver=$(cat $CPUIDLE/current_driver)
if [ "$driver" = lazyidle ]; then guest_pass "current_driver is lazyidle"; else guest_fail "current_driver is '$driver'"; fi
guest_info "governor $(cat $CPUIDLE/current_governor_ro 2>/dev/null || cat $CPUIDLE/current_governor), core: $(tr '\n' ' ' < $DBG/governor)"
sleep 1

# ---- ping-pong: most wakeups should be caught while polling ---------------------
# Message passing is a closed loop (docs/guest-shim.md): once both sides
# halt, each gap contains the other vCPU's halt-wake path (~150 us under
# TCG), longer than B, so a policy that learns from those gaps keeps
# halting; once they poll, gaps are ~10-20 us and it keeps polling. Which
# regime a run lands in is partly chance, and a loaded host adds gaps no
# budget covers. So: best of up to 5 runs of 1.5 s, stopping at the first
# that meets the threshold, every run printed.
e0a=$(stat 0 entries); e1a=$(stat 1 entries)
pp_permille=0
for attempt in 1 2 3 4 5; do
  counted /bin/pingpong 1.5
  guest_info "policy=core run $attempt: $RUN_OUT, idle entries $RUN_ENTRIES, caught while polling $RUN_HITS, fraction ${RUN_PERMILLE}/1000, budget_ns $(stat 0 budget_ns)/$(stat 1 budget_ns)"
  [ "$RUN_PERMILLE" -gt "$pp_permille" ] && pp_permille=$RUN_PERMILLE
  [ "$pp_permille" -ge 500 ] && break
done
for cpu in 0 1; do
  guest_info "cpu$cpu after ping-pong: budget_ns=$(stat $cpu budget_ns) calibrated_cost_ns=$(stat $cpu calibrated_cost_ns) predicted_ns=$(stat $cpu predicted_ns) ratio_permille=$(stat $cpu ratio_permille)"
done

# ---- 1 ms sleeps: almost none should be caught while polling -------------------
counted /bin/sleeploop 1000
guest_info "$RUN_OUT"
sl_permille=$RUN_PERMILLE
guest_info "1 ms sleep loop: idle entries $RUN_ENTRIES, caught while polling $RUN_HITS, fraction ${sl_permille}/1000"

e0b=$(stat 0 entries); e1b=$(stat 1 entries)
if [ $((e0b - e0a)) -gt 100 ] && [ $((e1b - e1a)) -gt 100 ]; then
  guest_pass "idle entries rose on both CPUs (cpu0 +$((e0b - e0a)), cpu1 +$((e1b - e1a)))"
else
  guest_fail "idle entries rose on both CPUs (cpu0 +$((e0b - e0a)), cpu1 +$((e1b - e1a)))"
fi
# Contrast: the same ping-pong with polling off (the talk's "trap to host"
# every time) - its poll-hit fraction is the floor, its rate the baseline.
echo halt > $PARAMS/policy
counted no_ipi_wakes /bin/pingpong 1.5
halt_out=$RUN_OUT; halt_no_ipi=$NO_IPI; halt_permille=$RUN_PERMILLE
echo core > $PARAMS/policy
guest_info "policy=halt $halt_out, fraction ${halt_permille}/1000, wakeups without IPI ${halt_no_ipi}"

# The mechanism alone, whatever the policy decides: with a fixed 200 us
# budget (policy=poll) wakers must find the idle CPU polling and wake it
# without an IPI (the scheduler's own tracepoint says so), and not when
# the CPU halts (policy=halt). Counted rather than timed, because a busy
# host stretches gaps past any budget (docs/guest-shim.md): the fraction is
# printed, the check is on the count.
echo poll > $PARAMS/policy
counted no_ipi_wakes /bin/pingpong 1.5
poll_out=$RUN_OUT; poll_no_ipi=$NO_IPI; poll_permille=$RUN_PERMILLE
echo core > $PARAMS/policy
guest_info "policy=poll $poll_out, fraction ${poll_permille}/1000, wakeups without IPI ${poll_no_ipi}"
# Halted CPUs see some IPI-less wakeups too (same-CPU wakers, timers):
# quiet host 154702 polled vs 147 halted, loaded host 214 vs 57; 3x apart
# separates a driver that polls from one that does not in both.
if [ "$poll_no_ipi" -ge 100 ] && [ "$poll_no_ipi" -ge $((3 * halt_no_ipi + 10)) ]; then
  guest_pass "polling mechanism: ${poll_no_ipi} wakeups without IPI while polling (policy=halt: ${halt_no_ipi})"
else
  guest_fail "polling mechanism: ${poll_no_ipi} wakeups without IPI while polling (policy=halt: ${halt_no_ipi})"
fi

# The prediction-augmented policy (lambda knobs): must take over on both CPUs.
echo augmented > $PARAMS/policy
counted /bin/pingpong 2
aug_out=$RUN_OUT; aug_permille=$RUN_PERMILLE
gov0=$(stat 0 governor); gov1=$(stat 1 governor)
guest_info "policy=augmented $aug_out, fraction ${aug_permille}/1000, lambda_q10 $(stat 0 lambda_q10)/$(stat 1 lambda_q10), worst case $(stat 0 worst_case_permille)/1000"
echo core > $PARAMS/policy
if [ "$gov0" = last_value+prediction_augmented ] && [ "$gov1" = "$gov0" ]; then
  guest_pass "policy=augmented rebuilds both CPUs' governors ($gov0)"
else
  guest_fail "policy=augmented rebuilds both CPUs' governors ($gov0 / $gov1)"
fi

# ---- stats read against the owning CPU's governor rebuild (issue 12, 1) ------
# A writer flips policy core/augmented and lambda_min_permille while a reader
# on CPU 0 reads both CPUs' stats and CPU 1 naps 20 us at a time, so each
# write is followed by a rebuild on CPU 1 while it is being read. The stats
# come from the snapshot the owning CPU publishes after a rebuild; reading
# the blob itself (the old code) took a divide error within seconds here
# (oops=panic ends the guest without the sentinel).
race_out=$(/bin/statsrace 8); race_rc=$?
guest_info "$race_out"
race_writes=$(echo "$race_out" | sed -n 's/.*writes=\([0-9]*\).*/\1/p')
if [ "$race_rc" -eq 0 ] && [ "${race_writes:-0}" -ge 1000 ]; then
  guest_pass "stats read during 8 s of governor rebuilds: no oops, every read consistent ($race_out)"
else
  guest_fail "stats read during governor rebuilds: rc $race_rc ($race_out), need >= 1000 knob writes"
fi

# Thresholds (docs/guest-shim.md, "Measured"): a run in the polling regime
# measured 685-997/1000 (break-even default), one in the halting regime
# 13-103/1000; 500 is "most", and fails a driver that does not poll
# (policy=halt: 0/1000). 1 ms sleeps are 5-10x the budget: measured
# 12-33/1000 (the polled ones are wakeups by the other CPU, not timers);
# 250 fails a driver that polls through them.
# When the host is so loaded that even always-poll (200 us) catches fewer
# than 600/1000 in the same boot (seen: 44-327 with other QEMU guests and
# builds on the host's 2 cores), gaps are the host's scheduling, not the
# guest's; then the default must catch at least half of what always-poll
# catches, and more than policy=halt.
if [ "$pp_permille" -ge 500 ]; then
  guest_pass "ping-pong poll-hit fraction, library default governor: ${pp_permille}/1000 >= 500 (policy=halt ${halt_permille}, policy=poll ${poll_permille})"
elif [ "$poll_permille" -lt 600 ] && [ $((2 * pp_permille)) -ge "$poll_permille" ] && [ "$pp_permille" -gt "$halt_permille" ]; then
  guest_pass "ping-pong poll-hit fraction, library default governor: ${pp_permille}/1000 >= half of always-poll's ${poll_permille} on a loaded host (policy=halt ${halt_permille})"
else
  guest_fail "ping-pong poll-hit fraction, library default governor: ${pp_permille}/1000 >= 500 (policy=halt ${halt_permille}, policy=poll ${poll_permille}; see docs/guest-shim.md, closed loop)"
fi
if [ "$sl_permille" -le 250 ]; then guest_pass "1 ms sleep poll-hit fraction ${sl_permille}/1000 <= 250"
else guest_fail "1 ms sleep poll-hit fraction ${sl_permille}/1000 <= 250"; fi

# ---- calibrated trap cost --------------------------------------------------------
# Compared on the same wakeups: a 1 ms sleep loop pinned to each CPU in turn.
# Each wakeup's user-visible lateness contains the timer's hardware lateness
# (one calibration sample) plus timer slack, the task wakeup and a context
# switch, so over the loop the module's samples must average less than the
# loop's own lateness. The running median B itself tracks the last few dozen
# samples (a burst of host load at the end of the loop moves it, seen once in
# CI: 249 us against a 145 us loop median), so it is checked against the
# window it saw: it must lie in the range of the window's samples.
# log2 bucket histogram of a CPU's calibration samples, "k count" per line
lateness_buckets() { awk '/^lateness_log2_/ { sub("lateness_log2_", "", $1); print $1, $2 }' "$DBG/cpu$1/stats"; }
for cpu in 0 1; do
  samples0=$(stat $cpu calib_samples); sum0=$(stat $cpu lateness_sum_ns)
  buckets0=$(lateness_buckets $cpu)
  out=$(taskset -c $cpu /bin/sleeploop 500)
  user_mean=$(echo "$out" | sed -n 's/.*mean_late_ns=\([0-9]*\).*/\1/p')
  user_median=$(echo "$out" | sed -n 's/.*median_late_ns=\([0-9]*\).*/\1/p')
  cost=$(stat $cpu calibrated_cost_ns)
  window=$(( $(stat $cpu calib_samples) - samples0 ))
  window_mean=$(( window > 0 ? ($(stat $cpu lateness_sum_ns) - sum0) / window : 0 ))
  # lowest and highest bucket that gained samples during the loop
  range=$( { echo "$buckets0" | sed 's/^/before /'; lateness_buckets $cpu | sed 's/^/after /'; } | awk '
    $1 == "before" { b[$2] = $3; next }
    $3 > b[$2] + 0 { if (lo == "" || $2 < lo) lo = $2; if ($2 > hi) hi = $2 }
    END { print lo, hi }')
  lo=${range% *}; hi=${range#* }
  cost_bucket=$(awk -v v="$cost" 'BEGIN { k = 0; while (v >= 2) { v /= 2; k++ } print k }')
  guest_info "cpu$cpu 1 ms sleeps: user lateness mean $user_mean median $user_median ns; module: $window samples, mean $window_mean ns, log2 buckets $lo-$hi; running median B $cost ns (bucket $cost_bucket)"
  if [ "$window" -ge 250 ] && [ "$window_mean" -gt 0 ] && [ "$window_mean" -lt "${user_mean:-0}" ]; then
    guest_pass "cpu$cpu calibration samples the 1 ms sleeps' wakeups ($window samples for 500 sleeps) and their mean ${window_mean} ns is below the sleeps' user-visible lateness ${user_mean} ns"
  else
    guest_fail "cpu$cpu calibration over the 1 ms sleeps: $window samples (>= 250), mean ${window_mean} ns vs user-visible lateness ${user_mean} ns"
  fi
  if [ "$cost" -gt 0 ] && [ -n "$lo" ] && [ "$cost_bucket" -ge "$lo" ] && [ "$cost_bucket" -le "$hi" ]; then
    guest_pass "cpu$cpu running median B ${cost} ns lies within the loop's samples (log2 buckets $lo-$hi)"
  else
    guest_fail "cpu$cpu running median B ${cost} ns (log2 bucket $cost_bucket) vs the loop's samples (buckets ${lo:-none}-${hi:-none})"
  fi
done
guest_info "published state: latency $(cat /sys/devices/system/cpu/cpu0/cpuidle/state0/latency) us, residency $(cat /sys/devices/system/cpu/cpu0/cpuidle/state0/residency) us"

# ---- injected steal shrinks the poll budget ---------------------------------------
# Under policy=poll, so the budget before injection is the fixed limit and
# only steal can take it away (the learned policies may choose 0 on their own).
echo poll > $PARAMS/policy
taskset -c 1 /bin/sleeploop 20 > /dev/null
before=$(stat 1 budget_ns); stops_before=$(sum steal_stops)
echo 1000000 > $DBG/inject_steal_ns
taskset -c 1 /bin/sleeploop 100 > /dev/null
after=$(stat 1 budget_ns); stops_after=$(sum steal_stops); steal_q=$(stat 1 steal_q10)
echo 0 > $DBG/inject_steal_ns
# 1 ms of steal per ~1 ms halt: the stolen share saturates, which is above
# steal_stop_permille (500), so polling must stop, not merely shrink.
guest_info "steal injection: cpu1 budget ${before} -> ${after} ns, steal_q10 ${steal_q}, steal stops +$((stops_after - stops_before))"
if [ "$before" -gt 0 ] && [ "$after" -eq 0 ] && [ $((stops_after - stops_before)) -gt 0 ]; then
  guest_pass "injected steal shrinks the poll budget (${before} -> ${after} ns)"
else
  guest_fail "injected steal shrinks the poll budget (${before} -> ${after} ns)"
fi
taskset -c 1 /bin/sleeploop 200 > /dev/null
recovered=$(stat 1 budget_ns)
echo core > $PARAMS/policy
if [ "$recovered" -gt 0 ]; then guest_pass "poll budget recovers once steal stops (${recovered} ns)"
else guest_fail "poll budget recovers once steal stops (${recovered} ns)"; fi

# ---- host-published wake latency (KVM_FEATURE_HALT_POLL_INFO), injected ------------
# A host with the series of shim/host/patches publishes each vCPU's measured
# wake latency in its steal-time area; with use_host_latency=1 the module
# then takes it as the latency part of B (B = w/100 * latency) instead of its
# own lateness median. This guest is TCG, so it has no such area: debugfs
# inject_host_wake_latency_ns writes a stand-in page the way the host writes
# the real one (version odd, word, version even), and the CPUs read it with
# the same version-protocol reader and the same B code, after each halt.
# What this cannot show: that a real KVM host's page is found and read
# (the host side is checked by scripts/test-host's L2 payload).
# Exact figures: the published value is constant, so B must equal
# 300000 * w / 100 to the ns; B from the own median moves by at most 1/16
# per sample, so when it is back it must be within +-50% of the median's
# w/100 (a few samples can land between the decision and the snapshot).
w=$(cat $PARAMS/latency_weight_pct)
host_b=$((300000 * w / 100))
# snap CPU: one consistent read of the stats a check needs
snap() {
  awk '$1 ~ /^(b_source|block_cost_ns|calibrated_cost_ns|host_wake_latency_ns|host_halt_poll_ns|host_info_source|host_info_reads)$/ { printf "%s=%s ", $1, $2 }' "$DBG/cpu$1/stats"
}
# val SNAP KEY
val() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
# settle: a halting sleep loop pinned to each CPU, so each reads the page
# after a halt and decides with it afterwards
settle() { for cpu in 0 1; do taskset -c $cpu /bin/sleeploop 50 > /dev/null; done; }
hl_ok=1
settle
for cpu in 0 1; do
  s0=$(snap $cpu); eval "before$cpu=\"\$s0\""
  guest_info "host latency: cpu$cpu before injection: $s0"
  [ "$(val "$s0" b_source)" = calibrated ] || { guest_info "cpu$cpu: b_source before injection is not calibrated"; hl_ok=0; }
  [ "$(val "$s0" host_info_source)" = none ] || { guest_info "cpu$cpu: a host info source before injection"; hl_ok=0; }
done
echo 300000 > $DBG/inject_host_wake_latency_ns || hl_ok=0
echo 123456 > $DBG/inject_host_halt_poll_ns || hl_ok=0
settle
for cpu in 0 1; do
  s1=$(snap $cpu)
  guest_info "host latency: cpu$cpu after injecting 300000 ns: $s1 (B expected ${host_b})"
  if [ "$(val "$s1" b_source)" != host ] || [ "$(val "$s1" block_cost_ns)" != "$host_b" ] ||
     [ "$(val "$s1" host_wake_latency_ns)" != 300000 ] || [ "$(val "$s1" host_halt_poll_ns)" != 123456 ] ||
     [ "$(val "$s1" host_info_source)" != inject ]; then hl_ok=0; fi
done
if [ $hl_ok -eq 1 ]; then
  guest_pass "published wake latency 300000 ns (injected) becomes B: b_source host, block_cost_ns ${host_b} = 300000 x ${w}/100 on both CPUs (before: $(val "$before0" block_cost_ns)/$(val "$before1" block_cost_ns) calibrated)"
else
  guest_fail "published wake latency 300000 ns (injected) becomes B on both CPUs"
fi

# calib_ok SNAP: B from the own median again (source and magnitude)
calib_ok() {
  _src=$(val "$1" b_source); _b=$(val "$1" block_cost_ns); _c=$(( $(val "$1" calibrated_cost_ns) * w / 100 ))
  [ "$_src" = calibrated ] && [ "$_b" -ge $((_c / 2)) ] && [ "$_b" -le $((_c * 3 / 2)) ]
}
fb_ok=1
echo 0 > $DBG/inject_host_wake_latency_ns || fb_ok=0
settle
for cpu in 0 1; do
  s2=$(snap $cpu)
  guest_info "host latency: cpu$cpu after publishing 0 (= not measured): $s2"
  calib_ok "$s2" && [ "$(val "$s2" host_wake_latency_ns)" = 0 ] || fb_ok=0
done
if [ $fb_ok -eq 1 ]; then guest_pass "published wake latency 0 falls back to the own calibration (b_source calibrated, B within 50% of w x median)"
else guest_fail "published wake latency 0 falls back to the own calibration"; fi

off_ok=1
echo 300000 > $DBG/inject_host_wake_latency_ns || off_ok=0
echo 0 > $PARAMS/use_host_latency || off_ok=0
settle
for cpu in 0 1; do
  s3=$(snap $cpu)
  guest_info "host latency: cpu$cpu with use_host_latency=0 and 300000 published: $s3"
  calib_ok "$s3" && [ "$(val "$s3" host_wake_latency_ns)" = 300000 ] || off_ok=0
done
echo 1 > $PARAMS/use_host_latency || off_ok=0
if [ $off_ok -eq 1 ]; then guest_pass "use_host_latency=0: B from the own calibration although 300000 ns is published (and read)"
else guest_fail "use_host_latency=0: B from the own calibration although 300000 ns is published"; fi

# A published figure above calib_max_ns (2 ms) is treated like an outlier
# sample: a host publishing nonsense must not switch polling on for good.
big_ok=1
echo 3000000 > $DBG/inject_host_wake_latency_ns || big_ok=0
settle
for cpu in 0 1; do
  s4=$(snap $cpu)
  guest_info "host latency: cpu$cpu with 3000000 ns published (> calib_max_ns): $s4"
  calib_ok "$s4" || big_ok=0
done
if [ $big_ok -eq 1 ]; then guest_pass "published wake latency above calib_max_ns ignored (b_source calibrated)"
else guest_fail "published wake latency above calib_max_ns ignored"; fi

# Bad injected values: the ABI word is a u32; larger, negative or
# unparsable writes fail with -EINVAL and the page keeps its old value.
inj_ok=1
echo 300000 > $DBG/inject_host_wake_latency_ns || inj_ok=0
for bad in 4294967296 -1 abc; do
  if echo "$bad" > $DBG/inject_host_wake_latency_ns 2>/dev/null; then guest_info "inject_host_wake_latency_ns accepted '$bad'"; inj_ok=0; fi
  if echo "$bad" > $DBG/inject_host_halt_poll_ns 2>/dev/null; then guest_info "inject_host_halt_poll_ns accepted '$bad'"; inj_ok=0; fi
done
[ "$(cat $DBG/inject_host_wake_latency_ns)" = 300000 ] || { guest_info "inject_host_wake_latency_ns changed to $(cat $DBG/inject_host_wake_latency_ns)"; inj_ok=0; }
[ "$(cat $DBG/inject_host_halt_poll_ns)" = 123456 ] || { guest_info "inject_host_halt_poll_ns changed to $(cat $DBG/inject_host_halt_poll_ns)"; inj_ok=0; }
echo 4294967295 > $DBG/inject_host_wake_latency_ns || { guest_info "inject_host_wake_latency_ns refused U32_MAX"; inj_ok=0; }
echo 0 > $DBG/inject_host_wake_latency_ns
echo 0 > $DBG/inject_host_halt_poll_ns
if [ $inj_ok -eq 1 ]; then guest_pass "bad injected host values refused (-EINVAL), old value kept; U32_MAX accepted"
else guest_fail "bad injected host values"; fi

# ---- bad parameters are refused, old value kept ------------------------------------
bad_ok=1
try_bad() { # PARAM VALUE
  old=$(cat $PARAMS/$1)
  if echo "$2" > $PARAMS/$1 2>/dev/null; then
    guest_info "param $1 accepted bad value '$2'"; bad_ok=0
  fi
  new=$(cat $PARAMS/$1)
  if [ "$new" != "$old" ]; then guest_info "param $1 changed '$old' -> '$new' on bad '$2'"; bad_ok=0; fi
}
try_bad policy bogus
try_bad guest_halt_poll_ns 10000001
try_bad guest_halt_poll_ns -1
try_bad guest_halt_poll_ns abc
try_bad guest_halt_poll_ns 4294967296
try_bad guest_halt_poll_ns 5x
try_bad block_cost_ns 99
try_bad block_cost_ns 10000001
try_bad calibrate 2
try_bad use_host_latency 2
try_bad use_host_latency -1
try_bad latency_weight_pct 1001
try_bad calib_shift 0
try_bad calib_shift 11
try_bad calib_max_ns 999
try_bad steal_stop_permille 1001
try_bad lambda_min_permille 0
try_bad lambda_max_permille 1001
echo 600 > $PARAMS/lambda_max_permille || bad_ok=0
try_bad lambda_min_permille 700
echo 1000 > $PARAMS/lambda_max_permille || bad_ok=0
# A good value must still be taken, or the checks above prove nothing.
echo 150000 > $PARAMS/guest_halt_poll_ns && [ "$(cat $PARAMS/guest_halt_poll_ns)" = 150000 ] || { guest_info "good value refused"; bad_ok=0; }
echo 200000 > $PARAMS/guest_halt_poll_ns
echo halt > $PARAMS/policy && [ "$(cat $PARAMS/policy)" = halt ] || { guest_info "policy=halt refused"; bad_ok=0; }
echo core > $PARAMS/policy
if [ $bad_ok -eq 1 ]; then guest_pass "every bad parameter refused (-EINVAL), old value kept"; else guest_fail "bad parameters"; fi

# ---- power:cpu_idle trace for the simulator --------------------------------------
if [ -d $T/events/power/cpu_idle ]; then
  echo 4096 > $T/buffer_size_kb
  echo > $T/trace
  echo 1 > $T/events/power/cpu_idle/enable
  # Two phases the simulator can tell apart: 0.3 s of message passing
  # (short gaps, polled), then 200 sleeps of 1 ms (long gaps, halted).
  /bin/pingpong 0.3 > /dev/null
  /bin/sleeploop 200 > /dev/null
  echo 0 > $T/events/power/cpu_idle/enable
  cat $T/trace > /tmp/trace.txt
  events=$(grep -c 'cpu_idle:' /tmp/trace.txt)
  if [ "$events" -gt 1000 ]; then
    guest_pass "captured power:cpu_idle trace ($events events)"
    echo "TRACE-BEGIN"
    gzip -9 < /tmp/trace.txt | base64
    echo "TRACE-END"
  else
    guest_fail "captured power:cpu_idle trace ($events events)"
  fi
else
  guest_fail "tracefs has no power:cpu_idle"
fi

# ---- idle_poll kernel ping-pong ------------------------------------------------------
if insmod $PP_MOD rounds=20000; then
  line=$(dmesg | grep 'lazyidle_pingpong: ' | tail -1)
  guest_info "${line#*] }"
  case "$line" in
    *PASS*) guest_pass "lazyidle_idle_poll kthread ping-pong completed";;
    *) guest_fail "lazyidle_idle_poll ping-pong: $line";;
  esac
  rmmod lazyidle_pingpong || guest_fail "rmmod lazyidle_pingpong"
else
  guest_fail "insmod lazyidle_pingpong.ko: $(dmesg | grep 'lazyidle_pingpong: ' | tail -1)"
fi

# ---- idle_poll: waiters that exit while their waker is in its wake (issue 12, 2) --
# lazyidle_exitrace.ko: 1000 waiter kthreads, each exiting the moment its
# wait returns while the waker on the other CPU is still in
# lazyidle_idle_wake() (twice, as two racing wakers); the module checks that
# only a wake that woke the sleeper counts (per round at most one, the
# module's count of true returns = stats wakes <= parks) and the timeout
# variant. No KASAN in Debian's image: a touched dead task would rarely
# crash, so the count is what is asserted; dmesg must stay clean.
xr_start=$(date +%s)
if insmod /lib/lazyidle_exitrace.ko rounds=1000; then
  line=$(dmesg | grep 'lazyidle_exitrace: [A-Z]' | tail -1)
  guest_info "${line#*] } ($(( $(date +%s) - xr_start )) s)"
  guest_info "$(dmesg | grep 'lazyidle_exitrace: timeout' | tail -1 | sed 's/^\[[^]]*\] //')"
  case "$line" in
    *PASS*) guest_pass "idle_poll waiters exiting during their wake: wakes counted exactly, timeout honoured";;
    *) guest_fail "idle_poll exit race: $line";;
  esac
  rmmod lazyidle_exitrace || guest_fail "rmmod lazyidle_exitrace"
else
  guest_fail "insmod lazyidle_exitrace.ko: $(dmesg | grep 'lazyidle_exitrace: ' | tail -2 | tr '\n' '|')"
fi

# ---- 100 rmmod/insmod cycles under load ----------------------------------------------
/bin/pingpong 600 > /dev/null &
load=$!
cycles=0
while [ $cycles -lt 100 ]; do
  rmmod lazyidle || break
  insmod $MOD || break
  [ "$(cat $CPUIDLE/current_driver)" = lazyidle ] || break
  cycles=$((cycles + 1))
done
if [ $cycles -eq 100 ]; then guest_pass "100 rmmod/insmod cycles under ping-pong load"
else guest_fail "rmmod/insmod cycles under load stopped after $cycles"; fi

# ---- cpu1 offline/online under load --------------------------------------------------
hot_ok=1
for _ in 1 2 3; do
  echo 0 > /sys/devices/system/cpu/cpu1/online || hot_ok=0
  sleep 0.3
  echo 1 > /sys/devices/system/cpu/cpu1/online || hot_ok=0
  sleep 0.3
done
e1a=$(stat 1 entries); sleep 1; e1b=$(stat 1 entries)
[ "$(cat $CPUIDLE/current_driver)" = lazyidle ] || hot_ok=0
[ "$e1b" -gt "$e1a" ] || hot_ok=0
kill $load; wait $load 2>/dev/null
if [ $hot_ok -eq 1 ]; then guest_pass "cpu1 offline/online x3 under load, cpu1 idles through lazyidle again (+$((e1b - e1a)) entries)"
else guest_fail "cpu1 offline/online under load (entries $e1a -> $e1b)"; fi

# ---- bad load-time parameter, clean unload ----------------------------------------------
rmmod lazyidle || guest_fail "final rmmod lazyidle"
if insmod $MOD guest_halt_poll_ns=99999999 2>/dev/null; then
  guest_fail "insmod with out-of-range guest_halt_poll_ns was accepted"; rmmod lazyidle
else
  guest_pass "insmod with out-of-range guest_halt_poll_ns refused"
fi
# The lambda pair is checked after all parameters are parsed: either order
# of a valid pair loads, an inverted pair is refused whatever the order.
lambda_ok=1
for args in "lambda_max_permille=400 lambda_min_permille=300" "lambda_min_permille=300 lambda_max_permille=400"; do
  # shellcheck disable=SC2086
  if insmod $MOD $args; then
    got="$(cat $PARAMS/lambda_min_permille)/$(cat $PARAMS/lambda_max_permille)"
    [ "$got" = 300/400 ] || { guest_info "insmod $args: lambda_min/max $got"; lambda_ok=0; }
    rmmod lazyidle || lambda_ok=0
  else
    guest_info "insmod $args refused"; lambda_ok=0
  fi
done
for args in "lambda_min_permille=700 lambda_max_permille=600" "lambda_max_permille=600 lambda_min_permille=700"; do
  # shellcheck disable=SC2086
  if insmod $MOD $args 2>/dev/null; then guest_info "insmod $args accepted"; lambda_ok=0; rmmod lazyidle; fi
done
if [ $lambda_ok -eq 1 ]; then
  guest_pass "lambda pair checked after all load parameters: 300/400 loads in either order, 700/600 refused in either order ($(dmesg | grep 'lazyidle: lambda_min' | tail -1 | sed 's/^\[[^]]*\] //'))"
else
  guest_fail "lambda pair at load time"
fi
driver=$(cat $CPUIDLE/current_driver)
if [ "$driver" = none ]; then guest_pass "unloaded cleanly (current_driver none)"; else guest_fail "after unload current_driver is '$driver'"; fi

guest_check_dmesg_clean
guest_finish
