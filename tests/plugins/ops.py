"""Operations fixtures and helpers (also for the daemon lifecycle / end-to-end tests).

Fixtures:
    promtool, systemd_analyze   paths of the tools; `make test` installs them (mk/ops.mk), a
                                missing tool fails the test with the command that installs it
    fake_systemd                a bound AF_UNIX datagram socket standing in for systemd's
                                notification socket: .path, .env(watchdog_usec=None) (the
                                variables to give the daemon), .messages() (what arrived so far,
                                each datagram a dict), .wait_for(key, value=None, timeout=30)
Helpers:
    free_port(host), scrape(host, port) -> (content type, text), parse_exposition(text),
    sample_value(text, name, **labels), promtool_check_metrics(promtool, text) -> output,
    metrics_used() -> {where: set of metric names} used by the alert rules and the dashboard,
    exercise(metrics) calls every Metrics method.
"""
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent.parent
RULES = ROOT / "monitoring" / "prometheus" / "dialer-alerts.yml"
DASHBOARD = ROOT / "monitoring" / "grafana" / "dashboards" / "dialer.json"

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def _tool(cmd, package):
    path = shutil.which(cmd)
    if path is None:
        pytest.fail(f"{cmd} not found; run `make test` or `apt-get install {package}`")
    return path


@pytest.fixture(scope="session")
def promtool():
    return _tool("promtool", "prometheus")


@pytest.fixture(scope="session")
def systemd_analyze():
    return _tool("systemd-analyze", "systemd")


def free_port(host="127.0.0.1"):
    """A TCP port nobody listens on right now (the kernel's pick, released at once)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def scrape(host, port, path="/metrics", timeout=10):
    """GET the exposition over HTTP as Prometheus would; returns (content-type, text)."""
    url = f"http://[{host}]:{port}{path}" if ":" in host else f"http://{host}:{port}{path}"
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return resp.headers.get("Content-Type", ""), resp.read().decode("utf-8")


def parse_exposition(text):
    """{sample name: [labels dict, ...]} of a text exposition (comments skipped)."""
    samples = {}
    for line in text.splitlines():
        m = _SAMPLE.match(line)
        if not m:
            continue
        labels = dict(_LABEL.findall(m.group(2) or ""))
        samples.setdefault(m.group(1), []).append(labels)
    return samples


def sample_value(text, name, **labels):
    """The value of the one sample `name{labels}` (exact label set), or None if absent."""
    want = {k: str(v) for k, v in labels.items()}
    for line in text.splitlines():
        m = _SAMPLE.match(line)
        if m and m.group(1) == name and dict(_LABEL.findall(m.group(2) or "")) == want:
            return float(line.rsplit(None, 1)[1])
    return None


def exercise(metrics, campaigns=("sales", "support")):
    """Call every method the engine uses, so that every series the daemon can expose exists."""
    from dialer.codes import OUTCOME_CLASSES
    for i, name in enumerate(campaigns):
        metrics.add_campaign(name, 10 + i)
        metrics.set_window_open(name, True)
        metrics.set_campaign_paused(name, i == 1)
        metrics.set_leads(name, dialable=40, waiting=5, final=3)
        metrics.set_calls_live(name, 2)
        for outcome in OUTCOME_CLASSES:
            metrics.attempt_started(name)
            answered = outcome == "answered"
            metrics.attempt_finished(name, 12 if answered else -1, outcome,
                                     answer_delay=4.5 if answered else None,
                                     duration=75.0 if answered else None)
    from dialer.trunkhealth import FAILURE_KINDS
    metrics.add_trunk("carrier")
    metrics.set_trunk_state("carrier", "open")
    for kind in FAILURE_KINDS:
        metrics.trunk_failure("carrier", kind)
    metrics.trunk_uncounted("carrier", 3)
    metrics.set_ami_connected(True)
    metrics.set_ami_connected(False)
    metrics.set_ami_connected(True)
    metrics.database_error()
    metrics.set_database_connected(False)
    metrics.set_results_buffered(3)
    metrics.set_database_connected(True)
    metrics.observe_iteration(0.004)
    metrics.config_reloaded(False)
    metrics.config_reloaded(True)
    return metrics


def promtool_check_metrics(promtool, text):
    """promtool's complaints about an exposition ('' when it is clean)."""
    proc = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True)
    out = proc.stdout + proc.stderr
    return out if out or proc.returncode == 0 else f"promtool exit {proc.returncode}"


