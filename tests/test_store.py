"""The store's engine contract on both backends: claim, record, renew, held, repair."""
import threading
import time
from pathlib import Path

import pytest

from dialer import codes
from dialer import store as store_mod
from dialer.model import Outcome, Selection, base36
from dialer.store import StoreError, StoreUnavailable
from tests.plugins.store import general_for

NOW = 1_800_000_000.0


def add(st, phones, campaign="camp", **kw):
    return [st.insert(campaign, p, f"p{p}", **kw) for p in phones]


def claim(st, n=10, owner="A", now=NOW, campaign="camp", **sel):
    sel.setdefault("attempts", 3)
    return st.claim(campaign, n, owner, 60, now, Selection(**sel))


def row(st, lead_id, campaign="camp"):
    return next(r for r in st.find(campaign, st.rows(f"SELECT phone FROM {st.d.q(campaign)} WHERE id = ?",
                                                     (lead_id,))[0][0]) if r["id"] == lead_id)


def test_fresh_lead_has_the_original_columns_and_defaults(store):
    (lead_id,) = add(store, ["0123456789"])
    r = row(store, lead_id)
    for col in ("id", "phone", "datetime", "attempts", "pickups", "disposition", "reason", "duration", "param",
                "result", "cause", "lastupdated", "timezone", "areacode", "zipcode", "channelid"):
        assert col in r
    assert (r["disposition"], r["reason"], r["attempts"], r["pickups"], r["datetime"]) == (1, "Unknow", 0, 0, None)


def test_claim_takes_leads_once_and_counts_the_attempt(store):
    add(store, ["1001", "1002", "1003"])
    a = claim(store, 2, "A")
    b = claim(store, 5, "B")
    assert [lead.phone for lead in a] == ["1001", "1002"]
    assert [lead.phone for lead in b] == ["1003"]
    assert all(lead.attempts == 1 for lead in a + b)
    assert claim(store, 5, "C") == []
    r = row(store, a[0].id)
    assert r["owner"] == "A" and r["attempts"] == 1 and r["datetime"] is not None
    assert {lead.id for lead in store.held("camp", "A")} == {lead.id for lead in a}


def test_orderby_and_skip(store):
    ids = add(store, ["3000", "1000", "2000"])
    assert [lead.phone for lead in claim(store, 3, orderby="phone")] == ["1000", "2000", "3000"]
    store.truncate("camp")
    add(store, ["3000", "1000", "2000"])
    assert [lead.phone for lead in claim(store, 3, orderby="id", skip=1)] == ["1000", "2000"]
    store.truncate("camp")
    ids = add(store, ["5001", "5002"])
    # attempts_pickups: the lead already tried comes after the fresh one.
    (first,) = claim(store, 1, orderby="id")
    store.record("camp", first.id, "A", Outcome(codes.NO_ANSWER), NOW, 0)
    assert [lead.id for lead in claim(store, 2, now=NOW + 1)] == [ids[1], ids[0]]
    store.truncate("camp")
    add(store, [str(4000 + i) for i in range(20)])
    assert len({lead.phone for lead in claim(store, 20, orderby="random")}) == 20
    with pytest.raises(StoreError):
        claim(store, 1, orderby="bogus")


def test_retry_rule_waits_attemptsdelay_then_burns(store):
    (lead_id,) = add(store, ["0600000001"])
    (lead,) = claim(store, attempts=2)
    assert store.record("camp", lead.id, "A", Outcome(codes.BUSY, reason="Busy", cause="User busy"), NOW, 600)
    assert claim(store, now=NOW + 599, attempts=2) == []          # still waiting
    (again,) = claim(store, now=NOW + 600, attempts=2)
    assert again.attempts == 2
    burned = codes.final_code(codes.NO_ANSWER, again.attempts, 2)     # the engine's rule, applied before
    assert store.record("camp", lead_id, "A", Outcome(burned, reason="No answer", cause="No user"), NOW + 600, 600)
    r = row(store, lead_id)
    assert (r["disposition"], r["reason"], r["cause"]) == (codes.BURNED, "No answer", "No user")
    assert claim(store, now=NOW + 10_000, attempts=5) == []       # final: never again


def test_final_codes_answer_pickups_and_dnc(store):
    a, b = add(store, ["0700000001", "0700000002"])
    claim(store)
    assert store.record("camp", a, "A", Outcome(codes.SALE, duration=42, result="ok", picked_up=True), NOW, 0)
    assert store.record("camp", b, "A", Outcome(codes.DO_NOT_CALL, picked_up=True), NOW, 0)
    r = row(store, a)
    assert (r["disposition"], r["pickups"], r["duration"], r["result"]) == (12, 1, 42, "ok")
    assert store.in_dnc("0700000002") and not store.in_dnc("0700000001")
    assert claim(store, now=NOW + 1) == []


