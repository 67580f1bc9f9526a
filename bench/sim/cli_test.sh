#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only OR MIT
# lazyidle-sim command-line contract (ctest sim_cli):
#   bad input -> "FILE:LINE: reason" on stderr, exit 2, nothing on stdout;
#   good input -> tables / JSON with the documented shape.
set -u
sim=$1
data=$2
per_idle=${3:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

printf '100\n200\nnot-a-number\n' > "$tmp/bad.trace"
"$sim" "$data/sample-plain.trace" "$tmp/bad.trace" > "$tmp/out" 2> "$tmp/err"
[ $? -eq 2 ] || fail "bad input: expected exit 2"
[ -s "$tmp/out" ] && fail "bad input: partial output on stdout"
grep -q "^$tmp/bad.trace:3: " "$tmp/err" || fail "bad input: no FILE:LINE in: $(cat "$tmp/err")"

"$sim" --no-such-flag > "$tmp/out" 2>/dev/null
[ $? -eq 2 ] || fail "unknown flag: expected exit 2"
"$sim" > /dev/null 2>&1
[ $? -eq 2 ] || fail "no input: expected exit 2"
for bad in "--host-exit fpga" "--reflect maybe" "--pause-ns 100001" "--driver-latency-pct 1001"; do
  # shellcheck disable=SC2086
  "$sim" $bad --generate constant > "$tmp/out" 2> "$tmp/err"
  [ $? -eq 2 ] || fail "$bad: expected exit 2"
  [ -s "$tmp/out" ] && fail "$bad: output on stdout"
done
# --driver-latency-pct moves the lazyidle rows (what the driver subtracts) and nothing else.
"$sim" --json --events 4000 --generate bimodal --policies lazyidle,menu > "$tmp/pct100" || fail "--driver-latency-pct default run failed"
"$sim" --json --events 4000 --generate bimodal --policies lazyidle,menu --driver-latency-pct 0 > "$tmp/pct0" ||
  fail "--driver-latency-pct 0 run failed"
python3 - "$tmp/pct100" "$tmp/pct0" <<'PY' || fail "--driver-latency-pct: lazyidle must move, menu must not"
import json, sys
a, b = ({p["name"]: p["cost_ns"] for p in json.load(open(f))["traces"][0]["policies"]} for f in sys.argv[1:3])
assert a["lazyidle"] != b["lazyidle"], (a, b)
assert a["menu"] == b["menu"], (a, b)
PY
"$sim" --events 2000 --generate bimodal --policies kvm --host-exit vmm > "$tmp/out" || fail "--host-exit vmm run failed"
grep -q "userspace VMM exit" "$tmp/out" || fail "--host-exit vmm not in the currency line"

"$sim" --json --events 2000 --generate bimodal "$data/sample-columns.trace.gz" > "$tmp/out" || fail "json run failed"
python3 - "$tmp/out" <<'PY' || fail "json shape"
import json, sys
d = json.load(open(sys.argv[1]))
assert list(d.keys()) == ["traces"]
assert len(d["traces"]) == 2
names = [p["name"] for p in d["traces"][0]["policies"]]
for n in ["opt", "best_fixed", "break_even", "randomized", "menu", "teo", "ladder", "haltpoll",
          "kvm", "haltpoll_kvm", "menu_6.12", "teo_6.12", "haltpoll_6.12", "kvm_6.12",
          "haltpoll_kvm_6.12", "lazyidle"]:
    assert n in names, n
for t in d["traces"]:
    for p in t["policies"]:
        assert p["cost_ratio"] >= 1.0 - 1e-9, (t["name"], p)
    assert [p for p in t["policies"] if p["name"] == "opt"][0]["cost_ratio"] == 1.0
PY

"$sim" --sweep --events 2000 --generate adversary --policies opt,break_even --plot "$tmp/p.svg" > "$tmp/out" || fail "sweep run failed"
for b in 10.0 20.0 50.0 100.0; do grep -q "at B = $b us" "$tmp/out" || fail "sweep: no B = $b"; done
grep -q "^break_even  *2.000" "$tmp/out" || fail "sweep: break_even is not 2.000 on the adversary"
grep -q "<svg" "$tmp/p.svg" || fail "plot: no SVG"
# lazyidle-sim-per-idle: its buckets are the sweep's ratio difference split by
# y/B, so they must add up to what lazyidle-sim --sweep prints at that B, and
# so must its start-up + rest split; bad input is refused like lazyidle-sim's.
if [ -n "$per_idle" ]; then
  "$per_idle" heavy_tailed 20000 lazyidle haltpoll > "$tmp/per_idle" || fail "per-idle run failed"
  "$sim" --sweep --json --generate heavy_tailed --policies lazyidle,haltpoll > "$tmp/sweep.json" || fail "sweep --json run failed"
  python3 - "$tmp/per_idle" "$tmp/sweep.json" <<'PY' || fail "per-idle buckets do not add up to the sweep's ratio difference"
import json, re, sys
text = open(sys.argv[1]).read()
buckets = [float(x) for x in re.findall(r"difference ([-+][0-9.]+)% of OPT", text)]
assert len(buckets) == 8, text
first, rest = (float(x) for x in re.search(r"per CPU: ([-+][0-9.]+)% of OPT; the rest: ([-+][0-9.]+)%", text).groups())
trace = [t for t in json.load(open(sys.argv[2]))["traces"] if t["block_cost_ns"] == 20000][0]
ratio = {p["name"]: p["cost_ratio"] for p in trace["policies"]}
want = 100.0 * (ratio["lazyidle"] - ratio["haltpoll"])
assert abs(want) > 1.0, want  # a difference worth splitting, or the check proves nothing
assert abs(sum(buckets) - want) < 0.01, (buckets, sum(buckets), want)
assert abs(first + rest - want) < 0.01, (first, rest, want)
PY
  "$per_idle" heavy_tailed 20000 lazyidle no-such-policy > "$tmp/out" 2> "$tmp/err"
  [ $? -eq 2 ] || fail "per-idle unknown policy: expected exit 2"
  [ -s "$tmp/out" ] && fail "per-idle unknown policy: output on stdout"
  "$per_idle" "$tmp/bad.trace" 20000 lazyidle opt > "$tmp/out" 2> "$tmp/err"
  [ $? -eq 2 ] || fail "per-idle bad trace: expected exit 2"
  [ -s "$tmp/out" ] && fail "per-idle bad trace: output on stdout"
  grep -q "^$tmp/bad.trace:3: " "$tmp/err" || fail "per-idle bad trace: no FILE:LINE in: $(cat "$tmp/err")"
fi
echo "sim_cli: ok"
