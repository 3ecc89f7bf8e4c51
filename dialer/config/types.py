"""Value converters for dialer.conf: text in, typed value out, ValueError("expected ...") on bad input.

Each converter's ValueError message is the "what was expected" half of the one-line config
error; the loader adds file, line, section, key and value. Values are already stripped of
inline comments and surrounding blanks by configparser.
"""
import ipaddress
import math
import re
from dataclasses import dataclass
from typing import Tuple

from dialer.names import IDENTIFIER_EXPECTED, is_identifier
from dialer.rules.filterexpr import parse_filter
from dialer.rules.timeslot import from_hours, parse_pause, parse_timeslot
from dialer.rules.zones import get_zone

TRUE_WORDS = frozenset({"true", "yes", "on", "1"})
FALSE_WORDS = frozenset({"false", "no", "off", "0"})
NONE_WORDS = frozenset({"", "none"})
# The original writes "0" for "not set" in chanvar, filter, f_* (its web UI's convention).
NONE_OR_ZERO_WORDS = NONE_WORDS | {"0"}

# Anything below space and DEL: nothing of the sort may reach an AMI header or a log line.
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
_HOST_RE = re.compile(r"[A-Za-z0-9]([A-Za-z0-9._-]{0,252})\Z")


def _no_control(value, what):
    if "\n" in value:
        raise ValueError(f"{what} on a single line (an indented next line continues the value)")
    if _CONTROL_RE.search(value):
        raise ValueError(f"{what} without control characters")
    return value


def boolean(value):
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError("a boolean (true/false, yes/no, on/off, 1/0)")


def integer(minimum=None, maximum=None):
    """An integer converter with an inclusive range."""
    if minimum is not None and maximum is not None:
        expected = f"an integer from {minimum} to {maximum}"
    elif minimum is not None:
        expected = f"an integer >= {minimum}"
    else:
        expected = "an integer"

    def convert(value):
        if not re.fullmatch(r"[+-]?[0-9]+", value.strip()):
            raise ValueError(expected)
        number = int(value)
        if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
            raise ValueError(expected)
        return number
    convert.expected = expected
    return convert


def port(allow_zero=False):
    conv = integer(0 if allow_zero else 1, 65535)
    expected = "a TCP port from 1 to 65535" + (", or 0 to disable" if allow_zero else "")

    def convert(value):
        try:
            return conv(value)
        except ValueError:
            raise ValueError(expected) from None
    convert.expected = expected
    return convert


