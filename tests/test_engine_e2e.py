"""The dialer end to end: the real `dialer` process, a real dialer-pbxsim over TCP, and the
real database (SQLite file and MariaDB; `backend` is parametrised by the dialer_conf fixture).
Assertions come from the campaign table and from pbxsim's record of what was dialled."""
import pytest

from dialer import codes

pytestmark = pytest.mark.slow

# One number per behaviour seen in the captures (prefix rules of the scenario).
OUTCOMES = {
    "1001": ({"outcome": "busy"}, codes.BUSY, "User busy"),
    "1002": ({"outcome": "noanswer"}, codes.NO_ANSWER, "User alerting, no answer"),
    "1003": ({"outcome": "congestion"}, codes.CONGESTION, "Circuit/channel congestion"),
    "1004": ({"outcome": "unallocated"}, codes.DISCONNECTED, "Unallocated (unassigned) number"),
    "1005": ({"outcome": "unavailable"}, codes.NO_ANSWER, "User alerting, no answer"),
    "1006": ({"outcome": "nochannel"}, codes.UNDEFINED, ""),
    "1007": ({"outcome": "answer", "status": 12}, 12, "Normal Clearing"),
    "1008": ({"outcome": "answer"}, 11, "Normal Clearing"),                 # answeredcode=11
    "1009": ({"outcome": "answer", "userevents": True, "result": 10}, 10, "Normal Clearing"),
    "1010": ({"outcome": "machine", "status": -3}, codes.VOICEMAIL, "Normal Clearing"),
    "1011": ({"outcome": "fax", "status": -6}, codes.FAX, "Normal Clearing"),
    "1012": ({"outcome": "rejected"}, codes.NO_ANSWER, "Call Rejected"),
}


def outcome_scenario():
    rules = [dict(prefix=num, ring=0.05, talk=0.2, **spec) for num, (spec, _, _) in OUTCOMES.items()]
    return {"seed": 7, "default": {"outcome": "answer", "ring": 0.05, "talk": 0.2}, "rules": rules}


def finished(env, n_attempts=1):
    rows = env.leads()
    return rows if rows and all(r["attempts"] >= n_attempts and r["owner"] is None for r in rows.values()) else None


@pytest.mark.parametrize("driver", ["sip", "pjsip"])
def test_every_outcome_of_the_captures_gets_its_return_code(dial, driver):
    # attempts=2 with a long retry delay: the first attempt's code stays visible (not -8).
    dialformat = "SIP/%s@trunk" if driver == "sip" else "PJSIP/%s@trunk"
    env = dial(outcome_scenario(), driver=driver, leads=list(OUTCOMES),
               campaign=f"attempts=2\nattemptsdelay=3600\nansweredcode=11\ndialformat={dialformat}\n")
    proc = env.service()
    rows = env.wait_for(lambda: finished(env), proc=proc, what="every lead attempted once")
    assert env.stop(proc) == 0, env.output(proc)
    for num, (spec, code, cause) in OUTCOMES.items():
        row = rows[num]
        assert (row["disposition"], row["cause"]) == (code, cause), (num, spec, row)
        answered = spec["outcome"] == "answer"
        assert row["pickups"] == (1 if answered else 0), (num, row)
    assert rows["1009"]["result"] == "10"
    assert "Remote end is busy" in rows["1001"]["reason"] or driver == "pjsip"
    # Nothing was dialled twice: every lead once in pbxsim's record.
    dialled = [r["number"] for r in env.sim.records() if "outcome" in r]
    assert sorted(dialled) == sorted(OUTCOMES)


def test_foreground_run_ends_after_the_last_call_and_burns_retryable_leads(dial):
    env = dial({"default": {"outcome": "busy"}}, leads=["2001", "2002", "2003"],
               campaign="attempts=3\nattemptsdelay=1\n")
    env.run(timeout=60)
    rows = env.leads()
    for row in rows.values():
        assert row["attempts"] == 3 and row["disposition"] == codes.BURNED, row
        assert row["cause"] == "User busy" and row["owner"] is None
    recs = sorted((r for r in env.sim.records() if "outcome" in r), key=lambda r: r["start"])
    by_number = {}
    for r in recs:
        by_number.setdefault(r["number"], []).append(r)
    for num, calls in by_number.items():
        assert len(calls) == 3, num
        # attemptsdelay: the next attempt starts at least 1 s after the previous one ended
        # (the store works in whole seconds, so allow the rounding of the end time).
        for prev, nxt in zip(calls, calls[1:]):
            assert nxt["start"] - prev["start"] >= 0.99, (num, prev, nxt)


def test_maxlines_never_exceeded_and_maxcaps_paces_new_calls(dial):
    leads = [f"30{i:03d}" for i in range(60)]
    env = dial({"default": {"outcome": "answer", "ring": 0.05, "talk": 0.4}}, leads=leads,
               campaign="maxlines=6\nmaxcaps=3\n", general="loopms=200\n")
    env.run(timeout=120)
    recs = [r for r in env.sim.records() if "outcome" in r]
    assert len(recs) == 60
    assert env.sim.max_concurrent() <= 6
    assert env.sim.max_concurrent() >= 5     # the lines were actually used
    starts = sorted(r["start"] for r in recs)
    # maxcaps per 200 ms iteration: any 200 ms window spans at most two iterations.
    for i, t in enumerate(starts):
        window = [s for s in starts[i:] if s < t + 0.2]
        assert len(window) <= 6, (t, window)
    assert all(r["disposition"] == 12 for r in env.leads().values())


