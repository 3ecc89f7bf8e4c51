"""AMI reading throughput: events/s from the socket to the consumer's queue.

A local TCP server plays Asterisk (banner, login, then a burst of events taken from the
Asterisk 20.20.1 capture of an answered call, ChanVariable headers included) as fast as
the client reads. Measured, each in a fresh process state:

  link       AmiLink end to end (buffered reads, our parser, ActionID routing, queue)
  link-1b    the same with a 1-byte read buffer: what one-byte reads cost
  pyst2      unmodified pyst2 0.5.1 Manager, '*' callback counting events. Its parser dies on
             ChanVariable (defect 1), so it gets the same events with those lines removed.

Then the Originate round trip against a real dialer-pbxsim answering at once (calls of zero
length): originates/s from one thread, each waiting for its own response while the call
events of the previous ones stream in, and the latency of that wait.

Usage: python bench/ami_bench.py [--events N] [--slow-events N]
Numbers go to bench/RESULTS-ami.md by hand.
"""
import argparse
import os
import platform
import queue
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dialer import ami  # noqa: E402
from dialer.ami import connection  # noqa: E402

CAPTURE = Path(__file__).resolve().parents[1] / "tests/captures/asterisk-20.20.1-round2/cid-sip-answer.txt"


def sample_events(strip_chanvars=False):
    text = CAPTURE.read_text()
    blocks = []
    for msg in text.replace("\r\n", "\n").split("\n\n"):
        lines = [ln for ln in msg.split("\n") if ln]
        if lines and lines[0].startswith("Asterisk Call Manager"):
            lines = lines[1:]
        if not lines or not lines[0].startswith("Event:") or lines[0] == "Event: FullyBooted":
            continue
        if strip_chanvars:
            lines = [ln for ln in lines if "ChanVariable" not in ln.split(":", 1)[0]]
        blocks.append(("\r\n".join(lines) + "\r\n\r\n").encode())
    return blocks


class Blaster:
    """Accepts one client, answers its Login, then sends `count` events as fast as it reads."""

    def __init__(self, blocks, count):
        self.payload = b"".join(blocks[i % len(blocks)] for i in range(count))
        self.count = count
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(1)
        self.port = self.lsock.getsockname()[1]
        self.go = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        sock, _ = self.lsock.accept()
        self.sock = sock     # stays open until the process ends: EOF would make the link reconnect
        sock.sendall(b"Asterisk Call Manager/9.0.0\r\n")
        buf = b""
        while b"\r\n\r\n" not in buf:
            buf += sock.recv(4096)
        aid = [ln.split(b":", 1)[1].strip() for ln in buf.split(b"\r\n") if ln.lower().startswith(b"actionid:")]
        head = b"Response: Success\r\n" + (b"ActionID: " + aid[0] + b"\r\n" if aid else b"")
        sock.sendall(head + b"Message: Authentication accepted\r\n\r\n")
        self.go.wait()
        self.started = time.perf_counter()
        sock.sendall(self.payload)


def bench_link(count, read_buffer):
    old = connection.READ_BUFFER
    connection.READ_BUFFER = read_buffer
    try:
        srv = Blaster(sample_events(), count)
        q = queue.SimpleQueue()
        link = ami.AmiLink("127.0.0.1", srv.port, "bench", "x", q, ping_interval=3600).start()
        assert link.wait_connected(10), "no login"
        assert isinstance(q.get(timeout=5), ami.Connected)
        srv.go.set()
        got = 0
        while got < count:
            if isinstance(q.get(timeout=60), ami.Message):
                got += 1
        elapsed = time.perf_counter() - srv.started
        link.stop()
        return count, len(srv.payload), elapsed
    finally:
        connection.READ_BUFFER = old


def bench_pyst2(count):
    from asterisk.manager import Manager
    srv = Blaster(sample_events(strip_chanvars=True), count)
    done = threading.Event()
    seen = [0]

    def on_event(ev, mgr):
        seen[0] += 1
        if seen[0] >= count:
            done.set()

    mgr = Manager()
    mgr.register_event("*", on_event)
    mgr.connect("127.0.0.1", srv.port)
    mgr.login("bench", "x")
    srv.go.set()
    if not done.wait(600):
        raise SystemExit(f"pyst2: only {seen[0]} of {count} events")
    elapsed = time.perf_counter() - srv.started
    return count, len(srv.payload), elapsed


def bench_originate(count):
    with tempfile.TemporaryDirectory() as tmp:
        scenario = Path(tmp) / "instant.yaml"
        scenario.write_text("default: {outcome: answer, ring: 0, talk: 0}\n")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        sim = subprocess.Popen([sys.executable, "-m", "dialer.pbxsim", "--port", str(port), "--quiet",
                                "--scenario", str(scenario), "--channelvars", "DIALER_ID,DIALER_CAMPAIGN"])
        try:
            for _ in range(100):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.05)
            q = queue.SimpleQueue()
            link = ami.AmiLink("127.0.0.1", port, "dialer", "1234", q, backoff=(0.05, 0.5)).start()
            if not link.wait_connected(10):
                raise SystemExit("dialer-pbxsim did not accept the login")
            hungup = threading.Event()
            seen = [0, 0]

            def consume():
                while seen[1] < count:
                    item = q.get()
                    if isinstance(item, ami.Message):
                        seen[0] += 1
                        seen[1] += item.name == "Hangup"
                hungup.set()

            threading.Thread(target=consume, daemon=True).start()
            waits = []
            started = time.perf_counter()
            for i in range(count):
                t = time.perf_counter()
                link.originate(f"bench-{i}", {"Channel": f"SIP/{i}@answer", "Application": "Wait",
                                              "Data": "1", "ChannelId": f"bench-{i}-1"},
                               {"DIALER_ID": f"bench:{i}", "DIALER_CAMPAIGN": "bench"})
                waits.append(time.perf_counter() - t)
            sent = time.perf_counter() - started
            hungup.wait(120)
            link.stop()
        finally:
            sim.terminate()
            sim.wait(10)
    waits.sort()
    return count, sent, seen[0], waits[len(waits) // 2], waits[int(len(waits) * 0.99)]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--events", type=int, default=100_000)
    p.add_argument("--slow-events", type=int, default=10_000, help="events for the one-byte runs")
    p.add_argument("--originates", type=int, default=5_000)
    args = p.parse_args()
    print(f"# {platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs, "
          f"{platform.machine()}, pyst2 0.5.1")
    print(f"{'client':<10} {'events':>8} {'MB':>7} {'seconds':>8} {'events/s':>10}")
    for name, fn in (("link", lambda: bench_link(args.events, connection.READ_BUFFER)),
                     ("link-1b", lambda: bench_link(args.slow_events, 1)),
                     ("pyst2", lambda: bench_pyst2(args.slow_events))):
        n, size, secs = fn()
        print(f"{name:<10} {n:>8} {size / 1e6:>7.1f} {secs:>8.2f} {n / secs:>10.0f}", flush=True)
    n, secs, events, p50, p99 = bench_originate(args.originates)
    print(f"\noriginate round trips against dialer-pbxsim: {n} in {secs:.2f}s = {n / secs:.0f}/s "
          f"({events} events received meanwhile); wait p50 {p50 * 1e3:.2f} ms, p99 {p99 * 1e3:.2f} ms")


if __name__ == "__main__":
    main()
