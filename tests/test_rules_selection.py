"""build_selection / window_open / f_* code filters: from campaign settings to what the
store may claim, checked on settings loaded from dialer.conf text, and against real
SQLite and MariaDB tables."""
import datetime as dt
import sqlite3
import pytest

from dialer import config
from dialer.rules import selection as sel
from tests.conftest import mysql_connect
from tests.plugins.rules import campaign

UTC = dt.timezone.utc


def utc(y, mo, d, h=0, mi=0):
    return dt.datetime(y, mo, d, h, mi, tzinfo=UTC)


def camp(**kw):
    return campaign(**{"timeslot": "9h-18h", "timezone": "Europe/Paris", "multiplecalls": True, **kw})


MON_NOON_UTC = utc(2026, 11, 23, 12)   # Paris 13:00, New York 07:00


def test_selection_carries_every_setting():
    c = camp(attempts="3", orderby="random", skip="5", blacklist="vip_block", usednc="true",
             multiplecalls="false", calltoday="false", filter="disposition <> 8")
    s = sel.build_selection(c, MON_NOON_UTC, [])
    assert (s.attempts, s.orderby, s.skip, s.blacklist, s.usednc, s.multiplecalls) == (
        3, "random", 5, "vip_block", True, False)
    assert s.where == ("disposition <> ?", (8,))
    assert s.not_updated_since == utc(2026, 11, 22, 23).timestamp()   # 00:00 in Paris
    assert s.zones is None  # campaign window, open


def test_defaults_mean_no_restriction():
    s = sel.build_selection(camp(), MON_NOON_UTC, None)
    assert (s.where, s.blacklist, s.not_updated_since, s.zones, s.usednc) == (None, None, None, None, False)


def test_closed_campaign_window_selects_nothing():
    c = camp(timeslot="mon-fri 14h-18h")
    assert not sel.window_open(c, MON_NOON_UTC)
    assert sel.build_selection(c, MON_NOON_UTC, None).zones == []
    assert sel.window_open(c, utc(2026, 11, 23, 13))            # 14:00 Paris
    assert sel.build_selection(c, utc(2026, 11, 23, 13), None).zones is None


def test_pause_closes_the_window():
    c = camp(pause="12h-14h")
    assert not sel.window_open(c, MON_NOON_UTC)


def test_original_timestart_timestop_keys():
    c = camp(timeslot=None, timestart=10, timestop=12)
    assert not sel.window_open(c, utc(2026, 11, 23, 8, 59))   # 09:59 Paris
    assert sel.window_open(c, utc(2026, 11, 23, 9))
    assert not sel.window_open(c, utc(2026, 11, 23, 11))      # 12:00 Paris


def test_no_timeslot_is_any_time_and_epoch_now_works():
    c = camp(timeslot=None)
    assert sel.window_open(c, utc(2026, 11, 23, 3))
    assert sel.window_open(c, utc(2026, 11, 23, 3).timestamp())


def test_server_zone_is_the_default(monkeypatch):
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    c = camp(timezone=None)
    assert sel.window_open(c, utc(2026, 11, 23, 1))          # 10:00 Tokyo
    assert not sel.window_open(c, MON_NOON_UTC)              # 21:00 Tokyo


def test_per_lead_zones():
    c = camp(leadtimezone="auto", timezone="Europe/Paris")
    zones = ["America/New_York", "Asia/Tokyo", "Europe/London", "America/Boise America/Los_Angeles"]
    # 16:30 UTC: Paris 17:30, London 16:30, NY 11:30, Boise 09:30, LA 08:30, Tokyo 01:30
    s = sel.build_selection(c, utc(2026, 11, 23, 16, 30), zones)
    # '' = not derived yet: never taken with auto; '-' = no zone known: the campaign's
    assert s.zones == ["-", "America/New_York", "Europe/London"]
    # 17:30 UTC: Paris closed ('-' uses the campaign zone), LA 09:30 so the pair opens
    s = sel.build_selection(c, utc(2026, 11, 23, 17, 30), zones)
    assert s.zones == ["America/New_York", "Europe/London", "America/Boise America/Los_Angeles"]
    assert sel.window_open(c, utc(2026, 11, 23, 17, 30), zones)
    assert not sel.window_open(c, utc(2026, 11, 23, 23, 30), ["Europe/London"])
    assert sel.window_open(c, utc(2026, 11, 23, 23, 30))   # zones unknown: the selection decides


def test_leadtimezone_zone_name_is_the_zone_of_leads_without_one():
    c = camp(leadtimezone="America/Chicago", timezone="Europe/Paris")
    # 15:30 UTC: Chicago 09:30 open; Paris 16:30 would also be open, Tokyo closed
    assert sel.build_selection(c, utc(2026, 11, 23, 15, 30), ["Asia/Tokyo"]).zones == ["", "-"]
    assert sel.build_selection(c, utc(2026, 11, 23, 14, 30), []).zones == []   # Chicago 08:30


