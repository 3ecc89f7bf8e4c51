"""From a campaign's settings to a model.Selection, and the campaign's calling window.

Settings are read duck-typed, by the dialer.conf key names, so both the typed Campaign of
dialer.config and a plain namespace of strings work (timeslot may be a Timeslot or text,
calltoday a bool or 'false', f_areacode a CodeFilter or '212,!718', ...).
"""
import datetime as _dt
import functools
import re
from typing import Optional, Sequence

from .. import model
from . import filterexpr, retry, timeslot as ts, zones as zn
from .filterexpr import Col, Filter, Lit, Node

ORDERS = ("attempts_pickups", "id", "phone", "random")
F_MODES = ("areacode", "acprefix", "zipcode")
_IDENT = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}\Z")
_OFF = ("", "0", "none", "false", "no", "off")


# -- reading settings -------------------------------------------------------------------

def _get(c, key, default=None):
    value = getattr(c, key, default)
    return default if value is None else value


def setting_bool(c, key, default):
    """A boolean setting, typed (config) or text ('false')."""
    value = _get(c, key, default)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in ("true", "yes", "on", "1"):
            return True
        if word in ("false", "no", "off", "0"):
            return False
        raise ValueError(f"{key} = {value!r}: expected true or false")
    return bool(value)


def setting_int(c, key, default, minimum):
    value = _get(c, key, default)
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ValueError(f"{key} = {value!r}: expected an integer >= {minimum}") from None
    if number < minimum:
        raise ValueError(f"{key} = {value!r}: expected an integer >= {minimum}")
    return number


@functools.lru_cache(maxsize=256)
def _parse_timeslot_text(text):
    return None if text.strip().lower() in _OFF else ts.parse_timeslot(text)


def campaign_timeslot(c) -> Optional[ts.Timeslot]:
    """The campaign's timeslot (None = any time), also from the original's timestart/timestop."""
    value = getattr(c, "timeslot", None)
    if isinstance(value, ts.Timeslot):
        return value
    if value is not None and str(value).strip():
        return _parse_timeslot_text(str(value))
    start, stop = getattr(c, "timestart", None), getattr(c, "timestop", None)
    if start is not None or stop is not None:
        return ts.from_hours(0 if start is None else start, 24 if stop is None else stop)
    return None


def campaign_pause(c) -> Optional[ts.Timeslot]:
    value = getattr(c, "pause", None)
    if value is None or isinstance(value, ts.Timeslot):
        return value
    return _cached_pause(str(value))


@functools.lru_cache(maxsize=256)
def _cached_pause(text):
    return ts.parse_pause(text)


def campaign_window(c) -> ts.Timeslot:
    """When calls may start, on the wall clock of the zone being considered."""
    return zn.window(campaign_timeslot(c), campaign_pause(c))


def campaign_zone(c) -> str:
    """The zone the campaign's window is read in: `timezone`, else the server's zone."""
    value = getattr(c, "timezone", None)
    name = str(value).strip() if value is not None else ""
    if name.lower() in ("", "none"):
        return zn.local_zone_name()
    zn.get_zone(name)  # a bad name is a configuration error, not a silently closed window
    return name


def lead_timezone_mode(c) -> Optional[str]:
    """None (window in the campaign zone), 'auto', or a zone name for leads without a zone."""
    value = getattr(c, "leadtimezone", None)
    word = "" if value is None else str(value).strip()
    if word.lower() in _OFF:
        return None
    if word.lower() == "auto":
        return "auto"
    zn.get_zone(word)
    return word


def default_lead_zone(c) -> str:
    """The zone of leads whose `timezone` is '' (or '-'): the leadtimezone zone, else the campaign's."""
    mode = lead_timezone_mode(c)
    return mode if mode not in (None, "auto") else campaign_zone(c)


def default_region(c) -> Optional[str]:
    """ISO region assumed for numbers without '+' when deriving zones (None = international digits)."""
    value = getattr(c, "default_region", None) or getattr(c, "defaultregion", None)
    return str(value).strip().upper() or None if value else None


