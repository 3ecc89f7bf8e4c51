"""Channels and the per-call event sequences of the captures.

A Call owns one channel (two for Local/...: `;1` gets the ChannelId, `;2` the OtherChannelId)
and walks it through setup -> ringing -> answer/rejection/timeout -> hangup, emitting the
same events, headers and header order as Asterisk 20 (chan_sip, `style` "sip"), Asterisk 20/22
chan_pjsip (`style` "pjsip") and Local channels (`style` "local").
"""
import bisect
import random
import time

from . import causes
from .dialplan import DialplanRunner
from .events import CALL, CallEvents

STATE_DESC = {0: "Down", 1: "Rsrvd", 2: "OffHook", 3: "Dialing", 4: "Ring", 5: "Ringing", 6: "Up",
              7: "Busy"}


class Channel:
    __slots__ = ("sim", "name", "state", "cidnum", "cidname", "clnum", "clname", "account",
                 "context", "exten", "priority", "uniqueid", "linkedid", "vars", "created",
                 "app", "appdata", "device", "tech", "dnid", "_snap", "_dsnap", "alive",
                 "call", "ssrc")

    def __init__(self, sim, call, name, uniqueid, linkedid, context, exten, device, tech):
        self.sim = sim
        self.call = call
        self.name = name
        self.state = 0
        self.cidnum = self.cidname = self.clnum = self.clname = "<unknown>"
        self.account = ""
        self.context = context
        self.exten = exten
        self.priority = 1
        self.uniqueid = uniqueid
        self.linkedid = linkedid
        self.vars = {}
        self.created = sim.clock()
        self.app = "AppDial2"
        self.appdata = "(Outgoing Line)"
        self.device = device
        self.tech = tech
        self.dnid = ""
        self._snap = self._dsnap = None
        self.alive = True
        self.ssrc = random.getrandbits(31)

    def touch(self):
        self._snap = self._dsnap = None

    def setvar(self, name, value):
        self.vars[name] = value
        if name in self.sim.channelvar_set:
            self.touch()

    def snapshot(self, p=""):
        if p == "" and self._snap is not None:
            return self._snap
        if p == "Dest" and self._dsnap is not None:
            return self._dsnap
        s = (f"{p}Channel: {self.name}\r\n{p}ChannelState: {self.state}\r\n"
             f"{p}ChannelStateDesc: {STATE_DESC[self.state]}\r\n"
             f"{p}CallerIDNum: {self.cidnum}\r\n{p}CallerIDName: {self.cidname}\r\n"
             f"{p}ConnectedLineNum: {self.clnum}\r\n{p}ConnectedLineName: {self.clname}\r\n"
             f"{p}Language: en\r\n{p}AccountCode: {self.account}\r\n{p}Context: {self.context}\r\n"
             f"{p}Exten: {self.exten}\r\n{p}Priority: {self.priority}\r\n"
             f"{p}Uniqueid: {self.uniqueid}\r\n{p}Linkedid: {self.linkedid}\r\n")
        vars_ = self.vars
        for v in self.sim.channelvars:
            s += f"{p}ChanVariable: {v}={vars_.get(v, '')}\r\n"
        if p == "":
            self._snap = s
        elif p == "Dest":
            self._dsnap = s
        return s


