"""Plain data passed between the engine, the rules and the store."""
from dataclasses import dataclass, field
from typing import Optional, Sequence, Tuple

# Asterisk limits a ChannelId to 149 characters (ami-notes.md).
MAX_CHANNELID = 149


def channel_id(campaign: str, lead_id: int, attempt: int) -> str:
    """The Originate's ChannelId (Asterisk's Uniqueid of the call): d-<campaign>-<lead>-<attempt>.

    Unique per attempt, since a claim increments `attempts` and only one dialer holds a lead
    at a time; written by the claim itself, so finding a call again after a crash needs no
    extra write per attempt."""
    return f"d-{campaign}-{lead_id}-{attempt}"[:MAX_CHANNELID]


@dataclass
class Lead:
    """A claimed lead. `attempts` already counts the attempt being made."""
    id: int
    phone: str
    param: str = ""
    attempts: int = 0
    pickups: int = 0
    disposition: int = 1
    timezone: str = ""
    channelid: Optional[str] = None


@dataclass
class Selection:
    """Which leads of a campaign a claim may take (built by rules, executed by store)."""
    attempts: int = 1                      # max attempts per lead
    orderby: str = "attempts_pickups"      # attempts_pickups | id | phone | random
    skip: int = 0                          # OFFSET into the ordered candidates
    not_updated_since: Optional[float] = None  # calltoday=false: epoch of today's 00:00; leads attempted since are skipped
    blacklist: Optional[str] = None        # validated table name with a `phone` column
    usednc: bool = False                   # also exclude the global do-not-call table
    multiplecalls: bool = True             # False: skip phones in progress anywhere (any campaign, any instance)
    where: Optional[Tuple[str, Tuple]] = None   # parameterised SQL over the campaign's columns (rules.filter)
    zones: Optional[Sequence[str]] = None  # lead timezones whose window is open now; None = no per-lead zone rule


@dataclass
class Outcome:
    """What happened to one attempt, ready to be written."""
    disposition: int
    reason: str = ""
    cause: str = ""
    duration: int = 0
    result: str = ""
    picked_up: bool = False
    extra: dict = field(default_factory=dict)