# -- filters ----------------------------------------------------------------------------

@functools.lru_cache(maxsize=256)
def _parse_filter_text(text):
    return filterexpr.parse_filter(text)


def user_filter(c) -> Optional[Filter]:
    value = getattr(c, "filter", None)
    if value is None or isinstance(value, Filter):
        return value
    return _parse_filter_text(str(value))


def _codes(value):
    """(include, exclude) from a CodeFilter-like object or from text '212, 646, !718'."""
    if value is None:
        return (), ()
    if hasattr(value, "include"):
        return tuple(value.include), tuple(value.exclude)
    text = str(value).strip()
    if text.lower() in _OFF:
        return (), ()
    include, exclude = [], []
    for raw in text.split(","):
        raw = raw.strip()
        if raw:
            (exclude if raw.startswith("!") else include).append(raw.lstrip("!").strip())
    return tuple(include), tuple(exclude)


def _any_of(nodes):
    out = nodes[0]
    for n in nodes[1:]:
        out = Node("or", out, n)
    return out


def _prefix_match(code):
    if not re.fullmatch(r"\+?[0-9]{1,15}", code):
        raise ValueError(f"area code {code!r}: expected digits, optionally after a '+'")
    like = lambda p: Node("like", Col("phone"), Lit(p + "%"))
    if code.startswith("+"):
        return like(code)
    return Node("or", like(code), like("+" + code))


def _zip_match(codes):
    for code in codes:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9 -]{0,15}", code):
            raise ValueError(f"zip code {code!r}: expected letters, digits, blanks or '-'")
    # Both spellings: MariaDB compares case-insensitively, SQLite does not.
    values = tuple(Lit(v) for v in dict.fromkeys(x for c in codes for x in (c, c.upper(), c.lower())))
    return Node("and", Node("isnull", Col("zipcode"), negated=True), Node("in", Col("zipcode"), values))


def code_filter(c) -> Optional[Filter]:
    """f_mode + f_areacode / f_areacode_prefix / f_zipcode as a Filter (None when off).

    areacode and acprefix match the beginning of the number ('33' matches 33… and +33…,
    '+33' only +33…); zipcode matches the zipcode column. Codes without '!' are the only
    ones called (when there is at least one); codes with '!' are never called.
    """
    mode = _get(c, "f_mode", "")
    mode = str(mode).strip().lower()
    if mode in _OFF:
        return None
    if mode not in F_MODES:
        raise ValueError(f"f_mode = {mode!r}: expected none, areacode, acprefix or zipcode")
    key = {"areacode": "f_areacode", "acprefix": "f_areacode_prefix", "zipcode": "f_zipcode"}[mode]
    include, exclude = _codes(getattr(c, key, None))
    if mode == "zipcode":
        inc = _zip_match(include) if include else None
        exc = _zip_match(exclude) if exclude else None
    else:
        inc = _any_of([_prefix_match(x) for x in include]) if include else None
        exc = _any_of([_prefix_match(x) for x in exclude]) if exclude else None
    if exc is not None:
        exc = Node("not", exc)
    tree = inc if exc is None else exc if inc is None else Node("and", inc, exc)
    if tree is None:
        return None
    spelled = ",".join(list(include) + ["!" + x for x in exclude])
    return Filter(f"f_mode={mode} {key}={spelled}", tree)


def combined_filter(c) -> Optional[Filter]:
    """The `filter` and the f_* code filter, both of which a lead must pass."""
    parts = [f for f in (user_filter(c), code_filter(c)) if f is not None]
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    return Filter(f"({parts[0].text}) AND ({parts[1].text})", Node("and", parts[0].tree, parts[1].tree))


# -- window and selection -----------------------------------------------------------------

