"""Plain data passed between the engine, the rules and the store."""
from dataclasses import dataclass, field
from typing import Optional, Sequence, Tuple

from . import codes

# Asterisk limits a ChannelId to 149 characters (ami-notes.md).
MAX_CHANNELID = 149


class ChannelId(str):
    """The Originate's ChannelId (Asterisk's Uniqueid of the call): d-<campaign>-<lead>-<attempt>.

    Unique per attempt, since a claim increments `attempts` and only one dialer holds a lead
    at a time; written by the claim itself, so finding a call again after a crash needs no
    extra write per attempt. The far leg's OtherChannelId is this id plus OTHER_SUFFIX; the
    only place that suffix is written or read."""
    OTHER_SUFFIX = "-o"

    @classmethod
    def new(cls, campaign: str, lead_id: int, attempt: int) -> "ChannelId":
        return cls(f"d-{campaign}-{lead_id}-{attempt}"[:MAX_CHANNELID])

    @property
    def other(self) -> str:
        """The OtherChannelId of the Originate (the second leg's Uniqueid)."""
        return self + self.OTHER_SUFFIX

    @classmethod
    def of_uniqueid(cls, uniqueid: str) -> "ChannelId":
        """The attempt's ChannelId from the Uniqueid/Linkedid of either of its legs."""
        if uniqueid.endswith(cls.OTHER_SUFFIX):
            uniqueid = uniqueid[:-len(cls.OTHER_SUFFIX)]
        return cls(uniqueid)


def channel_id(campaign: str, lead_id: int, attempt: int) -> ChannelId:
    return ChannelId.new(campaign, lead_id, attempt)


# A Local channel's far-end outcome is on its ";2" half (ami-notes.md); its ";1" half goes Up
# at once, so only the far half's answer counts.
LOCAL_FAR_HALF = ";2"


def is_far_end(channel: str) -> bool:
    """True for a channel whose state is the far end's: any but a Local channel's ;1 half."""
    return not channel.startswith("Local/") or channel.endswith(LOCAL_FAR_HALF)


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
    outcomes: str = ""                     # attempts per retryable outcome, "-4:2 -2:1" (rules.retry)


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
    outcomes: Optional[str] = None         # the lead's new per-outcome counts; None = unchanged

    @classmethod
    def invalid_lead(cls, why) -> "Outcome":
        """A lead that cannot be dialled safely (refused before or by the AMI link)."""
        return cls(codes.INVALID_LEAD, reason=f"Invalid lead: {why}"[:255])
