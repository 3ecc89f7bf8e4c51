"""The history table through the store API, on both backends: schema, append inside the
result's transaction, look-ups, 15-minute slots and the retention purge."""
import random
import time

import pytest

from dialer import store as store_mod
from dialer.model import Outcome, Selection
from dialer.store import HistoryEntry
from dialer.store.history_schema import COLUMN_NAMES, HISTORY_TABLE

T0 = 1_800_000_000          # 2027-01-15 08:00 UTC, a multiple of 900


def entry(i, campaign="camp", phone=None, t=None, code=-2, answered=False, duration=0, lead=None):
    t = T0 + 60 * i if t is None else t
    return HistoryEntry(campaign=campaign, lead_id=lead or i + 1, phone=phone or f"+3361000{i:04d}", attempt=1,
                        instance="A", channelid=f"d-{campaign}-{i + 1}-1", originated_at=t,
                        answered_at=t + 5 if answered else None, ended_at=t + 30, disposition=code,
                        answered=answered, reason="Busy" if code == -2 else "Answered", causecode=17,
                        cause="User busy", duration=duration, result="r" * 300, param="p", trunk="SIP")


def count(st, where="1 = 1", params=()):
    return st.scalar(f"SELECT COUNT(*) FROM {st.d.q(HISTORY_TABLE)} WHERE {where}", params)


def test_the_table_and_its_columns_come_with_the_database(store):
    assert store.table_exists(HISTORY_TABLE)
    assert set(COLUMN_NAMES) <= store.columns(HISTORY_TABLE)
    store.ensure_history()        # idempotent: what upgrade and create run again
    assert count(store) == 0


def test_a_row_is_written_with_the_result_or_not_at_all(store):
    lead_id = store.insert("camp", "0611111111")
    (lead,) = store.claim("camp", 1, "A", 60, T0, Selection(attempts=3))
    e = entry(0, phone=lead.phone, lead=lead_id, t=T0)
    with pytest.raises(RuntimeError):
        with store.write_tx():
            assert store.record("camp", lead_id, "A", Outcome(-2, reason="Busy"), T0 + 30, 0)
            store.add_history([e])
            raise RuntimeError("the engine dies before the commit")
    assert count(store) == 0
    assert store.held("camp", "A")[0].id == lead_id     # the lead's update was rolled back as well
    with store.write_tx():
        assert store.record("camp", lead_id, "A", Outcome(-2, reason="Busy"), T0 + 30, 0)
        store.add_history([e])
    (row,) = store.history(lead.phone)
    assert (row["campaign"], row["lead_id"], row["disposition"], row["originated_at"], row["ended_at"],
            row["answered_at"], row["causecode"], row["trunk"]) == ("camp", lead_id, -2, T0, T0 + 30, None, 17, "SIP")
    assert len(row["result"]) == 255                   # cut like the lead's text columns


def test_history_of_a_number_is_every_attempt_oldest_first_in_any_or_one_campaign(store):
    store.create_campaign("other")
    rows = [entry(5, phone="+33612345678", t=T0 + 500), entry(1, phone="+33612345678", t=T0 + 100),
            entry(3, campaign="other", phone="+33612345678", t=T0 + 300), entry(2, phone="+33699999999")]
    store.add_history(rows)
    got = store.history("+33 6 12 34 56 78")
    assert [(r["campaign"], r["originated_at"]) for r in got] == [("camp", T0 + 100), ("other", T0 + 300),
                                                                   ("camp", T0 + 500)]
    assert [r["originated_at"] for r in store.history("+33612345678", "other")] == [T0 + 300]
    assert store.history("+33600000000") == []
    with pytest.raises(store_mod.StoreError):
        store.history("not a phone")
    with pytest.raises(store_mod.StoreError):
        store.history("+33612345678", "bad name;")


def test_slots_add_up_to_an_independent_count(store):
    rnd = random.Random(7)
    entries = []
    for i in range(600):
        t = T0 + rnd.randrange(0, 3 * 86400)
        ans = rnd.random() < 0.3
        entries.append(entry(i, campaign=rnd.choice(["camp", "b2"]), t=t, code=12 if ans else rnd.choice([-2, -4, 3]),
                             answered=ans, duration=rnd.randrange(1, 300) if ans else 0))
    with store.write_tx():                 # one batch, as the engine writes a wake-up's results
        store.add_history(entries)
    assert store.history_campaigns() == ["b2", "camp"]
    start, end = T0 + 4000, T0 + 2 * 86400 + 123
    for camp in ("camp", None):
        want = {}
        for e in entries:
            if (camp is None or e.campaign == camp) and start <= e.originated_at < end:
                k = (e.originated_at - e.originated_at % 900, e.disposition)
                w = want.setdefault(k, [0, 0, 0])
                w[0] += 1
                w[1] += int(e.answered)
                w[2] += e.duration
        got = {(s, c): [n, a, d] for s, c, n, a, d in store.history_slots(start, end, camp)}
        assert got == want


def test_purge_deletes_only_older_attempts_in_bounded_batches(store):
    day = 86400
    old = [entry(i, t=T0 - 500 * day + i) for i in range(25)] + [entry(i, campaign="b", t=T0 - 401 * day) for i in range(5)]
    young = [entry(i, t=T0 - 399 * day + i) for i in range(7)]
    store.add_history(old + young)
    assert store.purge_history(T0, days=0) == (0, False)          # 0 = keep forever
    n, more = store.purge_history(T0, days=400, max_rows=10, batch=4)
    assert (n, more) == (10, True) and count(store) == 37 - 10
    n, more = store.purge_history(T0, days=400, max_rows=None, batch=4)
    assert (n, more) == (20, False)
    assert count(store) == 7 and count(store, "originated_at < ?", (T0 - 400 * day,)) == 0
    store.historydays = 398                                      # [general] historydays
    assert store.purge_history(T0) == (7, False) and count(store) == 0


