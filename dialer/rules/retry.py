"""When a lead is called again, and when it is given up (-8 Burned): the one place of that rule.

A campaign's policy is the manual's `attempts`/`attemptsdelay`, plus optional per-outcome
overrides:

    retry      = busy:5m noanswer:1h congestion:2m     delay before the next call, per outcome
    maxretries = busy:5 noanswer:3                     attempts ending with that outcome, at most

An outcome is a retryable return code (-5..5), by number or by its alias below. An outcome
named in `retry` waits its own delay; any other waits `attemptsdelay`. An outcome named in
`maxretries` burns the lead once that many of its attempts ended with it; any other burns it
once the lead has made `attempts` attempts (the manual's rule). Without either key a campaign
behaves exactly as the manual says.

Per-outcome attempt counts are kept per lead in one short text column (`outcomes`,
"-4:2 -2:1": code:count for each retryable code the lead's attempts ended with), read by the
claim with the rest of the lead and written by the same UPDATE as the result: no extra query.
"""
import math
from dataclasses import dataclass, field
from typing import Dict, Mapping, Optional, Tuple

from .. import codes

# Readable names of the retryable codes. The dialer itself detects the negative ones; 0..5
# are what an application reports (callback, 2 No Answer, 3 Voicemail, 4 Busy, 5 Fast Busy).
ALIASES = {
    "congestion": codes.CONGESTION,
    "busy": codes.BUSY,
    "voicemail": codes.VOICEMAIL,
    "noanswer": codes.NO_ANSWER,
    "undefined": codes.UNDEFINED,
    "callback": 0,
    "notyetcalled": codes.NOT_YET_CALLED,
    "fastbusy": 5,
}
OUTCOME_CODES = tuple(range(codes.RETRY_MIN, codes.RETRY_MAX + 1))
VALID_NAMES = (f"{', '.join(ALIASES)} or a code {codes.RETRY_MIN}..{codes.RETRY_MAX}")


def outcome_code(name: str) -> int:
    """The return code an outcome name stands for; ValueError naming the valid ones."""
    word = name.strip().lower()
    if word in ALIASES:
        return ALIASES[word]
    try:
        code = int(word)
    except ValueError:
        code = None
    if code not in OUTCOME_CODES:
        raise ValueError(f"outcomes named {VALID_NAMES} (unknown outcome {name.strip()!r})")
    return code


def outcome_name(code: int) -> str:
    """The alias of a code when it has one, else the code itself (for messages)."""
    for name, value in ALIASES.items():
        if value == code:
            return name
    return str(code)


class OutcomeMap(dict):
    """{code: value} as parsed from `retry`/`maxretries`; `.text` writes it back (config --show)."""
    text = ""


def parse_pairs(text: str, convert_value, what: str) -> OutcomeMap:
    """'busy:5m, noanswer:1h' -> {code: converted value}. Items are separated by blanks or
    commas; ValueError("expected ...") on a bad item, naming it."""
    expected = f"outcome:{what} pairs separated by blanks, e.g. busy:{'5m' if what == 'delay' else '5'} noanswer:" \
               f"{'1h' if what == 'delay' else '3'}"
    out = OutcomeMap()
    for item in text.replace(",", " ").split():
        name, sep, value = item.partition(":")
        if not sep or not name or not value:
            raise ValueError(f"{expected} (not {item!r})")
        code = outcome_code(name)
        if code in out:
            raise ValueError(f"{expected}, each outcome once ({name!r} is repeated)")
        try:
            out[code] = convert_value(value)
        except ValueError as exc:
            raise ValueError(f"{expected} ({item!r}: {what} must be {exc})") from None
    out.text = " ".join(f"{outcome_name(code)}:{value}" for code, value in out.items())
    return out


@dataclass(frozen=True)
class Policy:
    """A campaign's retry rule. delays: code -> seconds; limits: code -> attempts ending with it."""
    attempts: int = 1
    attemptsdelay: int = 600
    delays: Mapping[int, int] = field(default_factory=dict)
    limits: Mapping[int, int] = field(default_factory=dict)

    def delay(self, code: int) -> int:
        return int(self.delays.get(code, self.attemptsdelay))

    def max_total_attempts(self) -> int:
        """An upper bound of the attempts a lead still callable can have made: the claim's
        `attempts < N` guard, which must never hide a lead this policy would call again."""
        return self.attempts + sum(limit - 1 for limit in self.limits.values())


def policy(campaign) -> Policy:
    """The Policy of a config.Campaign."""
    return Policy(attempts=campaign.attempts, attemptsdelay=campaign.attemptsdelay,
                  delays=dict(campaign.retry or {}), limits=dict(campaign.maxretries or {}))


def decide(pol: Policy, code: int, attempts: int, outcome_attempts: int, now: float) -> Tuple[int, Optional[int]]:
    """(code to record, next call time in epoch seconds or None when the lead is done).

    code: the attempt's return code; attempts: the lead's attempts including this one;
    outcome_attempts: how many of them ended with `code`, this one included.
    """
    if code in pol.limits:
        final = codes.final_code(code, outcome_attempts, pol.limits[code])
    else:
        final = codes.final_code(code, attempts, pol.attempts)
    if not codes.is_retryable(final):
        return final, None
    return code, math.ceil(now) + pol.delay(code)


# -- the per-lead counts column --------------------------------------------------------------

def parse_counts(text: Optional[str]) -> Dict[int, int]:
    """The `outcomes` column -> {code: attempts that ended with it}; junk is ignored."""
    out: Dict[int, int] = {}
    for item in (text or "").split():
        code, _, count = item.partition(":")
        try:
            out[int(code)] = int(count)
        except ValueError:
            continue
    return out


def format_counts(counts: Mapping[int, int]) -> str:
    return " ".join(f"{code}:{counts[code]}" for code in sorted(counts) if counts[code] > 0)


def count_outcome(text: Optional[str], code: int) -> Tuple[str, int]:
    """(new column text, attempts ending with `code` now) after one more attempt ended with it.
    Final codes are not counted: the lead is never called again anyway."""
    counts = parse_counts(text)
    if codes.is_retryable(code):
        counts[code] = counts.get(code, 0) + 1
    return format_counts(counts), counts.get(code, 0)
