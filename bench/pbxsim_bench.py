"""dialer-pbxsim throughput: originates/s and concurrent calls on one core, full event stream.

Starts the simulator as a subprocess pinned to one CPU (taskset when available), logs in like
the dialer (Events: call,system,user), pipelines Originates as fast as the simulator queues
them while reading every event, and reports originates/s, events/s and the peak number of
concurrent calls (every call answers after 10 ms and talks `--talk` seconds).

    .venv/bin/python bench/pbxsim_bench.py [--calls 20000] [--talk 4] [--runs 3] [--events on]
"""
import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def control(path, cmd):
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(path)
        s.sendall((cmd + "\n").encode())
        return s.recv(65536).decode()


def run_once(calls, talk, window, events):
    tmp = tempfile.mkdtemp(prefix="pbxbench-")
    port = free_port()
    scen = Path(tmp) / "s.yaml"
    scen.write_text(f"default: {{outcome: answer, ring: 0.01, talk: {talk}}}\n")
    ctl = os.path.join(tmp, "ctl")
    cmd = [sys.executable, "-m", "dialer.pbxsim", "--port", str(port), "--scenario", str(scen),
           "--control", ctl, "--record", os.path.join(tmp, "rec.jsonl"), "--quiet"]
    if events != "call,system,user":
        mconf = Path(tmp) / "manager.conf"
        mconf.write_text("[general]\nchannelvars = DIALER_ID,DIALER_CAMPAIGN,DIALER_STATUS\n"
                         "[dialer]\nsecret = 1234\nread = all\nwrite = originate\n")
        cmd += ["--manager-conf", str(mconf)]
    if shutil.which("taskset"):
        cmd = ["taskset", "-c", "0"] + cmd
    proc = subprocess.Popen(cmd, cwd=ROOT)
    try:
        for _ in range(200):
            try:
                sock = socket.create_connection(("127.0.0.1", port))
                break
            except OSError:
                time.sleep(0.05)
        sock.sendall(b"Action: Login\r\nUsername: dialer\r\nSecret: 1234\r\n"
                     b"Events: " + events.encode() + b"\r\n\r\n")
        tpl = ("Action: Originate\r\nActionID: b{n}\r\nChannel: SIP/06{n:08d}@voip-out\r\n"
               "Application: Wait\r\nData: 60\r\nTimeout: 30000\r\nCallerID: \"Dialer\" <5550000>\r\n"
               "Variable: DIALER_ID=bench:{n}\r\nVariable: DIALER_CAMPAIGN=bench\r\n"
               "ChannelId: bench-{n}\r\nAsync: true\r\n\r\n")
        sent = queued = events = 0
        nbytes = 0
        tail = b""
        start = time.monotonic()
        peak = 0
        last_stats = start
        while queued < calls:
            while sent < calls and sent - queued < window:
                batch = "".join(tpl.format(n=i) for i in range(sent, min(calls, sent + 100)))
                sock.sendall(batch.encode())
                sent = min(calls, sent + 100)
            data = sock.recv(1 << 20)
            nbytes += len(data)
            buf = tail + data
            queued += buf.count(b"Message: Originate successfully queued")
            events += buf.count(b"\r\nEvent: ") + buf.startswith(b"Event: ")
            tail = buf[-64:]
            if time.monotonic() - last_stats > 0.5:
                peak = max(peak, json.loads(control(ctl, "stats")[3:])["live_calls"])
                last_stats = time.monotonic()
        elapsed = time.monotonic() - start
        peak = max(peak, json.loads(control(ctl, "stats")[3:])["live_calls"])
        # keep draining to measure the event stream of the calls that are up
        t1 = time.monotonic()
        sock.settimeout(0.5)
        ev2 = 0
        while time.monotonic() - t1 < 1.0:
            try:
                data = sock.recv(1 << 20)
            except socket.timeout:
                break
            ev2 += data.count(b"\r\nEvent: ")
            nbytes += len(data)
        sock.close()
        return {"originates_per_s": calls / elapsed, "events_per_s": events / elapsed,
                "mb_per_s": nbytes / elapsed / 1e6, "peak_concurrent": peak, "seconds": elapsed}
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calls", type=int, default=20000)
    ap.add_argument("--talk", type=float, default=4.0)
    ap.add_argument("--window", type=int, default=1000, help="originates in flight")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--events", default="call,system,user",
                    help="the login's Events: (the dialer's is call,system,user; 'on' adds the "
                         "dialplan class: VarSet, Newexten)")
    a = ap.parse_args()
    results = [run_once(a.calls, a.talk, a.window, a.events) for _ in range(a.runs)]
    med = {k: statistics.median(r[k] for r in results) for k in results[0]}
    print(f"pbxsim: Events: {a.events}, {a.calls} originates, talk {a.talk}s, {a.runs} runs (median): "
          f"{med['originates_per_s']:.0f} originates/s, {med['events_per_s']:.0f} events/s, "
          f"{med['mb_per_s']:.1f} MB/s, peak {med['peak_concurrent']:.0f} concurrent calls")
    return 0


if __name__ == "__main__":
    sys.exit(main())
