"""`dialer -a explain -c CAMPAIGN -p PHONE`: why a lead is or is not dialable right now.

explain() evaluates every rule in Python against one lead row, the same rules
build_selection() hands to the store as SQL, and says for each whether it lets the call
through and why.
"""
import datetime as _dt
from typing import TYPE_CHECKING, List, Optional, Tuple

from .. import codes
from ..leadstate import ACTIVE, WAITING
from . import retry
from . import selection as sel
from . import zones as zn

if TYPE_CHECKING:
    from ..config import Campaign

Reason = Tuple[bool, str, str]   # (ok, rule, text)


def _fmt(instant: _dt.datetime, tz) -> str:
    local = instant.astimezone(tz)
    return local.strftime("%Y-%m-%d %H:%M %Z").strip()


def _row_time(value) -> Optional[_dt.datetime]:
    """A `datetime` column value (server-local wall clock, as the store writes it) as UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)):
        return _dt.datetime.fromtimestamp(value, zn.UTC)
    if not isinstance(value, _dt.datetime):
        try:
            value = _dt.datetime.fromisoformat(str(value).strip())
        except ValueError:
            return None
    if value.tzinfo is None:
        value = value.astimezone()  # naive = the server's local time
    return value.astimezone(zn.UTC)


def lead_zones(c: "Campaign", row: dict) -> Tuple[Tuple[str, ...], str, bool]:
    """(zone names, how they were chosen, whether the selection can use them yet)."""
    mode = c.leadtimezone
    if mode is None:
        return (sel.campaign_zone(c),), "the campaign's zone", True
    key = (row.get("timezone") or "").strip()
    if mode == "auto" and key == zn.NO_ZONE:
        derived = zn.zone_key_for_number(str(row.get("phone") or ""), c.defaultregion)
        names = zn.zone_set(derived, sel.campaign_zone(c))
        return names, ("not yet derived from the number (the dialer fills the timezone column "
                       f"before calling; the number gives {derived!r})"), False
    if key in (zn.NO_ZONE, zn.UNKNOWN):
        if mode == "auto":
            return (sel.campaign_zone(c),), "the campaign's zone (no zone known for the number)", True
        return (mode,), "leadtimezone (the lead has no zone)", True
    return zn.zone_set(key, sel.default_lead_zone(c)), "the lead's timezone column", True


def _next_open_everywhere(win, tzs, now, days=8) -> Optional[_dt.datetime]:
    """First instant >= now (within `days`) at which the window is open in every zone at once."""
    t = now
    while t < now + _dt.timedelta(days=days):
        closed = [tz for tz in tzs if not win.is_open(t.astimezone(tz))]
        if not closed:
            return t
        nxt = [win.next_change(t.astimezone(tz)) for tz in closed]
        nxt = [x.astimezone(zn.UTC) for x in nxt if x is not None]
        if not nxt:
            return None
        t = max(nxt)
    return None


def _window_reasons(c: "Campaign", row: dict, now: _dt.datetime) -> List[Reason]:
    out = []
    try:
        names, how, usable = lead_zones(c, row)
        tzs = [zn.get_zone(n) for n in names]
    except ValueError as exc:
        return [(False, "zone", f"{exc}: the lead is never called until it is corrected")]
    shown = ", ".join(names) if len(names) <= 4 else f"{len(names)} zones ({', '.join(names[:3])}, ...)"
    out.append((usable, "zone", f"window read in {shown}: {how}"))
    timeslot, pause = c.timeslot, c.pause
    if timeslot is None:
        out.append((True, "timeslot", "no timeslot: any time"))
    else:
        closed = [(n, tz) for n, tz in zip(names, tzs) if not timeslot.is_open(now.astimezone(tz))]
        if closed:
            n, tz = closed[0]
            out.append((False, "timeslot", f"outside {timeslot} in {n} (local time {_fmt(now, tz)})"))
        else:
            local = "; ".join(_fmt(now, tz) for tz in tzs[:3])
            out.append((True, "timeslot", f"inside {timeslot} (local time {local})"))
    if pause is not None:
        paused = [(n, tz) for n, tz in zip(names, tzs) if pause.is_open(now.astimezone(tz))]
        if paused:
            n, tz = paused[0]
            out.append((False, "pause", f"in the pause {pause} in {n} (local time {_fmt(now, tz)})"))
        else:
            out.append((True, "pause", f"not in the pause {pause}"))
    if not all(ok for ok, rule, _ in out if rule in ("timeslot", "pause")):
        when = _next_open_everywhere(sel.campaign_window(c), tzs, now)
        text = (f"the window next opens at {_fmt(when, tzs[0])} ({when:%Y-%m-%d %H:%M} UTC)"
                if when else "the window is not open in all of the lead's zones at once on any day of the week")
        out.append((False, "next window", text))
    return out


def explain(c: "Campaign", lead_row: dict, now_utc, *, in_dnc: bool, in_blacklist: bool, in_progress: bool,
            phone_in_progress: bool = False) -> List[Reason]:
    """Every rule that decides whether `lead_row` may be dialled at `now_utc`.

    lead_row: the lead's columns (id, phone, datetime, attempts, pickups, disposition,
    timezone, areacode, zipcode, ... and, from the store, state/nextcall/lease when known).
    in_dnc / in_blacklist: the phone is in the do-not-call table / the campaign's blacklist.
    in_progress: this lead is claimed by a dialer now. phone_in_progress: the same number
    is being called by any campaign (matters with multiplecalls = false).
    The lead is dialable now when every returned `ok` is True.
    """
    now = zn.as_utc(now_utc)
    row = dict(lead_row)
    out: List[Reason] = []

    if not c.active:
        out.append((False, "active", "the campaign is paused (active = false)"))

    out.extend(_window_reasons(c, row, now))

    blacklist = c.blacklist
    if c.usednc:
        out.append((not in_dnc, "dnc", "the number is in the do-not-call list" if in_dnc
                    else "not in the do-not-call list"))
    else:
        out.append((True, "dnc", "usednc = false: the do-not-call list is not checked"
                    + (" (the number is in it)" if in_dnc else "")))
    if blacklist:
        out.append((not in_blacklist, "blacklist", f"the number is in blacklist {blacklist}" if in_blacklist
                    else f"not in blacklist {blacklist}"))
    else:
        out.append((True, "blacklist", "no blacklist"))

    user = c.filter
    if user is not None:
        ok = user.matches(row)
        out.append((ok, "filter", f"{'matches' if ok else 'does not match'} filter: {user.text}"))
    codef = sel.code_filter(c)
    if codef is not None:
        ok = codef.matches(row)
        out.append((ok, "f_mode", f"{'passes' if ok else 'is excluded by'} {codef.text}"))

    disposition = int(row.get("disposition") if row.get("disposition") is not None else codes.NOT_YET_CALLED)
    if codes.is_retryable(disposition):
        out.append((True, "disposition", f"{disposition} ({codes.code_name(disposition)}) is retryable"))
    else:
        out.append((False, "disposition", f"{disposition} ({codes.code_name(disposition)}) is final"))

    attempts = int(row.get("attempts") or 0)
    out.append(_attempts_reason(c, row, attempts, disposition))

    last = _row_time(row.get("datetime"))
    out.append(_retry_reason(c, row, now, last, attempts, disposition))

    if not c.calltoday:
        zone = zn.get_zone(sel.campaign_zone(c))
        midnight = _dt.datetime.fromtimestamp(sel.day_start(c, now), zn.UTC)
        if last is not None and last >= midnight:
            out.append((False, "calltoday", f"calltoday = false and already attempted today at {_fmt(last, zone)}"))
        else:
            out.append((True, "calltoday", "calltoday = false: not attempted today"))

    claimed = in_progress or row.get("state") == ACTIVE
    out.append((not claimed, "in progress", "a call to this lead is in progress" if claimed
                else "no call to this lead in progress"))
    if not c.multiplecalls:
        if phone_in_progress and not claimed:
            out.append((False, "multiplecalls", "multiplecalls = false and this number is being called "
                                                 "(another lead or campaign)"))
    return out


def _attempts_reason(c: "Campaign", row: dict, attempts: int, disposition: int) -> Reason:
    pol = retry.policy(c)
    max_attempts = c.attempts
    if not pol.limits:
        return (attempts < max_attempts, "attempts", f"{attempts} of {max_attempts} attempts made")
    named = " ".join(f"{retry.outcome_name(code)}:{limit}" for code, limit in pol.limits.items())
    text = f"{attempts} attempts made; attempts = {max_attempts}, and maxretries {named} allow more after those outcomes"
    if disposition in pol.limits:
        done = retry.parse_counts(row.get("outcomes")).get(disposition, 0)
        text = (f"{done} of {pol.limits[disposition]} attempts ended {retry.outcome_name(disposition)} "
                f"(maxretries); {attempts} attempts in all")
    return (attempts < pol.max_total_attempts(), "attempts", text)


def _retry_reason(c: "Campaign", row: dict, now: _dt.datetime, last: Optional[_dt.datetime], attempts: int,
                  disposition: int) -> Reason:
    """Also names the setting that decides the delay: `retry` for its outcome, or attemptsdelay."""
    pol = retry.policy(c)
    delay = pol.delay(disposition)
    rule = (f"retry {retry.outcome_name(disposition)}:{delay}s" if disposition in pol.delays
            else f"attemptsdelay = {delay} s")
    nextcall = row.get("nextcall")
    if nextcall not in (None, "") and int(nextcall) > now.timestamp() and row.get("state") in (None, WAITING):
        when = _dt.datetime.fromtimestamp(int(nextcall), zn.UTC)
        return (False, "retry delay", f"next attempt not before {when:%Y-%m-%d %H:%M:%S} UTC "
                                      f"({rule})")
    if attempts == 0 or last is None:
        return (True, "retry delay", "never attempted")
    due = last + _dt.timedelta(seconds=delay)
    if nextcall in (None, "") and due > now:
        return (False, "retry delay", f"last attempt {last:%Y-%m-%d %H:%M:%S} UTC; next not before "
                                      f"{due:%Y-%m-%d %H:%M:%S} UTC ({rule})")
    return (True, "retry delay", f"last attempt {last:%Y-%m-%d %H:%M:%S} UTC, {rule} elapsed")


def dialable(reasons: List[Reason]) -> bool:
    return all(ok for ok, _, _ in reasons)


def format_reasons(reasons: List[Reason]) -> str:
    """Text for the CLI: one line per rule, then the verdict."""
    lines = [f"{'ok ' if ok else 'NO '} {rule:<13} {text}" for ok, rule, text in reasons]
    lines.append("=> dialable now" if dialable(reasons) else "=> not dialable now")
    return "\n".join(lines)