# -- queries of the alert rules and the dashboard ----------------------------------------------

_METRIC = re.compile(r"\b(dialer_[a-zA-Z0-9_]+|up)\b(?!\s*\()")


def rule_list():
    return [r for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]]


def dashboard():
    return json.loads(DASHBOARD.read_text())


def queries():
    """(where, PromQL, legendFormat) of every alert rule and every dashboard query."""
    out = [(f"alert {r['alert']}", r["expr"], "") for r in rule_list()]
    d = dashboard()
    for p in d["panels"]:
        for t in p.get("targets", []):
            out.append((f"panel {p['title']!r} {t['refId']}", t["expr"], t.get("legendFormat", "")))
    for v in d["templating"]["list"]:
        if v["type"] == "query":
            out.append((f"variable {v['name']}", v["query"], ""))
    return out


def metric_names(expr):
    """Metric names in a PromQL expression (quoted label values such as job="dialer" skipped)."""
    return set(_METRIC.findall(re.sub(r'"[^"]*"', '""', expr)))


def metrics_used():
    """{where: names} of the dialer metrics (and `up`) the rules and the dashboard query."""
    return {where: metric_names(expr) for where, expr, _ in queries()}


def missing_metrics(exposition_text):
    """'where: name' for every metric used by the rules/dashboard that the exposition lacks."""
    exposed = parse_exposition(exposition_text)
    return [f"{where}: {name}" for where, names in metrics_used().items()
            for name in sorted(names) if name != "up" and name not in exposed]


# -- systemd's notification socket ------------------------------------------------------------

class FakeSystemd:
    """The AF_UNIX datagram socket systemd would create for a Type=notify service."""

    def __init__(self, path):
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)

    def env(self, watchdog_usec=None):
        """Environment variables for the daemon (WATCHDOG_PID is left unset: any pid pings)."""
        env = {"NOTIFY_SOCKET": self.path}
        if watchdog_usec is not None:
            env["WATCHDOG_USEC"] = str(int(watchdog_usec))
        return env

    def _receive(self, timeout):
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536)
        except (BlockingIOError, socket.timeout):
            return None
        return dict(line.split("=", 1) for line in data.decode("latin-1").split("\n") if "=" in line)

    def messages(self):
        """Every datagram received and not yet returned, each as a dict of its assignments."""
        out = []
        while (msg := self._receive(0)) is not None:
            out.append(msg)
        return out

    def wait_for(self, key, value=None, timeout=30):
        """Block until a datagram sets key (to value, if given); returns every datagram
        received up to and including it. Fails the test after timeout seconds."""
        deadline = time.monotonic() + timeout
        got = []
        while (left := deadline - time.monotonic()) > 0:
            msg = self._receive(left)
            if msg is None:
                break
            got.append(msg)
            if key in msg and (value is None or msg[key] == value):
                return got
        pytest.fail(f"no {key}{'=' + value if value else ''} from the daemon within {timeout} s; got {got}")

    def close(self):
        self.sock.close()


@pytest.fixture
def fake_systemd():
    # Not under tmp_path: a UNIX socket path must stay under 108 bytes.
    folder = tempfile.mkdtemp(prefix="dialer-sd-")
    fake = FakeSystemd(os.path.join(folder, "notify"))
    yield fake
    fake.close()
    shutil.rmtree(folder, ignore_errors=True)
