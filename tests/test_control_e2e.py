"""Pause and resume end to end: the real `dialer --service`, a real dialer-pbxsim over TCP, the
`dialer -a pause/resume` commands, SQLite and MariaDB. Assertions come from pbxsim's record,
the campaign table, the metrics endpoint, the STATUS= messages, `statistics` and the heartbeats.

"No new call while paused" is checked over engine iterations (its own counter), not time."""
import time

import pytest

from dialer import __version__, codes
from tests.plugins.ops import free_port, sample_value, scrape
from tests.test_engine_recovery import all_attempted

pytestmark = pytest.mark.slow

SLOW_ANSWER = {"seed": 5, "default": {"outcome": "answer", "ring": 1.0, "talk": 1.0, "status": 12}}
LINES = "timeout=10000\nmaxlines={0}\nmaxcaps={0}\n"
# Loop iterations with lines free and leads dialable that must start no call.
QUIET_ITERATIONS = 30


def metric(port, name, **labels):
    return sample_value(scrape("127.0.0.1", port)[1], name, **labels)


def iterations(port):
    return metric(port, "dialer_engine_iteration_duration_seconds_count")


def metrics_keys(port):
    return f"metricsport={port}\nmetricsaddress=127.0.0.1\n"


def heartbeat_states(env):
    st = env.store()
    try:
        return {b["instance"]: b for b in st.heartbeats()}
    finally:
        st.close()


def started_between(sim, t0, t1):
    return [r for r in sim.records() if t0 < r["start"] < t1]


def test_a_pause_stops_a_running_dialer_live_calls_finish_and_resume_finishes_the_campaign(dial, fake_systemd):
    leads = [f"50{i:02d}" for i in range(12)]
    port = free_port()
    env = dial(SLOW_ANSWER, leads=leads, campaign=LINES.format(3), general=metrics_keys(port))
    proc = env.service(env=dict(env.env(), **fake_systemd.env()))
    env.wait_for(lambda: env.sim.stats()["live_calls"] == 3, proc=proc, what="three calls up")
    out = env.cli("-c", env.name, "-a", "pause", env={"SUDO_USER": "alice"}).stdout
    assert out.startswith("campaign camp paused by alice"), out
    env.wait_for(lambda: metric(port, "dialer_campaign_paused", campaign="camp") == 1, proc=proc,
                 what="the pause taking effect")
    t_paused = time.time()
    started = metric(port, "dialer_attempts_started_total", campaign="camp")
    env.wait_for(lambda: env.sim.stats()["live_calls"] == 0, proc=proc, what="the live calls ending")
    n = iterations(port)
    env.wait_for(lambda: iterations(port) >= n + QUIET_ITERATIONS, proc=proc, what="more iterations")
    assert metric(port, "dialer_attempts_started_total", campaign="camp") == started
    # One node, named after its host (no `instance` set); its heartbeat comes every 5 s.
    beat = env.wait_for(lambda: [b for b in heartbeat_states(env).values()
                                 if b["campaigns"]["camp"]["state"].startswith("paused by alice since ")],
                        proc=proc, what="a heartbeat saying paused")[0]
    assert (beat["ami"], beat["db"], beat["version"]) == ("synced", "up", __version__)
    stats = env.cli("-c", env.name, "-a", "statistics").stdout
    assert "paused by alice since" in stats
    statuses = [m.get("STATUS", "") for m in fake_systemd.messages()]
    assert any(s.endswith("; camp paused by alice") for s in statuses), statuses
    t_resume = time.time()
    assert "resumed" in env.cli("-c", env.name, "-a", "resume").stdout
    rows = env.wait_for(lambda: all_attempted(env), proc=proc, timeout=90, what="the campaign finishing")
    assert metric(port, "dialer_campaign_paused", campaign="camp") == 0
    assert env.stop(proc) == 0
    # pbxsim's record: nothing started between the pause taking effect and the resume; the
    # calls up at the pause ended answered like every other; each lead called once.
    assert started_between(env.sim, t_paused, t_resume) == []
    recs = env.sim.wait_records(len(leads))
    assert sorted(r["number"] for r in recs) == leads and all(r.get("outcome") == "answer" for r in recs)
    assert len([r for r in recs if r["start"] < t_paused]) == started
    assert all((r["disposition"], r["attempts"]) == (codes.SALE, 1) for r in rows.values()), rows
    log = env.output(proc)
    assert "camp: paused by alice; no new calls" in log and "camp: resumed" in log
    assert heartbeat_states(env)[beat["instance"]]["status"] == "stopped"


@pytest.mark.parametrize("backend", ["mysql"])
def test_one_pause_stops_two_dialers_sharing_the_database(dial, backend):
    leads = [f"51{i:02d}" for i in range(24)]
    ports = [free_port(), free_port()]
    envs = [dial(SLOW_ANSWER, campaign=LINES.format(2), tag=f"-{k}",
                 general=f"instance=node{k}\n" + metrics_keys(ports[k])) for k in range(2)]
    envs[0].load(leads)
    procs = [e.service() for e in envs]
    for e, p in zip(envs, procs):
        e.wait_for(lambda: e.sim.stats()["live_calls"] == 2, proc=p, what="calls up on both nodes")
    envs[1].cli("-c", "camp", "-a", "pause", env={"SUDO_USER": "bob"})
    for e, p, port in zip(envs, procs, ports):
        e.wait_for(lambda: metric(port, "dialer_campaign_paused", campaign="camp") == 1, proc=p,
                   what="the pause taking effect on both nodes")
    t_paused = time.time()
    for e, p, port in zip(envs, procs, ports):
        e.wait_for(lambda: e.sim.stats()["live_calls"] == 0, proc=p, what="the live calls ending")
        n = iterations(port)
        e.wait_for(lambda: iterations(port) >= n + QUIET_ITERATIONS, proc=p, what="more iterations")
    beats = envs[0].wait_for(lambda: (b := heartbeat_states(envs[0])).keys() == {"node0", "node1"} and all(
        x["campaigns"]["camp"]["state"].startswith("paused by bob") for x in b.values()) and b, what="heartbeats")
    assert {b["host"] for b in beats.values()} and all(b["db"] == "up" for b in beats.values())
    nodes = envs[0].cli("-a", "nodes").stdout
    assert "node0" in nodes and "node1" in nodes and "camp paused by bob" in nodes, nodes
    t_resume = time.time()
    envs[0].cli("-c", "camp", "-a", "resume")
    rows = envs[0].wait_for(lambda: all_attempted(envs[0]), timeout=120, what="the campaign finishing")
    for e, p in zip(envs, procs):
        assert e.stop(p) == 0, e.output(p)
        assert started_between(e.sim, t_paused, t_resume) == []
        assert [r for r in e.sim.records() if r["start"] > t_resume], "both nodes dial again after the resume"
    assert sorted(r["number"] for e in envs for r in e.sim.records()) == leads
    assert all(r["disposition"] == codes.SALE for r in rows.values())
