"""Calling windows: the timeslot/pause grammar, evaluation on wall clocks, DST days."""
import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from dialer.rules.timeslot import from_hours, parse_pause, parse_timeslot

PARIS = ZoneInfo("Europe/Paris")
NY = ZoneInfo("America/New_York")
UTC = dt.timezone.utc


def at(y, mo, d, h, mi=0, tz=PARIS, fold=0):
    return dt.datetime(y, mo, d, h, mi, tzinfo=tz, fold=fold)


# 2026-11-23 is a Monday.
MON = (2026, 11, 23)
SAT = (2026, 11, 28)
SUN = (2026, 11, 29)


@pytest.mark.parametrize("text,canonical", [
    ("9h-18h", "9h-18h"),
    ("9H-18H", "9h-18h"),
    ("9-18", "9h-18h"),
    ("09:00-18:00", "9h-18h"),
    ("9:30-18:15", "9h30-18h15"),
    (" 9h - 18h ", "9h-18h"),
    ("9h30-12h,14h-18h", "9h30-12h,14h-18h"),
    ("9h30-12h, 14h-18h", "9h30-12h,14h-18h"),
    ("mon-fri 9h-20h; sat 10h-13h", "mon-fri 9h-20h; sat 10h-13h"),
    ("Monday-Friday 9h-20h;", "mon-fri 9h-20h"),
    ("mon-fri: 09:00-20:00; sat: 10:00-13:00", "mon-fri 9h-20h; sat 10h-13h"),
    ("mon,wed 8h-9h", "mon 8h-9h; wed 8h-9h"),
    ("fri-mon 8h-9h", "mon 8h-9h; fri-sun 8h-9h"),
    ("0h-24h", "always"),
    ("0-0", "always"),
    ("always", "always"),
    ("9h-18h; sat 10h-13h", "mon-fri 9h-18h; sat 10h-13h; sun 9h-18h"),
    ("mon 9h-12h; mon 14h-18h", "mon 9h-12h,14h-18h"),
    ("8h-12h,10h-14h", "8h-14h"),
    ("22h-6h", "0h-6h,22h-24h"),
    ("fri 22h-2h", "fri 22h-24h; sat 0h-2h"),
    ("fri 22h-0h", "fri 22h-24h"),
    ("sun 23h-1h", "mon 0h-1h; sun 23h-24h"),
])
def test_grammar_forms(text, canonical):
    ts = parse_timeslot(text)
    assert ts.canonical() == canonical
    assert parse_timeslot(ts.canonical()) == ts
    assert str(ts) == text.strip()


@pytest.mark.parametrize("text,fragment", [
    ("", "empty timeslot"),
    ("9h-9h", "empty range 9h-9h"),
    ("25h-3h", "invalid time '25h'"),
    ("24h-3h", "cannot start at '24h'"),
    ("9:60-10", "invalid time '9:60'"),
    ("24:30-1", "invalid time"),
    ("9h", "expected '-'"),
    ("9h-", "expected an end time"),
    ("mon", "expected a time"),
    ("9h-18h,", "expected a time"),
    ("xyz 9-10", "unknown day 'xyz'"),
    ("9h-18h sat", "unexpected 'sat'"),
    ("9h-18h, sat 10h-13h", "expected a time"),
    ("9h-18h!", "unexpected '!'"),
    ("9.5-18", "unexpected"),
    ("9h-18h:", "unexpected ':'"),
    ("mon:: 9h-18h", "expected a time"),
])
def test_refusals_say_what_was_expected(text, fragment):
    with pytest.raises(ValueError) as err:
        parse_timeslot(text)
    msg = str(err.value)
    assert fragment in msg
    assert "\n" not in msg
    assert "expected" in msg or "use 0h" in msg


def test_is_open_boundaries():
    ts = parse_timeslot("9h30-12h,14h-18h")
    assert not ts.is_open(at(*MON, 9, 29))
    assert ts.is_open(at(*MON, 9, 30))
    assert ts.is_open(dt.datetime(2026, 11, 23, 11, 59, 59, tzinfo=PARIS))
    assert not ts.is_open(at(*MON, 12, 0))
    assert not ts.is_open(at(*MON, 13, 59))
    assert ts.is_open(at(*MON, 14, 0))
    assert not ts.is_open(at(*MON, 18, 0))


def test_days():
    ts = parse_timeslot("mon-fri 9h-20h; sat 10h-13h")
    assert ts.is_open(at(*MON, 19, 30))
    assert not ts.is_open(at(*SAT, 9, 30))
    assert ts.is_open(at(*SAT, 12, 0))
    assert not ts.is_open(at(*SUN, 12, 0))


def test_evaluated_on_the_datetimes_own_wall_clock():
    ts = parse_timeslot("9h-18h")
    instant = dt.datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # 16:00 Paris, 10:00 New York, 00:00 Tokyo
    assert ts.is_open(instant.astimezone(PARIS))
    assert ts.is_open(instant.astimezone(NY))
    assert not ts.is_open(instant.astimezone(ZoneInfo("Asia/Tokyo")))
    with pytest.raises(ValueError):
        ts.is_open(dt.datetime(2026, 11, 23, 10))


def test_overnight_range_belongs_to_the_starting_day():
    ts = parse_timeslot("fri 22h-2h")
    assert ts.is_open(at(2026, 11, 27, 23))      # Friday 23:00
    assert ts.is_open(at(*SAT, 1, 59))            # Saturday 01:59
    assert not ts.is_open(at(*SAT, 2, 0))
    assert not ts.is_open(at(*MON, 1, 0))         # Monday night was not named


