"""Outages and crashes mid-campaign lose nothing and dial nothing twice at once.

Real processes only: `dialer --service`, dialer-pbxsim (its fault controls stand in for an AMI
drop, an Asterisk restart and crash), MariaDB behind a real TCP proxy that is cut (a database
restart), and kill -9 of the dialer itself."""
import collections
import os
import signal
import time

import pytest

from dialer import codes

pytestmark = pytest.mark.slow


def answered(talk=1.0):
    return {"seed": 3, "default": {"outcome": "answer", "ring": 0.05, "talk": talk, "status": 12}}


def all_attempted(env, n=1):
    rows = env.leads()
    return rows if rows and all(r["attempts"] >= n and r["owner"] is None for r in rows.values()) else None


def dialled_counts(*sims):
    return collections.Counter(r["number"] for sim in sims for r in sim.records() if "channelid" in r)


def assert_each_dialled_once(env, leads, *sims, exact=True):
    """No number twice (nor two at once); exact: every lead reached the PBX."""
    sims = sims or (env.sim,)
    counts = dialled_counts(*sims)
    if exact:
        assert set(counts) == set(leads)
    else:
        # An Originate sent as the PBX crashes never reaches it; the lead still gets a result.
        assert set(counts) <= set(leads) and len(counts) >= len(leads) - 5
    assert max(counts.values()) == 1, [n for n, c in counts.items() if c > 1]
    for sim in sims:
        assert not sim.overlapping_numbers()


@pytest.mark.parametrize("fault", ["drop", "restart", "crash"])
def test_ami_faults_mid_campaign(dial, fault):
    leads = [f"7{i:04d}" for i in range(30)]
    env = dial(answered(talk=1.0), leads=leads, campaign="maxlines=5\nmaxcaps=5\n")
    proc = env.service()
    env.wait_for(lambda: env.sim.stats()["live_calls"] >= 4, proc=proc, what="calls up")
    live_before = env.sim.stats()["live_calls"]
    if fault == "drop":
        env.sim.fault("drop")
    else:
        env.sim.fault(fault, seconds=1.5)
        env.sim.wait_listening(timeout=20)
    rows = env.wait_for(lambda: all_attempted(env), timeout=90, proc=proc, what="every lead attempted")
    assert env.stop(proc) == 0, env.output(proc)
    # Nothing dialled twice, every lead has a final result, nothing left claimed.
    assert_each_dialled_once(env, leads, exact=fault != "crash")
    assert all(r["owner"] is None and r["state"] == 3 for r in rows.values())
    lost = [r for r in rows.values() if r["disposition"] != 12]
    # Only calls that were up at the fault may have lost their answer: with a drop they stay
    # up in Asterisk and are re-adopted; a restart hangs them up (recorded from the Hangup
    # events); a crash takes them away with no event (Undefined, then Burned: attempts=1).
    assert len(lost) <= live_before + 1, lost
    if fault == "drop":
        assert not lost, [(r["phone"], r["disposition"], r["reason"], r["pickups"]) for r in lost]
    for r in lost:
        assert r["disposition"] in (codes.BURNED, codes.UNDEFINED, 12) or r["pickups"] == 1, r


@pytest.mark.parametrize("backend", ["mysql"])
def test_database_outage_buffers_results_and_writes_them_back(dial, tcpproxy, mysql_db, backend):
    proxy = tcpproxy(mysql_db["host"], mysql_db["port"])
    leads = [f"8{i:04d}" for i in range(20)]
    env = dial(answered(talk=1.5), leads=leads, campaign="maxlines=5\nmaxcaps=5\n",
               general=f"mysqlport={proxy.port}\n")
    proc = env.service()
    env.wait_for(lambda: env.sim.stats()["live_calls"] >= 4, proc=proc, what="calls up")
    proxy.cut()
    # The calls up at the cut end while the database is away; their results are buffered.
    env.wait_for(lambda: env.sim.stats()["live_calls"] == 0, timeout=20, proc=proc, what="live calls ended")
    n_during = len(env.sim.records())
    journal = [p for p in os.listdir(env.tmp) if p.startswith("journal-")]
    assert journal, "results are journaled on disk while the database is down"
    # No new call is placed while the database is down.
    time.sleep(1.5)
    assert len(env.sim.records()) == n_during
    proxy.restore()
    rows = env.wait_for(lambda: all_attempted(env), timeout=90, proc=proc, what="every lead attempted")
    assert env.stop(proc) == 0, env.output(proc)
    assert_each_dialled_once(env, leads)
    assert all(r["disposition"] == 12 and r["pickups"] == 1 for r in rows.values()), rows
    out = env.output(proc)
    assert out.count("database unavailable") == 1, out
    assert not [p for p in os.listdir(env.tmp) if p.startswith("journal-")]