@pytest.mark.parametrize("zone,day,midnight_utc", [
    ("Europe/Paris", (2026, 3, 29), utc(2026, 3, 28, 23)),     # spring forward: midnight still CET
    ("Europe/Paris", (2026, 3, 30), utc(2026, 3, 29, 22)),     # next day: CEST
    ("Europe/Paris", (2026, 10, 25), utc(2026, 10, 24, 22)),   # fall back day starts in CEST
    ("America/New_York", (2026, 3, 8), utc(2026, 3, 8, 5)),
    ("America/New_York", (2026, 11, 1), utc(2026, 11, 1, 4)),
    ("America/New_York", (2026, 11, 2), utc(2026, 11, 2, 5)),
])
def test_calltoday_false_day_starts_at_local_midnight_on_dst_days(zone, day, midnight_utc):
    c = camp(calltoday=False, timezone=zone, timeslot=None)
    for hour in (0, 6, 12, 23):
        local_now = dt.datetime(*day, hour, 30, tzinfo=sel.zn.get_zone(zone))
        assert sel.build_selection(c, local_now, None).not_updated_since == midnight_utc.timestamp()


@pytest.mark.parametrize("key,value,fragment", [
    ("orderby", "name", "orderby = 'name': expected one of attempts_pickups, id, phone, random"),
    ("f_mode", "1", "f_mode = '1': expected one of areacode, acprefix, zipcode, or none"),
    ("blacklist", "x; drop", "blacklist = 'x; drop': expected an identifier"),
    ("attempts", "0", "attempts = '0': expected an integer >= 1"),
    ("skip", "-1", "skip = '-1': expected an integer >= 0"),
    ("calltoday", "maybe", "calltoday = 'maybe': expected a boolean"),
    ("timezone", "Mars/Base", "timezone = 'Mars/Base': expected an IANA time zone name"),
    ("filter", "sleep(1)", "function calls are not allowed"),
    ("timeslot", "9h-9h", "empty range"),
    ("f_areacode", "12a", "f_areacode = '12a': expected a comma separated list of area codes"),
])
def test_bad_settings_are_config_errors_of_one_line(key, value, fragment):
    """The selection takes only what the config loader validated: a bad value stops the load."""
    with pytest.raises(config.ConfigError) as err:
        camp(**{key: value})
    assert fragment in str(err.value) and "\n" not in str(err.value)


def test_works_on_a_real_dialer_conf(tmp_path):
    conf = tmp_path / "dialer.conf"
    conf.write_text("[general]\ndbengine=sqlite\nsqlitepath=" + str(tmp_path / "d.sqlite") + "\n"
                    "[default]\ntimeslot=mon-fri 9h-18h\nuri=http://x/\n"
                    "[sales]\npause=12h-14h\ntimezone=America/New_York\nleadtimezone=auto\n"
                    "filter=attempts < 3 and phone like '1%'\nf_mode=areacode\nf_areacode=1212,!1646\n"
                    "calltoday=false\nblacklist=bl\nattempts=4\norderby=id\n")
    c = config.load(str(conf)).campaigns["sales"]
    s = sel.build_selection(c, utc(2026, 11, 23, 15), ["America/Chicago"])   # NY 10:00, Chicago 09:00
    assert s.where[0] == ("((attempts < ? AND LOWER(phone) LIKE LOWER(?) ESCAPE ?) AND "
                          "((LOWER(phone) LIKE LOWER(?) ESCAPE ? OR LOWER(phone) LIKE LOWER(?) ESCAPE ?) AND "
                          "(NOT ((LOWER(phone) LIKE LOWER(?) ESCAPE ? OR LOWER(phone) LIKE LOWER(?) ESCAPE ?)))))")
    assert s.where[1] == (3, "1%", "\\", "1212%", "\\", "+1212%", "\\", "1646%", "\\", "+1646%", "\\")
    assert (s.attempts, s.orderby, s.blacklist) == (4, "id", "bl")
    assert s.zones == ["-", "America/Chicago"]
    assert s.not_updated_since == utc(2026, 11, 23, 5).timestamp()
    assert not sel.window_open(c, utc(2026, 11, 28, 15), [])   # Saturday


# -- f_* code filters against real tables ---------------------------------------------------

LEADS = [
    # id, phone, zipcode
    (1, "12125550001", "10001"),
    (2, "+12125550002", "10002"),
    (3, "16465550003", "10003"),
    (4, "+16465550004", ""),
    (5, "33612345678", "75001"),
    (6, "+33612345679", "sw1a 1aa"),
    (7, "0612345670", "75001"),
]

