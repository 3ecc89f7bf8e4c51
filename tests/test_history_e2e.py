"""Every attempt of a real campaign in the history exactly once, agreeing with the lead row and
with dialer-pbxsim's record of the calls: retries, a database outage, kill -9 with re-adoption,
kill -9 with `repare`. Real `dialer` processes, real pbxsim over TCP, real databases."""
import collections
import json
import signal
import sqlite3

import pytest

from dialer import codes, config
from dialer.model import campaign_key
from dialer.store.history_schema import COLUMN_NAMES, HISTORY_TABLE

pytestmark = pytest.mark.slow


def history(env):
    st = env.store()
    try:
        rows = st.rows(f"SELECT {', '.join(COLUMN_NAMES)} FROM {st.d.q(HISTORY_TABLE)} WHERE campaign = ? "
                       "ORDER BY id", (env.name,))
        return [dict(zip(COLUMN_NAMES, r)) for r in rows]
    finally:
        st.close()


def settled(env, n=1):
    rows = env.leads()
    return rows if rows and all(r["attempts"] >= n and r["owner"] is None for r in rows.values()) else None


def check_history(env, rows, *sims, released=(), put_back=()):
    """One history row per call pbxsim saw (plus the released attempts that never reached it,
    minus the put-back ones, which do not count), each attempt once, the last one of each lead
    equal to the lead row."""
    hist = history(env)
    calls = {r["channelid"]: r for sim in (sims or (env.sim,)) for r in sim.records()
             if r.get("channelid") and r["channelid"] not in put_back}
    by_cid = collections.Counter(h["channelid"] for h in hist)
    assert max(by_cid.values()) == 1, [c for c, n in by_cid.items() if n > 1]
    assert set(by_cid) == set(calls) | set(released), (set(by_cid) ^ (set(calls) | set(released)))
    for h in hist:
        call = calls.get(h["channelid"])
        assert h["channelid"].startswith(f"d-{campaign_key(env.name)}-{h['lead_id']}-{h['attempt']}-"), h
        if call is None:
            continue
        assert h["phone"] == call["number"]
        assert abs(h["originated_at"] - call["start"]) <= 2, (h, call)
        if call["end"] is not None and h["reason"][:8] != "Released" and h["reason"][:4] != "Lost":
            assert abs(h["ended_at"] - call["end"]) <= 2, (h, call)
            assert bool(h["answered"]) == (call["answer"] is not None), (h, call)
            if call["answer"] is not None:
                assert abs(h["answered_at"] - call["answer"]) <= 2, (h, call)
    by_lead = collections.defaultdict(list)
    for h in hist:
        by_lead[h["lead_id"]].append(h)
    for phone, lead in rows.items():
        mine = sorted(by_lead[lead["id"]], key=lambda h: h["attempt"])
        assert [h["attempt"] for h in mine] == list(range(1, lead["attempts"] + 1)), (phone, mine)
        last = mine[-1]
        assert (last["disposition"], last["reason"], last["cause"], last["duration"], last["result"]) == \
            (lead["disposition"], lead["reason"], lead["cause"], lead["duration"], lead["result"]), (lead, last)
        assert sum(h["answered"] for h in mine) == lead["pickups"]
    return hist


