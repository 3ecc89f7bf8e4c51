"""TrunkGuard: the breakers as the engine uses them, with what operators see (log lines,
metrics, the state file of statistics/explain), on a manual clock."""
import logging

from prometheus_client import generate_latest

from dialer import config, trunkhealth as th, trunkstate
from dialer.metrics import Metrics
from dialer.trunkguard import TrunkGuard
from tests.plugins.ops import sample_value


class Clock:
    def __init__(self):
        self.t = 1_800_000_000.0

    def __call__(self):
        return self.t


def _guard(tmp_path, text="trunkfailures=3\ntrunkbackoff=10\ntrunkprobes=1\n"):
    general = config.loads(f"[general]\nstatedir={tmp_path}\ninstance=d1\n{text}[default]\n").general
    clock, metrics = Clock(), Metrics()
    guard = TrunkGuard(general, clock=clock, metrics=metrics, rng=lambda: 0.5)
    guard.configure(general, ["carrier", "backup"])
    return guard, clock, metrics


def _state(metrics, trunk="carrier"):
    return sample_value(generate_latest(metrics.registry).decode(), "dialer_trunk_state", trunk=trunk)


def test_outage_logged_once_per_change_metrics_state_file(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="dialer.trunks")
    guard, clock, metrics = _guard(tmp_path)
    assert _state(metrics) == 0 and _state(metrics, "backup") == 0 and guard.room("carrier") is None
    settled = []
    for i in range(5):
        settled += guard.finished("carrier", th.NO_CHANNEL, f"lead{i}", "SIP/%s@nope")
    assert settled == [(f"lead{i}", False) for i in range(5)]
    assert guard.room("carrier") == 0 and guard.room("backup") is None
    out = generate_latest(metrics.registry).decode()
    assert _state(metrics) == 2
    assert sample_value(out, "dialer_trunk_failures_total", trunk="carrier", kind="no_channel") == 5
    assert sample_value(out, "dialer_trunk_uncounted_total", trunk="carrier") == 5
    assert "trunk carrier open (3 consecutive trunk failures" in guard.status()
    (entry,) = trunkstate.load(tmp_path)
    assert (entry["trunk"], entry["state"], entry["instance"]) == ("carrier", "open", "d1")
    # Backoff over: half-open, one probe, it succeeds, closed.
    clock.t += 10
    assert guard.poll() == [] and guard.room("carrier") == 1 and _state(metrics) == 1
    guard.dialled("carrier")
    assert guard.room("carrier") == 0
    assert guard.finished("carrier", th.HEALTHY, "probe") == [("probe", True)]
    assert _state(metrics) == 0 and guard.status() == "" and trunkstate.load(tmp_path) == []
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 4, lines
    assert lines[0].startswith("trunk carrier: a call failed on the trunk side (Asterisk created no channel")
    assert "SIP/%s@nope" in lines[0]
    assert lines[1].startswith("trunk carrier open: 3 consecutive trunk failures")
    assert lines[2].startswith("trunk carrier half-open") and lines[3].startswith("trunk carrier closed")
    guard.close()


def test_isolated_failure_is_counted_after_the_hold(tmp_path):
    guard, clock, metrics = _guard(tmp_path)
    assert guard.finished("carrier", th.CONGESTION, "a") == []
    assert guard.held() == 1 and guard.held_tokens() == ["a"]
    clock.t += th.HOLD_SECONDS
    assert guard.poll() == [("a", True)] and guard.held() == 0
    assert sample_value(generate_latest(metrics.registry).decode(), "dialer_trunk_uncounted_total", trunk="carrier") == 0


def test_disabled_breaker_settles_everything_at_once(tmp_path):
    guard, clock, metrics = _guard(tmp_path, "trunkbreaker=false\ntrunkfailures=1\n")
    assert guard.finished("carrier", th.NO_CHANNEL, "a") == [("a", True)]
    assert guard.room("carrier") is None and _state(metrics) == 0
    out = generate_latest(metrics.registry).decode()
    assert sample_value(out, "dialer_trunk_failures_total", trunk="carrier", kind="no_channel") == 1


def test_reload_disabling_releases_held_results(tmp_path):
    guard, clock, metrics = _guard(tmp_path)
    guard.finished("carrier", th.NETWORK, "a")
    off = config.loads(f"[general]\nstatedir={tmp_path}\ntrunkbreaker=false\n[default]\n").general
    assert guard.configure(off, ["carrier"]) == [("a", True)]
