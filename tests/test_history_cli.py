"""`history`, `report`, `historydump`, `history-purge` and `upgrade` as a user runs them, on both
backends, against numbers the test computes itself (zoneinfo, not the code under test)."""
import csv
import datetime as dt
import io
import json
import random
import time
from zoneinfo import ZoneInfo

import pytest

from dialer import codes, config
from dialer import store as store_mod
from dialer.store import HistoryEntry
from dialer.store.history_schema import COLUMN_NAMES, HISTORY_TABLE
from tests.conftest import run_dialer
from tests.test_cli import one_line_error

TZ = "Europe/Paris"
PARIS = ZoneInfo(TZ)
ENV = {"TZ": TZ}
# 2026-10-24 00:00 Paris (CEST); the clocks go back on the 25th at 03:00 -> 02:00.
START = int(dt.datetime(2026, 10, 24, tzinfo=PARIS).timestamp())
PHONE = "+33612345678"


def dialer(conf, *args, check=None):
    return run_dialer(*args, config=conf, env=ENV, check=check)


@pytest.fixture
def filled(dialer_conf):
    """A database with campaigns a and b and 3 days of hand-written attempts around the DST change."""
    conf = dialer_conf()
    dialer(conf, "-a", "createdatabase", check=0)
    for c in ("a", "b"):
        dialer(conf, "-c", c, "-a", "create", check=0)
    rnd = random.Random(13)
    entries = []
    for i in range(900):
        t = START + rnd.randrange(0, 3 * 86400 + 3600)
        ans = rnd.random() < 0.35
        code = rnd.choice([12, 12, 3]) if ans else rnd.choice([-2, -4, -1, 8])
        entries.append(HistoryEntry(
            campaign=rnd.choice("ab"), lead_id=i % 300 + 1, phone=PHONE if i % 97 == 0 else f"+3361{i:07d}",
            attempt=i // 300 + 1, instance="dialer-1", channelid=f"d-x-{i % 300 + 1}-{i // 300 + 1}",
            originated_at=t, answered_at=t + 4 if ans else None, ended_at=t + 40, disposition=code, answered=ans,
            reason="Answered" if ans else "Busy", causecode=16 if ans else 17, cause="Normal Clearing",
            duration=rnd.randrange(1, 200) if ans else 0, result="", param=f"p{i}", trunk="SIP"))
    st = store_mod.open_store(config.load(str(conf)).general)
    with st.write_tx():
        st.add_history(entries)
    st.close()
    return conf, entries


def expected(entries, key, campaign=None, lo=None, hi=None):
    """{period key: [attempts, answered, duration sum, {code: n}]} computed from the entries."""
    out = {}
    for e in entries:
        if campaign and e.campaign != campaign or lo is not None and not lo <= e.originated_at < hi:
            continue
        a = out.setdefault(key(dt.datetime.fromtimestamp(e.originated_at, PARIS)), [0, 0, 0, {}])
        a[0] += 1
        a[1] += e.answered
        a[2] += e.duration
        a[3][str(e.disposition)] = a[3].get(str(e.disposition), 0) + 1
    return out


def check_period(row, want):
    n, answered, dur, by_code = want
    assert (row["attempts"], row["answered"], row["codes"]) == (n, answered, by_code)
    assert row["answer_rate"] == round(answered / n, 4)
    assert row["avg_duration"] == (round(dur / answered, 1) if answered else 0.0)


def test_report_by_day_in_local_days(filled):
    conf, entries = filled
    rep = json.loads(dialer(conf, "-c", "a", "-a", "report", "--from", "2026-10-24", "--to", "2026-10-26",
                            "--format", "json", check=0).stdout)
    want = expected(entries, lambda t: t.date().isoformat(), "a")
    assert [p["period"][:10] for p in rep["periods"]] == ["2026-10-24", "2026-10-25", "2026-10-26"]
    assert rep["periods"][1]["period"] == "2026-10-25T00:00:00+02:00"
    for p in rep["periods"]:
        check_period(p, want[p["period"][:10]])
    assert rep["total"]["attempts"] == sum(w[0] for w in want.values())
    assert rep["campaign"] == "a" and rep["timezone"].startswith(("CET", "CEST"))


