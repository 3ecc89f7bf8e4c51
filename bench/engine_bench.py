"""Dialing engine benchmarks (make bench-engine): the real `dialer` process against a real
`dialer-pbxsim` process, on a throwaway MariaDB database (or a temporary SQLite file).

    python bench/engine_bench.py throughput [--leads 20000] [--runs 3] [--clipping] [--sqlite]
    python bench/engine_bench.py refill     [--maxlines 10] [--seconds 20] [--runs 3] [--sqlite]
    python bench/engine_bench.py occupancy  [--maxlines 200] [--talk 10] [--seconds 60]
    python bench/engine_bench.py memory     [--calls 2000]
    python bench/engine_bench.py all        (what `make bench-engine` runs)
    diagnosis: throughput --profile DIR (py-spy of the dialer; bench/engine_profile.py reads it),
    throughput --whatif FIXES (bench/engine_whatif.py), memory --trace / --allocators
    (bench/engine_memprobe.py), --env KEY=VALUE for the dialer, --keep to keep logs and record

throughput  pbxsim answers at once (ring 0, talk 0); `dialer` in the foreground dials every
            lead once; completed attempts/s = leads with a result committed (counted in the
            campaign table afterwards) / (first Originate seen by pbxsim .. dialer exit).
refill      maxlines small, maxcaps = maxlines, calls of 100 ms: for each call end in
            pbxsim's record, the delay until the next Originate arrives (only ends that
            freed a line while maxlines was full, so the engine was waiting for it).
occupancy   maxlines 200, 10 s calls, `dialer --service` for `--seconds`: busy line-seconds /
            (maxlines x window), window = from the first moment all lines were busy to the
            last call start.
memory      maxlines 2000, calls that last minutes: VmRSS/VmHWM of the dialer process once
            pbxsim reports 2000 live calls.

Every run creates its own database/tmp dir and processes and removes them on exit, also on
errors and Ctrl-C. Prints one line per run and a median line per measurement.
"""
import argparse
import contextlib
import json
import os
import re
import resource
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pymysql  # noqa: E402

from dialer.pbxsim import record as pbxrecord  # noqa: E402

PY = sys.executable
CAMPAIGN = "bench"
DIALER_ENV = {}      # --env: extra environment of the dialer process (diagnosis)


def mysql_server():
    url = urllib.parse.urlsplit(os.environ.get("DIALER_TEST_MYSQL", "mysql://root@127.0.0.1:3306"))
    return url.hostname or "127.0.0.1", url.port or 3306, url.username or "root", url.password or ""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kb(pid):
    """(VmRSS, VmHWM) in kB from /proc/<pid>/status."""
    out = {}
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0])
    return out["VmRSS"], out["VmHWM"]


def _cpu(ru):
    return ru.ru_utime + ru.ru_stime


def mysqld_cpu():
    """CPU seconds used so far by the local MariaDB server (0 if it is not found)."""
    for name in ("mariadbd", "mysqld"):
        out = subprocess.run(["pidof", name], capture_output=True, text=True).stdout.split()
        if out:
            with open(f"/proc/{out[0]}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return 0.0


def _die_with_parent():
    """In the child: SIGKILL when the benchmark dies, even by SIGKILL (no leftover dialers)."""
    import ctypes
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)   # PR_SET_PDEATHSIG


def _raise_exit(signum, frame):
    raise SystemExit(128 + signum)


