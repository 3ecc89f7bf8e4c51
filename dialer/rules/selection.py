"""From a campaign's settings (a config.Campaign, already parsed and validated by dialer.config)
to a model.Selection, and the campaign's calling window.
"""
import datetime as _dt
from typing import TYPE_CHECKING, List, Optional, Sequence

from .. import model
from . import retry, timeslot as ts, zones as zn
from .filterexpr import Col, Filter, Lit, Node

if TYPE_CHECKING:
    from ..config import Campaign


def campaign_window(c: "Campaign") -> ts.Timeslot:
    """When calls may start, on the wall clock of the zone being considered."""
    return zn.window(c.timeslot, c.pause)


def campaign_zone(c: "Campaign") -> str:
    """The zone the campaign's window is read in: `timezone`, else the server's zone."""
    return c.timezone or zn.local_zone_name()


def default_lead_zone(c: "Campaign") -> str:
    """The zone of leads whose `timezone` is '' (or '-'): the leadtimezone zone, else the campaign's."""
    mode = c.leadtimezone
    return mode if mode not in (None, "auto") else campaign_zone(c)


def default_region(c: "Campaign") -> Optional[str]:
    """ISO region assumed for numbers without '+' when deriving zones (None = international digits)."""
    return c.defaultregion


# -- filters ----------------------------------------------------------------------------

def _any_of(nodes):
    out = nodes[0]
    for n in nodes[1:]:
        out = Node("or", out, n)
    return out


def _prefix_match(code: str) -> Node:
    like = lambda p: Node("like", Col("phone"), Lit(p + "%"))
    if code.startswith("+"):
        return like(code)
    return Node("or", like(code), like("+" + code))


def _zip_match(codes: Sequence[str]) -> Node:
    # Both spellings: MariaDB compares case-insensitively, SQLite does not.
    values = tuple(Lit(v) for v in dict.fromkeys(x for c in codes for x in (c, c.upper(), c.lower())))
    return Node("and", Node("isnull", Col("zipcode"), negated=True), Node("in", Col("zipcode"), values))


def _codes_match(f_mode: str, codes: Sequence[str]) -> Node:
    return _zip_match(codes) if f_mode == "zipcode" else _any_of([_prefix_match(x) for x in codes])


def code_filter(c: "Campaign") -> Optional[Filter]:
    """f_mode + f_areacode / f_areacode_prefix / f_zipcode as a Filter (None when off).

    areacode and acprefix match the beginning of the number ('33' matches 33… and +33…,
    '+33' only +33…); zipcode matches the zipcode column. Codes without '!' are the only
    ones called (when there is at least one); codes with '!' are never called.
    """
    codes = c.code_filter
    if not codes:
        return None
    include, exclude = codes.include, codes.exclude
    inc = _codes_match(c.f_mode, include) if include else None
    exc = Node("not", _codes_match(c.f_mode, exclude)) if exclude else None
    tree = inc if exc is None else exc if inc is None else Node("and", inc, exc)
    spelled = ",".join(list(include) + ["!" + x for x in exclude])
    return Filter(f"f_mode={c.f_mode} {c.code_filter_key}={spelled}", tree)


def combined_filter(c: "Campaign") -> Optional[Filter]:
    """The `filter` and the f_* code filter, both of which a lead must pass."""
    parts = [f for f in (c.filter, code_filter(c)) if f is not None]
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    return Filter(f"({parts[0].text}) AND ({parts[1].text})", Node("and", parts[0].tree, parts[1].tree))


# -- window and selection -----------------------------------------------------------------

def _candidate_keys(c: "Campaign", lead_zones) -> List[str]:
    # With auto, '' means "not derived from the number yet": calling such a lead in the
    # campaign's zone could ring someone at night, so it waits until its key is filled in
    # (zones.zone_key_for_number; '-' = no zone known, which does use the campaign zone).
    own = [zn.UNKNOWN] if c.leadtimezone == "auto" else [zn.NO_ZONE, zn.UNKNOWN]
    return own + [z for z in (lead_zones or ()) if z not in (zn.NO_ZONE, zn.UNKNOWN)]


def window_open(c: "Campaign", now_utc, lead_zones: Optional[Sequence[str]] = None) -> bool:
    """Whether a call may start now. With per-lead zones, whether it may for some lead:
    without `lead_zones` that is assumed possible (the Selection's zones decide per lead)."""
    win = campaign_window(c)
    if c.leadtimezone is None:
        return win.is_open(zn.as_utc(now_utc).astimezone(zn.get_zone(campaign_zone(c))))
    if win.empty:
        return False
    if lead_zones is None:
        return True
    return bool(open_zones_for(c, now_utc, lead_zones))


def open_zones_for(c: "Campaign", now_utc, lead_zones: Sequence[str]) -> List[str]:
    """The lead zone keys whose window is open now ('-', and '' unless leadtimezone = auto,
    are always considered)."""
    win = campaign_window(c)
    default = default_lead_zone(c)
    return [k for k in _candidate_keys(c, lead_zones) if zn.key_is_open(win, k, now_utc, default)]


def day_start(c: "Campaign", now_utc) -> float:
    """Epoch of today's 00:00 in the campaign zone (calltoday = false)."""
    local = zn.as_utc(now_utc).astimezone(zn.get_zone(campaign_zone(c)))
    midnight = _dt.datetime(local.year, local.month, local.day, tzinfo=local.tzinfo)
    return midnight.timestamp()


def build_selection(c: "Campaign", now_utc, lead_zones: Optional[Sequence[str]] = None) -> model.Selection:
    """Which leads a claim may take now.

    `zones` is None when the window is the campaign's and open; [] when no lead may be
    called now (window closed); otherwise the lead zone keys open now, where '' stands for
    leads with an empty (or NULL) timezone.
    """
    where = combined_filter(c)
    if c.leadtimezone is None:
        zones = None if window_open(c, now_utc) else []
    else:
        zones = open_zones_for(c, now_utc, lead_zones)
    return model.Selection(
        # With maxretries a lead may go beyond `attempts`; which one is done is decided when its
        # result is written (rules.retry), this only must not hide one still callable.
        attempts=retry.policy(c).max_total_attempts(),
        orderby=c.orderby,
        skip=c.skip,
        not_updated_since=None if c.calltoday else day_start(c, now_utc),
        blacklist=c.blacklist,
        usednc=c.usednc,
        multiplecalls=c.multiplecalls,
        where=where.sql() if where is not None else None,
        zones=zones,
    )
