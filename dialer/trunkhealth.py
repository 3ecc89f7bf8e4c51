"""Trunk health: a circuit breaker per trunk (the campaigns' `trunk` name), per dialer.

An attempt that says "the path is broken, not the callee" counts against its trunk: no
channel created (unknown peer or technology, endpoint without contact), a network or
congestion cause, Reason 8. Callee outcomes (busy, no answer, unallocated number, answered)
are healthy. Enough failures in a row, or too high a share of the recent attempts, open the
trunk: no new call on it until a backoff (exponential with jitter, capped) has passed; then
it is half-open and lets `probes` calls through; a healthy one closes it, a failed one opens
it again with a longer backoff.

So that an outage never burns a lead, the results of failed attempts are held while their
streak is undecided: if the streak opens the trunk (or the trunk is not closed) they are put
back without counting the attempt; if a healthy result breaks the streak, or nothing more
happens on the trunk for HOLD_SECONDS, they are recorded as usual (counted).

Pure logic: the clock and the jitter's random source are injected; the engine calls
`allow`/`dialled` before originating, `observe` with each result, `poll` every iteration, and
logs each StateChange once.
"""
import collections
import random
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half-open"
# dialer_trunk_state values: anything but 0 means calls are held back.
STATE_VALUES = {CLOSED: 0, HALF_OPEN: 1, OPEN: 2}

HEALTHY, NEUTRAL = "healthy", "neutral"
NO_CHANNEL, NO_ROUTE, CONGESTION, NETWORK = "no_channel", "no_route", "congestion", "network"
FAILURE_KINDS = (NO_CHANNEL, NO_ROUTE, CONGESTION, NETWORK)
FAILURE_TEXT = {
    NO_CHANNEL: "Asterisk created no channel (unknown peer, endpoint or technology?)",
    NO_ROUTE: "the channel failed before reaching anyone (cause 0)",
    CONGESTION: "congestion",
    NETWORK: "network failure",
}

# Q.850 causes that describe the path, not the callee (chan_sip and chan_pjsip map SIP 503
# to 34, 500 to 41, 502 to 27, 504/408 to 102).
CONGESTION_CAUSES = frozenset({34, 42, 44})
NETWORK_CAUSES = frozenset({27, 38, 41, 102})
REASON_CONGESTION = 8
REASON_FAILURE = 0

# A held failure is recorded (counted) when its trunk has had no result at all for this long:
# an isolated failure, or the last leads of a list, must not wait forever.
HOLD_SECONDS = 30.0
JITTER = 0.2   # each backoff is drawn from +-20 % around its nominal value


def classify(*, answered: bool, channel_created: bool, response: Optional[str], reason: Optional[int],
             cause: Optional[int], lost: bool = False) -> str:
    """HEALTHY, NEUTRAL (says nothing about the trunk) or one of FAILURE_KINDS.

    response/reason: the OriginateResponse's (None if none came); cause: the far end's Hangup
    Cause (None without a Hangup); lost: the attempt ended without its events (AMI link down,
    dialer restart, Originate refused by the AMI user's permissions), which is not the trunk.
    """
    if answered:
        return HEALTHY
    if lost:
        return NEUTRAL
    if not channel_created:
        return NO_CHANNEL if response is not None else NEUTRAL
    if cause in CONGESTION_CAUSES:
        return CONGESTION
    if cause in NETWORK_CAUSES:
        return NETWORK
    if not cause:
        if reason == REASON_CONGESTION:
            return CONGESTION
        if reason == REASON_FAILURE and response == "Failure":
            # e.g. Local/%s@context with no such extension: both halves hang up with cause 0.
            return NO_ROUTE
    return HEALTHY


def classify_attempt(att, lost: str = "") -> str:
    """classify() from an attempt.Attempt's facts, as its outcome() sees them."""
    cause, _ = att.far_cause()
    answered = att.answered_at is not None or att.picked_up or att.reason == 4
    return classify(answered=answered, channel_created=bool(att.channels), response=att.response,
                    reason=att.reason, cause=cause, lost=bool(lost))


