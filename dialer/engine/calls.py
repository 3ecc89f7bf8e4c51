"""The live attempts: events routed to them, their end, adoption after a restart, resync with
the PBX after a reconnection, and the grace periods for events that never come."""
import logging
from typing import Dict, List, Optional

from .. import codes
from ..attempt import LINK_LOST, Attempt
from ..model import ChannelId, Lead, Outcome, is_far_end
from .database import Database
from .results import ResultWriter
from .state import Campaigns

log = logging.getLogger("dialer.engine")

# How long to wait for the missing half of an attempt's events before deciding anyway.
GRACE_NO_RESPONSE = 3.0      # Hangup(s) in, OriginateResponse missing
GRACE_FAILED_CHANNELS = 10.0  # failed OriginateResponse, channels not all hung up
ORIGINATE_SLACK = 60.0       # beyond the ring Timeout with no OriginateResponse at all
# A refusal (Reason 0, no channel) is held this long before it counts against its lead: the
# Shutdown event that explains it may follow (Asterisk 20 sent it 1.1 s after the hangups).
REFUSAL_HOLD = 2.0

# Why a claim was undone without counting the attempt (store.put_back).
PUT_BACK_SHUTDOWN = "Originate refused: Asterisk was shutting down"
PUT_BACK_IN_USE = "ChannelId in use"