def test_a_campaign_with_retries_every_attempt_once(dial):
    scenario = {"seed": 11, "default": {"outcome": "answer", "ring": 0.05, "talk": 0.3, "status": 12},
                "rules": [{"prefix": "41", "outcome": "busy", "ring": 0.05},
                          {"prefix": "42", "outcome": "noanswer"}]}
    leads = [f"40{i:03d}" for i in range(6)] + [f"41{i:03d}" for i in range(6)] + [f"42{i:03d}" for i in range(3)]
    env = dial(scenario, leads=leads, campaign="attempts=3\nattemptsdelay=0\nmaxlines=6\nmaxcaps=6\ntrunk=T1\n")
    env.run(timeout=120)
    rows = env.leads()
    hist = check_history(env, rows)
    assert len(hist) == 6 + 6 * 3 + 3 * 3
    busy = [h for h in hist if h["phone"].startswith("41")]
    assert sorted(h["disposition"] for h in busy) == [codes.BURNED] * 6 + [codes.BUSY] * 12
    assert {h["trunk"] for h in hist} == {"T1"} and {h["instance"] for h in hist} == {hist[0]["instance"]}
    assert all(h["cause"] == "User busy" and h["causecode"] == 17 for h in busy)
    # What the commands say agrees with pbxsim's record.
    calls = [r for r in env.sim.records() if "outcome" in r]
    got = json.loads(env.cli("-c", env.name, "-a", "history", "-p", "41000", "--format", "json").stdout)
    assert len(got) == 3 == sum(r["number"] == "41000" for r in calls)
    assert [g["attempt"] for g in got] == [1, 2, 3] and got[-1]["disposition"] == codes.BURNED
    rep = json.loads(env.cli("-c", env.name, "-a", "report", "--format", "json").stdout)["total"]
    assert rep["attempts"] == len(calls)
    assert rep["answered"] == sum(r["answer"] is not None for r in calls) == 6
    assert rep["codes"] == {"-8": 9, "-4": 12, "-2": 6, "12": 6}


class SqliteLock:
    """An SQLite outage as the dialer meets it in production: another process holds the write
    lock longer than the dialer's busy timeout. WAL mode lets readers through, so the lock is a
    write transaction (BEGIN IMMEDIATE): every write of the dialer waits, then fails "database
    is locked"."""
    def __init__(self, path):
        self.path = path
        self.conn = None

    def cut(self):
        self.conn = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        self.conn.execute("BEGIN IMMEDIATE")

    def restore(self):
        self.conn.execute("ROLLBACK")
        self.conn.close()


def journaled(env):
    """The journal's complete lines (one being appended is read next time)."""
    return [json.loads(line) for p in env.tmp.glob("journal-*") for line in p.read_text().split("\n")[:-1]]


def test_a_database_outage_journals_the_history_with_the_results(dial, backend, request):
    if backend == "mysql":
        db = request.getfixturevalue("mysql_db")
        outage = request.getfixturevalue("tcpproxy")(db["host"], db["port"])
        general = f"mysqlport={outage.port}\n"
    else:
        general = ""
    leads = [f"8{i:04d}" for i in range(15)]
    env = dial({"seed": 3, "default": {"outcome": "answer", "ring": 0.05, "talk": 1.5, "status": 12}},
               leads=leads, campaign="maxlines=5\nmaxcaps=5\n", general=general)
    if backend == "sqlite":
        outage = SqliteLock(config.load(str(env.conf)).general.sqlitepath)
    proc = env.service()
    env.wait_for(lambda: env.sim.stats()["live_calls"] >= 4, proc=proc, what="calls up")
    outage.cut()
    env.wait_for(lambda: env.sim.stats()["live_calls"] == 0, timeout=20, proc=proc, what="live calls ended")
    # The dialer said so, and the calls that ended meanwhile are in the journal with their history.
    env.wait_for(lambda: "database unavailable" in env.output(proc) and journaled(env), timeout=60, proc=proc,
                 what="the outage reported and results journaled")
    buffered = {j["outcome"]["extra"]["history"]["channelid"] for j in journaled(env)}
    assert all(buffered)
    if backend == "sqlite":
        assert "is unavailable: database is locked" in env.output(proc)
    outage.restore()
    rows = env.wait_for(lambda: settled(env), timeout=90, proc=proc, what="every lead attempted")
    assert env.stop(proc) == 0, env.output(proc)
    out = env.output(proc)
    assert "database is back" in out and "buffered result(s)" in out and not journaled(env), out
    hist = check_history(env, rows)
    assert len(hist) == len(leads) and all(h["disposition"] == 12 for h in hist)
    assert buffered <= {h["channelid"] for h in hist}