@dataclass(frozen=True)
class Settings:
    """The [general] trunk* keys (see docs/engine.md, "Trunk health")."""
    enabled: bool = True
    failures: int = 20          # consecutive failures that open the trunk
    percent: int = 90           # ... or this share (%) of the last `window` attempts; 0 = off
    window: int = 50
    backoff: float = 30.0       # first open period (s), doubled at each reopening
    backoffmax: float = 600.0
    probes: int = 2             # calls let through when half-open

    @classmethod
    def from_general(cls, general) -> "Settings":
        def get(key, default):
            value = getattr(general, key, None)
            return default if value is None else value
        return cls(enabled=bool(get("trunkbreaker", cls.enabled)), failures=int(get("trunkfailures", cls.failures)),
                   percent=int(get("trunkfailpercent", cls.percent)), window=int(get("trunkwindow", cls.window)),
                   backoff=float(get("trunkbackoff", cls.backoff)),
                   backoffmax=float(get("trunkbackoffmax", cls.backoffmax)), probes=int(get("trunkprobes", cls.probes)))


@dataclass(frozen=True)
class StateChange:
    trunk: str
    old: str
    new: str
    at: float
    why: str
    retry_at: Optional[float] = None    # when it opens: the first probe's time

    def message(self) -> str:
        if self.new == OPEN:
            return (f"trunk {self.trunk} open: {self.why}; no new calls on it for {self.retry_at - self.at:.0f} s, "
                    f"failed attempts are not counted")
        if self.new == HALF_OPEN:
            return f"trunk {self.trunk} half-open: {self.why}"
        return f"trunk {self.trunk} closed: {self.why}; dialling resumes"


@dataclass
class Verdict:
    """What to do with results: (token, counted) pairs, in the order they came."""
    decisions: List[tuple] = field(default_factory=list)
    changes: List[StateChange] = field(default_factory=list)
    first_failure: bool = False       # this failure starts a streak on a closed trunk

    def extend(self, other: "Verdict") -> None:
        self.decisions.extend(other.decisions)
        self.changes.extend(other.changes)
        self.first_failure = self.first_failure or other.first_failure


class Breaker:
    """One trunk's breaker."""

    def __init__(self, trunk: str, settings: Settings, clock: Callable[[], float],
                 rng: Callable[[], float] = random.random):
        self.trunk = trunk
        self.settings = settings
        self.clock = clock
        self.rng = rng
        self.state = CLOSED
        self.since = clock()
        self.consecutive = 0
        self.recent = collections.deque(maxlen=max(1, settings.window))   # True = failure
        self.pending: List[tuple] = []      # (token, when) of held failures of the current streak
        self.last_result_at = None
        self.opens = 0                      # reopenings since the last close (backoff exponent)
        self.retry_at = None
        self.probes_out = 0
        self.why = ""
        self.last_failure = ""
        self.down_since = None              # when it last left CLOSED

    # -- pacing ---------------------------------------------------------------------------
    def allow(self) -> Optional[int]:
        """How many new calls may start now on this trunk; None = no limit from the breaker."""
        if not self.settings.enabled or self.state == CLOSED:
            return None
        if self.state == OPEN:
            return 0
        return max(0, self.settings.probes - self.probes_out)

    def dialled(self, n: int = 1) -> None:
        if self.state == HALF_OPEN:
            self.probes_out += n

    # -- results --------------------------------------------------------------------------
    def observe(self, kind: str, token, detail: str = "") -> Verdict:
        """A finished attempt of this trunk: `kind` from classify(), `token` the caller's
        handle on its result, `detail` a short text for the log (the channel, the cause)."""
        now = self.clock()
        verdict = Verdict()
        if kind == NEUTRAL:
            verdict.decisions.append((token, True))
            self._probe_back()
            return verdict
        self.last_result_at = now
        failed = kind in FAILURE_KINDS
        if not self.settings.enabled:
            verdict.decisions.append((token, True))
            return verdict
        if failed:
            self.last_failure = f"{FAILURE_TEXT.get(kind, kind)}{': ' + detail if detail else ''}"
            self.consecutive += 1
            self.recent.append(True)
        else:
            self.consecutive = 0
            self.recent.append(False)
        if self.state == CLOSED:
            if not failed:
                verdict.decisions.extend((t, True) for t, _ in self.pending)
                self.pending.clear()
                verdict.decisions.append((token, True))
                return verdict
            verdict.first_failure = not self.pending
            self.pending.append((token, now))
            why = self._tripped()
            if why:
                verdict.extend(self._open(why, now))
            return verdict
        if self.state == HALF_OPEN:
            self._probe_back()
            verdict.decisions.append((token, not failed))
            if failed:
                verdict.extend(self._open(f"probe failed: {self.last_failure}", now))
            else:
                verdict.changes.append(self._set(CLOSED, now, f"probe succeeded after {self._outage(now)}"))
                self.opens = 0
                self.recent.clear()
            return verdict
        # OPEN: the results of calls started before it opened.
        verdict.decisions.append((token, not failed))
        return verdict

    def poll(self) -> Verdict:
        """Time-driven steps: the backoff ends (half-open), held failures time out (counted)."""
        now = self.clock()
        verdict = Verdict()
        if self.state == OPEN and now >= self.retry_at:
            self.probes_out = 0
            verdict.changes.append(self._set(HALF_OPEN, now, f"letting {self.settings.probes} probe call(s) through"))
        if self.pending and self.state == CLOSED and now - self.last_result_at >= HOLD_SECONDS:
            verdict.decisions.extend((t, True) for t, _ in self.pending)
            self.pending.clear()
        return verdict

    # -- internals -------------------------------------------------------------------------
    def _tripped(self) -> str:
        s = self.settings
        if self.consecutive >= s.failures:
            return f"{self.consecutive} consecutive trunk failures (last: {self.last_failure})"
        if s.percent and len(self.recent) >= s.window:
            bad = sum(self.recent)
            if bad * 100 >= s.percent * len(self.recent):
                return f"{bad} trunk failures in the last {len(self.recent)} attempts (last: {self.last_failure})"
        return ""

    def _open(self, why: str, now: float) -> Verdict:
        s = self.settings
        nominal = min(s.backoffmax, s.backoff * (2 ** self.opens))
        delay = min(s.backoffmax, nominal * (1 - JITTER + 2 * JITTER * self.rng()))
        self.opens += 1
        self.retry_at = now + delay
        verdict = Verdict(decisions=[(t, False) for t, _ in self.pending])
        self.pending.clear()
        if self.state == CLOSED:
            self.down_since = now
        verdict.changes.append(self._set(OPEN, now, why))
        return verdict

    def _probe_back(self):
        if self.state == HALF_OPEN and self.probes_out:
            self.probes_out -= 1

    def _set(self, new: str, now: float, why: str) -> StateChange:
        change = StateChange(self.trunk, self.state, new, now, why, self.retry_at if new == OPEN else None)
        self.state, self.since, self.why = new, now, why
        return change

    def _outage(self, now: float) -> str:
        return f"{now - self.down_since:.0f} s"

    def describe(self) -> str:
        """One line for STATUS, statistics and explain."""
        now = self.clock()
        if self.state == CLOSED:
            return f"trunk {self.trunk} closed"
        if self.state == OPEN:
            return (f"trunk {self.trunk} open ({self.why}); next probe in {max(0.0, self.retry_at - now):.0f} s")
        return f"trunk {self.trunk} half-open: {self.probes_out} probe call(s) out"