class CallTable:
    def __init__(self, campaigns: Campaigns, results: ResultWriter, db: Database, link, *, owner: str,
                 clock, lease: int):
        self.campaigns = campaigns
        self.results = results
        self.db = db
        self.link = link
        self.owner = owner
        self.clock = clock
        self.lease = lease
        self.calls: Dict[ChannelId, Attempt] = {}
        self.by_action: Dict[str, ChannelId] = {}   # ActionID -> ChannelId, until its OriginateResponse
        self.refused: Dict[ChannelId, float] = {}   # refused with no channel, held since (check_refused)

    def __len__(self) -> int:
        return len(self.calls)

    def __bool__(self) -> bool:
        return bool(self.calls)

    def add(self, att: Attempt) -> None:
        self.calls[att.channelid] = att
        if att.action_id:
            self.by_action[att.action_id] = att.channelid
        self.campaigns[att.campaign].live += 1

    def drop(self, att: Attempt) -> None:
        """Forget an attempt without a result (its lead is recorded by the caller)."""
        if self.calls.pop(att.channelid, None) is not None:
            self.by_action.pop(att.action_id, None)
            self.refused.pop(att.channelid, None)
            state = self.campaigns.get(att.campaign)
            if state:
                state.live -= 1

    def end_call(self, att: Attempt, now: float, lost: str = "") -> None:
        """The attempt is over: decide its outcome and record it (once)."""
        if att.channelid not in self.calls:
            return
        self.drop(att)
        self.results.finish(att, att.outcome(now, lost=lost), now, lost)

    def put_back(self, att: Attempt, reason: str, now: float) -> None:
        """The call never started, not by its lead's fault: undo the claim, uncounted."""
        self.drop(att)
        self.results.put_back(att.campaign, att.lead, reason, now)

    def give_up_all(self, now: float, reason: str) -> None:
        """End every live attempt now as -1 (`reason`): the dialer stops without their end."""
        for att in list(self.calls.values()):
            self.drop(att)
            self.results.record(att.campaign, att.lead, att.stopped(now, reason), now)

    # -- events -------------------------------------------------------------------------
    def attempt_for(self, msg) -> Optional[Attempt]:
        if msg.name == "OriginateResponse":
            cid = self.by_action.get(msg.get("ActionID") or "")
            if cid:
                return self.calls.get(cid)
        calls = self.calls
        for key in ("linkedid", "uniqueid"):
            value = msg.get(key)
            if value:
                # A ChannelId is a str: the first leg's Uniqueid finds its call as it is, with
                # no ChannelId built per event; only the other leg's needs of_uniqueid().
                att = calls.get(value)
                if att is None:
                    cid = ChannelId.of_uniqueid(value)
                    att = calls.get(cid) if cid != value else None
                if att is not None:
                    return att
        return None

    def on_message(self, msg) -> Optional[Attempt]:
        """Feed an AMI event to its attempt (None: not one of ours); end it when complete."""
        att = self.attempt_for(msg)
        if att is None:
            return None
        now = msg.received if msg.received is not None else self.clock()
        att.on_event(msg, now)
        if msg.name == "OriginateResponse":
            self.by_action.pop(att.action_id, None)
        if att.complete():
            if att.refused():
                self.refused.setdefault(att.channelid, now)
            else:
                self.end_call(att, now)
        return att

    def hangup(self, chan: str) -> None:
        try:
            self.link.hangup(chan)
        except Exception as exc:    # gone already, or the link is down: the drain deadline ends it
            log.debug("hangup %s: %s", chan, exc)

    def hangup_all(self) -> None:
        for att in list(self.calls.values()):
            for chan in att.channels - set(att.hungup):
                self.hangup(chan)

    def link_lost(self, now: float) -> None:
        """The AMI link went down: what happens to the calls now is unknown until the resync,
        so this is the last moment each is known to have been up."""
        for att in self.calls.values():
            if att.link_lost_at is None:
                att.link_lost_at = now

    # -- refusals without a channel -------------------------------------------------------
    def put_back_refused(self, now: float) -> None:
        """Asterisk is going away (or the link is lost before the check): what it refused was
        not the leads' fault."""
        for cid in list(self.refused):
            self.put_back(self.calls[cid], PUT_BACK_SHUTDOWN, now)

    def check_refused(self, now: float) -> None:
        """Decide the refusals held long enough: an id that is a prefix (ignoring case) of a
        live channel's Uniqueid is Asterisk's "Unique ID already in use": put back, the next
        claim gets a new id; any other refusal is the attempt's outcome (unknown peer...)."""
        due = [cid for cid, since in self.refused.items() if now - since >= REFUSAL_HOLD]
        if not due:
            return
        try:
            channels = self.link.core_show_channels()
        except Exception as exc:    # the link is going: the disconnection puts them back
            log.debug("CoreShowChannels for refused originates: %s", exc)
            return
        live = [(ch.get("Uniqueid") or "").lower() for ch in channels]
        for cid in due:
            att = self.calls[cid]
            ids = (cid.lower(), ChannelId(cid).other.lower())
            if any(uid.startswith(ids) for uid in live):
                log.warning("%s: ChannelId %s of lead %s is in use in Asterisk; the lead is dialled again "
                            "with a new one", att.campaign, cid, att.lead.id)
                self.put_back(att, PUT_BACK_IN_USE, now)
            else:
                self.end_call(att, now)

    # -- periodic ---------------------------------------------------------------------
    def renew(self, now: float, held=()) -> None:
        """Extend the lease of the leads with a live call, and of campaigns in `held` (results
        a trunk's breaker holds back)."""
        for name, state in self.campaigns.items():
            if state.live or name in held:
                self.db.call("renew", name, self.owner, now + self.lease)

    def check_grace(self, now: float, link_up: bool) -> None:
        for att in list(self.calls.values()):
            age = now - att.started
            if att.response is None:
                if att.adopted:
                    continue
                if att.hungup and att.all_hungup() and now - (att.ended_at or now) > GRACE_NO_RESPONSE:
                    self.end_call(att, now)
                elif not att.channels and age > self.campaigns.settings(att.campaign).timeout / 1000.0 + ORIGINATE_SLACK:
                    if link_up:
                        self.end_call(att, now, lost="No OriginateResponse")
            elif att.response != "Success" and now - att.response_at > GRACE_FAILED_CHANNELS:
                self.end_call(att, now)

    # -- after a (re)connection ------------------------------------------------------------
    def resync(self, channels: List) -> None:
        """Rebuild in-flight state from the PBX's live channels (our ChannelIds are Uniqueids)."""
        live = {}
        for ch in channels:
            for key in ("Uniqueid", "Linkedid"):
                uid = ChannelId.of_uniqueid(ch.get(key) or "")
                if uid:
                    live.setdefault(uid, []).append(ch)
        now = self.clock()
        for cid, att in list(self.calls.items()):
            if cid in live:
                att.link_lost_at = None
                if att.response is None:
                    # Its OriginateResponse went to the old session and is lost: finish it on
                    # its Hangup, with the answer state Asterisk reports now.
                    _take_over(att, live[cid], now)
                continue
            # Gone while we were not listening (with Asterisk): decide on what we saw, else
            # "unknown"; it ended when the link was lost.
            self.end_call(att, now, lost=LINK_LOST)
        self.results.write()
        self.results.flush_journal()
        if self.db.down:
            return
        buffered = self.results.buffered_leads()
        for name, state in self.campaigns.items():
            for lead in self.db.call("held", name, self.owner) or []:
                cid = lead.channelid or ChannelId.new(name, lead.id, lead.attempts)
                if cid in self.calls or (name, lead.id) in buffered:
                    continue
                lead.channelid = cid
                if cid in live:
                    self._adopt(name, lead, live[cid], now)
                else:
                    self.results.record(name, lead, Outcome(codes.UNDEFINED,
                                                            reason="Lost: dialer restarted, call not live"), now)
            # Leads of crashed instances whose lease ran out, not live here.
            camp = state.settings
            n = self.db.call("repair", name, None, set(live), now, max_attempts=camp.attempts,
                             attemptsdelay=camp.attemptsdelay)
            if n:
                log.warning("%s: released %d lead(s) left in progress by a crashed dialer", name, n)

    def _adopt(self, campaign: str, lead: Lead, chans: List, now: float) -> None:
        att = Attempt(campaign=campaign, lead=lead, channelid=lead.channelid, action_id="",
                      started=now, answeredcode=self.campaigns.settings(campaign).answeredcode)
        _take_over(att, chans, now)
        self.add(att)
        log.info("%s: re-adopted live call of lead %s (%s)", campaign, lead.id, lead.channelid)


def _take_over(att: Attempt, chans: List, now: float) -> None:
    att.adopted = True
    for ch in chans:
        name = ch.get("Channel") or ""
        att.channels.add(name)
        up = (ch.get("ChannelStateDesc") or "") == "Up" or (ch.get("ChannelState") or "") == "6"
        if up and is_far_end(name) and att.answered_at is None:
            att.answered_at = now
