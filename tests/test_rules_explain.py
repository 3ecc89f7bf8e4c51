"""explain(): the reasons a lead is or is not dialable right now."""
import datetime as dt
import time
import pytest

from dialer.rules.explain import dialable, explain, format_reasons
from tests.plugins.rules import campaign

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 11, 23, 15, 0, tzinfo=UTC)   # Monday: Paris 16:00, New York 10:00, Tokyo 00:00


def camp(**kw):
    return campaign(**{"timeslot": "9h-18h", "timezone": "Europe/Paris", "multiplecalls": True, "attempts": 3, **kw})


def lead(**kw):
    row = dict(id=7, phone="33123456789", datetime=None, attempts=0, pickups=0, disposition=1,
               reason="Unknow", timezone="", areacode="", zipcode="", param="")
    row.update(kw)
    return row


def run(c=None, row=None, now=NOW, **flags):
    flags = {"in_dnc": False, "in_blacklist": False, "in_progress": False, **flags}
    return explain(c or camp(), row or lead(), now, **flags)


def verdicts(reasons):
    return {rule: ok for ok, rule, _ in reasons}


def text_of(reasons, rule):
    return next(t for _, r, t in reasons if r == rule)


def test_a_fresh_lead_inside_the_window_is_dialable():
    reasons = run()
    assert dialable(reasons)
    assert {"zone", "timeslot", "dnc", "blacklist", "disposition", "attempts", "retry delay",
            "in progress"} <= set(verdicts(reasons))
    out = format_reasons(reasons)
    assert out.endswith("=> dialable now")
    assert "timeslot" in out and "16:00 CET" in out


def test_outside_the_window_says_when_it_opens():
    reasons = run(now=dt.datetime(2026, 11, 23, 19, 0, tzinfo=UTC))   # Paris 20:00
    v = verdicts(reasons)
    assert v["timeslot"] is False and not dialable(reasons)
    assert "outside 9h-18h in Europe/Paris (local time 2026-11-23 20:00 CET)" in text_of(reasons, "timeslot")
    assert "2026-11-24 09:00 CET (2026-11-24 08:00 UTC)" in text_of(reasons, "next window")


def test_pause():
    reasons = run(camp(pause="15h-17h"))
    assert verdicts(reasons)["pause"] is False
    assert "in the pause 15h-17h in Europe/Paris" in text_of(reasons, "pause")
    assert "2026-11-23 17:00 CET" in text_of(reasons, "next window")


def test_lead_zone_from_the_column_and_from_the_number():
    c = camp(leadtimezone="auto")
    reasons = run(c, lead(timezone="Asia/Tokyo"))
    assert "Asia/Tokyo: the lead's timezone column" in text_of(reasons, "zone")
    assert verdicts(reasons)["timeslot"] is False
    reasons = run(c, lead(phone="+12125551234", timezone="America/New_York"))
    assert dialable(reasons)
    # auto, column not filled in yet: the selection does not take it, and explain says why
    reasons = run(c, lead(phone="+12125551234"))
    assert verdicts(reasons)["zone"] is False and not dialable(reasons)
    assert "not yet derived from the number" in text_of(reasons, "zone")
    assert "'America/New_York'" in text_of(reasons, "zone")
    assert "next window" not in verdicts(reasons)   # its window is open: only the zone is missing
    reasons = run(c, lead(phone="+447700900123", timezone="-"))
    assert "Europe/Paris: the campaign's zone (no zone known for the number)" in text_of(reasons, "zone")
    assert dialable(reasons)
    reasons = run(camp(leadtimezone="Asia/Tokyo"), lead())
    assert "Asia/Tokyo: leadtimezone (the lead has no zone)" in text_of(reasons, "zone")


def test_multi_zone_number_needs_every_zone_open():
    c = camp(leadtimezone="auto")
    row = lead(phone="+12083155501", timezone="America/Boise America/Los_Angeles")
    at_16 = dt.datetime(2026, 11, 23, 16, 30, tzinfo=UTC)   # Boise 09:30, LA 08:30
    reasons = run(c, row, now=at_16)
    assert "America/Boise, America/Los_Angeles" in text_of(reasons, "zone")
    assert "outside 9h-18h in America/Los_Angeles" in text_of(reasons, "timeslot")
    assert "(2026-11-23 17:00 UTC)" in text_of(reasons, "next window")
    assert dialable(run(c, row, now=dt.datetime(2026, 11, 23, 17, 0, tzinfo=UTC)))


def test_unknown_zone_in_the_column_is_never_called():
    reasons = run(camp(leadtimezone="auto"), lead(timezone="Mars/Base"))
    assert verdicts(reasons)["zone"] is False
    assert "'Mars/Base' is not an IANA time zone" in text_of(reasons, "zone")


