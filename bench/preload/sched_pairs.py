#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only OR MIT
"""How long a woken thread waits for a CPU, and behind whom.

Reads a text trace of tracefs events sched:sched_waking, sched:sched_switch
and power:cpu_idle (see docs/bench-servers.md, "The open-loop p50, traced",
for the commands that record one) and, for every wake-up of a thread whose
command is one of COMM..., prints how long it took from sched_waking to
running, grouped by what the target CPU was doing at the wake-up (idle, or
busy with which command) and whether the thread ran on the target CPU.

usage: sched_pairs.py TRACE [COMM...]     (default: h2load nginx)
"""
import collections
import re
import sys

EVENT = re.compile(r"^\s*(.+?)-(\d+)\s+\[(\d+)\]\s+\S+\s+([\d.]+): (\w+): (.*)$")
FIELD = re.compile(r"(\w+)=(\S+)")


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    comms = set(sys.argv[2:] or ["h2load", "nginx"])
    running, idle, pending = {}, {}, {}
    waits = collections.defaultdict(list)
    for line in open(sys.argv[1]):
        m = EVENT.match(line)
        if not m:
            continue
        _, _, cpu, t, name, rest = m.groups()
        cpu, t = int(cpu), float(t) * 1e6
        f = dict(FIELD.findall(rest))
        if name == "sched_switch":
            nxt = int(f["next_pid"])
            running[cpu] = f["next_comm"]
            if nxt in pending:
                woken, target, on, was_idle = pending.pop(nxt)
                key = (f["next_comm"], "idle" if was_idle else "busy:" + on, "same" if target == cpu else "moved")
                waits[key].append(t - woken)
        elif name == "sched_waking" and f.get("comm") in comms:
            target = int(f["target_cpu"])
            on = running.get(target, "?")
            pending[int(f["pid"])] = (t, target, on, idle.get(target, False) or on.startswith("swapper"))
        elif name == "cpu_idle":
            idle[int(f["cpu_id"])] = f["state"] != "4294967295"
    print("%-10s %-24s %-6s %6s %9s %9s" % ("woken", "target CPU at wake-up", "ran on", "n", "median us", "p90 us"))
    for key in sorted(waits):
        v = sorted(waits[key])
        print("%-10s %-24s %-6s %6d %9.1f %9.1f" % (key[0], key[1], key[2], len(v), v[len(v) // 2],
                                                     v[int(len(v) * 0.9)]))


if __name__ == "__main__":
    main()