def test_record_is_fenced_by_owner(store):
    (lead_id,) = add(store, ["0800000001"])
    claim(store, owner="A")
    assert not store.record("camp", lead_id, "B", Outcome(codes.SALE), NOW, 0)
    assert row(store, lead_id)["disposition"] == 1
    assert store.record("camp", lead_id, "A", Outcome(codes.SALE), NOW, 0)
    assert not store.record("camp", lead_id, "A", Outcome(codes.NO_ANSWER), NOW, 0)  # already recorded
    assert row(store, lead_id)["disposition"] == 12


def test_selection_filters(store):
    ids = add(store, ["0100000001", "0100000002", "0100000003", "0100000004"])
    store.list_add("0100000001", "bl")
    store.list_add("0100000002")
    got = claim(store, blacklist="bl", usednc=True)
    assert [lead.phone for lead in got] == ["0100000003", "0100000004"]
    store.truncate("camp")
    add(store, ["0200000001", "0200000002"], timezone="Europe/Paris")
    add(store, ["0200000003"], timezone="America/New_York")
    assert [lead.phone for lead in claim(store, zones=["America/New_York"])] == ["0200000003"]
    assert claim(store, zones=[]) == []
    assert [lead.phone for lead in claim(store, where=("phone LIKE ?", ("%02",)))] == ["0200000002"]
    assert set(store.zones("camp")) == {"Europe/Paris", "America/New_York"}
    del ids


def test_calltoday_false_skips_leads_attempted_since(store):
    (lead_id,) = add(store, ["0300000001"])
    claim(store)
    store.record("camp", lead_id, "A", Outcome(codes.NO_ANSWER), NOW, 0)
    assert claim(store, now=NOW + 10, not_updated_since=NOW - 3600) == []
    assert len(claim(store, now=NOW + 10, not_updated_since=NOW + 5)) == 1


def test_multiplecalls_false_across_campaigns(store):
    store.create_campaign("other")
    add(store, ["0400000001", "0400000002"])
    add(store, ["0400000001", "0400000001"], campaign="other")
    (a1, a2) = claim(store)
    assert store.in_flight("0400000001") == [("camp", a1.id, "A")]
    assert claim(store, campaign="other", owner="B", multiplecalls=False) == []
    store.record("camp", a1.id, "A", Outcome(codes.SALE), NOW, 0)
    assert store.in_flight("0400000001") == []
    # Two leads with the same number in one campaign: only one at a time.
    got = claim(store, campaign="other", owner="B", multiplecalls=False)
    assert len(got) == 1
    # multiplecalls=true may call the same number twice at once.
    assert len(claim(store, campaign="other", owner="C")) == 1


def test_a_batch_of_results_clears_its_registrations_at_commit_or_not_at_all(store):
    phones = ["0410000001", "0410000002", "0410000003"]
    add(store, phones)
    leads = claim(store, 3)
    with pytest.raises(RuntimeError):
        with store.write_tx():
            for lead in leads:
                assert store.record("camp", lead.id, "A", Outcome(codes.SALE), NOW, 0)
            raise RuntimeError("the engine dies before the commit")
    assert [len(store.in_flight(p)) for p in phones] == [1, 1, 1]
    with store.write_tx():           # the engine's batch: the registrations go in one statement
        for lead in leads:
            assert store.record("camp", lead.id, "A", Outcome(codes.SALE), NOW, 0)
    assert [store.in_flight(p) for p in phones] == [[], [], []]


def test_repair_releases_dead_leads_but_not_live_calls(store):
    a, b, c = add(store, ["0500000001", "0500000002", "0500000003"])
    leads = {lead.id: lead for lead in claim(store, 3, owner="A")}
    # The claim names each attempt's ChannelId (Asterisk's Uniqueid of the call).
    cid = f"d-camp-{a}-1-{store.installation()}-{base36(NOW)}."
    assert leads[a].channelid == cid and store.held("camp", "A")[0].channelid == cid
    assert store.repair("camp", owner="A", live_channelids={leads[a].channelid}, now=NOW, max_attempts=1,
                        attemptsdelay=0) == 2
    assert [lead.id for lead in store.held("camp", "A")] == [a]
    for lead_id in (b, c):
        r = row(store, lead_id)
        # -1 counted the attempt; with attempts=1 the retry rule burns it.
        assert r["disposition"] == codes.BURNED and r["attempts"] == 1 and r["owner"] is None


def test_repair_by_expired_lease_and_renew(store):
    a, b = add(store, ["0510000001", "0510000002"])
    store.claim("camp", 1, "A", 60, NOW, Selection(attempts=3))
    store.claim("camp", 1, "B", 60, NOW, Selection(attempts=3))
    assert store.renew("camp", "B", NOW + 1000) == 1
    assert store.repair("camp", now=NOW + 100, max_attempts=3, attemptsdelay=0) == 1   # A's lease ran out, B's renewed
    r = row(store, a)
    assert r["disposition"] == codes.UNDEFINED and r["owner"] is None and r["attempts"] == 1
    (again,) = claim(store, now=NOW + 101)
    assert again.id == a and again.attempts == 2


