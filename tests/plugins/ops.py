"""Operations fixtures: promtool, systemd-analyze, free ports, metric names of an exposition.

`make test` installs the tools (mk/ops.mk); a missing tool fails the test with the command
that installs it, never skips it.
"""
import re
import shutil
import socket
import urllib.request

import pytest

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
        metrics.set_leads(name, dialable=40, waiting=5, final=3)
        metrics.set_calls_live(name, 2)
        metrics.set_line_limit(name, 12 + i)
        for outcome in OUTCOME_CLASSES:
            metrics.attempt_started(name)
            answered = outcome == "answered"
            metrics.attempt_finished(name, 12 if answered else -1, outcome,
                                     answer_delay=4.5 if answered else None,
                                     duration=75.0 if answered else None)
    metrics.set_ami_connected(True)
    metrics.set_ami_connected(False)
    metrics.set_ami_connected(True)
    metrics.database_error()
    metrics.set_database_connected(False)
    metrics.set_results_buffered(3)
    metrics.set_database_connected(True)
    metrics.observe_iteration(0.004)
    with metrics.time_iteration():
        pass
    metrics.config_reloaded(False)
    metrics.config_reloaded(True)
    return metrics