def test_kill_9_readopted_lost_and_released_attempts_get_one_row_each(dial):
    leads = [f"9{i:04d}" for i in range(15)]
    env = dial({"seed": 3, "default": {"outcome": "answer", "ring": 0.05, "talk": 3.0, "status": 12}},
               leads=leads, campaign="maxlines=5\nmaxcaps=5\nattempts=2\nattemptsdelay=0\n")

    def kill_with_5_up(proc, also=lambda: True, what="5 calls up"):
        env.wait_for(lambda: env.sim.stats()["live_calls"] == 5 and also(), proc=proc, what=what)
        proc.send_signal(signal.SIGKILL)
        proc.wait()

    def held():
        return {r["channelid"] for r in env.leads().values() if r["owner"] is not None}

    def done(n):
        return sum(1 for r in env.leads().values() if r["attempts"] and r["owner"] is None) >= n

    kill_with_5_up(env.service())
    # 1. Restarted while the calls are live: re-adopted, finished normally, one row each.
    kill_with_5_up(env.service(), lambda: done(5), "the adopted calls done and the next 5 up")
    # 2. Restarted after its calls ended: the engine records them lost (-1), one row each.
    env.wait_for(lambda: env.sim.stats()["live_calls"] == 0, timeout=20, what="calls ended")
    lost = held()
    kill_with_5_up(env.service(), lambda: done(10), "the lost calls recorded and the next 5 up")
    # 3. Killed again, its calls end, nobody restarts it: `repare --all` releases them.
    env.wait_for(lambda: env.sim.stats()["live_calls"] == 0, timeout=20, what="calls ended")
    released = held()
    assert len(lost) == len(released) == 5
    assert "5 lead(s) released" in env.cli("-c", env.name, "-a", "repare", "--all").stdout
    hist = {h["channelid"]: h for h in history(env)}
    for cids, why in ((lost, "Lost"), (released, "Released")):
        assert all(hist[c]["disposition"] == codes.UNDEFINED and hist[c]["answered_at"] is None
                   and hist[c]["reason"].startswith(why) for c in cids), [hist.get(c) for c in cids]
    # The lost and released leads are retried (attempts=2) by a last run, which finishes.
    proc = env.service()
    rows = env.wait_for(lambda: settled(env) if all(r["state"] == 3 for r in env.leads().values()) else None,
                        timeout=60, proc=proc, what="every lead final")
    assert env.stop(proc) == 0, env.output(proc)
    hist = check_history(env, rows)
    assert len(hist) == 25 and sum(h["disposition"] == 12 for h in hist) == 15


def test_trunk_failures_put_back_uncounted_write_no_row(dial):
    """An attempt the trunk breaker puts back does not count, and its number is used again by
    the next claim: the history has the counted attempts only, each once."""
    leads = [f"70{i:02d}" for i in range(12)]
    env = dial({"default": {"outcome": "answer", "ring": 0.05, "talk": 0.1, "status": 12},
                "rules": [{"until": 2, "outcome": "congestion"}]}, leads=leads, campaign="maxlines=2\nmaxcaps=1\n",
               general="loopms=100\ntrunkfailures=3\ntrunkbackoff=0.5\ntrunkbackoffmax=1\ntrunkprobes=1\n")
    proc = env.service()
    rows = env.wait_for(lambda: settled(env) if len(env.leads()) == len(leads) else None, proc=proc, timeout=90,
                        what="every lead called")
    assert env.stop(proc) == 0, env.output(proc)
    failed = [r for r in env.sim.records() if r.get("outcome") == "congestion"]
    assert failed and all(r["attempts"] == 1 for r in rows.values())
    hist = check_history(env, rows, put_back={r["channelid"] for r in failed})
    assert len(hist) == len(leads) and all(h["disposition"] == 12 and h["attempt"] == 1 for h in hist)