def test_report_by_hour_across_the_dst_change_all_campaigns(filled):
    conf, entries = filled
    lo = int(dt.datetime(2026, 10, 25, tzinfo=PARIS).timestamp())
    hi = int(dt.datetime(2026, 10, 26, tzinfo=PARIS).timestamp())
    rep = json.loads(dialer(conf, "-a", "report", "--from", "2026-10-25", "--to", "2026-10-25", "--by", "hour",
                            "--format", "json", check=0).stdout)
    want = expected(entries, lambda t: t.replace(minute=0, second=0).isoformat(), lo=lo, hi=hi)
    assert len(rep["periods"]) == 25                       # the day of the change has 25 hours
    assert [p["period"] for p in rep["periods"][2:4]] == ["2026-10-25T02:00:00+02:00", "2026-10-25T02:00:00+01:00"]
    for p in rep["periods"]:
        check_period(p, want.get(p["period"], [0, 0, 0, {}]))
    assert rep["campaign"] is None and rep["total"]["attempts"] == sum(w[0] for w in want.values())


def test_report_csv_and_table_carry_the_same_numbers(filled):
    conf, entries = filled
    want = expected(entries, lambda t: "all")["all"]
    rows = list(csv.DictReader(io.StringIO(dialer(conf, "-a", "report", "--from", "2026-10-23", "--to",
                                                  "2026-10-28", "--format", "csv", check=0).stdout)))
    assert [r["period"][:10] for r in rows[:-1]] == [f"2026-10-{d}" for d in range(23, 29)]
    total = rows[-1]
    assert total["period"] == "total" and int(total["attempts"]) == want[0] == len(entries)
    assert {k[5:]: int(v) for k, v in total.items() if k.startswith("code_")} == want[3]
    table = dialer(conf, "-a", "report", "--from", "2026-10-23", "--to", "2026-10-28", check=0).stdout
    (line,) = [ln for ln in table.splitlines() if ln.startswith("total")]
    assert line.split()[1:3] == [str(want[0]), str(want[1])]
    assert f"{want[1] / want[0] * 100:.1f}%" in line
    assert "12 " + codes.code_name(12) in table and "(local time: CE" in table


def test_history_of_a_number_as_text_and_json(filled):
    conf, entries = filled
    mine = sorted((e for e in entries if e.phone == PHONE), key=lambda e: e.originated_at)
    got = json.loads(dialer(conf, "-a", "history", "-p", PHONE, "--format", "json", check=0).stdout)
    assert [(g["campaign"], g["lead_id"], g["attempt"], g["disposition"], g["channelid"], g["param"])
            for g in got] == [(e.campaign, e.lead_id, e.attempt, e.disposition, e.channelid, e.param) for e in mine]
    assert [dt.datetime.fromisoformat(g["originated_at"]).timestamp() for g in got] == [e.originated_at for e in mine]
    assert got[0]["disposition_name"] == codes.code_name(mine[0].disposition)
    text = dialer(conf, "-c", "a", "-a", "history", "-p", PHONE, check=0).stdout
    in_a = [e for e in mine if e.campaign == "a"]
    assert text.startswith(f"{len(in_a)} attempt(s) to {PHONE} in campaign a")
    first = dt.datetime.fromtimestamp(in_a[0].originated_at, PARIS).strftime("%Y-%m-%d %H:%M:%S")
    assert text.splitlines()[2].startswith(first)
    proc = dialer(conf, "-a", "history", "-p", "0600000000")
    assert proc.returncode == 1 and "no attempt" in proc.stdout


