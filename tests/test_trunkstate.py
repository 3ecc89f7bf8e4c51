"""Where statistics/explain learn that a running dialer holds a trunk back (dialer/trunkstate.py)."""
import json
import os
import subprocess
import sys

import pytest

from dialer import trunkhealth as th, trunkstate
from tests.conftest import run_dialer


class Clock:
    t = 1_800_000_000.0

    def __call__(self):
        return self.t


def _open_breaker(trunk="carrier"):
    clock = Clock()
    b = th.Breaker(trunk, th.Settings(failures=1, backoff=30, backoffmax=30), clock, lambda: 0.5)
    b.observe(th.NO_CHANNEL, "x", "SIP/1@nope")
    return b


def _dead_pid():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_save_load_and_clear(tmp_path):
    b = _open_breaker()
    closed = th.Breaker("other", th.Settings(), Clock())
    trunkstate.save(tmp_path, "d1", [b, closed], now=Clock.t)
    (entry,) = trunkstate.load(tmp_path)
    assert (entry["instance"], entry["trunk"], entry["state"], entry["alive"]) == ("d1", "carrier", "open", True)
    line = trunkstate.describe(entry)
    assert line.startswith("trunk carrier is open on dialer d1 since 2027-01-15 08:00:00 UTC (1 consecutive")
    assert "SIP/1@nope" in line and "no new calls on it; probe calls at 2027-01-15 08:00:30 UTC" in line
    # Every trunk closed again: the file goes.
    b.state = th.CLOSED
    trunkstate.save(tmp_path, "d1", [b, closed], now=Clock.t)
    assert trunkstate.load(tmp_path) == [] and not os.listdir(tmp_path)
    trunkstate.clear(tmp_path, "d1")
    assert trunkstate.load(None) == [] and trunkstate.for_trunk(tmp_path / "missing", "carrier") == []


def test_a_dead_dialers_file_is_not_a_live_state(tmp_path):
    trunkstate.save(tmp_path, "gone", [_open_breaker()], now=Clock.t, pid=_dead_pid())
    (line,) = trunkstate.for_trunk(tmp_path, "carrier")
    assert "not running any more" in line


def test_unreadable_files_are_skipped(tmp_path):
    (tmp_path / "trunks-bad.json").write_text("{not json")
    (tmp_path / "trunks-odd.json").write_text(json.dumps({"trunks": [1, 2]}))
    trunkstate.save(tmp_path, "d1", [_open_breaker()], now=Clock.t)
    assert [e["instance"] for e in trunkstate.load(tmp_path)] == ["d1"]


@pytest.fixture
def conf(dialer_conf):
    path = dialer_conf("[default]\ntrunk=carrier\n", general={"statedir": dialer_conf.tmp_path / "state"})
    (dialer_conf.tmp_path / "state").mkdir()
    run_dialer("-c", "sales", "-a", "create", config=path, check=0)
    run_dialer("-c", "sales", "-a", "insert", "-p", "0612345678", config=path, check=0)
    return path


def test_statistics_and_explain_say_the_trunk_is_held_back(conf, tmp_path):
    state = tmp_path / "state"
    out = run_dialer("-c", "sales", "-a", "explain", "-p", "0612345678", config=conf, check=0).stdout
    assert "=> dialable now" in out and "trunk" not in out
    trunkstate.save(state, "d1", [_open_breaker(), _open_breaker("elsewhere")], now=Clock.t)
    table = run_dialer("-c", "sales", "-a", "statistics", config=conf, check=0).stdout
    assert "trunk carrier is open on dialer d1" in table and "elsewhere" not in table
    data = json.loads(run_dialer("-c", "sales", "-a", "statistics", "--format", "json", config=conf, check=0).stdout)
    assert [(t["trunk"], t["state"]) for t in data["trunks"]] == [("carrier", "open")]
    out = run_dialer("-c", "sales", "-a", "explain", "-p", "0612345678", config=conf, check=0).stdout
    assert "NO  trunk" in out and "=> not dialable now" in out
    # The dialer that wrote it is gone: shown, but it no longer stops the lead.
    trunkstate.save(state, "d1", [_open_breaker()], now=Clock.t, pid=_dead_pid())
    out = run_dialer("-c", "sales", "-a", "explain", "-p", "0612345678", config=conf, check=0).stdout
    assert "not running any more" in out and "=> dialable now" in out