def test_open_store_takes_historydays_from_the_config(store_general):
    import dataclasses
    st = store_mod.open_store(dataclasses.replace(store_general, historydays=30))
    assert st.historydays == 30


def test_a_released_attempt_gets_its_row_in_the_release_transaction(store):
    ids = [store.insert("camp", p) for p in ("0611111111", "0622222222", "0633333333")]
    leads = store.claim("camp", 3, "A", 60, T0, Selection(attempts=2))
    # One result comes in before the crash: its row is the engine's, not the release's.
    with store.write_tx():
        assert store.record("camp", ids[0], "A", Outcome(-2, reason="Busy"), T0 + 20, 0)
    assert store.repair("camp", owner="A", now=T0 + 30, max_attempts=2, attemptsdelay=0) == 2
    rows = sorted((r for lead in leads[1:] for r in store.history(lead.phone)), key=lambda r: r["lead_id"])
    assert [(r["lead_id"], r["attempt"], r["disposition"], r["instance"], r["channelid"], r["originated_at"],
             r["ended_at"], r["answered"]) for r in rows] == [
        (lead.id, 1, -1, "A", lead.channelid, T0, T0 + 30, 0) for lead in leads[1:]]
    assert rows[0]["reason"].startswith("Released")
    assert store.history(leads[0].phone) == []
    # Second attempt, the instance is gone: the lease expires, the next claim releases it as -8.
    store.claim("camp", 1, "B", 60, T0 + 100, Selection(attempts=2))
    later = store.claim("camp", 1, "C", 60, T0 + 1000, Selection(attempts=2))
    assert later and count(store) == 3
    (last,) = [r for lead in leads for r in store.history(lead.phone) if r["attempt"] == 2]
    assert (last["disposition"], last["instance"], last["ended_at"]) == (-8, "B", T0 + 1000)
    lead_row = store.find("camp", last["phone"])[0]
    assert (lead_row["disposition"], lead_row["attempts"]) == (-8, 2)


def test_the_dialer_purges_in_a_thread_of_its_own(store, store_general):
    from dialer.history_purge import HistoryPurger
    day = 86400
    store.add_history([entry(i, t=T0 - 401 * day + i) for i in range(30)] + [entry(99, t=T0 - 10 * day)])
    p = HistoryPurger(lambda: store_mod.open_store(store_general), 400, interval=3600, clock=lambda: T0)
    p.start()
    try:
        deadline = time.time() + 30
        while count(store) > 1 and time.time() < deadline:
            time.sleep(0.05)
    finally:
        p.stop()
    assert count(store) == 1
    idle = HistoryPurger(lambda: store_mod.open_store(store_general), 0)
    idle.start()                       # historydays = 0: no thread at all
    assert idle.thread is None


def facts(lead, t, **kw):
    from dialer.store.history import attempt_facts
    return attempt_facts(lead, "A", "SIP", t, T0 + 30, **kw)


def test_record_attempt_writes_the_row_with_the_result_in_one_batch(store):
    ids = [store.insert("camp", p, "x") for p in ("0611111111", "0622222222", "0633333333")]
    leads = store.claim("camp", 3, "A", 60, T0, Selection(attempts=1))
    outcomes = [Outcome(12, reason="Answered", duration=42, picked_up=True, result="yes",
                        extra={"history": facts(leads[0], T0, answered_at=T0 + 3), "cause_code": 16}),
                Outcome(-8, reason="No answer", extra={"history": facts(leads[1], T0)}),   # final_code applied
                Outcome(9, reason="Invalid lead", extra={"history": facts(leads[2], None)})]
    with store.write_tx():               # the engine's batch: one transaction, one INSERT of rows
        assert all(store.record_attempt("camp", lead.id, "A", o, T0 + 40, 0) for lead, o in zip(leads, outcomes))
        assert count(store) == 0         # queued until the batch commits
    rows = {r["lead_id"]: r for lead in leads for r in store.history(lead.phone)}
    assert sorted(rows) == ids
    a, b, c = (rows[i] for i in ids)
    assert (a["disposition"], a["answered"], a["answered_at"], a["duration"], a["result"], a["causecode"],
            a["param"], a["channelid"]) == (12, 1, T0 + 3, 42, "yes", 16, "x", leads[0].channelid)
    assert (b["disposition"], b["answered"], b["reason"]) == (-8, 0, "No answer")
    assert c["originated_at"] == T0 and c["disposition"] == 9    # from the lead's datetime (the claim)
    for lead in leads:                   # the lead rows agree
        r = store.find("camp", lead.phone)[0]
        assert r["disposition"] == rows[lead.id]["disposition"]
    # A late result for a lead this instance no longer holds writes neither.
    assert not store.record_attempt("camp", ids[0], "A", outcomes[0], T0 + 50, 0)
    assert count(store) == 3


def test_a_failed_batch_leaves_no_history_row_behind(store):
    store.insert("camp", "0611111111")
    (lead,) = store.claim("camp", 1, "A", 60, T0, Selection(attempts=1))
    o = Outcome(-2, extra={"history": facts(lead, T0)})
    with pytest.raises(RuntimeError):
        with store.write_tx():
            store.record_attempt("camp", lead.id, "A", o, T0 + 40, 0)
            raise RuntimeError("lost")
    assert count(store) == 0
    assert store.record_attempt("camp", lead.id, "A", o, T0 + 40, 0) and count(store) == 1