def test_a_cr_lf_in_a_lead_never_reaches_ami(dial):
    env = dial({"default": {"outcome": "answer", "ring": 0.05, "talk": 0.1}}, leads=["4001"])
    st = env.store()
    try:
        table = st.d.q(env.name)
        st.execute(f"INSERT INTO {table} (phone, param) VALUES (?, ?)", ("4002\r\nAction: Command", "x"))
        st.execute(f"INSERT INTO {table} (phone, param) VALUES (?, ?)", ("4003", "a\r\n\r\nAction: Logoff"))
        st.conn().commit()
    finally:
        st.close()
    env.run(timeout=60)
    rows = env.leads()
    assert rows["4001"]["disposition"] == 12
    bad = [r for p, r in rows.items() if p != "4001"]
    assert len(bad) == 2 and all(r["disposition"] == 9 for r in bad), bad
    dialled = [r["number"] for r in env.sim.records()]
    assert dialled == ["4001"]


def test_a_campaign_without_table_does_not_stop_the_others(dial):
    env = dial({"default": {"outcome": "answer", "ring": 0.05, "talk": 0.1}}, leads=["5001", "5002"])
    env.conf.write_text(env.conf.read_text() + "\n[ghost]\nmaxlines=2\n")
    out = env.run(timeout=60)
    assert all(r["disposition"] == 12 for r in env.leads().values())
    assert out.stderr.count("ghost") >= 1 and "Traceback" not in out.stderr


def test_trunkmaxlines_caps_the_calls_of_all_campaigns_on_a_trunk(dial):
    trunk = "trunk=carrier\ntrunkmaxlines=3\nmaxlines=5\nmaxcaps=5\n"
    env = dial({"default": {"outcome": "answer", "ring": 0.05, "talk": 0.3}}, campaign=trunk,
               leads=[f"71{i:03d}" for i in range(15)])
    env.conf.write_text(env.conf.read_text() + "\n[camp2]\n" + trunk)
    env.cli("-c", "camp2", "-a", "create")
    path = env.tmp / "camp2.txt"
    path.write_text("".join(f"72{i:03d}\n" for i in range(15)))
    env.cli("-c", "camp2", "-a", "file", "-p", path)
    env.run(timeout=120)
    recs = [r for r in env.sim.records() if "outcome" in r]
    assert len(recs) == 30
    # Both campaigns dialled, and never more than 3 calls at once on their shared trunk.
    assert {r["number"][:2] for r in recs} == {"71", "72"}
    assert env.sim.max_concurrent() == 3


def _add_campaign(env, name, prefix, n, campaign=""):
    env.conf.write_text(env.conf.read_text() + f"\n[{name}]\n" + campaign)
    env.cli("-c", name, "-a", "create")
    path = env.tmp / f"{name}.txt"
    path.write_text("".join(f"{prefix}{i:03d}\n" for i in range(n)))
    env.cli("-c", name, "-a", "file", "-p", path)


def test_a_reload_removing_a_campaign_lets_its_live_calls_finish(dial):
    import signal
    env = dial({"default": {"outcome": "answer", "ring": 0.05, "talk": 2.0, "status": 12}},
               campaign="maxlines=2\n", leads=[f"73{i:03d}" for i in range(4)])
    before = env.conf.read_text()
    _add_campaign(env, "gone", "74", 10, "maxlines=3\nmaxcaps=3\n")
    proc = env.service()

    def gone_calls():
        return [r for r in env.sim.records() if r["variables"].get("DIALER_CAMPAIGN") == "gone"]
    env.wait_for(lambda: len(gone_calls()) == 3, proc=proc, what="calls of the campaign to remove up")
    env.conf.write_text(before)
    proc.send_signal(signal.SIGHUP)
    env.wait_for(lambda: "configuration reloaded" in env.output(proc), proc=proc, what="the reload")
    st = env.store()
    try:
        def recorded():
            rows = st.rows(f"SELECT disposition, owner FROM {st.d.q('gone')} WHERE attempts > 0")
            st.conn().commit()
            return rows if len(rows) == 3 and all(o is None for _, o in rows) else None
        rows = env.wait_for(recorded, timeout=30, proc=proc, what="the removed campaign's calls recorded")
    finally:
        st.close()
    assert [d for d, _ in rows] == [12, 12, 12]
    env.wait_for(lambda: finished(env), proc=proc, what="the remaining campaign done")
    assert env.stop(proc) == 0, env.output(proc)
    # The removed campaign dialled nothing after the reload; nothing crashed.
    assert len(gone_calls()) == 3
    assert "Traceback" not in env.output(proc)
