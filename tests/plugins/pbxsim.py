"""pytest fixture `pbxsim`: the real dialer-pbxsim as a subprocess on a free 127.0.0.1 port.

    def test_x(pbxsim):
        sim = pbxsim(scenario=None, driver="sip", manager_conf=None, **opts)

`pbxsim(...)` is a factory; every simulator it started is stopped at teardown.

Arguments:
    scenario      dict (dumped to YAML), YAML text, a Path to a YAML file, or None (built-in:
                  every call answers after 0.3 s, hangs up after 2 s). See docs/pbxsim.md.
    driver        "sip" (Asterisk 20: SIP/, PJSIP/, Local/) or "pjsip" (Asterisk 22: no SIP/).
    manager_conf  manager.conf text or a Path. None: user `dialer` / secret `1234`,
                  read=call,system,user write=originate,call,reporting,
                  channelvars=DIALER_ID,DIALER_CAMPAIGN,DIALER_STATUS (built-in default).
                  The simulator always listens on 127.0.0.1 and a free port chosen here.
    opts          any CLI option as keyword: channelvars="A,B", authtimeout=0.5,
                  writetimeout=100, auth_fail_delay=0.1, shutdown_delay=0.1 (fixture default
                  0.1; real Asterisk ~1 s), max_channels=N, cps=N, seed=N, banner="...".

Attributes and methods of the returned object:
    host, port, user, secret    where and how to log in (user/secret: the first user of
                                manager_conf, else dialer/1234)
    record_path, control_path   the JSON-lines record and the control socket
    records()                   list of call dicts (dialer.pbxsim.record.load): id, start,
                                actionid, channelid, dialstring, tech, number, peer, variables,
                                timeout, planned, channel, outcome, reason, cause, answer, end,
                                full, status
    wait_records(n, ended=True, timeout=10)   poll until n calls are recorded (and ended)
    max_concurrent(), overlapping_numbers(), concurrent_at(t)   record query helpers
    fault(name, seconds=None, ms=None)   "drop" | "hang" | "resume" | "restart" | "crash" |
                                "writetimeout"; returns after the simulator acknowledged it
    stats()                     dict: live_calls, live_channels, sessions, logged_in, port,
                                hung, listening, originates, events
    wait_listening(timeout=10)  block until the AMI port accepts again (after restart/crash)
    stop()                      SIGTERM and wait (the record is flushed; calls still up are
                                recorded with outcome "stopped"); kill(): SIGKILL
    log()                       the simulator's stderr so far

Also here: fixture `ami_client` (ami_client(sim) -> AmiClient: a raw CRLF AMI client for
protocol tests: .banner, .login(), .action(name, **headers), .send(raw), .read() -> [(k, v)],
.read_until(pred)), `msg_get(msg, key)` and `free_port()`.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import yaml

from dialer.pbxsim import control, record

ROOT = Path(__file__).resolve().parent.parent.parent
DEFAULT_CHANNELVARS = "DIALER_ID,DIALER_CAMPAIGN,DIALER_STATUS"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _first_user(text):
    from dialer.pbxsim import managerconf
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "manager.conf"
        p.write_text(text)
        try:
            conf = managerconf.load(str(p))
        except managerconf.ConfigError:
            return None, None
    for name, u in conf.users.items():
        return name, u.secret
    return None, None


class PbxSim:
    def __init__(self, workdir, scenario=None, driver="sip", manager_conf=None, **opts):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.host = "127.0.0.1"
        self.port = free_port()
        self.user, self.secret = "dialer", "1234"
        self.record_path = self.dir / "record.jsonl"
        # Unix socket paths are limited to 107 bytes; pytest's tmp_path can be longer
        self.control_path = Path(tempfile.mkdtemp(prefix="pbxsim-")) / "ctl"
        self.stderr_path = self.dir / "stderr.log"
        args = [sys.executable, "-m", "dialer.pbxsim", "--bindaddr", self.host,
                "--port", str(self.port), "--record", str(self.record_path),
                "--control", str(self.control_path), "--driver", driver]
        if scenario is not None:
            if isinstance(scenario, Path):
                path = scenario
            else:
                path = self.dir / "scenario.yaml"
                path.write_text(scenario if isinstance(scenario, str) else yaml.safe_dump(scenario))
            args += ["--scenario", str(path)]
        if manager_conf is not None:
            if isinstance(manager_conf, Path):
                text = manager_conf.read_text()
                path = manager_conf
            else:
                text = manager_conf
                path = self.dir / "manager.conf"
                path.write_text(text)
            args += ["--manager-conf", str(path)]
            user, secret = _first_user(text)
            if user is not None:
                self.user, self.secret = user, secret
        else:
            opts.setdefault("channelvars", DEFAULT_CHANNELVARS)
        opts.setdefault("shutdown_delay", 0.1)
        for k, v in opts.items():
            if v is None:
                continue
            args += [f"--{k.replace('_', '-')}", str(v)]
        self.args = args
        self.stderr = open(self.stderr_path, "w")
        self.proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=self.stderr)
        self.wait_listening()

    def log(self):
        return self.stderr_path.read_text()

    def wait_listening(self, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dialer-pbxsim exited with {self.proc.returncode}: {self.log()}")
            try:
                socket.create_connection((self.host, self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"dialer-pbxsim not listening on {self.port} after {timeout}s: {self.log()}")

    def control(self, command):
        text = control.send(self.control_path, command)
        if not text.startswith("ok"):
            raise RuntimeError(f"dialer-pbxsim control {command!r}: {text}")
        return text[2:].strip()

    def fault(self, name, seconds=None, ms=None):
        cmd = f"fault {name}"
        if seconds is not None:
            cmd += f" seconds={seconds}"
        if ms is not None:
            cmd += f" ms={ms}"
        self.control(cmd)

    def stats(self):
        return json.loads(self.control("stats"))

    def records(self):
        return record.load(self.record_path)

    def wait_records(self, n, ended=True, timeout=10.0):
        deadline = time.monotonic() + timeout
        while True:
            recs = self.records()
            ok = [r for r in recs if not ended or "outcome" in r]
            if len(ok) >= n or time.monotonic() > deadline:
                return recs
            time.sleep(0.02)

    def max_concurrent(self):
        return record.max_concurrent(self.records())

    def overlapping_numbers(self):
        return record.overlapping_numbers(self.records())

    def concurrent_at(self, t):
        return record.concurrent_at(self.records(), t)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._cleanup()

    def _cleanup(self):
        self.stderr.close()
        try:
            os.unlink(self.control_path)
        except OSError:
            pass
        try:
            os.rmdir(self.control_path.parent)
        except OSError:
            pass

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._cleanup()


@pytest.fixture
def pbxsim(tmp_path):
    started = []

    def start(scenario=None, driver="sip", manager_conf=None, **opts):
        sim = PbxSim(tmp_path / f"pbxsim{len(started)}", scenario, driver, manager_conf, **opts)
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.stop()


class AmiClient:
    """A raw AMI client for tests: real TCP, CRLF framing, no library in between."""

    def __init__(self, host, port, timeout=10.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""
        self.banner = self._line()

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed")
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line.decode()

    def send(self, text):
        """Raw bytes: `text` uses \\n for CRLF unless it already has \\r\\n."""
        if "\r\n" not in text:
            text = text.replace("\n", "\r\n")
        self.sock.sendall(text.encode())

    def action(self, name, **headers):
        lines = [f"Action: {name}"]
        for k, v in headers.items():
            for item in (v if isinstance(v, list) else [v]):
                lines.append(f"{k}: {item}")
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())

    def read(self):
        """-> next message as a list of (key, value) pairs; EOFError when closed."""
        lines = []
        while True:
            line = self._line()
            if not line:
                if lines:
                    return lines
                continue
            k, _, v = line.partition(":")
            lines.append((k, v[1:] if v.startswith(" ") else v))

    def read_until(self, pred, timeout=10.0):
        """Read messages until pred(msg) is true; -> all messages read (last one matched)."""
        self.sock.settimeout(timeout)
        out = []
        while True:
            m = self.read()
            out.append(m)
            if pred(m):
                return out

    def login(self, user="dialer", secret="1234", events="call,system,user"):
        self.action("Login", Username=user, Secret=secret, Events=events, ActionID="login")
        return self.read()

    def close(self):
        self.sock.close()


def msg_get(msg, key, default=None):
    key = key.lower()
    for k, v in msg:
        if k.lower() == key:
            return v
    return default


@pytest.fixture
def ami_client():
    """Factory: ami_client(sim) -> AmiClient connected to a started pbxsim (closed at teardown)."""
    clients = []

    def connect(sim):
        c = AmiClient(sim.host, sim.port)
        clients.append(c)
        return c

    yield connect
    for c in clients:
        c.close()