def _candidate_keys(c, lead_zones):
    # With auto, '' means "not derived from the number yet": calling such a lead in the
    # campaign's zone could ring someone at night, so it waits until its key is filled in
    # (zones.zone_key_for_number; '-' = no zone known, which does use the campaign zone).
    own = [zn.UNKNOWN] if lead_timezone_mode(c) == "auto" else [zn.NO_ZONE, zn.UNKNOWN]
    return own + [z for z in (lead_zones or ()) if z not in (zn.NO_ZONE, zn.UNKNOWN)]


def window_open(c, now_utc, lead_zones: Optional[Sequence[str]] = None) -> bool:
    """Whether a call may start now. With per-lead zones, whether it may for some lead:
    without `lead_zones` that is assumed possible (the Selection's zones decide per lead)."""
    win = campaign_window(c)
    if lead_timezone_mode(c) is None:
        return win.is_open(zn.as_utc(now_utc).astimezone(zn.get_zone(campaign_zone(c))))
    if win.empty:
        return False
    if lead_zones is None:
        return True
    return bool(open_zones_for(c, now_utc, lead_zones))


def open_zones_for(c, now_utc, lead_zones) -> list:
    """The lead zone keys whose window is open now ('-', and '' unless leadtimezone = auto,
    are always considered)."""
    win = campaign_window(c)
    default = default_lead_zone(c)
    return [k for k in _candidate_keys(c, lead_zones) if zn.key_is_open(win, k, now_utc, default)]


def next_window_change(c, now_utc, lead_zones: Optional[Sequence[str]] = None) -> Optional[_dt.datetime]:
    """The next instant (UTC) at which window_open() or a lead zone's window may change."""
    win = campaign_window(c)
    if lead_timezone_mode(c) is None:
        return zn.next_change(win, [zn.NO_ZONE], now_utc, campaign_zone(c))
    return zn.next_change(win, _candidate_keys(c, lead_zones), now_utc, default_lead_zone(c))


def day_start(c, now_utc) -> float:
    """Epoch of today's 00:00 in the campaign zone (calltoday = false)."""
    local = zn.as_utc(now_utc).astimezone(zn.get_zone(campaign_zone(c)))
    midnight = _dt.datetime(local.year, local.month, local.day, tzinfo=local.tzinfo)
    return midnight.timestamp()


def blacklist_table(c) -> Optional[str]:
    value = getattr(c, "blacklist", None)
    name = "" if value is None else str(value).strip()
    if name.lower() in _OFF:
        return None
    if not _IDENT.match(name):
        raise ValueError(f"blacklist = {name!r}: expected none or a table name (a letter then letters, digits, '_')")
    return name


def build_selection(c, now_utc, lead_zones: Optional[Sequence[str]] = None) -> model.Selection:
    """Which leads a claim may take now.

    `zones` is None when the window is the campaign's and open; [] when no lead may be
    called now (window closed); otherwise the lead zone keys open now, where '' stands for
    leads with an empty (or NULL) timezone.
    """
    orderby = str(_get(c, "orderby", "attempts_pickups")).strip().lower()
    if orderby not in ORDERS:
        raise ValueError(f"orderby = {orderby!r}: expected one of {', '.join(ORDERS)}")
    where = combined_filter(c)
    if lead_timezone_mode(c) is None:
        zones = None if window_open(c, now_utc) else []
    else:
        zones = open_zones_for(c, now_utc, lead_zones)
    return model.Selection(
        # With maxretries a lead may go beyond `attempts`; which one is done is decided when its
        # result is written (rules.retry), this only must not hide one still callable.
        attempts=max(setting_int(c, "attempts", 1, 1), retry.policy(c).max_total_attempts()),
        orderby=orderby,
        skip=setting_int(c, "skip", 0, 0),
        not_updated_since=None if setting_bool(c, "calltoday", True) else day_start(c, now_utc),
        blacklist=blacklist_table(c),
        usednc=setting_bool(c, "usednc", False),
        multiplecalls=setting_bool(c, "multiplecalls", False),
        where=where.sql() if where is not None else None,
        zones=zones,
    )
