"""Lead field validation shared by `file`, `insert` and the DNC/blacklist actions."""
import re

PHONE_RE = re.compile(r"\+?[0-9]{3,20}\Z")
_STRIP = str.maketrans("", "", " -.()\t")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
_CODE_RE = re.compile(r"[A-Za-z0-9 _-]{0,16}\Z")
_ZONE_RE = re.compile(r"[A-Za-z0-9_+\-/]{1,64}\Z")
PARAM_MAX = 255
_zones = None


def shown(value, limit=40):
    """A value quoted for an error line: control characters escaped, long ones cut."""
    r = repr(value)
    return r if len(r) <= limit else r[:limit - 4] + "...'"


def phone(raw):
    """Normalised phone, or raise ValueError with the reason."""
    if _CONTROL_RE.search(raw):
        raise ValueError(f"phone {shown(raw)} contains a control character")
    p = raw.strip().translate(_STRIP)
    if not p:
        raise ValueError("empty phone")
    if not PHONE_RE.match(p):
        raise ValueError(f"phone {shown(raw)} is not a number (expected an optional + then 3 to 20 digits)")
    return p


def param(raw):
    if len(raw) > PARAM_MAX:
        raise ValueError(f"param is {len(raw)} characters long (at most {PARAM_MAX})")
    if _CONTROL_RE.search(raw):
        raise ValueError(f"param {shown(raw)} contains a control character")
    return raw


def code(raw, what):
    raw = raw.strip()
    if not _CODE_RE.match(raw):
        raise ValueError(f"{what} {shown(raw)} is invalid (expected up to 16 letters, digits, spaces, - or _)")
    return raw


def timezone(raw):
    global _zones
    raw = raw.strip()
    if not raw:
        return raw
    if _zones is None:
        import zoneinfo
        _zones = zoneinfo.available_timezones()
    if not _ZONE_RE.match(raw) or raw not in _zones:
        raise ValueError(f"timezone {shown(raw)} is not an IANA time zone (e.g. Europe/Paris)")
    return raw