def test_next_change():
    ts = parse_timeslot("mon-fri 9h-18h")
    assert ts.next_change(at(*MON, 10)) == at(*MON, 18)
    assert ts.next_change(at(2026, 11, 27, 19)) == at(2026, 11, 30, 9)  # Friday evening -> Monday
    assert ts.next_change(at(*SAT, 3)).tzinfo is PARIS


def test_minus_pause():
    window = parse_timeslot("9h-18h").minus(parse_pause("12h-14h"))
    assert window.canonical() == "9h-12h,14h-18h"
    assert window.is_open(at(*MON, 11, 59)) and not window.is_open(at(*MON, 13))
    assert parse_timeslot("9h-18h").minus(None) == parse_timeslot("9h-18h")
    assert parse_timeslot("9h-18h").minus(parse_timeslot("8h-19h")).empty


@pytest.mark.parametrize("text", [None, "", "none", "NONE", "0", "false"])
def test_no_pause(text):
    assert parse_pause(text) is None


def test_pause_uses_the_timeslot_grammar():
    assert parse_pause("12h-14h") == parse_timeslot("12h-14h")
    with pytest.raises(ValueError, match="empty range"):
        parse_pause("12h-12h")


def test_from_hours_matches_the_original_start_le_hour_lt_stop():
    ts = from_hours(9, "18")
    assert ts == parse_timeslot("9h-18h")
    assert ts.is_open(at(*MON, 17, 59)) and not ts.is_open(at(*MON, 18))
    assert from_hours(0, 24).canonical() == "always"
    for bad in [("9", "9"), ("x", 18), (9, 25), (-1, 5)]:
        with pytest.raises(ValueError):
            from_hours(*bad)


# -- DST: Europe 2026-03-29 (02:00 -> 03:00) and 2026-10-25 (03:00 -> 02:00),
#         US 2026-03-08 (02:00 -> 03:00) and 2026-11-01 (02:00 -> 01:00).

def utc(y, mo, d, h, mi=0):
    return dt.datetime(y, mo, d, h, mi, tzinfo=UTC)


@pytest.mark.parametrize("tz,day", [(PARIS, (2026, 3, 29)), (PARIS, (2026, 10, 25)),
                                    (NY, (2026, 3, 8)), (NY, (2026, 11, 1))])
def test_dst_days_open_exactly_at_local_nine_and_close_at_local_eighteen(tz, day):
    ts = parse_timeslot("9h-18h")
    opening = dt.datetime(*day, 9, tzinfo=tz)
    closing = dt.datetime(*day, 18, tzinfo=tz)
    # walk the whole UTC day minute by minute: open exactly on [09:00, 18:00) local
    t = dt.datetime(*day, tzinfo=tz).astimezone(UTC) - dt.timedelta(hours=2)
    end = t + dt.timedelta(hours=28)
    while t < end:
        assert ts.is_open(t.astimezone(tz)) == (opening <= t < closing), t
        t += dt.timedelta(minutes=1)
    before = dt.datetime(*day, 0, 30, tzinfo=tz)
    assert ts.next_change(before) == opening
    assert ts.next_change(opening) == closing


def test_paris_spring_forward_window_starting_in_the_gap_opens_at_the_transition():
    ts = parse_timeslot("2h30-4h")
    # 02:00-03:00 does not exist on 2026-03-29; local clocks jump from 01:59:59 to 03:00
    before = at(2026, 3, 29, 1, 30)
    opened = ts.next_change(before)
    assert opened.astimezone(UTC) == utc(2026, 3, 29, 1, 0)
    assert opened.astimezone(PARIS).hour == 3
    assert ts.next_change(opened).astimezone(UTC) == utc(2026, 3, 29, 2, 0)  # 04:00 CEST


def test_paris_fall_back_repeated_hour_is_open_both_times():
    ts = parse_timeslot("2h-3h")
    # 02:00-03:00 happens twice on 2026-10-25: 00:00-01:00 UTC and 01:00-02:00 UTC
    assert ts.is_open(utc(2026, 10, 25, 0, 30).astimezone(PARIS))
    assert ts.is_open(utc(2026, 10, 25, 1, 30).astimezone(PARIS))
    assert not ts.is_open(utc(2026, 10, 25, 2, 0).astimezone(PARIS))
    assert ts.next_change(utc(2026, 10, 25, 0, 30).astimezone(PARIS)).astimezone(UTC) == utc(2026, 10, 25, 2, 0)


def test_new_york_fall_back_window_ending_in_the_repeated_hour():
    ts = parse_timeslot("0h-1h30")
    # 01:00-02:00 happens as EDT then again as EST; the window is wall-clock, so it closes
    # at 01:30 EDT and is open again during 01:00-01:30 EST.
    first = utc(2026, 11, 1, 5, 30)   # 01:30 EDT
    assert not ts.is_open(first.astimezone(NY))
    assert ts.is_open(utc(2026, 11, 1, 6, 0).astimezone(NY))  # 01:00 EST: wall clock back in the window
    assert ts.next_change(utc(2026, 11, 1, 4, 0).astimezone(NY)).astimezone(UTC) == first
    assert ts.next_change(first.astimezone(NY)).astimezone(UTC) == utc(2026, 11, 1, 6, 0)
    assert ts.next_change(utc(2026, 11, 1, 6, 0).astimezone(NY)).astimezone(UTC) == utc(2026, 11, 1, 6, 30)