@pytest.mark.parametrize("usednc,in_dnc,ok,fragment", [
    (True, True, False, "the number is in the do-not-call list"),
    (True, False, True, "not in the do-not-call list"),
    (False, True, True, "usednc = false: the do-not-call list is not checked (the number is in it)"),
])
def test_dnc(usednc, in_dnc, ok, fragment):
    reasons = run(camp(usednc=usednc), in_dnc=in_dnc)
    assert verdicts(reasons)["dnc"] is ok and fragment in text_of(reasons, "dnc")


def test_blacklist():
    reasons = run(camp(blacklist="vip"), in_blacklist=True)
    assert verdicts(reasons)["blacklist"] is False
    assert "in blacklist vip" in text_of(reasons, "blacklist")
    assert verdicts(run(camp(blacklist="vip")))["blacklist"] is True
    assert text_of(run(in_blacklist=True), "blacklist") == "no blacklist"


def test_filter_and_code_filter_are_evaluated_on_the_row():
    c = camp(filter="zipcode LIKE '75%' AND attempts < 2", f_mode="areacode", f_areacode="!331")
    reasons = run(c, lead(zipcode="75001"))
    assert verdicts(reasons)["filter"] is True
    assert verdicts(reasons)["f_mode"] is False
    assert "is excluded by f_mode=areacode f_areacode=!331" in text_of(reasons, "f_mode")
    reasons = run(c, lead(zipcode="13001", phone="33612345678"))
    assert verdicts(reasons)["filter"] is False and verdicts(reasons)["f_mode"] is True
    assert "does not match filter: zipcode LIKE '75%' AND attempts < 2" in text_of(reasons, "filter")


def test_final_disposition_and_attempts():
    reasons = run(row=lead(disposition=12, attempts=1, datetime="2026-11-20 10:00:00"))
    assert verdicts(reasons)["disposition"] is False
    assert "12 (Sale - count as contacts) is final" in text_of(reasons, "disposition")
    reasons = run(row=lead(disposition=-2, attempts=3, datetime="2026-11-20 10:00:00"))
    assert verdicts(reasons)["attempts"] is False and "3 of 3 attempts made" in text_of(reasons, "attempts")


