"""Lead time zones: keys derived from numbers, multi-zone numbers, which keys are open on DST days.

The DST tests compare against an oracle that applies the published UTC offsets by hand,
so a zoneinfo misuse in the code under test cannot hide in the expectation."""
import datetime as dt

import pytest

from dialer.rules import zones as zn
from dialer.rules.timeslot import parse_pause, parse_timeslot

UTC = dt.timezone.utc
H = dt.timedelta(hours=1)


def utc(y, mo, d, h=0, mi=0):
    return dt.datetime(y, mo, d, h, mi, tzinfo=UTC)


# -- zone keys from numbers ---------------------------------------------------------------

@pytest.mark.parametrize("phone,region,key", [
    ("+12125551234", None, "America/New_York"),
    ("12125551234", None, "America/New_York"),        # no '+': international digits
    ("0012125551234", None, "America/New_York"),      # 00 international prefix
    ("+1 (212) 555-1234", None, "America/New_York"),
    ("13125551234", None, "America/Chicago"),
    ("33612345678", None, "Europe/Paris"),
    ("0612345678", "FR", "Europe/Paris"),             # national number read in a default region
    ("0612345678", "fr", "Europe/Paris"),
    ("2125551234", "US", "America/New_York"),
    ("+12083155501", None, "America/Boise America/Los_Angeles"),   # one number, two zones
    ("+18005551234", None, "@1"),                     # toll free: every NANP zone, too long to spell
    ("+79161234567", None, "@7"),
    ("+447700900123", None, "-"),                     # reserved for drama: no zone
    ("", None, "-"),
    ("not a number", None, "-"),
])
def test_zone_key_for_number(phone, region, key):
    assert zn.zone_key_for_number(phone, region) == key


def test_zone_keys_fit_the_timezone_column_and_resolve():
    for phone in ("+18005551234", "+79161234567", "+61412345678", "+12083155501", "+5511987654321"):
        key = zn.zone_key_for_number(phone)
        assert len(key) <= zn.KEY_MAX
        names = zn.zone_set(key, "UTC")
        assert names and all(zn.get_zone(n) for n in names)
    nanp = zn.zone_set("@1", "UTC")
    assert {"America/New_York", "America/Los_Angeles", "Pacific/Honolulu"} <= set(nanp)


def test_zone_set_spellings():
    assert zn.zone_set("", "Europe/Paris") == ("Europe/Paris",)
    assert zn.zone_set("-", "Europe/Paris") == ("Europe/Paris",)
    assert zn.zone_set("Asia/Tokyo", "Europe/Paris") == ("Asia/Tokyo",)
    assert zn.zone_set("America/Chicago, America/New_York", "X") == ("America/Chicago", "America/New_York")
    with pytest.raises(ValueError):
        zn.zone_set("@999999", "UTC")


def test_get_zone_refuses_non_zones():
    for bad in ("", "Mars/Olympus", "../../etc/passwd", "/usr/share/zoneinfo/UTC", "Europe/Paris\n"):
        with pytest.raises(ValueError, match="not an IANA time zone"):
            zn.get_zone(bad)


def test_local_zone_name_follows_tz(monkeypatch):
    monkeypatch.setenv("TZ", "America/Denver")
    assert zn.local_zone_name() == "America/Denver"
    monkeypatch.setenv("TZ", ":Asia/Tokyo")
    assert zn.local_zone_name() == "Asia/Tokyo"
    monkeypatch.setenv("TZ", "Nowhere/Land")
    zn.get_zone(zn.local_zone_name())  # falls back to the system's zone, still a valid one


# -- which zone keys are open ----------------------------------------------------------------

def open_zones(timeslot, pause, keys, now, default_zone="UTC"):
    """The keys whose window is open now, as the selection asks zones.key_is_open."""
    win = zn.window(timeslot, pause)
    return [k for k in keys if zn.key_is_open(win, k, now, default_zone)]