class ChannelTable:
    """The live channels by name and by uniqueid, and the uniqueids a new channel may not take.

    Asterisk refuses a ChannelId/OtherChannelId that is a case-insensitive prefix of the
    uniqueid of a live channel (channelstorage_ao2_legacy.c: strncasecmp over the length of
    the new id). The case-folded uniqueids are kept sorted so the check is one bisect, not a
    scan of 20,000 channels; folding is ASCII-only on bytes, as strncasecmp's.
    """

    def __init__(self):
        self.live = {}                # name -> Channel, oldest first
        self.by_uniqueid = {}
        self.counted = 0              # calls against the capacity limit (a Local ;2 is not one)
        self.seq = 0                  # channel name suffix; starts again at 0 after a restart
        self.uniq_seq = 0
        self._folded = []             # sorted case-folded uniqueids of the live channels
        self._by_folded = {}

    def next_seq(self):
        n = self.seq
        self.seq += 1
        return n

    def new_uniqueid(self):
        self.uniq_seq += 1
        return f"{int(time.time())}.{self.uniq_seq}"

    @staticmethod
    def _fold(uniqueid):
        return uniqueid.encode("utf-8", "surrogateescape").lower()

    def up(self, chan, counted=True):
        self.live[chan.name] = chan
        self.by_uniqueid[chan.uniqueid] = chan
        key = self._fold(chan.uniqueid)
        bisect.insort(self._folded, key)
        self._by_folded[key] = chan
        if counted:
            self.counted += 1

    def gone(self, chan):
        if self.live.pop(chan.name, None) is None:
            return
        self.by_uniqueid.pop(chan.uniqueid, None)
        key = self._fold(chan.uniqueid)
        folded = self._folded
        i = bisect.bisect_left(folded, key)
        if i < len(folded) and folded[i] == key:
            del folded[i]
        if self._by_folded.get(key) is chan:
            del self._by_folded[key]
        if not chan.name.endswith(";2"):
            self.counted -= 1

    def holder(self, uniqueid):
        """The live channel whose uniqueid `uniqueid` is a case-insensitive prefix of, or None."""
        key = self._fold(uniqueid)
        folded = self._folded
        i = bisect.bisect_left(folded, key)
        if i < len(folded) and folded[i].startswith(key):
            chan = self._by_folded.get(folded[i])
            if chan is None:
                # two live uniqueids equal but for case (a generated one met a ChannelId):
                # the map lost the survivor; rare enough to look it up the slow way
                chan = next(c for c in self.live.values() if self._fold(c.uniqueid) == folded[i])
            return chan
        return None


