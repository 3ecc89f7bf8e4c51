"""Plain data passed between the engine, the rules and the store."""
import functools
import hashlib
from dataclasses import dataclass, field
from typing import Optional, Sequence, Tuple

from . import codes

# Asterisk limits a ChannelId to 149 characters (ami-notes.md).
MAX_CHANNELID = 149
_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def base36(n: int) -> str:
    n, out = int(n), ""
    while True:
        n, r = divmod(n, 36)
        out = _BASE36[r] + out
        if not n:
            return out


@functools.lru_cache(maxsize=256)
def campaign_key(name: str) -> str:
    """A campaign name in lower case that stays distinct from every other name ignoring case
    (Asterisk compares Uniqueids ignoring case): an upper-case letter becomes _ + the letter,
    an _ becomes __ (`Sales` -> `_sales`, `sales` -> `sales`, `a_b` -> `a__b`). A name that long
    is a hash, __ + hex, which no real name gives (names start with a letter)."""
    key = "".join("__" if c == "_" else "_" + c.lower() if c.isupper() else c for c in name)
    if len(key) > 64:
        key = "__" + hashlib.blake2b(name.encode(), digest_size=8).hexdigest()
    return key


class ChannelId(str):
    """The Originate's ChannelId (Asterisk's Uniqueid of the call):
    d-<campaign key>-<lead>-<attempt>-<installation>-<claim time, base 36>.

    Asterisk refuses a new ChannelId that is a prefix, ignoring case, of the Uniqueid of a live
    channel ("Channel Unique ID ... already in use", issue 11 §6). So: the campaign key is
    case-safe, the installation id (per database, store.installation()) separates dialers on
    separate databases sharing an Asterisk, the claim time separates a lead id reused by a
    truncated and reloaded campaign (and the claim after a put-back), and the terminating "."
    (found nowhere else in an id) makes no id a prefix of another one or of its "-o".
    Written by the claim itself, so finding a call again after a crash needs no extra write per
    attempt. The far leg's OtherChannelId is this id plus OTHER_SUFFIX; the only place that
    suffix is written or read."""
    OTHER_SUFFIX = "-o"
    TERMINATOR = "."

    @classmethod
    def new(cls, campaign: str, lead_id: int, attempt: int, installation: str = "", claimed: float = 0) -> "ChannelId":
        cid = f"d-{campaign_key(campaign)}-{int(lead_id)}-{int(attempt)}-{installation}-{base36(claimed)}{cls.TERMINATOR}"
        assert len(cid) + len(cls.OTHER_SUFFIX) <= MAX_CHANNELID, cid
        return cls(cid)

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


def channel_id(campaign: str, lead_id: int, attempt: int, installation: str = "", claimed: float = 0) -> ChannelId:
    return ChannelId.new(campaign, lead_id, attempt, installation, claimed)


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

    def but(self, **changes) -> "Outcome":
        """A copy with `changes`: dataclasses.replace() without its __init__ (0.95 -> 0.5 us),
        for the engine's copies of every result."""
        if not _OUTCOME_FIELDS.issuperset(changes):
            raise TypeError(f"Outcome has no field {', '.join(sorted(set(changes) - _OUTCOME_FIELDS))}")
        new = object.__new__(Outcome)
        new.__dict__.update(self.__dict__, **changes)
        return new


_OUTCOME_FIELDS = frozenset(Outcome.__dataclass_fields__)