_UNITS = {"ms": 0.001, "s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}


def duration(unit="s", minimum=0.0, strict_minimum=False, whole=True):
    """A duration in `unit` ('s' or 'ms'); a bare number is in that unit, or give one of
    ms, s, m (min), h, d. `whole` returns an int (rounded to the unit)."""
    bound = ("> " if strict_minimum else ">= ") + f"{minimum:g}"
    plural = {"s": "seconds", "ms": "milliseconds"}[unit]
    expected = f"a duration {bound} in {plural} (a number, or with a unit: 500ms, 30s, 10m, 1h, 1d)"

    def convert(value):
        match = re.fullmatch(r"([0-9]+(?:\.[0-9]+)?)\s*([a-z]*)", value.strip().lower())
        if not match or (match.group(2) and match.group(2) not in _UNITS):
            raise ValueError(expected)
        factor = _UNITS[match.group(2)] / _UNITS[unit] if match.group(2) else 1.0
        amount = float(match.group(1)) * factor
        if not math.isfinite(amount) or amount < minimum or (strict_minimum and amount <= minimum):
            raise ValueError(expected)
        if whole:
            rounded = int(round(amount))
            if strict_minimum and rounded <= minimum:
                raise ValueError(expected)
            return rounded
        return amount
    convert.expected = expected
    return convert


def choice(*choices, aliases=None):
    aliases = dict(aliases or {})
    expected = "one of " + ", ".join(choices)

    def convert(value):
        word = value.strip().lower()
        word = aliases.get(word, word)
        if word not in choices:
            raise ValueError(expected)
        return word
    convert.expected = expected
    return convert


def optional(conv, none_words=NONE_WORDS):
    """`conv`, except that one of `none_words` means "not set" (None)."""
    def convert(value):
        if value.strip().lower() in none_words:
            return None
        try:
            return conv(value)
        except ValueError as exc:
            raise ValueError(f"{exc}, or none") from None
    convert.expected = getattr(conv, "expected", "")
    return convert


def text(value):
    """Free text that may end up in an AMI header or a variable: single line, no control chars."""
    return _no_control(value, "text")


def secret(value):
    return _no_control(value, "a secret")


def identifier(value):
    if not is_identifier(value):
        raise ValueError(IDENTIFIER_EXPECTED)
    return value


def host(value):
    value = value.strip()
    try:
        return str(ipaddress.ip_address(value.strip("[]")))
    except ValueError:
        pass
    if not _HOST_RE.match(value):
        raise ValueError("a host name or an IP address")
    return value


def listen(value):
    """host:port a server binds to ([::1]:8080 for an IPv6 address), returned as host:port text."""
    expected = "host:port, e.g. 127.0.0.1:8080 or [::1]:8080"
    match = re.fullmatch(r"(\[[0-9A-Fa-f:.]+\]|[^:\s\[\]]+):([0-9]+)", value.strip())
    if not match:
        raise ValueError(expected)
    try:
        address = host(match.group(1))
        number = port()(match.group(2))
    except ValueError:
        raise ValueError(expected) from None
    if match.group(1).startswith("[") != (":" in address):   # brackets around IPv6 addresses only
        raise ValueError(expected)
    return f"[{address}]:{number}" if ":" in address else f"{address}:{number}"


def path(value):
    _no_control(value, "a file path")
    if not value:
        raise ValueError("a file path")
    return value


def timezone(value):
    """An IANA time zone name such as Europe/Paris."""
    try:
        get_zone(value)
    except ValueError:
        raise ValueError("an IANA time zone name such as Europe/Paris") from None
    return value


def region(value):
    """ISO 3166 country code for numbers written without their country code (phonenumbers)."""
    import phonenumbers
    code = value.strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError("a two-letter country code such as FR or US")
    return code


def lead_timezone(value):
    word = value.strip()
    if word.lower() == "auto":
        return "auto"
    try:
        return timezone(word)
    except ValueError:
        raise ValueError("auto, none or an IANA time zone name such as America/New_York") from None


def dialformat(value):
    expected = "a dial string with exactly one %s for the number and no other %, e.g. SIP/00%s@trunk"
    _no_control(value, "a dial string")
    if value.count("%s") != 1 or value.count("%") != 1 or any(c.isspace() for c in value):
        raise ValueError(expected)
    return value


def dialprefix(value):
    if not re.fullmatch(r"[0-9A-Za-z+*#_.-]{1,32}", value):
        raise ValueError("up to 32 digits, letters or + * # _ . -")
    return value


_VARNAME_RE = re.compile(r"(__?)?[A-Za-z][A-Za-z0-9_]{0,79}\Z")


class Pair(str):
    """A NAME=value (or 'Name: value') setting: still the text the user wrote, normalised, so it
    can be passed on as is, with `.name` and `.value` (None for a bare chanvar NAME)."""

    def __new__(cls, name, value, sep="="):
        self = super().__new__(cls, name if value is None else f"{name}{sep}{value}")
        self.name, self.value, self._sep = name, value, sep
        return self

    def __reduce__(self):   # copy and pickle rebuild it from its parts, not from the joined text
        return (type(self), (self.name, self.value, self._sep))


def chanvar(value, bare_ok=False):
    """NAME=value, a channel variable set on the originated call (with bare_ok, NAME alone too)."""
    name, sep, val = value.partition("=")
    name = name.strip()
    if not _VARNAME_RE.match(name) or not (sep or bare_ok):
        what = "NAME or NAME=value" if bare_ok else "NAME=value"
        raise ValueError(f"{what} with NAME a channel variable name (letters, digits, '_')")
    if not sep:
        return Pair(name, None)
    _no_control(val, "NAME=value")
    return Pair(name, val.strip())


def chanvar_or_name(value):
    """The manual's chanvar: NAME (the variable receives the lead's param) or NAME=value."""
    return chanvar(value, bare_ok=True)


_HEADER_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,79}\Z")


