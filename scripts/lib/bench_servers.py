# SPDX-License-Identifier: GPL-2.0-only OR MIT
"""Real servers under lazyidle-run against no preload and the fixed-budget peers.

Run by scripts/bench-servers (which installs the packages and builds the
project first); docs/bench-servers.md says what every column means.

Each run starts its server afresh under the run's configuration (a preload
must be there from exec), on a loopback port and a data directory under
the build tree, warms it with a short client run, then measures one client
run: throughput, p50/p99 latency from the client's own report, CPU of the
whole server process tree (utime+stime of every live process plus the
cutime+cstime of reaped ones, from /proc/PID/stat, before and after) and
of the client (wait4's rusage: the same counters, children included), and
the share of waits each side caught while polling (lazyidle-run
--stats=FILE). Configurations of a case are interleaved (A B C A B C ...)
so drift on this shared machine falls on all of them alike; each cell is
the median of the repeats.
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")

# name -> (server policy or None, client policy or None). The peers run
# without the library's guards (--no-guards), as the peers they stand for
# have none: Onload's EF_POLL_USEC and the kernel's haltpoll spin whatever
# else the CPUs have to do. `always` has no guards by definition.
UNGUARDED = {"fixed50k", "haltpoll", "unguarded"}
CONFIGS = {
    "none": (None, None),
    "server": ("default", None),
    "both": ("default", "default"),
    "fixed50k": ("fixed:50000", "fixed:50000"),
    "haltpoll": ("haltpoll", "haltpoll"),
    "always": ("always", "always"),
    # Not in the default set: the default policy with the guards off, to tell
    # the policy's own decisions from the guards' (--configs ...,unguarded).
    "unguarded": ("default", "default"),
    # Not in the default set: the library loaded on both ends with policy
    # never (every call passed through): what loading it costs by itself.
    "never": ("never", "never"),
    # Not in the default set: the default policy with a sched_yield() in its
    # poll loop (LAZYIDLE_POLL_YIELD=1), to measure what the yield is worth.
    "yield": ("default", "default"),
    # Not in the default set: the default policy on both ends from another
    # build of the library (--baseline-library): a change to the library
    # against the one before it, interleaved in one run.
    "baseline": ("default", "default"),
}
DEFAULT_CONFIGS = ["none", "server", "both", "fixed50k", "haltpoll", "always"]
CONFIG_TEXT = {
    "none": "no preload",
    "server": "lazyidle default, server only",
    "both": "lazyidle default, both ends",
    "fixed50k": "fixed:50000 both ends (Onload-style)",
    "haltpoll": "haltpoll policy both ends",
    "always": "always (never block) both ends",
    "unguarded": "lazyidle default, both ends, --no-guards",
    "yield": "lazyidle default, both ends, LAZYIDLE_POLL_YIELD=1",
    "never": "library loaded, policy never (pass-through), both ends",
    "baseline": "lazyidle default, both ends, the --baseline-library build",
}
PEERS = ["none", "fixed50k", "haltpoll", "always"]
PORTS = {"redis": 16379, "nginx": 18080, "postgres": 15432, "sockperf": 11111}


def die(message):
    print("bench-servers: " + message, file=sys.stderr)
    sys.exit(1)


# ---------------------------------------------------------------- processes
# How servers and clients are started: each in its own session (default),
# so each is its own scheduler autogroup, as a service and a client from
# another login are; or (--one-session) each in its own process group of
# this session, one autogroup, as programs started from one shell are. A
# thread's sched_yield() hands the CPU only to threads of its own group
# (docs/preload.md, "Polling and the scheduler").
SPAWN = {"start_new_session": True}


class Processes:
    """Everything started here, in its own process group, ended at exit."""

    def __init__(self):
        self.groups = []

    def start(self, argv, log, **kw):
        out = open(log, "ab")
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, **SPAWN, **kw)
        out.close()
        self.groups.append(proc)
        return proc

    def stop(self, proc, sig=signal.SIGTERM, grace=10.0):
        if proc.poll() is None:
            try:
                os.kill(proc.pid, sig)
            except ProcessLookupError:
                pass
            try:
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                pass
        # Whatever the group left behind (workers, stress-ng children).
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            pass
        if proc in self.groups:
            self.groups.remove(proc)

    def stop_all(self):
        for proc in list(self.groups):
            self.stop(proc, signal.SIGTERM, grace=3.0)


PROCS = Processes()


def on_signal(signum, _frame):
    PROCS.stop_all()
    print("\nbench-servers: stopped by signal %d, servers ended" % signum, file=sys.stderr)
    sys.exit(130)


def read_stat(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            text = f.read()
    except OSError:
        return None
    fields = text[text.rfind(")") + 2:].split()
    # fields[0] is state (field 3); utime is field 14 -> index 11.
    return int(fields[1]), sum(int(x) for x in fields[11:15])


def tree_stats(root):
    """{pid: utime+stime+cutime+cstime ticks} of root and its live descendants."""
    parent = {}
    ticks = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = read_stat(int(entry))
            if stat:
                parent[int(entry)], ticks[int(entry)] = stat
    tree = {}
    for pid, t in ticks.items():
        p = pid
        while p and p != root:
            p = parent.get(p, 0)
        if p == root:
            tree[pid] = t
    return tree


def tree_cpu_seconds(root):
    """utime+stime+cutime+cstime summed over root and its live descendants."""
    return sum(tree_stats(root).values()) / CLK_TCK


def task_run_delays(pid, into):
    """into[tid] = ns the task has spent runnable but waiting for a CPU
    (/proc/PID/task/TID/schedstat, second field), for every thread of pid."""
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return into
    for tid in tids:
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                into[(pid, int(tid))] = int(f.read().split()[1])
        except (OSError, IndexError, ValueError):
            pass
    return into


def tree_run_delay_ns(root, pids=None):
    """Run delay of every thread of root and its live descendants (pids:
    those, when the caller has walked /proc already).
    Why it is measured: a thread woken while another polls on the CPU the
    scheduler chose for it waits behind the poll (EEVDF lets the running
    task finish its slice), and that shows here, not in CPU time."""
    delays = {}
    for pid in (tree_stats(root) if pids is None else pids):
        task_run_delays(pid, delays)
    return delays


def machine_busy_seconds():
    with open("/proc/stat") as f:
        cpu = f.readline().split()[1:]
    values = [int(x) for x in cpu]
    idle = values[3] + values[4]
    return (sum(values[:8]) - idle) / CLK_TCK


def loadavg():
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


def run_client(argv, log, timeout, cwd=None, run_delays=None, every_half_second=None):
    """Runs a client to its end; returns (exit status, CPU seconds, wall seconds).
    run_delays: a dict filled with the run delay of the client's threads,
    sampled every 10 ms (the last 10 ms before it exits are lost).
    every_half_second: called every 0.5 s while the client runs."""
    out = open(log, "wb")
    start = time.monotonic()
    proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            cwd=cwd, **SPAWN)
    out.close()
    PROCS.groups.append(proc)
    deadline = start + timeout
    polls = 0
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            pid, status, usage = os.wait4(proc.pid, 0)
            status = -1
            break
        if run_delays is not None:
            task_run_delays(proc.pid, run_delays)
        polls += 1
        if every_half_second and polls % 50 == 0:
            every_half_second()
        time.sleep(0.01)
    proc.returncode = os.waitstatus_to_exitcode(status) if status != -1 else -1
    PROCS.groups.remove(proc)
    return proc.returncode, usage.ru_utime + usage.ru_stime, time.monotonic() - start


def port_free(port):
    s = socket.socket()
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def udp_bound(port):
    with open("/proc/net/udp") as f:
        return any(line.split()[1].endswith(":%04X" % port) for line in f.readlines()[1:])


def wait_port(port, proc, seconds=30.0, udp=False):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        if udp:
            if udp_bound(port):
                return True
            time.sleep(0.02)
            continue
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return True
        except OSError:
            time.sleep(0.02)
    return False


# ---------------------------------------------------------------- stats
def stats_share(path):
    """(caught, waits, guarded, blocked, block_cost_ns list) summed over the JSON lines."""
    caught = waits = guarded = blocked = 0
    costs = []
    try:
        with open(path) as f:
            lines = f.readlines()
    except OSError:
        return None
    for line in lines:
        line = line.strip()
        if not line:
            continue
        try:
            record = json.loads(line)
        except ValueError:
            continue
        costs.append(record.get("block_cost_ns", 0))
        for counters in record.get("calls", {}).values():
            caught += counters.get("caught", 0)
            waits += counters.get("waits", 0)
            guarded += counters.get("guarded", 0)
            blocked += counters.get("blocked", 0)
    return {"caught": caught, "waits": waits, "guarded": guarded, "blocked": blocked,
            "block_cost_ns": costs, "processes": len(costs)}


# ---------------------------------------------------------------- servers
def preloaded(ctx, config, policy, stats_file, argv):
    if policy is None:
        return argv
    guards = ["--no-guards"] if config in UNGUARDED else []
    env = ["env", "LAZYIDLE_POLL_YIELD=1"] if config == "yield" else []
    if config == "baseline":
        env = ["env", "LAZYIDLE_PRELOAD_LIBRARY=" + ctx.baseline_library]
    return env + [ctx.run, "--policy", policy, "--stats=" + stats_file] + guards + ["--"] + argv


class Server:
    def __init__(self, ctx, kind):
        self.ctx, self.kind, self.port = ctx, kind, PORTS[kind]
        self.dir = os.path.join(ctx.work, kind)
        os.makedirs(self.dir, exist_ok=True)
        self.proc = None

    def wrap(self, config, policy, stats_file, argv):
        return preloaded(self.ctx, config, policy, stats_file, argv)

    def prepare(self):
        pass

    def argv(self):
        raise NotImplementedError

    def start(self, config, policy, stats_file):
        if not port_free(self.port) or udp_bound(self.port):
            die("port %d is in use: another %s is running there" % (self.port, self.kind))
        kw = {}
        if self.kind == "postgres":
            kw = {"user": "postgres", "group": "postgres", "extra_groups": []}
        self.proc = PROCS.start(self.wrap(config, policy, stats_file, self.argv()),
                                os.path.join(self.dir, "server.log"), **kw)
        if not wait_port(self.port, self.proc, udp=self.kind == "sockperf"):
            PROCS.stop(self.proc)
            die("%s did not start on port %d; see %s" % (self.kind, self.port,
                                                          os.path.join(self.dir, "server.log")))
        if self.kind == "nginx":
            time.sleep(0.2)  # the workers
        deadline = time.monotonic() + 30
        while not self.ready():
            if time.monotonic() > deadline or self.proc.poll() is not None:
                PROCS.stop(self.proc)
                die("%s is not ready on port %d" % (self.kind, self.port))
            time.sleep(0.05)

    def ready(self):
        return True

    def stop(self):
        # Clean exits, so the preload's stats are written: redis on SIGTERM,
        # nginx's graceful SIGQUIT, PostgreSQL's fast shutdown and sockperf on
        # SIGINT (SIGTERM kills sockperf without its exit handlers).
        sig = {"nginx": signal.SIGQUIT, "postgres": signal.SIGINT,
               "sockperf": signal.SIGINT}.get(self.kind, signal.SIGTERM)
        PROCS.stop(self.proc, sig)
        self.proc = None


class Redis(Server):
    def argv(self):
        return ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", self.dir, "--daemonize", "no", "--protected-mode", "no"]


class Nginx(Server):
    def prepare(self):
        html = os.path.join(self.dir, "html")
        os.makedirs(html, exist_ok=True)
        os.makedirs(os.path.join(self.dir, "logs"), exist_ok=True)
        with open(os.path.join(html, "index.html"), "w") as f:
            f.write("<!doctype html><title>lazyidle</title><p>" + "lazyidle bench " * 40 + "</p>\n")
        os.chmod(self.dir, 0o755)
        with open(os.path.join(self.dir, "nginx.conf"), "w") as f:
            f.write("""worker_processes auto;
