"""Calling windows: `timeslot` and `pause` values of dialer.conf.

Grammar (case-insensitive, blanks optional around `-`, `,`, `;`)::

    timeslot := group (';' group)*            | 'always'
    group    := [days [':']] range (',' range)*
    days     := day ['-' day] (',' day ['-' day])*     day = mon tue wed thu fri sat sun
    range    := time '-' time
    time     := H | Hh | HhMM | H:MM  (H 0..24, MM 00..59; 24 only as 24h/24:00)

A group without days applies to every day that no group names. Several groups naming
the same day add up. A range whose end is before its start runs past midnight
(`fri 22h-2h` = Friday 22:00 to Saturday 02:00); an end of `0h` or `24h` means midnight.
Times are wall-clock times in the zone of the datetime being tested.
"""
import datetime as _dt
import re
from typing import Dict, List, Optional, Tuple

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_ALIASES = {name: i for i, name in enumerate(DAY_NAMES)}
_DAY_ALIASES.update({full: i for i, full in enumerate(
    ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"))})
MINUTES_PER_DAY = 1440

_TOKEN = re.compile(r"\s*(?:(?P<time>\d{1,2}(?::\d{2}|[hH](?:\d{2})?)?)|(?P<day>[A-Za-z]+)|(?P<punct>[-,;:]))")

Interval = Tuple[int, int]  # [start, end) in minutes since local midnight


def _merge(intervals: List[Interval]) -> Tuple[Interval, ...]:
    out: List[List[int]] = []
    for start, end in sorted(intervals):
        if out and start <= out[-1][1]:
            out[-1][1] = max(out[-1][1], end)
        else:
            out.append([start, end])
    return tuple((s, e) for s, e in out)


def _fmt_minute(m: int) -> str:
    h, mm = divmod(m, 60)
    return f"{h}h{mm:02d}" if mm else f"{h}h"


class Timeslot:
    """A weekly set of open wall-clock intervals, one tuple of intervals per weekday."""

    def __init__(self, days: Dict[int, List[Interval]], text: str = ""):
        self.days: Tuple[Tuple[Interval, ...], ...] = tuple(_merge(days.get(d, [])) for d in range(7))
        self.text = text or self.canonical()

    # -- value semantics -----------------------------------------------------
    def __eq__(self, other):
        return isinstance(other, Timeslot) and self.days == other.days

    def __hash__(self):
        return hash(self.days)

    def __repr__(self):
        return f"Timeslot({self.canonical()!r})"

    def __str__(self):
        return self.text

    def canonical(self) -> str:
        """A normalised spelling that parses back to the same Timeslot."""
        if all(d == ((0, MINUTES_PER_DAY),) for d in self.days):
            return "always"
        if self.days[0] and all(d == self.days[0] for d in self.days):
            return ",".join(f"{_fmt_minute(s)}-{_fmt_minute(t)}" for s, t in self.days[0])
        groups = []
        d = 0
        while d < 7:
            e = d
            while e + 1 < 7 and self.days[e + 1] == self.days[d]:
                e += 1
            if self.days[d]:
                span = DAY_NAMES[d] if d == e else f"{DAY_NAMES[d]}-{DAY_NAMES[e]}"
                ranges = ",".join(f"{_fmt_minute(s)}-{_fmt_minute(t)}" for s, t in self.days[d])
                groups.append(f"{span} {ranges}")
            d = e + 1
        return "; ".join(groups) if groups else "never"

    @property
    def empty(self) -> bool:
        return not any(self.days)

    # -- set operations ------------------------------------------------------
    def minus(self, other: Optional["Timeslot"]) -> "Timeslot":
        """This window with `other` (e.g. a pause) cut out."""
        if other is None:
            return self
        result: Dict[int, List[Interval]] = {}
        for d in range(7):
            pieces = list(self.days[d])
            for cs, ce in other.days[d]:
                nxt = []
                for s, e in pieces:
                    if ce <= s or cs >= e:
                        nxt.append((s, e))
                        continue
                    if s < cs:
                        nxt.append((s, cs))
                    if ce < e:
                        nxt.append((ce, e))
                pieces = nxt
            result[d] = pieces
        return Timeslot(result, text=f"{self.text} minus {other.text}")

    # -- evaluation ----------------------------------------------------------
    def is_open(self, when: _dt.datetime) -> bool:
        """Whether the window is open at `when`, read on `when`'s own wall clock."""
        if when.tzinfo is None:
            raise ValueError("Timeslot.is_open needs a timezone-aware datetime")
        minute = when.hour * 60 + when.minute
        return any(s <= minute < e for s, e in self.days[when.weekday()])

    def next_change(self, when: _dt.datetime, horizon_days: int = 8) -> Optional[_dt.datetime]:
        """The first instant after `when` at which is_open() flips; None if it never does.

        Works on instants, not wall-clock arithmetic, so a boundary inside a DST gap (e.g.
        02:30 on a spring-forward day) is reported at the transition itself and a boundary
        in a repeated hour is reported at its first occurrence that flips the state.
        """
        if when.tzinfo is None:
            raise ValueError("Timeslot.next_change needs a timezone-aware datetime")
        tz = when.tzinfo
        current = self.is_open(when)
        utc = _dt.timezone.utc
        start_utc = when.astimezone(utc)
        candidates = set()
        base = when.date()
        for offset in range(-1, horizon_days + 1):
            day = base + _dt.timedelta(days=offset)
            bounds = {0}
            for s, e in self.days[day.weekday()]:
                bounds.update((s, e % MINUTES_PER_DAY))
            for b in bounds:
                wall = _dt.datetime(day.year, day.month, day.day, b // 60, b % 60)
                for fold in (0, 1):
                    candidates.add(wall.replace(tzinfo=tz, fold=fold).astimezone(utc))
            candidates.update(_offset_changes(day, tz))
        for instant in sorted(c for c in candidates if c > start_utc):
            if self.is_open(instant.astimezone(tz)) != current:
                return instant.astimezone(tz)
        return None


def _offset_changes(day: _dt.date, tz) -> List[_dt.datetime]:
    """UTC instants during local `day` (±1 day slack) where tz's UTC offset changes."""
    utc = _dt.timezone.utc
    lo = _dt.datetime(day.year, day.month, day.day, tzinfo=utc) - _dt.timedelta(hours=14)
    hi = lo + _dt.timedelta(hours=52)
    if lo.astimezone(tz).utcoffset() == hi.astimezone(tz).utcoffset():
        # One change per ~2 days at most in every real zone, so equal ends mean none (or
        # a there-and-back we can still find below by halving the span).
        mid = lo + (hi - lo) / 2
        if mid.astimezone(tz).utcoffset() == lo.astimezone(tz).utcoffset():
            return []
        return _bisect(lo, mid, tz) + _bisect(mid, hi, tz)
    return _bisect(lo, hi, tz)


def _bisect(lo, hi, tz):
    off = lo.astimezone(tz).utcoffset()
    if hi.astimezone(tz).utcoffset() == off:
        return []
    while hi - lo > _dt.timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        if mid.astimezone(tz).utcoffset() == off:
            lo = mid
        else:
            hi = mid
    return [hi.replace(microsecond=0)]


# -- parsing -----------------------------------------------------------------
def _tokens(text: str):
    pos = 0
    out = []
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if not m:
            bad = text[pos:].lstrip()
            raise ValueError(f"unexpected {bad[:1]!r} at position {len(text) - len(bad) + 1} "
                             "(expected days, times like 9h or 09:30, '-', ',' or ';')")
        kind = m.lastgroup
        out.append((kind, m.group(kind), m.start(kind) + 1))
        pos = m.end()
    return out


def _parse_time(tok: str, pos: int, is_end: bool) -> int:
    m = re.fullmatch(r"(\d{1,2})(?:[:hH](\d{2})?)?", tok)
    hour, minute = int(m.group(1)), int(m.group(2) or 0)
    if minute > 59 or hour > 24 or (hour == 24 and minute):
        raise ValueError(f"invalid time {tok!r} at position {pos} (expected 0h..24h, minutes 00..59)")
    value = hour * 60 + minute
    if value == MINUTES_PER_DAY and not is_end:
        raise ValueError(f"a range cannot start at {tok!r} (position {pos}); use 0h")
    return value


_EXPECTED = "expected e.g. 9h-18h, 9h30-12h,14h-18h or mon-fri 9h-20h; sat 10h-13h"


def parse_timeslot(text) -> Timeslot:
    """Parse a timeslot value; ValueError says what was wrong and what was expected."""
    raw = "" if text is None else str(text).strip()
    if not raw:
        raise ValueError(f"empty timeslot ({_EXPECTED})")
    if raw.lower() in ("always", "24/7"):
        return Timeslot({d: [(0, MINUTES_PER_DAY)] for d in range(7)}, text=raw)
    return _parse(raw)


def _parse(raw: str) -> Timeslot:
    toks = _tokens(raw)
    groups: List[Tuple[Optional[List[int]], List[Tuple[int, int, int]]]] = []
    i = 0

    def peek(k=0):
        return toks[i + k] if i + k < len(toks) else (None, None, len(raw) + 1)

    def expect(kind, value=None, what=""):
        nonlocal i
        t = peek()
        if t[0] != kind or (value is not None and t[1] != value):
            found = "end of text" if t[0] is None else repr(t[1])
            raise ValueError(f"expected {what} but found {found} at position {t[2]}")
        i += 1
        return t

    while True:
        days: Optional[List[int]] = None
        if peek()[0] == "day":
            days = []
            while True:
                _, name, pos = expect("day", what="a day name")
                first = _day(name, pos)
                last = first
                if peek()[0] == "punct" and peek()[1] == "-" and peek(1)[0] == "day":
                    i += 1
                    _, name2, pos2 = expect("day", what="a day name")
                    last = _day(name2, pos2)
                d = first
                while True:  # mon-fri, and wrapping ranges like fri-mon
                    days.append(d)
                    if d == last:
                        break
                    d = (d + 1) % 7
                if peek()[0] == "punct" and peek()[1] == "," and peek(1)[0] == "day":
                    i += 1
                    continue
                break
            if peek()[0] == "punct" and peek()[1] == ":":   # "mon-fri: 9h-18h"
                i += 1
        ranges = []
        while True:
            _, t1, p1 = expect("time", what="a time like 9h, 9h30 or 09:30")
            expect("punct", "-", what="'-' between two times")
            _, t2, p2 = expect("time", what="an end time like 18h")
            start, end = _parse_time(t1, p1, False), _parse_time(t2, p2, True)
            if end == 0:
                end = MINUTES_PER_DAY
            if start == end:
                raise ValueError(f"empty range {t1}-{t2} at position {p1} (expected an end different from the start)")
            ranges.append((start, end, p1))
            if peek()[0] == "punct" and peek()[1] == ",":
                i += 1
                continue
            break
        groups.append((days, ranges))
        t = peek()
        if t[0] is None:
            break
        if t[0] == "punct" and t[1] == ";":
            i += 1
            if peek()[0] is None:  # tolerate a trailing ';'
                break
            continue
        raise ValueError(f"unexpected {t[1]!r} at position {t[2]} (expected ',' between ranges or ';' between groups)")

    named = {d for days, _ in groups if days for d in days}
    result: Dict[int, List[Interval]] = {d: [] for d in range(7)}
    for days, ranges in groups:
        targets = days if days is not None else [d for d in range(7) if d not in named]
        for d in targets:
            for start, end, _ in ranges:
                if start < end:
                    result[d].append((start, end))
                else:  # past midnight: the tail belongs to the next day
                    result[d].append((start, MINUTES_PER_DAY))
                    result[(d + 1) % 7].append((0, end))
    return Timeslot(result, text=raw)


def _day(name: str, pos: int) -> int:
    d = _DAY_ALIASES.get(name.lower())
    if d is None:
        raise ValueError(f"unknown day {name!r} at position {pos} (expected mon, tue, wed, thu, fri, sat or sun)")
    return d


def parse_pause(text) -> Optional[Timeslot]:
    """Like parse_timeslot, but `none`, `0`, `false` or empty mean no pause (None)."""
    raw = "" if text is None else str(text).strip()
    if raw.lower() in ("", "none", "0", "false", "no", "off"):
        return None
    return parse_timeslot(raw)


def from_hours(timestart, timestop) -> Timeslot:
    """The original's `timestart`/`timestop` hour keys (open while start <= hour < stop)."""
    try:
        start, stop = int(str(timestart).strip()), int(str(timestop).strip())
    except ValueError:
        raise ValueError(f"timestart/timestop must be whole hours 0..24, got {timestart!r}/{timestop!r}") from None
    if not (0 <= start <= 23 and 0 <= stop <= 24):
        raise ValueError(f"timestart must be 0..23 and timestop 0..24, got {start}/{stop}")
    if start == stop:
        raise ValueError(f"timestart and timestop are equal ({start}): the window would be empty")
    return parse_timeslot(f"{start}h-{stop}h")