def sipheader(value):
    """`Name: value` (or Name=value), a SIP header added to the outgoing INVITE."""
    match = re.match(r"\s*([^:=\s]+)\s*[:=](.*)\Z", value, re.S)
    if not match or not _HEADER_NAME_RE.match(match.group(1)):
        raise ValueError("a SIP header 'Name: value' with Name made of letters, digits and '-'")
    _no_control(match.group(2), "a SIP header")
    return Pair(match.group(1), match.group(2).strip(), ": ")


def app_name(value):
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,79}", value):
        raise ValueError("an Asterisk application name (letters, digits, '_')")
    return value


def context_name(value):
    if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,79}", value):
        raise ValueError("a dialplan context name (letters, digits, '_', '-', '.')")
    return value


def extension(value):
    if not re.fullmatch(r"[A-Za-z0-9_*#+.-]{1,80}", value):
        raise ValueError("a dialplan extension (digits, letters, * # + _ . -)")
    return value


def priority(value):
    if re.fullmatch(r"[0-9]+", value):
        if int(value) < 1:
            raise ValueError("a priority >= 1 or a priority label")
        return int(value)
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]{0,79}", value):
        raise ValueError("a priority >= 1 or a priority label")
    return value


def instance_id(value):
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}", value):
        raise ValueError("up to 64 letters, digits or . _ : - (the name of this dialer instance)")
    return value


@dataclass(frozen=True)
class CodeFilter:
    """Prefix/zip codes a campaign is restricted to (include) or must avoid (exclude)."""
    include: Tuple[str, ...] = ()
    exclude: Tuple[str, ...] = ()

    def __bool__(self):
        return bool(self.include or self.exclude)


def code_list(item_re, what):
    """A comma separated list of codes, each optionally prefixed by '!' to exclude it."""
    expected = f"a comma separated list of {what}, each optionally preceded by ! to exclude it, or 0/none"
    item = re.compile(item_re)

    def convert(value):
        if value.strip().lower() in NONE_OR_ZERO_WORDS:
            return CodeFilter()
        include, exclude = [], []
        for raw in value.split(","):
            raw = raw.strip()
            negate = raw.startswith("!")
            code = raw[1:].strip() if negate else raw
            if not item.fullmatch(code):
                raise ValueError(expected)
            (exclude if negate else include).append(code)
        return CodeFilter(tuple(include), tuple(exclude))
    convert.expected = expected
    return convert


def timeslot(value):
    return _rules_parse(parse_timeslot, value,
                        "a calling window such as 9h-18h, 9h30-12h,14h-18h or 'mon-fri 9h-20h; sat 10h-13h'")


def pause(value):
    return _rules_parse(parse_pause, value, "a pause window such as 12h-14h, or none")


def filter_expression(value):
    """A filter over the campaign's columns, parsed now so that a bad one stops the load."""
    _no_control(value, "a filter")
    return _rules_parse(parse_filter, value, "a filter such as: attempts < 3 AND phone LIKE '33%'")


def hours_window(timestart, timestop):
    """The original's timestart/timestop hours as a timeslot."""
    return from_hours(timestart, timestop)


def _rules_parse(parser, value, expected):
    try:
        return parser(value)
    except ValueError as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise ValueError(f"{expected} ({detail})" if detail else expected) from None


def retry_delays(value):
    """`retry`: outcome:delay pairs (busy:5m noanswer:1h), parsed by rules.retry."""
    from dialer.rules.retry import parse_pairs
    return parse_pairs(value, duration("s", 0), "delay")


def retry_limits(value):
    """`maxretries`: outcome:count pairs (busy:5 noanswer:3), parsed by rules.retry."""
    from dialer.rules.retry import parse_pairs
    return parse_pairs(value, integer(1), "count")