class TrunkHealth:
    """Every trunk's breaker of one dialer, created on first use."""

    def __init__(self, settings: Settings, clock: Callable[[], float], rng: Callable[[], float] = random.random):
        self.settings = settings
        self.clock = clock
        self.rng = rng
        self.breakers: Dict[str, Breaker] = {}

    def configure(self, settings: Settings) -> Verdict:
        """A reload: new thresholds apply from now on and states are kept; disabling the
        breaker closes every trunk and records the held results as usual."""
        self.settings = settings
        verdict = Verdict()
        for b in self.breakers.values():
            b.settings = settings
            b.recent = collections.deque(b.recent, maxlen=max(1, settings.window))
            if not settings.enabled:
                verdict.decisions.extend((t, True) for t, _ in b.pending)
                b.pending.clear()
                if b.state != CLOSED:
                    verdict.changes.append(b._set(CLOSED, self.clock(), "trunkbreaker = false"))
        return verdict

    def breaker(self, trunk: str) -> Breaker:
        b = self.breakers.get(trunk)
        if b is None:
            b = self.breakers[trunk] = Breaker(trunk, self.settings, self.clock, self.rng)
        return b

    def allow(self, trunk: str) -> Optional[int]:
        return self.breaker(trunk).allow()

    def dialled(self, trunk: str, n: int = 1) -> None:
        self.breaker(trunk).dialled(n)

    def observe(self, trunk: str, kind: str, token, detail: str = "") -> Verdict:
        return self.breaker(trunk).observe(kind, token, detail)

    def poll(self) -> Verdict:
        verdict = Verdict()
        for b in self.breakers.values():
            verdict.extend(b.poll())
        return verdict

    def held(self) -> int:
        """Results held back while their streak is undecided."""
        return sum(len(b.pending) for b in self.breakers.values())

    def not_closed(self) -> List[Breaker]:
        return [b for b in self.breakers.values() if b.state != CLOSED]