def test_open_zones_basic_and_multi_zone_needs_all_open():
    ts = parse_timeslot("9h-18h")
    keys = ["Europe/Paris", "America/New_York", "America/Chicago", "America/Chicago America/New_York",
            "Asia/Tokyo", "", "Bogus/Zone"]
    # 2026-11-23 14:30 UTC: Paris 15:30, NY 09:30, Chicago 08:30, Tokyo 23:30, London 14:30
    now = utc(2026, 11, 23, 14, 30)
    assert open_zones(ts, None, keys, now, default_zone="Europe/London") == ["Europe/Paris", "America/New_York", ""]
    # 15:30 UTC: Chicago 09:30 too, so the two-zone key opens
    now = utc(2026, 11, 23, 15, 30)
    assert open_zones(ts, None, keys, now, default_zone="Europe/London") == [
        "Europe/Paris", "America/New_York", "America/Chicago", "America/Chicago America/New_York", ""]
    # 23:30 UTC: NY is 18:30 (closed) while Chicago is 17:30: the pair is closed
    now = utc(2026, 11, 23, 23, 30)
    assert open_zones(ts, None, keys, now, default_zone="Europe/London") == ["America/Chicago"]


def test_open_zones_pause_and_epoch_now():
    ts, pause = parse_timeslot("9h-18h"), parse_pause("12h-14h")
    now = utc(2026, 11, 23, 12, 0)  # Paris 13:00 (pause), Lisbon 12:00 (pause), Kolkata 17:30
    assert open_zones(ts, pause, ["Europe/Paris", "Europe/Lisbon", "Asia/Kolkata"], now) == ["Asia/Kolkata"]
    assert open_zones(ts, pause, ["Asia/Kolkata"], now.timestamp()) == ["Asia/Kolkata"]
    assert open_zones(None, None, ["Pacific/Auckland"], now) == ["Pacific/Auckland"]  # no timeslot: always


# Offsets (hours) before and after each 2026 transition, and the UTC instant of the change.
TRANSITIONS = {
    "Europe/Paris": [(utc(2026, 3, 29, 1), 1, 2), (utc(2026, 10, 25, 1), 2, 1)],
    "Europe/London": [(utc(2026, 3, 29, 1), 0, 1), (utc(2026, 10, 25, 1), 1, 0)],
    "America/New_York": [(utc(2026, 3, 8, 7), -5, -4), (utc(2026, 11, 1, 6), -4, -5)],
    "America/Chicago": [(utc(2026, 3, 8, 8), -6, -5), (utc(2026, 11, 1, 7), -5, -6)],
    "Asia/Tokyo": [],
}
WINTER = {"Europe/Paris": 1, "Europe/London": 0, "America/New_York": -5, "America/Chicago": -6, "Asia/Tokyo": 9}


def oracle_offset(zone, instant):
    off = WINTER[zone]
    for when, before, after in TRANSITIONS[zone]:
        off = after if instant >= when else before
        if instant < when:
            break
    return off


def oracle_open(intervals, zone, instant):
    local = instant + oracle_offset(zone, instant) * H
    minute = local.hour * 60 + local.minute
    return any(a <= minute < b for a, b in intervals)


@pytest.mark.parametrize("day", [(2026, 3, 29), (2026, 10, 25), (2026, 3, 8), (2026, 11, 1)])
def test_open_zones_on_dst_days_matches_hand_computed_offsets(day):
    # A window that touches the transition hours on both continents, with a pause.
    ts, pause = parse_timeslot("1h30-3h30,8h-20h"), parse_pause("12h-13h")
    intervals = [(90, 210), (480, 720), (780, 1200)]
    keys = list(TRANSITIONS)
    t = utc(*day) - 12 * H
    end = utc(*day) + 36 * H
    seen_open = set()
    while t < end:
        expected = [z for z in keys if oracle_open(intervals, z, t)]
        assert open_zones(ts, pause, keys, t) == expected, t
        seen_open.update(expected)
        t += dt.timedelta(minutes=5)
    assert seen_open == set(keys)


def test_paris_spring_forward_night_window():
    ts = parse_timeslot("2h-3h")   # does not exist on 2026-03-29 in Paris
    for minute in range(0, 24 * 60, 5):
        t = utc(2026, 3, 29) + dt.timedelta(minutes=minute)
        assert open_zones(ts, None, ["Europe/Paris"], t) == [], t


def test_new_york_fall_back_night_window_is_open_twice():
    ts = parse_timeslot("1h-2h")   # 01:00-02:00 happens twice on 2026-11-01 in New York
    opened = [m for m in range(0, 24 * 60, 5)
              if open_zones(ts, None, ["America/New_York"], utc(2026, 11, 1) + dt.timedelta(minutes=m))]
    assert opened == list(range(5 * 60, 7 * 60, 5))   # 05:00-07:00 UTC = both 01:xx hours