def test_historydump_streams_every_row_as_csv(filled):
    conf, entries = filled
    out = dialer(conf, "-a", "historydump", check=0).stdout
    rows = list(csv.reader(io.StringIO(out)))
    assert tuple(rows[0]) == COLUMN_NAMES and len(rows) == len(entries) + 1
    for r, e in zip(rows[1:], entries):
        d = dict(zip(COLUMN_NAMES, r))
        assert (d["campaign"], d["phone"], int(d["disposition"]), d["param"]) == (e.campaign, e.phone, e.disposition,
                                                                                e.param)
        assert dt.datetime.fromisoformat(d["ended_at"]).timestamp() == e.ended_at
        assert d["answered_at"] == ("" if e.answered_at is None else
                                    dt.datetime.fromtimestamp(e.answered_at, PARIS).isoformat())
    only_b = list(csv.reader(io.StringIO(dialer(conf, "-c", "b", "-a", "historydump", check=0).stdout)))
    assert len(only_b) - 1 == sum(e.campaign == "b" for e in entries)
    # dump is unchanged: the original's columns, no history in it.
    assert dialer(conf, "-c", "a", "-a", "fulldump", check=0).stdout.startswith("id,phone,datetime,attempts")


def test_history_purge_action(filled):
    conf, entries = filled
    days = (time.time() - START) // 86400 - 1          # every attempt but those of the last 2 days is older
    cutoff = time.time() - days * 86400
    out = dialer(conf, "-a", "history-purge", "-p", str(int(days)), check=0).stdout
    gone = sum(e.originated_at < cutoff for e in entries)
    assert 0 < gone < len(entries) and out.startswith(f"purged {gone} attempt(s)")
    left = list(csv.reader(io.StringIO(dialer(conf, "-a", "historydump", check=0).stdout)))
    assert len(left) - 1 == len(entries) - gone
    assert "kept forever" in dialer(conf, "-a", "history-purge", "-p", "0", check=0).stdout


def test_upgrade_adds_the_history_table_to_an_existing_database(dialer_conf):
    conf = dialer_conf()
    dialer(conf, "-a", "createdatabase", check=0)
    dialer(conf, "-c", "camp", "-a", "create", check=0)
    st = store_mod.open_store(config.load(str(conf)).general)
    st.execute(f"DROP TABLE {st.d.q(HISTORY_TABLE)}")        # a database made before the history
    st.close()
    one_line_error(dialer(conf, "-a", "historydump"), 2, HISTORY_TABLE)
    out = dialer(conf, "-c", "camp", "-a", "upgrade", check=0).stdout
    assert "up to date" in out and f"history table {HISTORY_TABLE} added" in out
    assert "added" not in dialer(conf, "-c", "camp", "-a", "upgrade", check=0).stdout
    assert dialer(conf, "-a", "historydump", check=0).stdout.strip() == ",".join(COLUMN_NAMES)


@pytest.mark.parametrize("args, words", [
    (("-a", "report", "--from", "2026-13-01"), ["--from", "2026-13-01", "YYYY-MM-DD"]),
    (("-a", "report", "--from", "2026-10-26", "--to", "2026-10-25"), ["not before"]),
    (("-a", "report", "--to", "yesterday"), ["--to", "yesterday"]),
    (("-a", "report", "--by", "week"), ["--by", "week"]),
    (("-a", "report", "-p", "x"), ["no parameter"]),
    (("-a", "history"), ["-p PHONE"]),
    (("-a", "history", "-p", "12ab"), ["12ab"]),
    (("-a", "history", "-p", PHONE, "--format", "csv"), ["--format csv"]),
    (("-c", "bad;name", "-a", "report"), ["bad;name"]),
    (("-a", "history-purge", "-p", "-3"), ["days"]),
])
def test_one_line_errors(dialer_conf, args, words):
    conf = dialer_conf()
    dialer(conf, "-a", "createdatabase", check=0)
    one_line_error(dialer(conf, *args), 2, *words)
