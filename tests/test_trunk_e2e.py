"""Trunk health and the per-outcome retry policy end to end: the real `dialer`, a real
dialer-pbxsim over TCP, SQLite and MariaDB. Assertions come from the campaign table, pbxsim's
record, the dialer's log, its metrics endpoint and its STATUS= messages."""
import re

import pytest

from dialer import codes
from tests.plugins.ops import free_port, sample_value, scrape

pytestmark = pytest.mark.slow

BREAKER = "trunkfailures=4\ntrunkbackoff=0.5\ntrunkbackoffmax=1\ntrunkprobes=1\n"


def _settled(env, n):
    rows = env.leads()
    return rows if len(rows) == n and all(r["owner"] is None and r["attempts"] >= 1 for r in rows.values()) else None


def _changes(text):
    """The breaker's state-change lines of a log, in order, as (trunk, state)."""
    return re.findall(r"trunk (\S+) (open|half-open|closed): ", text)


def test_outage_then_recovery_burns_nothing_and_resumes_by_itself(dial, fake_systemd):
    leads = [f"70{i:02d}" for i in range(30)]
    port = free_port()
    env = dial({"default": {"outcome": "answer", "ring": 0.05, "talk": 0.1},
                "rules": [{"until": 3, "outcome": "congestion"}]}, leads=leads,
               campaign="maxlines=2\nmaxcaps=1\n",
               general=f"metricsport={port}\nmetricsaddress=127.0.0.1\nloopms=100\n" + BREAKER)
    proc = env.service(env=dict(env.env(), **fake_systemd.env()))
    statuses = []
    rows = env.wait_for(lambda: statuses.extend(fake_systemd.messages()) or _settled(env, len(leads)),
                        proc=proc, timeout=90, what="every lead called")
    text = scrape("127.0.0.1", port)[1]
    assert env.stop(proc) == 0
    log = env.output(proc)
    # 0 leads burned: every lead answered, and the outage's attempts did not count.
    for phone, row in rows.items():
        assert (row["disposition"], row["attempts"]) == (12, 1), (phone, row)
    recs = [r for r in env.sim.records() if "outcome" in r]
    failed = [r for r in recs if r["outcome"] == "congestion"]
    assert len(failed) >= 4 and len(recs) == len(leads) + len(failed)
    # Opened at the threshold; each state change logged once; closed by a probe; dialling resumed.
    changes = _changes(log)
    assert changes[0] == ("SIP", "open") and changes[-1] == ("SIP", "closed"), log
    assert all(a != b for a, b in zip(changes, changes[1:])), changes
    assert "trunk SIP open: 4 consecutive trunk failures" in log
    assert [s for _, s in changes].count("closed") == 1
    # Visible in metrics and STATUS.
    assert sample_value(text, "dialer_trunk_state", trunk="SIP") == 0
    assert sample_value(text, "dialer_trunk_failures_total", trunk="SIP", kind="congestion") == len(failed)
    assert sample_value(text, "dialer_trunk_uncounted_total", trunk="SIP") == len(failed)
    assert any("trunk SIP open" in m.get("STATUS", "") for m in statuses), statuses


def test_dialformat_pointing_nowhere_holds_the_trunk_and_counts_nothing(dial):
    leads = [f"71{i:02d}" for i in range(8)]
    env = dial({"rules": [{"peer": "nope", "outcome": "nochannel"}]}, leads=leads,
               campaign="dialformat=SIP/%s@nope\ntrunk=nowhere\nmaxcaps=2\n",
               general="trunkfailures=3\ntrunkbackoff=1\ntrunkbackoffmax=2\ntrunkprobes=1\n")
    proc = env.service()
    env.wait_for(lambda: "trunk nowhere half-open" in env.output(proc), proc=proc, timeout=60,
                 what="the trunk to open and probe")
    stats = env.cli("-c", env.name, "-a", "statistics").stdout
    explain = env.cli("-c", env.name, "-a", "explain", "-p", leads[0]).stdout
    env.wait_for(lambda: len([r for r in env.sim.records() if "outcome" in r]) >= 5, proc=proc, timeout=60,
                 what="a failed probe")
    assert env.stop(proc) == 0
    log = env.output(proc)
    rows = env.leads()
    assert all(r["attempts"] == 0 and r["disposition"] == codes.NOT_YET_CALLED for r in rows.values()), rows
    tried = {r["number"] for r in env.sim.records()}
    assert all(rows[p]["reason"] == "trunk failure: not counted" for p in tried)
    # Reported at the first failure, with the dial string; then one line per change.
    first = next(line for line in log.splitlines() if "failed on the trunk side" in line)
    assert "SIP/%s@nope" in first and "Asterisk created no channel" in first
    assert log.count("failed on the trunk side") == 1
    changes = _changes(log)
    assert changes[:2] == [("nowhere", "open"), ("nowhere", "half-open")]
    assert all(a != b for a, b in zip(changes, changes[1:])), changes
    assert "trunk nowhere is open on dialer" in stats or "trunk nowhere is half-open on dialer" in stats
    assert "NO  trunk" in explain and "=> not dialable now" in explain


def test_per_outcome_delays_and_limits(dial):
    busy, noanswer = ["7201", "7202"], ["7301", "7302"]
    env = dial({"default": {"outcome": "busy"}, "rules": [{"prefix": "73", "outcome": "noanswer"}]},
               leads=busy + noanswer,
               campaign="attempts=2\nattemptsdelay=0\nretry=busy:1 noanswer:3\nmaxretries=busy:3\n")
    env.run(timeout=120)
    rows = env.leads()
    calls = {}
    for r in sorted((r for r in env.sim.records() if "outcome" in r), key=lambda r: r["start"]):
        calls.setdefault(r["number"], []).append(r)
    for phone, want, gap in [(p, 3, 1) for p in busy] + [(p, 2, 3) for p in noanswer]:
        row = rows[phone]
        assert (row["attempts"], row["disposition"]) == (want, codes.BURNED), (phone, row)
        assert len(calls[phone]) == want, phone
        for prev, nxt in zip(calls[phone], calls[phone][1:]):
            # The store works in whole seconds: allow the rounding of the end time.
            assert nxt["start"] - prev["end"] >= gap - 1, (phone, prev, nxt)
            assert nxt["start"] - prev["start"] >= gap, (phone, prev, nxt)


def test_an_original_config_still_burns_on_failures_below_the_threshold(dial):
    """Default breaker settings: a few congested numbers among answered ones are recorded and
    burned exactly as the original dialer does."""
    leads = [f"74{i:02d}" for i in range(12)]
    env = dial({"default": {"outcome": "answer", "ring": 0.05, "talk": 0.1},
                "rules": [{"number": "^74(02|05|09)$", "outcome": "congestion"}]}, leads=leads,
               campaign="maxlines=1\n")
    env.run(timeout=120)
    rows = env.leads()
    for phone, row in rows.items():
        want = codes.BURNED if phone in ("7402", "7405", "7409") else 12
        assert (row["disposition"], row["attempts"]) == (want, 1), (phone, row)
    assert rows["7405"]["cause"] == "Circuit/channel congestion"