pid %(d)s/nginx.pid;
error_log %(d)s/logs/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  keepalive_requests 100000000;
  keepalive_timeout 300s;
  client_body_temp_path %(d)s/tmp;
  server { listen 127.0.0.1:%(p)d; root %(d)s/html; }
}
""" % {"d": self.dir, "p": self.port})

    def argv(self):
        return ["nginx", "-p", self.dir, "-c", os.path.join(self.dir, "nginx.conf"), "-g",
                "daemon off; master_process on;"]


class Postgres(Server):
    def prepare(self):
        bindir = self.ctx.pg_bindir
        self.sock = os.path.join(self.dir, "sock")
        data = os.path.join(self.dir, "data")
        os.makedirs(self.sock, exist_ok=True)
        shutil.chown(self.dir, "postgres", "postgres")
        shutil.chown(self.sock, "postgres", "postgres")
        marker = os.path.join(self.dir, "pgbench-initialized")
        if not os.path.exists(marker):
            shutil.rmtree(data, ignore_errors=True)
            subprocess.run([os.path.join(bindir, "initdb"), "-D", data, "-A", "trust", "-U", "postgres"],
                           check=True, stdout=subprocess.DEVNULL, user="postgres", group="postgres",
                           extra_groups=[])
            self.start("none", None, None)
            init = subprocess.run([os.path.join(bindir, "pgbench"), "-q", "-i", "-s", "4", "-h", "127.0.0.1",
                                   "-p", str(self.port), "-U", "postgres", "postgres"],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            self.stop()
            if init.returncode != 0:
                die("pgbench -i failed:\n" + init.stdout)
            open(marker, "w").close()

    def ready(self):
        return subprocess.run([os.path.join(self.ctx.pg_bindir, "pg_isready"), "-q", "-h", "127.0.0.1",
                               "-p", str(self.port)]).returncode == 0

    def argv(self):
        return [os.path.join(self.ctx.pg_bindir, "postgres"), "-D", os.path.join(self.dir, "data"),
                "-p", str(self.port), "-k", self.sock, "-c", "listen_addresses=127.0.0.1",
                "-c", "fsync=off", "-c", "max_connections=20", "-c", "logging_collector=off"]


class Sockperf(Server):
    def argv(self):
        return ["sockperf", "server", "-i", "127.0.0.1", "-p", str(self.port)]


SERVER_CLASSES = {"redis": Redis, "nginx": Nginx, "postgres": Postgres, "sockperf": Sockperf}


# ---------------------------------------------------------------- clients
def parse_redis(text, _ctx):
    for line in text.splitlines():
        cells = [c.strip('"') for c in line.split(",")]
        if len(cells) == 8 and cells[0] not in ("test",):
            return {"thr": float(cells[1]), "p50": float(cells[4]) * 1000, "p99": float(cells[6]) * 1000}
    return None


def wrk_time(text):
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 1, "ms": 1000, "s": 1e6}[unit]


def parse_wrk(text, _ctx):
    thr = re.search(r"Requests/sec:\s+([\d.]+)", text)
    p50 = re.search(r"^\s+50%\s+(\S+)", text, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", text, re.M)
    total = re.search(r"(\d+) requests in", text)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors", text)
    if not (thr and p50 and p99 and total) or errors:
        return None
    return {"thr": float(thr.group(1)), "p50": wrk_time(p50.group(1)), "p99": wrk_time(p99.group(1)),
            "requests": int(total.group(1))}


def percentile(sorted_values, q):
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, int(q * len(sorted_values)))
    return sorted_values[index]


def parse_pgbench(text, logdir):
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", text)
    if not tps or "aborted" in text and re.search(r"number of failed transactions: [1-9]", text):
        return None
    latencies = []
    for name in os.listdir(logdir):
        if name.startswith("pgb"):
            with open(os.path.join(logdir, name)) as f:
                for line in f:
                    cells = line.split()
                    # client txno time_us script epoch_s epoch_us [schedule_lag_us]
                    if len(cells) >= 6:
                        lag = int(cells[6]) if len(cells) >= 7 else 0
                        latencies.append(int(cells[2]) + lag)
    latencies.sort()
    if not latencies:
        return None
    return {"thr": float(tps.group(1)), "p50": percentile(latencies, 0.5),
            "p99": percentile(latencies, 0.99), "requests": len(latencies)}


def parse_h2load(text, logdir):
    done = re.search(r"requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded", text)
    finished = re.search(r"finished in ([\d.]+)(?:s|ms), ([\d.]+) req/s", text)
    if not done or not finished or done.group(1) != done.group(2):
        return None
    latencies = []
    with open(os.path.join(logdir, "h2load.log")) as f:
        for line in f:
            cells = line.split()
            if len(cells) >= 3 and cells[1] == "200":
                latencies.append(int(cells[2]))
    latencies.sort()
    return {"thr": float(finished.group(2)), "p50": percentile(latencies, 0.5),
            "p99": percentile(latencies, 0.99), "requests": int(done.group(2))}


def parse_sockperf(text, _ctx):
    duration = re.search(r"\[Valid Duration\] RunTime=([\d.]+) sec; SentMessages=(\d+); ReceivedMessages=(\d+)", text)
    p50 = re.search(r"percentile 50\.000 =\s+([\d.]+)", text)
    p99 = re.search(r"percentile 99\.000 =\s+([\d.]+)", text)
    if not (duration and p50 and p99):
        return None
    received = int(duration.group(3))
    return {"thr": received / float(duration.group(1)), "p50": float(p50.group(1)),
            "p99": float(p99.group(1)), "requests": received}


class Case:
    def __init__(self, name, server, text, client, parse, stress=False, warm=None, kind="closed"):
        self.name, self.server, self.text = name, server, text
        self.client, self.parse, self.stress, self.warm, self.kind = client, parse, stress, warm, kind


def make_cases(ctx):
    s = ctx.seconds
    pg = ctx.pg_bindir
    url = "http://127.0.0.1:%d/index.html" % PORTS["nginx"]

    def redis(extra, warm_n):
        def client(n):
            return ["redis-benchmark", "-h", "127.0.0.1", "-p", str(PORTS["redis"]), "-n", str(n), "--csv"] + extra
        return client, warm_n

    def pgbench(extra):
        def client(logdir, seconds):
            return [os.path.join(pg, "pgbench"), "-n", "-S", "-h", "127.0.0.1", "-p", str(PORTS["postgres"]),
                    "-U", "postgres"] + (["-T", str(seconds)] if seconds else ["-t", "100"]) + \
                ["-l", "--log-prefix", os.path.join(logdir, "pgb")] + extra + ["postgres"]
        return client

    cases = []
    for name, extra, warm_n, text, stress, kind in [
            ("redis-get-c1", ["-c", "1", "-t", "get"], 2000, "redis-benchmark -c 1 -t get", False, "c1"),
            ("redis-set-c1", ["-c", "1", "-t", "set"], 2000, "redis-benchmark -c 1 -t set", False, "c1"),
            ("redis-get-c50-P16", ["-c", "50", "-P", "16", "-t", "get"], 50000,
             "redis-benchmark -c 50 -P 16 -t get", False, "saturation")]:
        client, warm = redis(extra, warm_n)
        cases.append(Case(name, "redis", text, client, parse_redis, stress, warm, kind))
    cases.append(Case("wrk-c1", "nginx", "nginx + wrk -t1 -c1",
                      lambda seconds: ["wrk", "-t1", "-c1", "-d%ds" % seconds, "--latency", url],
                      parse_wrk, kind="c1"))
    cases.append(Case("wrk-c64", "nginx", "nginx + wrk -t2 -c64",
                      lambda seconds: ["wrk", "-t2", "-c64", "-d%ds" % seconds, "--latency", url],
                      parse_wrk, kind="saturation"))
    cases.append(Case("pgbench-c1", "postgres", "PostgreSQL 15 + pgbench -S -c 1",
                      pgbench(["-c", "1"]), parse_pgbench, kind="c1"))
    cases.append(Case("pgbench-c4-R500", "postgres", "pgbench -S -c 4 -R 500 (open loop)",
                      pgbench(["-c", "4", "-R", "500"]), parse_pgbench, kind="open"))
    if ctx.h2load:
        cases.append(Case("h2load-rps", "nginx", "nginx + h2load --h1 -c 4 --rps 100 (open loop)",
                          lambda logdir, seconds: ["h2load", "--h1", "-c", "4", "--rps", "100"] +
                          (["-D", str(seconds)] if seconds else ["-n", "40"]) + [
                                                   "--log-file=" + os.path.join(logdir, "h2load.log"), url],
                          parse_h2load, kind="open"))
    cases.append(Case("sockperf-pp", "sockperf", "sockperf ping-pong, UDP (blocking recvfrom client)",
                      lambda seconds: ["sockperf", "ping-pong", "-i", "127.0.0.1", "-p", str(PORTS["sockperf"]),
                                       "-t", str(seconds)],
                      parse_sockperf, kind="c1"))
    client, warm = redis(["-c", "1", "-t", "get"], 2000)
    cases.append(Case("redis-get-c1-stress", "redis", "redis-benchmark -c 1 -t get + stress-ng --cpu 2",
                      client, parse_redis, True, warm, "oversubscribed"))
    cases.append(Case("wrk-c1-stress", "nginx", "nginx + wrk -t1 -c1 + stress-ng --cpu 2",
                      lambda seconds: ["wrk", "-t1", "-c1", "-d%ds" % seconds, "--latency", url],
                      parse_wrk, stress=True, kind="oversubscribed"))
    return cases


# ---------------------------------------------------------------- one run
def client_argv(ctx, case, logdir, measured, warm_rate):
    # Warm-ups: pgbench and h2load by count (None), wrk and sockperf 1 s.
    seconds = ctx.seconds if measured else (1 if case.server in ("nginx", "sockperf") and
                                            case.name != "h2load-rps" else None)
    if case.server == "redis":
        if measured:
            n = max(1000, int(warm_rate * ctx.seconds)) if warm_rate else 20000 * ctx.seconds
        else:
            n = case.warm
        return case.client(n)
    if case.client.__code__.co_argcount == 2:
        return case.client(logdir, seconds)
    return case.client(seconds)


def one_run(ctx, case, config, rep):
    server_policy, client_policy = CONFIGS[config]
    tag = "%s.%s.%d" % (case.name, config, rep)
    logdir = os.path.join(ctx.work, "runs", tag)
    shutil.rmtree(logdir, ignore_errors=True)
    os.makedirs(logdir)
    os.chmod(logdir, 0o777)
    server_stats = os.path.join(logdir, "server-stats.json")
    client_stats = os.path.join(logdir, "client-stats.json")
    for path in (server_stats, client_stats):
        open(path, "w").close()
        os.chmod(path, 0o666)
    server = ctx.servers[case.server]
    stress = None
    if case.stress:
        stress = PROCS.start(["stress-ng", "--cpu", "2", "--timeout", str(ctx.seconds * 4 + 30)],
                             os.path.join(logdir, "stress.log"))
        time.sleep(0.3)
    server.start(config, server_policy, server_stats)

    def wrapped(argv):
        return preloaded(ctx, config, client_policy, client_stats, argv)

    # Warm-up: connections, caches, the server's learned B; also sizes redis's -n.
    warm_argv = client_argv(ctx, case, os.path.join(logdir, "warm"), False, None)
    os.makedirs(os.path.join(logdir, "warm"))
    status, _, _ = run_client(wrapped(warm_argv), os.path.join(logdir, "warm.log"), 60)
    warm = case.parse(open(os.path.join(logdir, "warm.log")).read(), os.path.join(logdir, "warm"))
    if status != 0 or not warm:
        server.stop()
        if stress:
            PROCS.stop(stress)
        die("warm-up of %s failed; see %s" % (tag, os.path.join(logdir, "warm.log")))
    # The client's stats file is kept for the measured run only.
    open(client_stats, "w").close()
    time.sleep(0.2)
    load_before = loadavg()
    busy0 = machine_busy_seconds()
    server_tree = tree_stats(server.proc.pid)  # one walk of /proc for both
    server0 = sum(server_tree.values()) / CLK_TCK
    server_delay0 = tree_run_delay_ns(server.proc.pid, server_tree)
    # The server's threads, sampled every 0.5 s as well: a backend forked
    # for the run (PostgreSQL) and gone by its end keeps its last sample.
    server_delay1 = dict(server_delay0)
    argv = client_argv(ctx, case, logdir, True, warm["thr"])
    client_delays = {}
    status, client_cpu, wall = run_client(wrapped(argv), os.path.join(logdir, "client.log"),
                                          ctx.seconds * 10 + 60, run_delays=client_delays,
                                          every_half_second=lambda: server_delay1.update(
                                              tree_run_delay_ns(server.proc.pid)))
    server_delay1.update(tree_run_delay_ns(server.proc.pid))
    # A thread new since the start had all its delay in the run.
    server_delay_ns = sum(v - server_delay0.get(k, 0) for k, v in server_delay1.items())
    time.sleep(0.3)  # exited backends reaped, their CPU in the postmaster's cutime
    server_cpu = tree_cpu_seconds(server.proc.pid) - server0
    busy = machine_busy_seconds() - busy0
    server.stop()
    if stress:
        PROCS.stop(stress)
    text = open(os.path.join(logdir, "client.log")).read()
    result = case.parse(text, logdir) if status == 0 else None
    if not result:
        die("client of %s failed (exit %s); see %s" % (tag, status, os.path.join(logdir, "client.log")))
    requests = result.get("requests") or argv_requests(argv)
    srv = stats_share(server_stats) if server_policy else None
    cli = stats_share(client_stats) if client_policy else None
    return {
        "case": case.name, "config": config, "rep": rep,
        "thr": result["thr"], "p50_us": result["p50"], "p99_us": result["p99"], "requests": requests,
        "server_cpu_s": server_cpu, "client_cpu_s": client_cpu, "wall_s": wall,
        "server_cpu_per_1k": server_cpu / requests * 1000, "client_cpu_per_1k": client_cpu / requests * 1000,
        "other_cpu_per_s": max(0.0, busy - server_cpu - client_cpu) / wall,
        "server_delay_us_per_rq": server_delay_ns / 1000.0 / requests,
        "client_delay_us_per_rq": sum(client_delays.values()) / 1000.0 / requests,
        "server_stats": srv, "client_stats": cli,
        "server_caught": srv["caught"] / srv["waits"] if srv and srv["waits"] else None,
        "client_caught": cli["caught"] / cli["waits"] if cli and cli["waits"] else None,
        "loadavg": load_before, "logdir": logdir,
    }


def argv_requests(argv):
    return int(argv[argv.index("-n") + 1])


# ---------------------------------------------------------------- summary
METRICS = ["thr", "p50_us", "p99_us", "server_cpu_per_1k", "client_cpu_per_1k", "other_cpu_per_s",
           "server_delay_us_per_rq", "client_delay_us_per_rq"]


def median_cell(runs):
    cell = {m: statistics.median(r[m] for r in runs) for m in METRICS}
    cell["cpu_per_1k"] = statistics.median(r["server_cpu_per_1k"] + r["client_cpu_per_1k"] for r in runs)
    for side in ("server", "client"):
        stats = [r[side + "_stats"] for r in runs if r[side + "_stats"]]
        if stats:
            caught = sum(s["caught"] for s in stats)
            waits = sum(s["waits"] for s in stats)
            guarded = sum(s["guarded"] for s in stats)
            cell[side + "_caught"] = caught / waits if waits else 0.0
            cell[side + "_guarded"] = guarded / waits if waits else 0.0
            costs = [c for s in stats for c in s["block_cost_ns"] if c]
            cell[side + "_block_cost_ns"] = statistics.median(costs) if costs else 0
            cell[side + "_waits"] = waits
        else:
            cell[side + "_caught"] = None
    cell["loadavg"] = [r["loadavg"][0] for r in runs]
    cell["runs"] = len(runs)
    return cell


def best_peer(cells):
    peers = [c for c in PEERS if c in cells]
    return max(peers, key=lambda c: cells[c]["thr"]) if peers else None


def fmt(value, width, digits=1):
    if value is None:
        return "-".rjust(width)
    if isinstance(value, str):
        return value.rjust(width)
    if abs(value) >= 10000:
        return ("%.0f" % value).rjust(width)
    return ("%.*f" % (digits, value)).rjust(width)


def print_table(cases, cells, out):
    head = ("%-20s %-9s %9s %6s %6s %8s %8s %7s %7s %7s %6s %6s %6s %6s %5s %5s" %
            ("case", "config", "req/s", "xnone", "xbest", "p50 us", "p99 us", "srvCPU", "cliCPU",
             "x none", "srv%", "cli%", "srvRQ", "cliRQ", "load", "other"))
    print(head, file=out)
    print("%-20s %-9s %9s %6s %6s %8s %8s %7s %7s %7s %6s %6s %6s %6s %5s %5s" %
          ("", "", "", "thr", "thr", "", "", "s/1k", "s/1k", "CPU/rq", "caught", "caught", "us/rq", "us/rq",
           "1min", "CPU/s"), file=out)
    for case in cases:
        cc = cells.get(case.name)
        if not cc:
            continue
        base = cc.get("none")
        best = best_peer(cc)
        for config in [c for c in CONFIGS if c in cc]:
            c = cc.get(config)
            if not c:
                continue
            x_none = c["thr"] / base["thr"] if base else None
            x_best = c["thr"] / cc[best]["thr"] if best else None
            cpu_x = c["cpu_per_1k"] / base["cpu_per_1k"] if base and base["cpu_per_1k"] else None
            pct = lambda v: None if v is None else 100 * v
            print("%-20s %-9s %s %s %s %s %s %s %s %s %s %s %s %s %s %s" % (
                case.name, config, fmt(c["thr"], 9, 0), fmt(x_none, 6, 2), fmt(x_best, 6, 2),
                fmt(c["p50_us"], 8), fmt(c["p99_us"], 8), fmt(c["server_cpu_per_1k"], 7, 3),
                fmt(c["client_cpu_per_1k"], 7, 3), fmt(cpu_x, 7, 2), fmt(pct(c["server_caught"]), 6, 1),
                fmt(pct(c["client_caught"]), 6, 1), fmt(c.get("server_delay_us_per_rq"), 6, 1),
                fmt(c.get("client_delay_us_per_rq"), 6, 1), fmt(max(c["loadavg"]), 5, 2),
                fmt(c["other_cpu_per_s"], 5, 2)), file=out)
        print("", file=out)


def paired_ratios(runs, case, config, metric, against="none"):
    """Run r of config over run r of against, for every r both have: the
    configurations of a case are interleaved, so a pair shares the
    machine's state of those seconds, which drifts by more than the effects
    measured here (h2load's p50 moved 160-460 us between runs of one
    configuration a minute apart, docs/bench-servers.md)."""
    base = {r["rep"]: r for r in runs if r["case"] == case and r["config"] == against}
    out = []
    for r in runs:
        if r["case"] == case and r["config"] == config and r["rep"] in base and base[r["rep"]].get(metric):
            if r.get(metric) is not None:
                out.append(r[metric] / base[r["rep"]][metric])
    return sorted(out)


def spread_text(ratios):
    """median [spread]: the middle half with 8 or more pairs, else the range."""
    if not ratios:
        return "-"
    n = len(ratios)
    mid = statistics.median(ratios)
    lo, hi = (ratios[n // 4], ratios[(3 * n) // 4]) if n >= 8 else (ratios[0], ratios[-1])
    return "%.2f [%.2f-%.2f%s]" % (mid, lo, hi, " IQR" if n >= 8 else "")


def print_paired(cases, runs, out):
    print("Paired with none run by run (median [range; IQR with >= 8 runs]): throughput, p50, CPU/request",
          file=out)
    for case in cases:
        configs = [c for c in CONFIGS if c != "none" and any(
            r["case"] == case.name and r["config"] == c for r in runs)]
        if not any(r["case"] == case.name and r["config"] == "none" for r in runs):
            continue
        for config in configs:
            cpu = [dict(r, cpu_rq=r["server_cpu_per_1k"] + r["client_cpu_per_1k"]) for r in runs
                   if r["case"] == case.name]
            print("%-20s %-9s thr %-22s p50 %-22s CPU %s" % (
                case.name, config, spread_text(paired_ratios(runs, case.name, config, "thr")),
                spread_text(paired_ratios(runs, case.name, config, "p50_us")),
                spread_text(paired_ratios(cpu, case.name, config, "cpu_rq"))), file=out)
    print("", file=out)


def evaluate_goals(cases, cells):
    """[(goal, case, measured text, MET/MISSED/n.a.)] against the issue's floors."""
    goals = []

    def cell(case, config):
        return cells.get(case, {}).get(config)

    def ratio(case, config, metric="thr", against="none"):
        a, b = cell(case, config), cell(case, against)
        if not a or not b or not b[metric]:
            return None
        return a[metric] / b[metric]

    def why(case, config):
        """What the stats say about the lazyidle cell behind a verdict."""
        c = cell(case, config)
        if not c:
            return ""
        parts = []
        for side in ("server", "client"):
            if c.get(side + "_caught") is not None:
                parts.append("%s caught %.0f%% guarded %.0f%% B %.0f us" % (
                    {"server": "srv", "client": "cli"}[side], 100 * c[side + "_caught"], 100 * c[side + "_guarded"],
                    c[side + "_block_cost_ns"] / 1000))
        return "; ".join(parts)

    def add(text, case, value, ok, shown, config="both"):
        if value is None:
            goals.append((text, case, "not measured", "n.a.", ""))
        else:
            goals.append((text, case, shown, "MET" if ok else "MISSED", why(case, config)))

    for case in ("redis-get-c1", "redis-set-c1"):
        r = ratio(case, "both")
        add("redis -c1 both ends >= 3x none", case, r, r is not None and r >= 3, "%.2fx" % (r or 0))
        r = ratio(case, "server")
        add("redis -c1 server only >= 1.5x none", case, r, r is not None and r >= 1.5, "%.2fx" % (r or 0),
            "server")
    r = ratio("wrk-c1", "both")
    add("wrk -c1 both ends >= 2x none", "wrk-c1", r, r is not None and r >= 2, "%.2fx" % (r or 0))
    r = ratio("pgbench-c1", "both")
    add("pgbench -S -c1 both ends >= 2x none", "pgbench-c1", r, r is not None and r >= 2, "%.2fx" % (r or 0))
    r = ratio("sockperf-pp", "both", "p50_us")
    add("sockperf pp p50 both ends <= 0.3x none", "sockperf-pp", r, r is not None and r <= 0.3, "%.2fx" % (r or 0))
    for case in [c.name for c in cases if c.kind in ("saturation", "oversubscribed")]:
        for config in ("server", "both"):
            r = ratio(case, config)
            add("saturation/oversubscribed %s >= 0.97x none" % config, case, r, r is not None and r >= 0.97,
                "%.2fx" % (r or 0), config)
        r = ratio(case, "both", against="fixed50k")
        add("saturation/oversubscribed both >= fixed:50000", case, r, r is not None and r >= 1.0,
            "%.2fx fixed" % (r or 0))
        if cell(case, "never"):  # only when asked for (--configs ...,never)
            r = ratio(case, "never")
            add("never (pass-through) costs <= 1%: >= 0.99x none", case, r, r is not None and r >= 0.99,
                "%.3fx" % (r or 0), "never")
    for case in [c.name for c in cases if c.kind == "open"]:
        r = ratio(case, "both", "cpu_per_1k")
        p = ratio(case, "both", "p50_us")
        add("open loop both: CPU/request <= 1.15x and p50 <= 1.0x none", case, r,
            r is not None and p is not None and r <= 1.15 and p <= 1.0,
            "CPU %.2fx, p50 %.2fx" % (r or 0, p or 0))
    for case in [c.name for c in cases if c.kind == "c1"]:
        for config in ("server", "both"):
            r = ratio(case, config, "cpu_per_1k", against="fixed50k")
            add("-c1 %s CPU/request <= fixed:50000's" % config, case, r, r is not None and r <= 1.0,
                "%.2fx fixed" % (r or 0), config)
    for case in [c.name for c in cases]:
        cc = cells.get(case, {})
        best = best_peer(cc)
        mine = cc.get("both")
        if not best or not mine:
            add("adaptive ideal", case, None, False, "")
            continue
        top = cc[best]["thr"]
        near = [c for c in PEERS if c in cc and cc[c]["thr"] >= 0.9 * top]
        cheapest = min(near, key=lambda c: cc[c]["cpu_per_1k"])
        thr_x = mine["thr"] / top
        cpu_x = mine["cpu_per_1k"] / cc[cheapest]["cpu_per_1k"] if cc[cheapest]["cpu_per_1k"] else float("inf")
        add("adaptive ideal: both >= 0.9x best, CPU <= cheapest within 10%", case, thr_x,
            thr_x >= 0.9 and cpu_x <= 1.0,
            "%.2fx best (%s), CPU %.2fx %s" % (thr_x, best, cpu_x, cheapest))
    return goals