class Call(DialplanRunner, CallEvents):
    """One originate. Times are seconds from the scenario; every step is a timer."""

    def __init__(self, sim, rec_id, action_id, msg, dial, params, variables, timeout, cid,
                 channelid, otherid):
        self.sim = sim
        self.id = rec_id
        self.action_id = action_id
        self.dialstring = dial["dialstring"]
        self.tech = dial["tech"]
        self.resource = dial["resource"]
        self.number = dial["number"]
        self.peer = dial["peer"]
        self.style = dial["style"]
        self.params = params
        self.variables = variables
        self.timeout = timeout
        self.cid = cid                            # (name, num) or None
        self.channelid = channelid
        self.otherid = otherid
        self.app = msg.get("Application", None)
        self.appdata = msg.get("Data") if self.app is not None else None
        self.context = msg.get("Context") or "default"
        self.exten = msg.get("Exten") or "s"
        try:
            self.priority = int(msg.get("Priority") or 1)
        except ValueError:
            self.priority = 1
        self.account = msg.get("Account", None)
        self.chan = None
        self.chan2 = None
        self.start = sim.wallclock()
        self.answer_t = None
        self.end_t = None
        self.outcome = params["outcome"]
        self.reason = None
        self.cause = None
        self.done = False
        self.on_response = None                   # sync (Async: false) originates wait on this
        self.gen = 0                              # bumps when a pending timer must be ignored
        self.steps = None                         # scenario dialplan run by the channel
        self.step_i = 0
        self.current_app = None
        self.outcome_override = None              # "shutdown", "crashed", "stopped"
        self.full = False                         # refused by the capacity limits

    # ---- lifecycle -----------------------------------------------------------------
    def nochannel(self, outcome="nochannel"):
        """No channel could be created: unknown technology/peer, the scenario says so, or
        (outcome "inuse") the ChannelId/OtherChannelId is taken."""
        self.outcome = outcome
        self.sim.at(0.001, self._nochannel_response)

    def _nochannel_response(self):
        self.originate_response(False, 0)
        self.finish(None)

    def setup(self):
        sim = self.sim
        name = f"{self.tech}/{self.peer}-{sim.channels.next_seq():08x}"
        uniq = self.channelid or sim.channels.new_uniqueid()
        ctx = self.peer_context()
        c = self.chan = Channel(sim, self, name, uniq, uniq, ctx, "s",
                                f"{self.tech}/{self.peer}", self.tech)
        sim.channels.up(c)
        self.ev("Newchannel", CALL, c)
        if self.style == "sip":
            self.varset(c, "SIPCALLID", f"{random.getrandbits(128):032x}@127.0.0.1:5060")
            c.exten = ""
            c.touch()
        self.newexten(c, "AppDial2", "(Outgoing Line)")
        self.apply_originate_vars(c)
        self.caller_events(c)
        self.dial_ev("DialBegin", c, f"DialString: {self.resource}\r\n")
        self.schedule_outcome()

    def peer_context(self):
        if self.sim.scenario.context:
            return self.sim.scenario.context
        return "from-trunk" if self.style == "sip" else "from-carrier"

    def apply_originate_vars(self, c):
        # Asterisk applies the Originate variables in reverse header order
        for name, value in reversed(self.variables):
            self.varset(c, name, value)
        if self.account is not None:
            old = c.account
            c.account = self.account
            c.touch()
            self.ev("NewAccountCode", CALL, c, f"OldAccountCode: {old}\r\n")

    def caller_events(self, c):
        if self.cid is not None:
            name, num = self.cid
            c.cidnum, c.cidname = num or "<unknown>", name or "<unknown>"
            c.touch()
            self.ev("NewCallerid", CALL, c, "CID-CallingPres: 0 (Presentation Allowed, Not Screened)\r\n")
            c.clnum, c.clname = c.cidnum, c.cidname
            c.touch()
            self.ev("NewConnectedLine", CALL, c)

    def schedule_outcome(self):
        p = self.params
        o = self.outcome
        g = self.gen
        ringing = p["ringing"]
        if o in ("answer", "machine", "fax"):
            if ringing is not False:
                self.sim.at(min(0.005, p["ring"]), self.ringing, g)
            if p["ring"] >= self.timeout:
                self.sim.at(self.timeout, self.no_answer, g)
            else:
                self.sim.at(p["ring"], self.answered, g)
        elif o == "noanswer":
            self.sim.at(min(0.005, self.timeout), self.ringing, g)
            self.sim.at(self.timeout, self.no_answer, g)
        else:
            code = p["code"] if o == "sip" else {"busy": 486, "congestion": 503, "unallocated": 404,
                                                 "unavailable": 480, "rejected": 403}[o]
            if ringing:
                self.sim.at(min(0.005, p["ring"]), self.ringing, g)
            self.sim.at(min(p["ring"], self.timeout), self.rejected, g, code)

    def ringing(self, g):
        if g != self.gen or self.done:
            return
        c = self.chan
        if self.style == "pjsip" and self.outcome not in ("answer", "machine", "fax", "noanswer"):
            # 180 then a rejection: 22.10.1 (ringbusy) shows DialState before Newstate
            self.dial_ev("DialState", c, "DialStatus: RINGING\r\n")
            self.newstate(c, 5)
            self.devstate(c.device, "RINGING")
            return
        self.newstate(c, 5)
        if self.style == "sip":
            self.dial_ev("DialState", c, "DialStatus: RINGING\r\n")
            self.devstate(c.device, "NOT_INUSE")
        else:
            self.devstate(c.device, "RINGING")
            self.dial_ev("DialState", c, "DialStatus: RINGING\r\n")

    def answered(self, g):
        if g != self.gen or self.done:
            return
        c = self.chan
        self.answer_t = self.sim.wallclock()
        self.newstate(c, 6)
        if self.style == "pjsip":
            self.devstate(c.device, "INUSE")
        self.dial_ev("DialEnd", c, "DialStatus: ANSWER\r\n")
        if self.app is not None or not self.has_dialplan():
            self.originate_response(True, 4)
        # else: the OriginateResponse goes out when the dialplan first blocks (Wait), which
        # is where the captures show it, with the variables the dialplan set by then
        self.run_application()

    def talk_over(self, g):
        if g != self.gen or self.done:
            return
        if self.params["hangup"] == "local":
            self.local_hangup()
        else:
            self.remote_hangup()

    def remote_hangup(self, cause=16):
        """The far end sent BYE."""
        c = self.chan
        self.app_end_events()
        if self.style == "sip":
            self.rtp_varsets(c, 5)
        self.ev("HangupRequest", CALL, c, f"Cause: {cause}\r\n")
        if self.steps is not None:
            # the dialplan notices the hangup: AMD reports it, then the PBX ends
            if self.current_app == "amd":
                self.varset(c, "AMDSTATUS", "HANGUP")
                self.varset(c, "AMDCAUSE", "")
            self.ev("SoftHangupRequest", CALL, c, "Cause: 16\r\n")
        if self.style != "sip":
            self.rtp_varsets(c)
        self.hangup_ev(c, cause)
        if self.style == "pjsip":
            self.devstate(c.device, "NOT_INUSE")
        self.finish(cause)

    def local_hangup(self, soft_cause=16, cause=16):
        """The dialplan/application ended the call (or Asterisk is shutting down)."""
        c = self.chan
        self.app_end_events()
        self.ev("SoftHangupRequest", CALL, c, f"Cause: {soft_cause}\r\n")
        self.rtp_varsets(c)
        self.hangup_ev(c, cause)
        if self.style == "pjsip":
            self.devstate(c.device, "NOT_INUSE")
        self.finish(cause)

    def action_hangup(self, cause):
        """AMI Hangup action: no (Soft)HangupRequest event is emitted for it (captures)."""
        if self.done:
            return
        self.gen += 1
        c = self.chan
        if self.answer_t is None:
            # Reason is the last control frame the originate saw: ringing or nothing
            self.originate_response(False, 3 if c.state == 5 else 0)
        self.app_end_events()
        if self.answer_t is not None:
            self.rtp_varsets(c)
        self.hangup_ev(c, cause)
        self.finish(cause)

    def shutdown_hangup(self):
        """`core restart`: SoftHangupRequest Cause 4 (AST_SOFTHANGUP_SHUTDOWN), then Hangup 16."""
        if self.done:
            return
        self.gen += 1
        if self.chan is None:
            return self.finish(None)
        if self.answer_t is None and self.reason is None:
            self.originate_response(False, 0)
        self.outcome_override = "shutdown"
        self.local_hangup(soft_cause=4, cause=16)

    def rejected(self, g, code):
        if g != self.gen or self.done:
            return
        c = self.chan
        cause = causes.sip_to_cause(code)
        if self.style == "pjsip":
            status = {17: "BUSY", 34: "CONGESTION"}.get(cause, "NOANSWER")
            tc = self.techcause(code)
            self.ev("HangupRequest", CALL, c, f"Cause: {cause}\r\n{tc}")
            self.dial_ev("DialEnd", c, f"DialStatus: {status}\r\n")
            self.originate_response(False, 0)
            was_ringing = c.state == 5
            self.hangup_ev(c, cause, code)
            if was_ringing:
                self.devstate(c.device, "NOT_INUSE")
        elif cause == 17 or code == 480:
            self.dial_ev("DialEnd", c, "DialStatus: BUSY\r\n")
            if code == 480:
                self.rtp_varsets(c)
                self.originate_response(False, 5)
                self.hangup_ev(c, cause)
            else:
                self.hangup_ev(c, cause)
                self.originate_response(False, 5)
            self.devstate(c.device, "NOT_INUSE")
        elif cause == 34:
            self.dial_ev("DialEnd", c, "DialStatus: CONGESTION\r\n")
            self.hangup_ev(c, cause)
            self.originate_response(False, 8)
            self.devstate(c.device, "NOT_INUSE")
        else:
            self.ev("HangupRequest", CALL, c, f"Cause: {cause}\r\n")
            self.dial_ev("DialEnd", c, "DialStatus: NOANSWER\r\n")
            self.rtp_varsets(c)
            self.originate_response(False, 0)
            self.hangup_ev(c, cause)
            self.devstate(c.device, "NOT_INUSE")
        self.finish(cause)

    def no_answer(self, g):
        if g != self.gen or self.done:
            return
        c = self.chan
        self.outcome = "noanswer"
        if self.style == "sip":
            self.devstate(c.device, "NOT_INUSE")
            self.hangup_ev(c, 19)
            self.originate_response(False, 3)
        else:
            self.originate_response(False, 3)
            self.hangup_ev(c, 19, 480)
            self.devstate(c.device, "NOT_INUSE")
        self.finish(19)

    def finish(self, cause):
        if self.done:
            return
        self.done = True
        self.cause = cause
        self.end_t = self.sim.wallclock()
        self.sim.call_done(self)
