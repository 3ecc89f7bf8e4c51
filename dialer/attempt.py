"""One call attempt seen through AMI events, and the moment it can be decided.

Asterisk's event order is not deterministic (ami-notes.md): the OriginateResponse may come
before, between or after DialEnd/Hangup, and chan_pjsip reports Reason 0 for every rejection.
An attempt is therefore decided only when its OriginateResponse and the Hangup of every
channel it created are in, or when the response says no channel was ever created, or after a
grace period. The classification itself lives in codes.classify().
"""
from dataclasses import dataclass, field
from typing import Optional

from . import codes
from .model import LOCAL_FAR_HALF, Lead, Outcome, is_far_end

# Reason and cause of a call whose channels vanished with Asterisk (no Hangup ever came).
LINK_LOST = "Asterisk connection lost"


def _int(value) -> Optional[int]:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


@dataclass
class Attempt:
    campaign: str
    lead: Lead
    channelid: str
    action_id: str
    started: float                 # wall clock (epoch) when the Originate was sent
    answeredcode: int = codes.SALE
    response: Optional[str] = None     # OriginateResponse Response: Success | Failure
    reason: Optional[int] = None       # OriginateResponse Reason
    channels: set = field(default_factory=set)   # names of channels created for the attempt
    hungup: dict = field(default_factory=dict)   # channel -> (cause int, cause text)
    answered_at: Optional[float] = None
    ended_at: Optional[float] = None
    app_status: Optional[int] = None     # DIALER_STATUS set by the application
    result: str = ""
    app_duration: Optional[int] = None
    picked_up: bool = False
    machine: bool = False
    adopted: bool = False               # re-adopted after a restart: no OriginateResponse will come
    response_at: Optional[float] = None
    link_lost_at: Optional[float] = None  # the AMI link went down while the call was up (last evidence)

    # -- event intake -------------------------------------------------------
    def on_event(self, msg, now: float) -> None:
        name = msg.name
        chan = msg.get("Channel") or ""
        self._vars(msg)
        if name == "OriginateResponse":
            self.response = msg.get("Response")
            self.reason = _int(msg.get("Reason"))
            self.response_at = now
            if self.reason == codes.REASON_ANSWERED and self.answered_at is None:
                self.answered_at = now
        elif name == "Newchannel":
            self.channels.add(chan)
        elif name == "Hangup":
            self.channels.add(chan)
            cause = _int(msg.get("Cause"))
            self.hungup[chan] = (cause if cause is not None else 0, msg.get("Cause-txt") or "")
            self.ended_at = now
        elif name == "Newstate" and msg.get("ChannelStateDesc") == "Up" and self.answered_at is None:
            if is_far_end(chan):
                self.answered_at = now
        elif name == "UserEvent":
            self._user_event(msg, now)

    def _vars(self, msg) -> None:
        variables = getattr(msg, "variables", None) or {}
        if variables.get("AMDSTATUS") == "MACHINE":
            # Visible when AMDSTATUS is in manager.conf's channelvars; the shipped dspmode
            # dialplan sets DIALER_STATUS=-3 as well.
            self.machine = True
        status = variables.get("DIALER_STATUS")
        if status not in (None, ""):
            value = _int(status)
            if value is not None and value in codes.RETURN_CODES:
                self.app_status = value

    def _user_event(self, msg, now: float) -> None:
        kind = (msg.get("UserEvent") or "").lower()
        if kind == "pickup":
            self.picked_up = True
            if self.answered_at is None:
                self.answered_at = now
        elif kind in ("hangup", "dialerresult"):
            self.picked_up = True
            duration = _int(msg.get("Duration"))
            if duration is not None:
                self.app_duration = max(0, duration)
            result = msg.get("Result")
            if result is not None:
                self.result = str(result)[:255]
                value = _int(result)
                if value is not None and value in codes.RETURN_CODES:
                    self.app_status = value
            status = _int(msg.get("Status"))
            if status is not None and status in codes.RETURN_CODES:
                self.app_status = status

    # -- deciding -------------------------------------------------------------
    def all_hungup(self) -> bool:
        return bool(self.channels) and all(c in self.hungup for c in self.channels)

    def complete(self) -> bool:
        """True once nothing more is expected for this attempt."""
        if self.response is None:
            return self.adopted and self.all_hungup()
        if not self.channels:
            # No Newchannel before a failed response: no channel was ever created.
            return self.response != "Success"
        return self.all_hungup()

    def far_cause(self):
        """(cause, text) of the far end: the ;2 half of a Local channel, else any non-zero one."""
        if not self.hungup:
            return None, ""
        far = [v for c, v in self.hungup.items() if c.endswith(LOCAL_FAR_HALF)]
        nonzero = [v for v in self.hungup.values() if v[0]]
        cause, text = (far or nonzero or list(self.hungup.values()))[0]
        return cause, text

    def stopped(self, now: float, reason: str) -> Outcome:
        """The result of a call the dialer gave up at its stop (drain timeout): -1, whatever it
        had reached, with the time it had been up."""
        duration = max(0, int(round(now - self.answered_at))) if self.answered_at is not None else 0
        return Outcome(disposition=codes.UNDEFINED, reason=reason[:255], duration=duration,
                       extra={"class": codes.CLASS_FAILED})

    def outcome(self, now: float, *, lost: str = "") -> Outcome:
        """The result to record. `lost` names why the attempt ended without its events."""
        cause, cause_txt = self.far_cause()
        # Without a Hangup, a call lost with the link ended when the link was lost.
        lost_cause = LINK_LOST if self.link_lost_at is not None and cause is None else ""
        answered = self.answered_at is not None or self.picked_up or self.reason == codes.REASON_ANSWERED
        if lost and not answered and cause is None:
            return Outcome(disposition=codes.UNDEFINED, reason=lost[:255], cause=lost_cause)
        created = bool(self.channels) or self.response == "Success"
        c = codes.classify(self.reason, cause, answered=answered, channel_created=created, machine=self.machine,
                           app_status=self.app_status, default_answered=self.answeredcode)
        if self.reason is not None:
            reason = codes.reason_text(self.reason)
        else:
            reason = lost or "No OriginateResponse"
        duration = 0
        if c.answered:
            if self.app_duration is not None:
                duration = self.app_duration
            elif self.answered_at is not None:
                end = self.ended_at or self.link_lost_at or now
                duration = max(0, int(round(end - self.answered_at)))
        cause_text = cause_txt or (codes.cause_text(cause) if cause is not None else lost_cause)
        return Outcome(disposition=c.code, reason=reason[:255], cause=cause_text[:255],
                       duration=duration, result=self.result, picked_up=c.answered,
                       extra={"class": c.klass, "cause_code": cause,
                              "answer_delay": (self.answered_at - self.started) if self.answered_at else None})