def print_goals(goals, out):
    print("Goals (issue 14), lazyidle against the others in this run; [stats of the lazyidle cell]", file=out)
    for text, case, shown, verdict, reason in goals:
        print("%-7s %-20s %-62s %s" % (verdict, case, text, shown), file=out)
        if reason and verdict == "MISSED":
            print("        [%s]" % reason, file=out)
    met = sum(1 for g in goals if g[3] == "MET")
    missed = sum(1 for g in goals if g[3] == "MISSED")
    print("goals: %d MET, %d MISSED" % (met, missed), file=out)


def write_svg(path, cases, cells):
    """Throughput against no preload, one group of bars per case."""
    configs = [c for c in CONFIGS if any(c in cells[n] for n in cells)]
    colors = {"unguarded": "#6a51a3", "none": "#888888", "server": "#9ecae1", "both": "#08519c", "fixed50k": "#fd8d3c",
              "haltpoll": "#74c476", "always": "#d62728", "yield": "#4292c6", "baseline": "#bdbdbd",
              "never": "#bbbbbb"}
    names = [c.name for c in cases if c.name in cells and "none" in cells[c.name]]
    ratios = {n: {k: cells[n][k]["thr"] / cells[n]["none"]["thr"] for k in configs if k in cells[n]} for n in names}
    top = max([1.0] + [v for r in ratios.values() for v in r.values()])
    top = float(int(top) + 1)
    width, height, left, bottom, upper = 80 + 90 * max(1, len(names)), 500, 60, 190, 40
    plot_h = height - bottom - upper
    bar = 80.0 / (len(configs) + 1)
    y = lambda v: upper + plot_h * (1 - v / top)
    parts = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="11">'
             % (width, height),
             '<rect width="100%" height="100%" fill="white"/>',
             '<text x="%d" y="20" font-size="14">Real servers: throughput / no preload (median of runs; '
             'scripts/bench-servers)</text>' % left]
    step = 0.5 if top <= 4 else 1.0
    v = 0.0
    while v <= top + 1e-9:
        parts.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#ddd"/>' % (left, width - 10, y(v), y(v)))
        parts.append('<text x="%d" y="%.1f" text-anchor="end">%.1fx</text>' % (left - 4, y(v) + 4, v))
        v += step
    parts.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="black" stroke-dasharray="4 2"/>'
                 % (left, width - 10, y(1), y(1)))
    for i, name in enumerate(names):
        x0 = left + 10 + 90 * i
        for j, config in enumerate(configs):
            if config not in ratios[name]:
                continue
            value = ratios[name][config]
            parts.append('<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s %s %.2fx</title></rect>'
                         % (x0 + j * bar, y(value), bar - 1, y(0) - y(value), colors[config], name, config, value))
        parts.append('<text transform="translate(%.1f,%.1f) rotate(40)">%s</text>' % (x0 + 5, y(0) + 12, name))
    for j, config in enumerate(configs):
        parts.append('<rect x="%d" y="%d" width="10" height="10" fill="%s"/><text x="%d" y="%d">%s</text>'
                     % (left + 150 * (j % 3), height - 30 + 14 * (j // 3) - 8, colors[config],
                        left + 150 * (j % 3) + 14, height - 30 + 14 * (j // 3), CONFIG_TEXT[config]))
    parts.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(parts) + "\n")


# ---------------------------------------------------------------- main
def install_packages(case_names, listing):
    """What the chosen cases need, through scripts/deps.sh's lazyidle_need_packages."""
    if listing:
        return
    names = case_names or ["redis", "wrk", "pgbench", "h2load", "sockperf", "stress"]
    need = set()
    for name in names:
        for prefix, packages in (("redis", "redis-server redis-tools"), ("wrk", "nginx-light wrk"),
                                 ("h2load", "nginx-light"), ("pgbench", "postgresql-15"),
                                 ("sockperf", "sockperf"), ("stress", "stress-ng")):
            if prefix in name:
                need.update(packages.split())
    deps = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "deps.sh")
    if need and subprocess.run(["sh", "-c", '. "$0"; lazyidle_need_packages "$@"', deps] + sorted(need)).returncode:
        die("could not install " + " ".join(sorted(need)))
    # h2load (Debian 12: nghttp2-client) is optional: its case is left out, and said so, without it.
    if any("h2load" in n for n in names) and not shutil.which("h2load"):
        subprocess.run(["sh", "-c", '. "$0"; lazyidle_need_packages nghttp2-client', deps])


def main():
    parser = argparse.ArgumentParser(prog="bench-servers", description=__doc__.split("\n")[0])
    parser.add_argument("--build", required=True, help="the build tree (has bin/lazyidle-run)")
    parser.add_argument("--quick", action="store_true", help="2 s runs, 1 repeat")
    parser.add_argument("--cases", help="comma-separated case names (default: all)")
    parser.add_argument("--configs", help="comma-separated configurations (default: all)")
    parser.add_argument("--seconds", type=int, help="seconds per measured client run (default 3)")
    parser.add_argument("--repeat", type=int, help="runs per cell, the median is shown (default 3)")
    parser.add_argument("--json", help="JSON output (default BUILD/bench-servers.json)")
    parser.add_argument("--svg", help="SVG plot (default BUILD/bench-servers.svg)")
    parser.add_argument("--one-session", action="store_true",
                        help="start servers and clients in this session (one scheduler autogroup) "
                             "instead of a session each")
    parser.add_argument("--baseline-library", help="liblazyidle-preload.so of another build, for config baseline")
    parser.add_argument("--list", action="store_true", help="list cases and configurations")
    args = parser.parse_args()

    class Ctx:
        pass

    ctx = Ctx()
    if args.one_session:
        SPAWN.clear()
        SPAWN["process_group"] = 0
    ctx.build = os.path.abspath(args.build)
    ctx.run = os.path.join(ctx.build, "bin", "lazyidle-run")
    ctx.baseline_library = os.path.abspath(args.baseline_library) if args.baseline_library else None
    ctx.seconds = args.seconds or (2 if args.quick else 3)
    ctx.repeat = args.repeat or (1 if args.quick else 3)
    ctx.work = os.path.join(ctx.build, "bench-servers")
    install_packages(args.cases.split(",") if args.cases else None, args.list)
    ctx.h2load = shutil.which("h2load") is not None
    try:
        ctx.pg_bindir = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True,
                                       check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        ctx.pg_bindir = "/usr/lib/postgresql/15/bin"
    if not os.path.exists(os.path.join(ctx.pg_bindir, "postgres")):
        ctx.pg_bindir = "/usr/lib/postgresql/15/bin"
    all_cases = make_cases(ctx)
    if args.list:
        for case in all_cases:
            print("%-20s %s" % (case.name, case.text))
        for config, text in CONFIG_TEXT.items():
            print("%-20s %s" % (config, text))
        return 0
    if not os.access(ctx.run, os.X_OK):
        die("no %s: build the project first" % ctx.run)
    cases = all_cases
    if args.cases:
        wanted = args.cases.split(",")
        unknown = [w for w in wanted if w not in [c.name for c in all_cases]]
        if unknown:
            die("unknown case(s) %s; --list shows them%s" % (",".join(unknown),
                "" if ctx.h2load else " (h2load-rps needs h2load, not installed)"))
        cases = [c for c in all_cases if c.name in wanted]
    configs = list(DEFAULT_CONFIGS)
    if args.configs:
        configs = args.configs.split(",")
        unknown = [c for c in configs if c not in CONFIGS]
        if unknown:
            die("unknown configuration(s) %s; known: %s" % (",".join(unknown), ",".join(CONFIGS)))
    if "baseline" in configs and not (ctx.baseline_library and os.path.isfile(ctx.baseline_library)):
        die("configuration baseline needs --baseline-library PATH (an existing liblazyidle-preload.so)")
    json_path = args.json or os.path.join(ctx.build, "bench-servers.json")
    svg_path = args.svg or os.path.join(ctx.build, "bench-servers.svg")

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    os.makedirs(ctx.work, exist_ok=True)
    os.chmod(ctx.work, 0o755)
    shutil.rmtree(os.path.join(ctx.work, "runs"), ignore_errors=True)
    os.makedirs(os.path.join(ctx.work, "runs"))
    os.chmod(os.path.join(ctx.work, "runs"), 0o755)
    try:
        return measure(ctx, cases, configs, json_path, svg_path)
    finally:
        PROCS.stop_all()


def measure(ctx, cases, configs, json_path, svg_path):
    ctx.servers = {}
    for kind in sorted({c.server for c in cases}):
        ctx.servers[kind] = SERVER_CLASSES[kind](ctx, kind)
        ctx.servers[kind].prepare()

    start = time.monotonic()
    load_start = loadavg()
    print("bench-servers: %d case(s) x %d configuration(s) x %d run(s), %d s each; loadavg before %s"
          % (len(cases), len(configs), ctx.repeat, ctx.seconds, " ".join("%.2f" % x for x in load_start)))
    if not ctx.h2load:
        print("bench-servers: h2load not installed (package nghttp2-client): case h2load-rps left out")
    runs = []
    for case in cases:
        for rep in range(ctx.repeat):
            # ABBA: forward on even repeats, backward on odd ones, so a drift
            # within a repeat does not favour the configurations run first
            # in every pair with none (paired_ratios).
            for config in (configs if rep % 2 == 0 else configs[::-1]):
                result = one_run(ctx, case, config, rep)
                runs.append(result)
                print("  %-20s %-9s run %d: %9.0f req/s  p50 %7.1f us  load %.2f" %
                      (case.name, config, rep + 1, result["thr"], result["p50_us"], result["loadavg"][0]),
                      flush=True)
    PROCS.stop_all()
    load_end = loadavg()
    cells = {}
    for case in cases:
        for config in configs:
            mine = [r for r in runs if r["case"] == case.name and r["config"] == config]
            if mine:
                cells.setdefault(case.name, {})[config] = median_cell(mine)
    print()
    print("Real servers, loopback, %d s runs, median of %d; CPU in seconds per 1000 requests "
          "(server tree, client); caught = waits that ended while polling" % (ctx.seconds, ctx.repeat))
    print_table(cases, cells, sys.stdout)
    print_paired(cases, runs, sys.stdout)
    goals = evaluate_goals(cases, cells)
    print_goals(goals, sys.stdout)
    elapsed = time.monotonic() - start
    print("loadavg before %s, after %s; %.0f s" % (" ".join("%.2f" % x for x in load_start),
                                                    " ".join("%.2f" % x for x in load_end), elapsed))
    loads = [r["loadavg"][0] for r in runs]
    quiet_limit = 0.5 * os.cpu_count()
    if max(loads + [load_start[0], load_end[0]]) > quiet_limit:
        print("WARNING: the machine was not quiet (1-min loadavg up to %.2f on %d CPUs during the runs; "
              "the 'other' column is other processes' CPU per second): ratios are noisier and the "
              "guards may have held polling back" % (max(loads + [load_end[0]]), os.cpu_count()))
    with open(json_path, "w") as f:
        json.dump({"command": " ".join(sys.argv[1:]), "seconds": ctx.seconds, "repeat": ctx.repeat,
                   "loadavg_before": load_start, "loadavg_after": load_end, "elapsed_s": elapsed,
                   "configs": CONFIG_TEXT, "cases": {c.name: c.text for c in cases},
                   "cells": cells, "runs": runs,
                   "goals": [{"goal": g[0], "case": g[1], "measured": g[2], "verdict": g[3], "stats": g[4]}
                             for g in goals]},
                  f, indent=1)
    write_svg(svg_path, cases, cells)
    print("JSON: %s  SVG: %s  logs: %s" % (json_path, svg_path, os.path.join(ctx.work, "runs")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