class Rig:
    """One throwaway world: database, pbxsim process, dialer.conf, campaign with leads."""

    def __init__(self, sqlite=False, keep=False):
        # Other work on this 2-core machine skews every number: print the load with each run.
        print(f"  [load average {os.getloadavg()[0]:.2f} at {time.strftime('%H:%M:%S')}]", flush=True)
        self.tmp = Path(tempfile.mkdtemp(prefix="dialer-enginebench-"))
        self.sqlite = sqlite
        self.keep = keep
        self.procs = []
        self.dbname = None
        self.sim = None
        if not sqlite:
            host, port, user, password = mysql_server()
            self.mysql = dict(host=host, port=port, user=user, password=password)
            self.dbname = "dialer_bench_" + secrets.token_hex(4)
            with contextlib.closing(self._admin()) as conn, conn.cursor() as cur:
                cur.execute(f"CREATE DATABASE `{self.dbname}`")

    def _admin(self, database=None):
        m = self.mysql
        return pymysql.connect(host=m["host"], port=m["port"], user=m["user"], password=m["password"],
                               database=database, autocommit=True, connect_timeout=5)

    # -- processes --------------------------------------------------------------------
    def start_pbxsim(self, scenario, max_channels=100000, writetimeout=None):
        self.port = free_port()
        self.record = self.tmp / "record.jsonl"
        self.ctl = str(self.tmp / "pbx.sock")
        scen = self.tmp / "scenario.yaml"
        scen.write_text(json.dumps(scenario))     # JSON is YAML
        cmd = [PY, "-m", "dialer.pbxsim", "--port", str(self.port), "--scenario", str(scen),
               "--record", str(self.record), "--control", self.ctl, "--quiet",
               "--max-channels", str(max_channels)]
        if writetimeout:
            cmd += ["--writetimeout", str(writetimeout)]
        self.sim = self._spawn(cmd, "pbxsim.log")
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            if self.sim.poll() is not None:
                raise RuntimeError("dialer-pbxsim exited:\n" + self.log("pbxsim.log"))
            time.sleep(0.05)
        raise RuntimeError("dialer-pbxsim did not listen")

    def sim_stats(self):
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(5)
            s.connect(self.ctl)
            s.sendall(b"stats\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        text = data.decode()
        return json.loads(text[text.index("{"):])

    def stop_pbxsim(self):
        """Stop the simulator so its record is complete (it buffers lines)."""
        if self.sim:
            end_process(self.sim, (signal.SIGTERM, 30))

    def _spawn(self, cmd, logname, env=None):
        logf = open(self.tmp / logname, "ab")
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=logf, stderr=subprocess.STDOUT, env=env,
                                stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
        logf.close()
        self.procs.append(proc)
        return proc

    def log(self, name):
        with contextlib.suppress(OSError):
            return (self.tmp / name).read_text(errors="replace")[-4000:]
        return ""

    # -- configuration and leads ------------------------------------------------------
    def write_conf(self, campaign, general=None):
        keys = {"debug": "false", "log": "false", "metricsport": "0", "loopms": "10",
                "leaseseconds": "300", "drainseconds": "1", "statedir": str(self.tmp),
                "calllog": str(self.tmp / "calls.log"), "asteriskhost": "127.0.0.1",
                "asteriskport": str(self.port), "asteriskuser": "dialer", "asteriskpassword": "1234"}
        if self.sqlite:
            keys.update(dbengine="sqlite", sqlitepath=str(self.tmp / "dialer.sqlite"))
        else:
            m = self.mysql
            keys.update(dbengine="mysql", mysqlhost=m["host"], mysqlport=m["port"], mysqluser=m["user"],
                        mysqlpassword=m["password"], mysqldatabase=self.dbname)
        keys.update(general or {})
        camp = {"active": "true", "maxlines": "10", "maxcaps": "10", "attempts": "1", "attemptsdelay": "0",
                "timeout": "30000", "dialformat": "SIP/%s@trunk", "mode": "application",
                "application": "Playback", "data": "hello"}
        camp.update(campaign)
        self.conf = self.tmp / "dialer.conf"
        self.conf.write_text("[general]\n" + "".join(f"{k}={v}\n" for k, v in keys.items())
                             + f"\n[{CAMPAIGN}]\n" + "".join(f"{k}={v}\n" for k, v in camp.items()))

    def cli(self, *args, timeout=300):
        env = dict(os.environ)
        env.pop("DIALER_CONFIG", None)
        proc = subprocess.run([PY, "-m", "dialer.cli", "-C", str(self.conf), *map(str, args)], cwd=ROOT,
                              env=env, capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:
            raise RuntimeError(f"dialer {' '.join(map(str, args))}: exit {proc.returncode}\n{proc.stderr}")
        return proc

    def load_leads(self, n):
        """Create the campaign and import n distinct numbers with the real `dialer -a file`."""
        path = self.tmp / "leads.txt"
        with open(path, "w") as fh:
            fh.write("".join(f"06{i:08d}\n" for i in range(n)))
        self.cli("-c", CAMPAIGN, "-a", "create")
        if n:
            self.cli("-c", CAMPAIGN, "-a", "file", "-p", path)

    def dialer(self, *args, wrap=()):
        env = dict(os.environ)
        env.pop("DIALER_CONFIG", None)
        env.update(DIALER_ENV)
        # A wrapper that names what it runs (engine_whatif.py, the test clock launcher, the
        # dialer module after py-spy's "--") is complete; anything else gets the dialer appended.
        runs_dialer = any(str(w).endswith("engine_whatif.py") or w in ("tests.harness.dialer_at", "dialer.cli")
                          for w in wrap)
        cmd = [*wrap] if runs_dialer else [*wrap, PY, "-m", "dialer.cli"]
        return self._spawn([*cmd, "-C", str(self.conf), *args], "dialer.log", env=env)

    def query(self, sql):
        if self.sqlite:
            import sqlite3
            with contextlib.closing(sqlite3.connect(self.tmp / "dialer.sqlite")) as conn:
                return conn.execute(sql.replace("`", '"')).fetchall()
        with contextlib.closing(self._admin(self.dbname)) as conn, conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall()

    def completed(self):
        """Leads whose attempt result is committed (attempted and no longer claimed)."""
        return self.query(f"SELECT COUNT(*) FROM `{CAMPAIGN}` WHERE attempts > 0 AND owner IS NULL")[0][0]

    def calls(self):
        return pbxrecord.load(self.record)

    # -- cleanup ----------------------------------------------------------------------
    def close(self):
        for proc in reversed(self.procs):
            end_process(proc, (signal.SIGTERM, 5))
        if self.dbname:
            with contextlib.suppress(Exception), contextlib.closing(self._admin()) as conn, conn.cursor() as cur:
                cur.execute(f"DROP DATABASE IF EXISTS `{self.dbname}`")
        if self.keep:
            print(f"  (kept {self.tmp})")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def test_clock_wrap(spec):
    """The command prefix that runs the dialer on the tests' simulated clock (START:SPEED)."""
    return (PY, "-m", "tests.harness.dialer_at", spec, "--")


def whatif_wrap(a):
    """The command prefix that runs the dialer with --whatif fixes patched in (or none)."""
    return (PY, str(ROOT / "bench" / "engine_whatif.py"), a.whatif) if a.whatif else ()


def end_process(proc, *steps):
    """Send each (signal, seconds to wait) in turn until the process is gone; SIGKILL last."""
    for sig, wait in (*steps, (signal.SIGKILL, 10)):
        if proc.poll() is not None:
            break
        proc.send_signal(sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(wait)
    return proc.returncode


def wait_exit(proc, timeout):
    """Wait for a foreground dialer to finish; past `timeout`, stop it and return None."""
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        end_process(proc, (signal.SIGTERM, 15))
        print(f"  dialer stopped after the {timeout:.0f} s time limit")
        return None


def stop_dialer(proc):
    """SIGTERM (drain), a second SIGTERM (hang up) if it lingers, then SIGKILL."""
    return end_process(proc, (signal.SIGTERM, 5), (signal.SIGTERM, 10))


# -- 1. throughput ------------------------------------------------------------------------
def throughput_once(a, clipping):
    with Rig(a.sqlite, a.keep) as rig:
        rig.start_pbxsim({"default": {"outcome": "answer", "ring": 0, "talk": 0}}, writetimeout=a.writetimeout)
        rig.write_conf({"maxlines": a.maxlines, "maxcaps": a.maxcaps}, {"loopms": a.loopms})
        rig.load_leads(a.leads)
        args = ["-k"] if clipping else []
        wrap = whatif_wrap(a)
        if a.profile:
            os.makedirs(a.profile, exist_ok=True)
            out = os.path.join(a.profile, f"throughput-{'clip' if clipping else 'noclip'}-"
                                          f"{'sqlite' if a.sqlite else 'mysql'}-{time.strftime('%H%M%S')}")
            wrap = (str(Path(PY).parent / "py-spy"), "record", "-r", "200", "-f", "raw", "-o", out + ".txt",
                    "--threads", "--idle", "--") + (wrap or (PY, "-m", "dialer.cli"))
        db_cpu0 = mysqld_cpu()
        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t_launch = time.time()
        proc = rig.dialer(*args, wrap=wrap)
        rc = wait_exit(proc, a.limit)
        t_exit = time.time()
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        db_cpu = mysqld_cpu() - db_cpu0
        if rc not in (0, None):
            raise RuntimeError(f"dialer exit {rc}:\n{rig.log('dialer.log')}")
        rig.stop_pbxsim()
        ru2 = resource.getrusage(resource.RUSAGE_CHILDREN)
        done = rig.completed()
        calls = rig.calls()
        starts = sorted(c["start"] for c in calls)
        ends = sorted(c["end"] for c in calls if c.get("end"))
        t0 = starts[0]
        overall = done / (t_exit - t0)
        # Steady state, from pbxsim: call ends per second between 10% and 90% of the run.
        lo, hi = ends[len(ends) // 10], ends[len(ends) * 9 // 10]
        steady = (len(ends) * 8 // 10) / (hi - lo) if hi > lo else float("nan")
        dialled = {c["number"] for c in calls}
        res = {"completed_per_s": overall, "steady_ends_per_s": steady, "completed": done,
               "seconds": t_exit - t0, "startup_s": t0 - t_launch, "dialled_twice": len(calls) - len(dialled),
               "max_concurrent": pbxrecord.max_concurrent(calls),
               # CPU seconds per 1,000 attempts: who uses the two cores.
               "cpu_dialer": _cpu(ru1) - _cpu(ru0), "cpu_pbxsim": _cpu(ru2) - _cpu(ru1), "cpu_db": db_cpu}
        print(f"  throughput {'clipping' if clipping else 'no clipping'} ({'sqlite' if a.sqlite else 'mariadb'}): "
              f"{done}/{a.leads} committed in {res['seconds']:.1f} s = {overall:.0f}/s; "
              f"steady {steady:.0f} call ends/s; peak {res['max_concurrent']} concurrent; "
              f"{res['dialled_twice']} dialled twice; CPU s per 1000 attempts: dialer "
              f"{res['cpu_dialer'] * 1000 / done:.2f}, pbxsim {res['cpu_pbxsim'] * 1000 / done:.2f}"
              + (f", mariadbd {db_cpu * 1000 / done:.2f}" if not a.sqlite and db_cpu else ""), flush=True)
        return res


def bench_throughput(a):
    modes = [False, True] if a.clipping is None else [a.clipping]
    for clipping in modes:
        results = [throughput_once(a, clipping) for _ in range(a.runs)]
        med = statistics.median(r["completed_per_s"] for r in results)
        steady = statistics.median(r["steady_ends_per_s"] for r in results)
        print(f"THROUGHPUT {'clipping' if clipping else 'no-clipping'} {'sqlite' if a.sqlite else 'mariadb'} "
              + (f"WHAT-IF {a.whatif} " if a.whatif else "") +
              f"{a.leads} leads: median {med:.0f} completed attempts/s (steady {steady:.0f}/s); runs: "
              + ", ".join(f"{r['completed_per_s']:.0f}" for r in results) + " (target >= 500/s)", flush=True)


# -- 2. refill latency ----------------------------------------------------------------------
def refill_delays(calls, maxlines, until):
    """Per freed line, the delay until it is used again: with the lines always full, the
    call that re-uses the line freed by the i-th call end is the (i + maxlines)-th start.
    Ends after `until` (the dialer was told to stop) are left out."""
    starts = sorted(c["start"] for c in calls)
    ends = sorted(c["end"] for c in calls if c.get("end") and c["end"] < until)
    return [starts[i + maxlines] - t for i, t in enumerate(ends) if i + maxlines < len(starts)]


def refill_once(a):
    with Rig(a.sqlite, a.keep) as rig:
        talk = a.talk
        rig.start_pbxsim({"default": {"outcome": "answer", "ring": 0, "talk": talk}})
        # loopms 1000 (the default): a refill must not wait for the next tick.
        rig.write_conf({"maxlines": a.maxlines, "maxcaps": a.maxcaps}, {"loopms": a.loopms})
        n = int(a.seconds * a.maxlines / talk) + a.maxlines
        rig.load_leads(n)
        proc = rig.dialer("--service")
        time.sleep(a.seconds + 1)
        until = time.time()
        stop_dialer(proc)
        rig.stop_pbxsim()
        calls = rig.calls()
        if any(c.get("channel") is None for c in calls):
            raise RuntimeError("calls without a channel: the line pairing assumes every call got one")
        d = sorted(refill_delays(calls, a.maxlines, until))
        if not d:
            raise RuntimeError("no refill observed:\n" + rig.log("dialer.log"))
        ms = [x * 1000 for x in d]
        res = {"median_ms": statistics.median(ms), "p90_ms": ms[int(len(ms) * 0.9)],
               "p99_ms": ms[int(len(ms) * 0.99)], "n": len(ms), "calls": len(calls)}
        print(f"  refill ({'sqlite' if a.sqlite else 'mariadb'}, maxlines {a.maxlines}, loopms {a.loopms}): "
              f"{len(ms)} refills of {len(calls)} calls: median {res['median_ms']:.1f} ms, "
              f"p90 {res['p90_ms']:.1f} ms, p99 {res['p99_ms']:.1f} ms", flush=True)
        return res


def bench_refill(a):
    results = [refill_once(a) for _ in range(a.runs)]
    med = statistics.median(r["median_ms"] for r in results)
    p90 = statistics.median(r["p90_ms"] for r in results)
    print(f"REFILL {'sqlite' if a.sqlite else 'mariadb'} maxlines={a.maxlines} loopms={a.loopms}: median of "
          f"run medians {med:.1f} ms (p90 {p90:.1f} ms); runs: "
          + ", ".join(f"{r['median_ms']:.1f}" for r in results) + " ms (target < 50 ms)", flush=True)


# -- 3. occupancy ---------------------------------------------------------------------------------
def occupancy(calls, maxlines):
    """Busy line-seconds / (maxlines x window) from the first moment all lines are busy to
    the last call start (after it the campaign is not asked to refill any more)."""
    tl = pbxrecord.timeline(calls)
    full = next((t for t, n in tl if n >= maxlines), None)
    if full is None:
        return None, None, None
    last_start = max(c["start"] for c in calls)
    busy, prev_t, prev_n = 0.0, full, maxlines
    for t, n in tl:
        if t <= full:
            prev_n = n if t == full else prev_n
            continue
        if t > last_start:
            break
        busy += prev_n * (t - prev_t)
        prev_t, prev_n = t, n
    busy += prev_n * (last_start - prev_t)
    window = last_start - full
    return busy / (maxlines * window), window, full - min(c["start"] for c in calls)


def bench_occupancy(a):
    results = []
    for _ in range(a.runs):
        with Rig(a.sqlite, a.keep) as rig:
            rig.start_pbxsim({"default": {"outcome": "answer", "ring": 0, "talk": a.talk}})
            rig.write_conf({"maxlines": a.maxlines, "maxcaps": a.maxlines}, {"loopms": 1000})
            rig.load_leads(int(a.maxlines * (a.seconds / a.talk + 2)))
            proc = rig.dialer("--service", wrap=whatif_wrap(a))
            time.sleep(a.seconds)
            stop_dialer(proc)
            rig.stop_pbxsim()
            calls = rig.calls()
            occ, window, ramp = occupancy(calls, a.maxlines)
            if occ is None:
                raise RuntimeError(f"never {a.maxlines} calls at once (max "
                                   f"{pbxrecord.max_concurrent(calls)}):\n" + rig.log("dialer.log"))
            # Where the idle line-seconds go: the refill delay of each freed line.
            gaps = sorted(refill_delays(calls, a.maxlines, max(c["start"] for c in calls)))
            print(f"  occupancy ({'sqlite' if a.sqlite else 'mariadb'}): {occ * 100:.2f}% of {a.maxlines} lines "
                  f"over {window:.1f} s after a {ramp:.2f} s ramp-up; {len(calls)} calls; "
                  f"max concurrent {pbxrecord.max_concurrent(calls)}; refill of a freed line: median "
                  f"{statistics.median(gaps) * 1000:.0f} ms, p90 {gaps[len(gaps) * 9 // 10] * 1000:.0f} ms", flush=True)
            results.append(occ)
    print(f"OCCUPANCY {'sqlite' if a.sqlite else 'mariadb'} " + (f"WHAT-IF {a.whatif} " if a.whatif else "")
          + f"maxlines={a.maxlines} talk={a.talk}s: median "
          f"{statistics.median(results) * 100:.2f}%; runs: " + ", ".join(f"{x * 100:.2f}%" for x in results)
          + " (target >= 98%)", flush=True)


# -- 4. memory ----------------------------------------------------------------------------------------
def memory_once(a, calls):
    """(VmRSS, VmHWM, live calls) of `dialer --service` once pbxsim carries `calls` calls
    (calls=0: the idle process, connected, with an empty campaign)."""
    with Rig(a.sqlite, a.keep) as rig:
        rig.start_pbxsim({"default": {"outcome": "answer", "ring": 0, "talk": 600}})
        rig.write_conf({"maxlines": max(calls, 1), "maxcaps": max(min(a.maxcaps or calls, calls), 1)},
                       {"loopms": a.loopms or 1000, "drainseconds": "0"})
        rig.load_leads(calls)
        wrap = ()
        trace = None
        if (a.trace or a.allocators) and calls:
            trace = rig.tmp / ("tracemalloc.trace" if a.trace else "allocators.txt")
            wrap = (PY, str(ROOT / "bench" / "engine_memprobe.py"), str(trace))
            proc = rig._spawn([*wrap, "-C", str(rig.conf), "--service"], "dialer.log", env={**os.environ, **DIALER_ENV})
        else:
            proc = rig.dialer("--service", wrap=whatif_wrap(a))
        t0 = time.monotonic()
        while time.monotonic() - t0 < 120:
            if proc.poll() is not None:
                raise RuntimeError("dialer exited:\n" + rig.log("dialer.log"))
            if rig.sim_stats().get("live_calls", 0) >= calls and "AMI connected;" in rig.log("dialer.log"):
                break
            time.sleep(0.2)
        ramp = time.monotonic() - t0
        time.sleep(5)        # let the answers and events of the last calls be handled
        live = rig.sim_stats().get("live_calls", 0)
        rss, hwm = rss_kb(proc.pid)
        if trace:
            proc.send_signal(signal.SIGUSR1)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not (trace.exists() and re.search("biggest sites|after:", trace.read_text())):
                time.sleep(0.5)
            time.sleep(1)
            print(trace.read_text())
        stop_dialer(proc)
        return rss, hwm, live, ramp


def bench_memory(a):
    base = memory_once(a, 0)
    print(f"  memory ({'sqlite' if a.sqlite else 'mariadb'}): idle dialer, connected, no call: "
          f"VmRSS {base[0] / 1024:.1f} MB", flush=True)
    results = []
    for _ in range(a.runs):
        rss, hwm, live, ramp = memory_once(a, a.calls)
        print(f"  memory ({'sqlite' if a.sqlite else 'mariadb'}): {live} live calls after {ramp:.1f} s: "
              f"VmRSS {rss / 1024:.1f} MB, VmHWM {hwm / 1024:.1f} MB{' (under tracemalloc)' if a.trace else ''}",
              flush=True)
        results.append((rss, hwm))
    print(f"MEMORY {'sqlite' if a.sqlite else 'mariadb'} " + (f"WHAT-IF {a.whatif} " if a.whatif else "")
          + f"{a.calls} live calls, maxcaps {a.maxcaps or a.calls} per "
          f"{a.loopms or 1000} ms: median VmRSS "
          f"{statistics.median(r[0] for r in results) / 1024:.1f} MB, VmHWM "
          f"{statistics.median(r[1] for r in results) / 1024:.1f} MB (idle {base[0] / 1024:.1f} MB); runs: "
          + ", ".join(f"{r[0] / 1024:.1f}" for r in results) + " MB (target < 80 MB)", flush=True)


def main():
    signal.signal(signal.SIGTERM, _raise_exit)
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["throughput", "refill", "occupancy", "memory", "all"])
    ap.add_argument("--sqlite", action="store_true", help="a temporary SQLite file instead of MariaDB")
    ap.add_argument("--runs", type=int, default=3, help="runs per measurement (all: 3 on MariaDB, else 1)")
    ap.add_argument("--keep", action="store_true", help="keep the tmp dir (logs, record) of each run")
    ap.add_argument("--leads", type=int, default=20000, help="throughput: campaign size")
    ap.add_argument("--clipping", action=argparse.BooleanOptionalAction, default=None,
                    help="throughput: only with (--clipping) or without (--no-clipping); default both")
    ap.add_argument("--maxlines", type=int, default=None)
    ap.add_argument("--maxcaps", type=int, default=None)
    ap.add_argument("--loopms", type=int, default=None)
    ap.add_argument("--limit", type=float, default=150, help="throughput: stop the dialer after this many s")
    ap.add_argument("--writetimeout", type=int, default=None, help="pbxsim --writetimeout (ms)")
    ap.add_argument("--talk", type=float, default=None)
    ap.add_argument("--seconds", type=float, default=None)
    ap.add_argument("--calls", type=int, default=2000, help="memory: live calls")
    ap.add_argument("--trace", action="store_true", help="memory: tracemalloc summary of the dialer")
    ap.add_argument("--allocators", action="store_true",
                    help="memory: pymalloc arena statistics and RSS before/after malloc_trim(0)")
    ap.add_argument("--whatif", metavar="FIXES", help="throughput, occupancy, memory: run the dialer with proposed fixes "
                    "patched in (bench/engine_whatif.py: no-set-channel, batch-record, drain-while-dialling)")
    ap.add_argument("--profile", metavar="DIR", help="throughput: py-spy record of the dialer into DIR")
    ap.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                    help="extra environment for the dialer process, e.g. MALLOC_ARENA_MAX=2")
    a = ap.parse_args()
    DIALER_ENV.update(kv.split("=", 1) for kv in a.env)

    # Defaults per benchmark; a command-line option wins.
    defaults = {"throughput": dict(maxlines=1000, maxcaps=500, loopms=10),
                "refill": dict(maxlines=10, maxcaps=1000, loopms=1000, talk=0.1, seconds=20),
                "occupancy": dict(maxlines=200, talk=10.0, seconds=60),
                "memory": dict()}
    # `all` (make bench-engine, about 8 minutes): MariaDB with medians, SQLite once where cheap.
    plan = [("throughput", {}), ("throughput", dict(sqlite=True, runs=1)), ("refill", {}),
            ("refill", dict(sqlite=True, runs=1)), ("occupancy", dict(runs=1)),
            ("memory", dict(runs=1)), ("memory", dict(runs=1, maxcaps=200))]
    if a.what != "all":
        plan = [(a.what, {})]
    for what, step in plan:
        ns = argparse.Namespace(**vars(a))
        if a.what == "all":
            vars(ns).update(step)
        for k, v in defaults[what].items():
            if getattr(ns, k) is None:
                setattr(ns, k, v)
        globals()["bench_" + what](ns)
    return 0


if __name__ == "__main__":
    sys.exit(main())