def test_claim_releases_expired_leases(store):
    (a,) = add(store, ["0520000001"])
    claim(store, owner="A")
    (lead,) = claim(store, owner="B", now=NOW + 61)
    assert lead.id == a and lead.attempts == 2
    assert not store.record("camp", a, "A", Outcome(codes.SALE), NOW + 62, 0)


def test_pending_counts_what_may_still_be_dialled(store):
    a, b = add(store, ["0530000001", "0530000002"])
    assert store.pending("camp") == 2
    claim(store, 1)
    store.record("camp", a, "A", Outcome(codes.SALE), NOW, 0)
    assert store.pending("camp") == 1


def test_missing_campaign_and_bad_names(store):
    with pytest.raises(StoreError, match="does not exist"):
        store.count("nope")
    for bad in ("x; DROP TABLE y", "1abc", "a" * 65, "dialer_dnc", "a`b"):
        with pytest.raises(StoreError, match="invalid"):
            store.create_campaign(bad)
    with pytest.raises(StoreError, match="already exists"):
        store.create_campaign("camp")


def test_unreachable_database_is_store_unavailable(tmp_path):
    g = general_for("mysql", tmp_path, mysqlport=1)  # nothing listens there
    st = store_mod.open_store(g)
    with pytest.raises(StoreUnavailable) as exc:
        st.ping()
    assert "\n" not in str(exc.value)