@pytest.mark.parametrize("backend", ["mysql"])
def test_buffered_results_survive_a_restart_of_the_dialer(dial, tcpproxy, mysql_db, backend):
    proxy = tcpproxy(mysql_db["host"], mysql_db["port"])
    leads = [f"81{i:03d}" for i in range(5)]
    env = dial(answered(talk=1.0), leads=leads, campaign="maxlines=5\n", general=f"mysqlport={proxy.port}\n")
    proc = env.service()
    env.wait_for(lambda: env.sim.stats()["live_calls"] == 5, proc=proc, what="calls up")
    proxy.cut()
    env.wait_for(lambda: env.sim.stats()["live_calls"] == 0, timeout=20, proc=proc, what="calls ended")
    assert env.stop(proc) == 0, env.output(proc)       # stops with 5 results only in the journal
    proxy.restore()
    proc = env.service()
    rows = env.wait_for(lambda: all_attempted(env), timeout=60, proc=proc, what="journal written back")
    assert env.stop(proc) == 0
    assert all(r["disposition"] == 12 for r in rows.values()), rows
    assert_each_dialled_once(env, leads)


def test_kill_9_then_restart_readopts_live_calls(dial):
    leads = [f"9{i:04d}" for i in range(10)]
    env = dial(answered(talk=4.0), leads=leads, campaign="maxlines=5\nmaxcaps=5\n")
    proc = env.service()
    env.wait_for(lambda: env.sim.stats()["live_calls"] == 5, proc=proc, what="5 calls up")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    held = [r for r in env.leads().values() if r["owner"] is not None]
    assert len(held) == 5                 # claimed, in progress, owned by the dead dialer
    proc = env.service()
    rows = env.wait_for(lambda: all_attempted(env), timeout=60, proc=proc, what="every lead attempted")
    assert env.stop(proc) == 0, env.output(proc)
    assert_each_dialled_once(env, leads)
    # The 5 calls were still up in Asterisk: re-adopted and finished normally.
    assert all(r["disposition"] == 12 for r in rows.values()), rows
    assert "re-adopted" in env.output(proc)


@pytest.mark.parametrize("backend", ["mysql"])
def test_three_dialers_share_one_database_without_double_dialling(dial, pbxsim, backend):
    leads = [f"6{i:04d}" for i in range(150)]
    envs = [dial(answered(talk=0.2), campaign="maxlines=5\nmaxcaps=5\n", general=f"instance=node{k}\n",
                 tag=f"-{k}") for k in range(3)]
    envs[0].load(leads)
    procs = [e.service() for e in envs]
    rows = envs[0].wait_for(lambda: all_attempted(envs[0]), timeout=120, what="every lead attempted")
    for e, p in zip(envs, procs):
        assert e.stop(p) == 0, e.output(p)
    assert_each_dialled_once(envs[0], leads, *(e.sim for e in envs))
    assert all(r["disposition"] == 12 for r in rows.values())
    # All three dialled.
    assert all(len(e.sim.records()) > 0 for e in envs)


def test_sigterm_drains_live_calls_and_leaves_the_rest_untouched(dial):
    leads = [f"5{i:04d}" for i in range(20)]
    env = dial(answered(talk=1.5), leads=leads, campaign="maxlines=3\nmaxcaps=3\n")
    proc = env.service()
    env.wait_for(lambda: env.sim.stats()["live_calls"] == 3, proc=proc, what="calls up")
    assert env.stop(proc) == 0, env.output(proc)
    rows = env.leads()
    called = [r for r in rows.values() if r["attempts"]]
    assert 3 <= len(called) < len(leads)
    assert all(r["disposition"] == 12 and r["owner"] is None for r in called), called
    assert all(r["disposition"] == codes.NOT_YET_CALLED for r in rows.values() if not r["attempts"])
    assert env.sim.stats()["live_calls"] == 0