CODE_CASES = [
    ("areacode", "1212", {1, 2}),
    ("areacode", "+1212", {2}),
    ("areacode", "1212,1646", {1, 2, 3, 4}),
    ("areacode", "!1646", {1, 2, 5, 6, 7}),
    ("areacode", "1,!1646", {1, 2}),
    ("areacode", "!1,!33", {7}),
    ("areacode", "06", {7}),                  # a national trunk prefix is written in the code
    ("acprefix", "1212555", {1, 2}),
    ("acprefix", "!336123", {1, 2, 3, 4, 7}),
    ("zipcode", "75001", {5, 7}),
    ("zipcode", "75001,10002", {2, 5, 7}),
    ("zipcode", "!75001", {1, 2, 3, 4, 6}),   # a lead without a zip code is not excluded
    ("zipcode", "SW1A 1AA", {6}),             # same on both databases despite the case
    ("zipcode", "10001,!10001", set()),
]


def _rows_for(conn_exec, f):
    sql, params = f.sql()
    return {r[0] for r in conn_exec(f"SELECT id FROM leads WHERE {sql}", params)}


@pytest.fixture(scope="module")
def lite():
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE leads (id INTEGER PRIMARY KEY, phone VARCHAR(64) NOT NULL, "
                 "zipcode VARCHAR(16) NOT NULL DEFAULT '', attempts INT NOT NULL DEFAULT 0)")
    conn.executemany("INSERT INTO leads (id, phone, zipcode) VALUES (?, ?, ?)", LEADS)
    yield conn
    conn.close()


@pytest.mark.parametrize("mode,codes,expected", CODE_CASES)
def test_code_filters_on_sqlite_and_in_python(lite, mode, codes, expected):
    key = {"areacode": "f_areacode", "acprefix": "f_areacode_prefix", "zipcode": "f_zipcode"}[mode]
    f = sel.code_filter(camp(f_mode=mode, **{key: codes}))
    assert _rows_for(lambda q, p: lite.execute(q, p).fetchall(), f) == expected
    assert {i for i, phone, z in LEADS if f.matches({"phone": phone, "zipcode": z})} == expected


def test_code_filters_on_mariadb(mysql_db):
    conn = mysql_connect(mysql_db["database"])
    try:
        with conn.cursor() as cur:
            cur.execute("CREATE TABLE leads (id INT PRIMARY KEY, phone VARCHAR(64) NOT NULL, "
                        "zipcode VARCHAR(16) NOT NULL DEFAULT '', attempts INT NOT NULL DEFAULT 0) "
                        "DEFAULT CHARSET=utf8mb4")
            cur.executemany("INSERT INTO leads (id, phone, zipcode) VALUES (%s, %s, %s)", LEADS)

            def run(q, p):
                cur.execute(q.replace("?", "%s"), p)
                return cur.fetchall()
            for mode, codes, expected in CODE_CASES:
                key = {"areacode": "f_areacode", "acprefix": "f_areacode_prefix", "zipcode": "f_zipcode"}[mode]
                assert _rows_for(run, sel.code_filter(camp(f_mode=mode, **{key: codes}))) == expected, (mode, codes)
    finally:
        conn.close()


def test_code_filter_off_and_other_mode_keys_ignored():
    assert sel.code_filter(camp()) is None
    assert sel.code_filter(camp(f_mode="zipcode", f_areacode="1212")) is None   # zip list empty


def test_filter_and_code_filter_combine(lite):
    c = camp(filter="attempts = 0 AND id <> 2", f_mode="areacode", f_areacode="1212")
    assert _rows_for(lambda q, p: lite.execute(q, p).fetchall(), sel.combined_filter(c)) == {1}


# -- through the real store: what a claim takes -----------------------------------------------

def test_claims_through_the_store_take_exactly_the_selected_leads(camp_store):
    c, st = camp_store("timeslot=9h-18h\ntimezone=Asia/Tokyo\nleadtimezone=Europe/Paris\n"
                       "filter=param <> 'skip'\nf_mode=areacode\nf_areacode=!1646\n"
                       "multiplecalls=true\nattempts=1\n")
    leads = {
        "33100000001": ("", ""),                    # no zone: leadtimezone's (Paris)
        "33100000002": ("skip", ""),                # filtered out
        "12125550003": ("", "America/New_York"),
        "16465550004": ("", "America/New_York"),    # excluded area code
        "81300000005": ("", "Asia/Tokyo"),
        "12083155506": ("", "America/Los_Angeles"),
    }
    for phone, (param, zone) in leads.items():
        st.insert("camp", phone, param=param, timezone=zone)
    now = utc(2026, 11, 23, 16)   # Paris 17:00, NY 11:00, LA 08:00, Tokyo 01:00
    s = sel.build_selection(c, now, st.zones("camp"))
    taken = {lead.phone for lead in st.claim("camp", 10, "t1", 60, now.timestamp(), s)}
    assert taken == {"33100000001", "12125550003"}
    later = utc(2026, 11, 23, 17)  # Paris 18:00 closed; LA 09:00 open
    s = sel.build_selection(c, later, st.zones("camp"))
    taken = {lead.phone for lead in st.claim("camp", 10, "t1", 60, later.timestamp(), s)}
    assert taken == {"12083155506"}