def run_instances(general, body, n=3):
    """Run body(store, owner) in n threads, each with its own Store (connection); re-raise errors."""
    errors = []

    def worker(owner):
        st = store_mod.open_store(general)
        try:
            body(st, owner)
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            st.close()

    threads = [threading.Thread(target=worker, args=(f"I{k}",)) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def test_three_concurrent_claimers_never_share_a_lead(store, store_general):
    n_leads = 600
    for i in range(0, n_leads, 200):
        with store.write_tx():
            store.execute_many(f"INSERT INTO {store.d.q('camp')} (phone) VALUES (?)",
                               [(str(10_000_000 + j),) for j in range(i, i + 200)])
    got = {}

    def body(st, owner):
        got[owner] = []
        while True:
            leads = st.claim("camp", 7, owner, 60, time.time(), Selection(attempts=1))
            if not leads:
                break
            got[owner] += [lead.id for lead in leads]

    run_instances(store_general, body)
    all_ids = [i for ids in got.values() for i in ids]
    assert len(all_ids) == len(set(all_ids)) == n_leads


def test_lost_connection_is_unavailable_then_reconnects(mysql_db, tmp_path):
    store = store_mod.open_store(general_for("mysql", tmp_path, mysql_db))
    store.create_campaign("camp")
    add(store, ["0900000001"])
    conn_id = store.scalar("SELECT CONNECTION_ID()")
    from tests.conftest import mysql_connect
    killer = mysql_connect()
    with killer.cursor() as cur:
        cur.execute(f"KILL {int(conn_id)}")
    killer.close()
    with pytest.raises(StoreUnavailable):
        store.count("camp")
    assert store.count("camp") == 1   # the next call reconnects


def test_sqlite_writer_and_reader_share_the_file(tmp_path):
    store_general = general_for("sqlite", tmp_path)
    store = store_mod.open_store(store_general)
    store.create_campaign("camp")
    assert store.scalar("PRAGMA journal_mode") == "wal"
    other = store_mod.open_store(store_general)
    add(store, ["0910000001"])
    with store.write_tx():   # a writer holds the file...
        store.execute("UPDATE camp SET param = 'x'")
        assert other.count("camp") == 1   # ...and a reader is not blocked
    other.close()


def test_import_file_records_zones(store, tmp_path):
    f = tmp_path / "z.csv"
    f.write_text("phone,timezone\n0920000001,Europe/Paris\n0920000002,Asia/Tokyo\n0920000003,\n")
    rep = store.import_file("camp", str(f))
    assert (rep.imported, rep.rejected) == (3, 0)
    assert store.zones("camp") == ["Asia/Tokyo", "Europe/Paris"]
    assert [lead.timezone for lead in claim(store, zones=["Asia/Tokyo", ""])] == ["Asia/Tokyo", ""]


def test_import_without_load_data_local_falls_back_to_inserts(mysql_db, tmp_path, monkeypatch):
    """A server that refuses LOAD DATA LOCAL (MySQL 8's default) still gets the import."""
    import pymysql
    real = pymysql.connect
    monkeypatch.setattr(pymysql, "connect", lambda **kw: real(**{**kw, "local_infile": False}))
    st = store_mod.open_store(general_for("mysql", tmp_path, mysql_db))
    st.create_campaign("camp")
    f = tmp_path / "l.txt"
    f.write_text("0930000001,a\nbad\n0930000002,b\n")
    rep = st.import_file("camp", str(f))
    assert (rep.imported, rep.rejected, st.count("camp")) == (2, 1, 2)
    st.close()


def test_concurrent_claimers_never_call_one_number_twice(store, store_general):
    """multiplecalls=false across two campaigns and three instances racing for the same numbers."""
    store.create_campaign("other")
    phones = [(str(20_000_000 + j),) for j in range(150)]
    for name in ("camp", "other"):
        with store.write_tx():
            store.execute_many(f"INSERT INTO {store.d.q(name)} (phone) VALUES (?)", phones)
    got = []

    def body(st, owner):
        for i in range(60):
            got.extend((owner, lead.phone) for lead in st.claim(
                ("camp", "other")[i % 2], 5, owner, 600, time.time(), Selection(attempts=1, multiplecalls=False)))

    run_instances(store_general, body)
    numbers = [p for _, p in got]
    assert len(numbers) == len(set(numbers)) == 150   # every number once, none twice at once


# -- a database this user may not write is not an outage ------------------------------------

NOBODY = 65534


def as_nobody(body):
    """body() in a child process running as user nobody (a permission problem needs a user
    that is not root); returns (exception class name, message), or (None, result)."""
    import os
    import pickle
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:   # the child: never returns into pytest
        os.close(r)
        try:
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            out = (None, body())
        except Exception as exc:
            out = (type(exc).__name__, str(exc))
        with os.fdopen(w, "wb") as fh:
            pickle.dump(out, fh)
        os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as fh:
        out = pickle.load(fh)
    os.waitpid(pid, 0)
    return out


@pytest.fixture
def root_made_sqlite():
    """An SQLite campaign made by root in a directory the nobody user may enter."""
    import os
    import shutil
    import tempfile
    folder = tempfile.mkdtemp(prefix="dialer-perm-")
    os.chmod(folder, 0o755)
    g = general_for("sqlite", Path(folder))
    st = store_mod.open_store(g)
    st.create_database()
    st.create_campaign("camp")
    st.insert("camp", "0612345678")
    st.close()
    yield g, folder
    shutil.rmtree(folder)


def test_a_root_owned_sqlite_file_is_not_writable_not_unavailable(root_made_sqlite):
    """issue 11 §2: root made the file (0644), the service's user writes: one line that says
    so and how to fix it, a StoreError that is not StoreUnavailable (nothing to wait for)."""
    import os
    g, folder = root_made_sqlite
    os.chown(folder, NOBODY, NOBODY)           # the directory is the user's, as /var/lib/dialer is
    assert as_nobody(lambda: store_mod.open_store(g).count("camp")) == (None, 1)   # reading works
    kind, message = as_nobody(lambda: store_mod.open_store(g).insert("camp", "0611111111"))
    assert kind == "StoreNotWritable", message
    assert message == (f"SQLite database {folder}/dialer.sqlite is not writable by user nobody: fix with chown "
                       f"nobody:nogroup {folder}/dialer.sqlite (or run dialer as the user that owns them)")
    assert issubclass(store_mod.StoreNotWritable, StoreError)
    assert not issubclass(store_mod.StoreNotWritable, StoreUnavailable)
    os.chown(f"{folder}/dialer.sqlite", NOBODY, NOBODY)   # the fix the message gives
    assert as_nobody(lambda: store_mod.open_store(g).insert("camp", "0611111111")) == (None, 2)


def test_an_unreadable_sqlite_file_or_folder_is_not_writable(root_made_sqlite):
    import os
    g, folder = root_made_sqlite
    os.chmod(f"{folder}/dialer.sqlite", 0o600)
    kind, message = as_nobody(lambda: store_mod.open_store(g).count("camp"))
    assert kind == "StoreNotWritable" and message.endswith(
        f"fix with chown nobody:nogroup {folder}/dialer.sqlite {folder} (or run dialer as the user that owns them)"), message


def test_the_installation_id_is_made_once_per_database(store_general, tmp_path):
    """issue 11 §6: in every ChannelId, so dialers on separate databases never share ids."""
    ids = []
    for _ in range(2):
        st = store_mod.open_store(store_general)
        ids.append(st.installation())
        st.close()
    assert ids[0] == ids[1] and len(ids[0]) == 6 and ids[0].isalnum() and ids[0] == ids[0].lower()
    (tmp_path / "other").mkdir()
    other = store_mod.open_store(general_for("sqlite", tmp_path / "other"))
    other.create_database()
    assert other.installation() != ids[0]
    other.close()
