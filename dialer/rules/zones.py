"""Time zones: the campaign's, the leads', and which of them have an open window now.

A lead's `timezone` column holds a *zone key*:

* ``''`` — no zone of its own: the window is read in the default zone (the campaign's
  `timezone`, or the `leadtimezone` zone name when one is configured);
* ``'-'`` — `leadtimezone = auto` found no zone for the number: same as ``''``;
* an IANA name, ``Europe/Paris``;
* several IANA names separated by blanks, ``America/Chicago America/New_York``, for a number
  that phonenumbers maps to several zones;
* ``@<digits>``: the phonenumbers prefix whose zone list is too long for the 64-character
  column (``@1`` = every zone of the North American Numbering Plan).

A key with several zones is open only when the window is open in every one of them.
An unknown zone name is never open (explain() says why).
"""
import datetime as _dt
import functools
import os
import re
import zoneinfo
from typing import Optional, Tuple

from .timeslot import MINUTES_PER_DAY, Timeslot

UTC = _dt.timezone.utc
NO_ZONE = ""
UNKNOWN = "-"
KEY_MAX = 64
_SPLIT = re.compile(r"[\s,;|]+")


def local_zone_name() -> str:
    """The server's IANA zone: $TZ, else /etc/localtime's target, else /etc/timezone, else UTC."""
    tz = os.environ.get("TZ", "").lstrip(":")
    if tz:
        try:
            zoneinfo.ZoneInfo(tz)
            return tz
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
            pass
    try:
        target = os.path.realpath("/etc/localtime")
        if "zoneinfo/" in target:
            name = target.split("zoneinfo/", 1)[1]
            zoneinfo.ZoneInfo(name)
            return name
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        pass
    try:
        with open("/etc/timezone", encoding="ascii") as fh:
            name = fh.read().strip()
        zoneinfo.ZoneInfo(name)
        return name
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError, UnicodeDecodeError):
        return "UTC"


@functools.lru_cache(maxsize=1024)
def get_zone(name: str) -> _dt.tzinfo:
    """ZoneInfo for an IANA name; ValueError naming it otherwise."""
    if not name or not re.fullmatch(r"[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+)*", name):
        raise ValueError(f"{name!r} is not an IANA time zone name (e.g. Europe/Paris)")
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"{name!r} is not an IANA time zone name (e.g. Europe/Paris)") from None


def zone_set(key: Optional[str], default_zone: str) -> Tuple[str, ...]:
    """The zone names a lead's zone key stands for ('' and '-' -> the default zone)."""
    key = (key or "").strip()
    if key in (NO_ZONE, UNKNOWN):
        return (default_zone,)
    if key.startswith("@"):
        from phonenumbers.timezone import TIMEZONE_DATA
        zones = TIMEZONE_DATA.get(key[1:])
        if not zones:
            raise ValueError(f"{key!r} is not a phonenumbers time zone prefix")
        return tuple(zones)
    return tuple(z for z in _SPLIT.split(key) if z)


# -- deriving a zone from the number (leadtimezone = auto) -----------------------------

@functools.lru_cache(maxsize=65536)
def zone_key_for_number(phone: str, default_region: Optional[str] = None) -> str:
    """The zone key for a phone number, from the phonenumbers library.

    Numbers are digits with an optional leading '+'. With a '+' (or a leading '00') the
    number is international. Without, it is read in `default_region` (ISO country code,
    e.g. 'FR', so '0612345678' is a French mobile) when one is given, otherwise as
    international digits without the '+' ('33612345678'), which is how the original's
    `dialformat = SIP/00%s@trunk` convention stores them. UNKNOWN ('-') when phonenumbers
    cannot place the number.
    """
    import phonenumbers
    from phonenumbers import timezone as pn_tz

    digits = re.sub(r"[\s().-]", "", phone or "")
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    try:
        if digits.startswith("+"):
            num = phonenumbers.parse(digits, None)
        elif default_region:
            num = phonenumbers.parse(digits, default_region.upper())
        else:
            num = phonenumbers.parse("+" + digits, None)
    except phonenumbers.NumberParseException:
        return UNKNOWN
    zones = tuple(z for z in pn_tz.time_zones_for_number(num) if z != "Etc/Unknown")
    if not zones:
        return UNKNOWN
    key = " ".join(sorted(zones))
    if len(key) <= KEY_MAX:
        return key
    e164 = phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)
    return "@" + _prefix_for(zones, e164.lstrip("+"), str(num.country_code))


def _prefix_for(zones, digits, country_code):
    """The longest phonenumbers prefix of the number that maps to exactly these zones."""
    from phonenumbers.timezone import TIMEZONE_DATA, TIMEZONE_LONGEST_PREFIX
    for n in range(TIMEZONE_LONGEST_PREFIX, 0, -1):
        if tuple(TIMEZONE_DATA.get(digits[:n], ())) == zones:
            return digits[:n]
    return country_code


# -- windows ----------------------------------------------------------------------------

ALWAYS = Timeslot({d: [(0, MINUTES_PER_DAY)] for d in range(7)}, text="always")


def window(timeslot: Optional[Timeslot], pause: Optional[Timeslot]) -> Timeslot:
    """When calls may start: the timeslot (None = always) minus the pause."""
    return (timeslot or ALWAYS).minus(pause)


def as_utc(now):
    if isinstance(now, (int, float)):
        return _dt.datetime.fromtimestamp(now, UTC)
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware (or an epoch number)")
    return now.astimezone(UTC)


def key_is_open(win: Timeslot, key: str, now, default_zone: str) -> bool:
    """True when the window is open now in every zone the key stands for."""
    now = as_utc(now)
    try:
        zones = zone_set(key, default_zone)
        return bool(zones) and all(win.is_open(now.astimezone(get_zone(z))) for z in zones)
    except ValueError:
        return False