def test_lead_left_at_its_last_attempt_by_a_crashed_dialer_is_burned(dial, pbxsim):
    """Another dialer's automatic recovery applies the same -8 rule as `dialer -a repare`: a
    lead left in progress at its last allowed attempt (kill -9 during the call) is final."""
    sim = pbxsim(scenario=answered(talk=0.5))
    crashed = dial(sim=sim, leads=["4001", "4002"], campaign="attempts=1\n",
                   general="instance=nodea\nleaseseconds=1\n", tag="-a")
    proc = crashed.service()
    crashed.wait_for(lambda: sim.stats()["live_calls"] == 2, proc=proc, what="2 calls up")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # The calls end with nobody listening, and the dead dialer's lease runs out.
    crashed.wait_for(lambda: sim.stats()["live_calls"] == 0, what="calls ended")
    crashed.wait_for(lambda: all(r["owner"] == "nodea" for r in crashed.leads().values()), what="held")
    time.sleep(2.5)
    other = dial(sim=sim, campaign="attempts=1\n", general="instance=nodeb\n", tag="-b")
    out = other.run()
    assert "released 2 lead(s) left in progress by a crashed dialer" in out.stderr, out.stderr
    rows = other.leads()
    got = {p: (r["disposition"], r["state"], r["owner"]) for p, r in rows.items()}
    assert got == {p: (codes.BURNED, 3, None) for p in ("4001", "4002")}, got


def test_calls_up_at_the_drain_timeout_with_the_ami_gone_are_recorded_and_released(dial):
    """Stop with calls that never end while their Asterisk is gone: at the drain timeout they
    are recorded -1 (here -8: their last attempt) and released; the summary, the table and the
    next start agree."""
    leads = ["2101", "2102", "2103"]
    env = dial(answered(talk=60), leads=leads, campaign="maxlines=3\nattempts=1\n", general="drainseconds=1\n")
    proc = env.service()
    env.wait_for(lambda: env.sim.stats()["live_calls"] == 3, proc=proc, what="calls up")
    env.sim.fault("crash", seconds=8)           # Asterisk gone, with its AMI, for longer than the drain
    env.wait_for(lambda: "AMI connection lost" in env.output(proc), proc=proc, what="the AMI lost")
    assert env.stop(proc) == 0, env.output(proc)
    out = env.output(proc)
    assert "drain timeout: hanging up 3 live call(s)" in out, out
    assert "Burned (We give up) (-8): 3" in out, out
    rows = env.leads()
    assert all((r["disposition"], r["state"], r["owner"]) == (codes.BURNED, 3, None) for r in rows.values()), rows
    assert all(r["reason"] == "Stopped during the call: drain timeout" for r in rows.values()), rows
    env.sim.wait_listening(timeout=20)
    again = env.run()
    assert again.returncode == 0, again.stderr
    assert "released" not in again.stderr and "not written" not in again.stderr, again.stderr
    assert env.leads() == rows


def test_calls_lost_with_asterisk_end_when_the_connection_was_lost(dial):
    """Asterisk crashes with calls up (no Hangup ever comes): each call ends at the moment the
    link was lost, not at the resync after the reconnection, and says why."""
    leads = ["2201", "2202", "2203"]
    env = dial(answered(talk=60), leads=leads, campaign="maxlines=3\nattempts=1\n")
    proc = env.service()
    env.wait_for(lambda: env.sim.stats()["live_calls"] == 3, proc=proc, what="calls up")
    env.sim.fault("crash", seconds=6)           # the resync comes 6 s or more after the loss
    rows = env.wait_for(lambda: all_attempted(env), timeout=60, proc=proc, what="every lead recorded")
    assert env.stop(proc) == 0, env.output(proc)
    for r in rows.values():
        assert r["cause"] == "Asterisk connection lost", r
        assert r["disposition"] == 12 or r["reason"] == "Asterisk connection lost", r
        assert r["duration"] <= 3, r