@pytest.fixture
def server_in_utc(monkeypatch):
    """The store writes `datetime` in the server's local time: pin that to UTC."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_retry_delay_from_datetime_and_from_the_stores_nextcall(server_in_utc):
    row = lead(attempts=1, disposition=-4, datetime="2026-11-23 14:55:00")
    reasons = run(row=row)
    assert verdicts(reasons)["retry delay"] is False
    assert "next not before 2026-11-23 15:05:00 UTC (attemptsdelay = 600 s)" in text_of(reasons, "retry delay")
    assert verdicts(run(row=dict(row, datetime="2026-11-23 14:50:00")))["retry delay"] is True
    waiting = dict(row, state=1, nextcall=int(NOW.timestamp()) + 3600)
    reasons = run(row=waiting)
    assert "next attempt not before 2026-11-23 16:00:00 UTC" in text_of(reasons, "retry delay")


def test_calltoday_false_one_attempt_per_day(server_in_utc):
    c = camp(calltoday=False, attemptsdelay=0)
    reasons = run(c, lead(attempts=1, disposition=-2, datetime="2026-11-23 08:00:00"))
    assert verdicts(reasons)["calltoday"] is False
    assert "already attempted today at 2026-11-23 09:00 CET" in text_of(reasons, "calltoday")
    # 22:30 UTC on the 22nd is 23:30 in Paris: yesterday there
    assert verdicts(run(c, lead(attempts=1, disposition=-2, datetime="2026-11-22 22:30:00")))["calltoday"] is True


def test_in_progress_and_multiplecalls():
    reasons = run(in_progress=True)
    assert verdicts(reasons)["in progress"] is False
    reasons = run(camp(multiplecalls=False), phone_in_progress=True)
    assert verdicts(reasons)["multiplecalls"] is False
    assert "multiplecalls" not in verdicts(run(camp(multiplecalls=True), phone_in_progress=True))


def test_paused_campaign():
    assert verdicts(run(camp(active=False)))["active"] is False


def test_with_a_row_from_the_real_store(camp_store):
    c, st = camp_store("timeslot=9h-18h\ntimezone=Europe/Paris\nusednc=true\nfilter=param = 'gold'\n")
    st.insert("camp", "33123456789", param="gold")
    st.list_add("33123456789")   # the DNC list
    row = st.find("camp", "33123456789")[0]
    reasons = explain(c, row, NOW, in_dnc=st.in_dnc("33123456789"),
                      in_blacklist=False, in_progress=bool(st.in_flight("33123456789")))
    v = verdicts(reasons)
    assert v["filter"] is True and v["timeslot"] is True
    assert v["dnc"] is False and not dialable(reasons)


def test_explain_agrees_with_what_the_store_claims(camp_store, server_in_utc):
    """For leads in every situation, explain() says dialable exactly for the leads that a
    claim with build_selection() takes."""
    from dialer.model import Outcome, Selection
    from dialer.rules.selection import build_selection

    c, st = camp_store("timeslot=9h-18h\ntimezone=Europe/Paris\nleadtimezone=Europe/Paris\nusednc=true\n"
                       "blacklist=bl\nfilter=param <> 'nofilter'\nf_mode=areacode\nf_areacode=!3399\n"
                       "calltoday=false\nattempts=2\nattemptsdelay=600\nmultiplecalls=true\n")
    now = dt.datetime(2026, 11, 23, 12, 0, tzinfo=UTC)   # Monday, Paris 13:00
    leads = {
        "33100000001": ("", ""),                   # dialable
        "33100000002": ("nofilter", ""),           # filter
        "33990000003": ("", ""),                   # f_areacode=!3399
        "33100000004": ("", ""),                   # DNC
        "33100000005": ("", ""),                   # blacklist
        "12125550006": ("", "America/New_York"),   # 07:00 there
        "33100000007": ("", ""),                   # no answer earlier today: calltoday
        "33100000008": ("", ""),                   # answered: final
        "33100000009": ("", ""),                   # being called now
        "33100000010": ("", ""),                   # no answer yesterday: due again
        "33100000011": ("", "Asia/Kolkata"),       # 17:30 there: dialable
    }
    for phone, (param, zone) in leads.items():
        st.insert("camp", phone, param=param, timezone=zone)
    st.list_add("33100000004")
    st.list_add("33100000005", table="bl")

    def attempt(phone, when, code):
        only = Selection(attempts=9, where=("phone = ?", (phone,)))
        (lead,) = st.claim("camp", 1, "t", 3600, when.timestamp(), only)
        if code is not None:
            st.record("camp", lead.id, "t", Outcome(disposition=code, picked_up=code == 12),
                      when.timestamp() + 30, 600)

    attempt("33100000007", now - dt.timedelta(hours=2), -2)
    attempt("33100000008", now - dt.timedelta(hours=2), 12)
    attempt("33100000009", now - dt.timedelta(minutes=1), None)
    attempt("33100000010", now - dt.timedelta(hours=20), -2)

    said = set()
    for phone in leads:
        (row,) = st.find("camp", phone)
        reasons = explain(c, row, now, in_dnc=st.in_dnc(phone), in_blacklist=st.in_blacklist("bl", phone),
                          in_progress=row.get("state") == 2)
        if dialable(reasons):
            said.add(phone)
    taken = {lead.phone for lead in st.claim("camp", 100, "t2", 60, now.timestamp(),
                                             build_selection(c, now, st.zones("camp")))}
    assert said == {"33100000001", "33100000010", "33100000011"}
    assert taken == said


def test_retry_delay_names_the_per_outcome_rule_that_decides():
    waiting = dict(state=1, nextcall=int(NOW.timestamp()) + 200, datetime=NOW - dt.timedelta(seconds=100),
                   attempts=1)
    c = camp(retry="busy:5m", maxretries="busy:4")
    reasons = run(c, lead(disposition=-4, **waiting))
    assert "(retry busy:300s)" in text_of(reasons, "retry delay") and not dialable(reasons)
    reasons = run(c, lead(disposition=-2, **waiting))
    assert "(attemptsdelay = 600 s)" in text_of(reasons, "retry delay")


def test_attempts_with_maxretries_count_the_outcome():
    c = camp(attempts=2, maxretries="busy:4")
    reasons = run(c, lead(disposition=-4, attempts=3, outcomes="-4:3", datetime=NOW - dt.timedelta(hours=2)))
    assert verdicts(reasons)["attempts"] is True
    assert text_of(reasons, "attempts") == "3 of 4 attempts ended busy (maxretries); 3 attempts in all"
    reasons = run(c, lead(disposition=-2, attempts=1, datetime=NOW - dt.timedelta(hours=2)))
    assert "attempts = 2, and maxretries busy:4 allow more" in text_of(reasons, "attempts")
    # Without maxretries: the manual's wording.
    assert text_of(run(camp(), lead(attempts=1)), "attempts") == "1 of 3 attempts made"
