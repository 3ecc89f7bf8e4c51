"""Local/exten@context channels: `;1` (ChannelId) is the originated channel, `;2`
(OtherChannelId) runs the dialplan of exten@context, and what that dialplan does (Answer,
Busy, Congestion, Ringing, Wait, Hangup) decides the call, as in the Local-channel captures.

The `;2` dialplan comes from the scenario's `dialplan:`; a context the scenario does not
define gets one made from the call's outcome (answer -> Answer, Wait(talk), Hangup; busy ->
Busy; other rejections -> Congestion; noanswer -> Ringing, Wait); an exten missing from a
context the scenario does define fails like an unknown extension.
"""
from .channels import Call, Channel
from .events import CALL, DIALPLAN


class LocalCall(Call):
    def local_steps(self):
        dp = self.sim.scenario.dialplan
        ctx, exten = self.peer, self.number
        if (ctx, exten) in dp:
            return dp[(ctx, exten)]
        if any(c == ctx for c, _ in dp):
            return None
        o = self.outcome
        ts = self.sim.scenario.timescale
        p = self.params
        if o == "nochannel":
            return None
        lead = [("Ringing", ""), ("Wait", f"{p['ring'] / ts:g}")] if p["ring"] > 0 else []
        if o in ("answer", "machine", "fax"):
            return lead + [("Answer", ""), ("Wait", f"{p['talk'] / ts:g}"), ("Hangup", "")]
        if o == "noanswer":
            return [("Ringing", ""), ("Wait", "86400")]
        return lead + [("Busy" if o == "busy" else "Congestion", "5")]

    def setup(self):
        sim = self.sim
        base = f"Local/{self.resource}-{sim.channels.next_seq():08x}"
        uniq = self.channelid or sim.channels.new_uniqueid()
        uniq2 = self.otherid or (self.channelid + ";2" if self.channelid else sim.channels.new_uniqueid())
        device = f"Local/{self.resource}"
        c1 = self.chan = Channel(sim, self, base + ";1", uniq, uniq, self.peer, self.number,
                                 device, "Local")
        c2 = self.chan2 = Channel(sim, self, base + ";2", uniq2, uniq, self.peer, self.number,
                                  device, "Local")
        c2.state = 4
        sim.channels.up(c1)
        sim.channels.up(c2, counted=False)
        self.ev("Newchannel", CALL, c1)
        self.ev("Newchannel", CALL, c2)
        self.newexten(c1, "AppDial2", "(Outgoing Line)")
        self.apply_originate_vars(c1)
        self.caller_events(c1)
        # ;2 gets a copy of the variables before its snapshot is refreshed: its VarSet
        # events still show the old ChanVariable values (captures)
        snap = c2.snapshot()
        for name, value in self.variables:
            self.ev_snap("VarSet", c2, snap, f"Variable: {name}\r\nValue: {value}\r\n")
            c2.vars[name] = value
        c2.touch()
        # ;2 takes caller id, connected line and account from ;1 at once; the events follow
        if self.cid is not None:
            name, num = self.cid
            c2.cidnum = c2.clnum = num or "<unknown>"
            c2.cidname = c2.clname = name or "<unknown>"
        if self.account is not None:
            c2.account = self.account
        c2.touch()
        if self.cid is not None:
            self.ev("NewCallerid", CALL, c2, "CID-CallingPres: 0 (Presentation Allowed, Not Screened)\r\n")
        if self.account is not None:
            self.ev("NewAccountCode", CALL, c2, "OldAccountCode: \r\n")
        if self.cid is not None:
            self.ev("NewConnectedLine", CALL, c2)
        steps = self.local_steps()
        if steps is None:
            return self.unknown_exten()
        self.local_bridge_ev(c1, c2)
        self.dial_ev("DialBegin", c1, f"DialString: {self.resource}\r\n")
        self.steps2, self.i2 = steps, 0
        self.ring_pending = False
        g = self.gen
        self.sim.at(0.0, self.step2, g)
        self.sim.at(self.timeout, self.no_answer, g)

    def local_bridge_ev(self, c1, c2):
        sim = self.sim
        if sim.want & CALL:
            one = c1.snapshot("LocalOne")
            two = c2.snapshot("LocalTwo")
            sim.emit(CALL, f"Event: LocalBridge\r\nPrivilege: call,all\r\n{one}{two}"
                           f"Context: {c1.context}\r\nExten: {c1.exten}\r\nLocalOptimization: Yes\r\n\r\n")

    def ev_snap(self, name, chan, snap, extra):
        sim = self.sim
        if sim.want & DIALPLAN:
            sim.emit(DIALPLAN, f"Event: {name}\r\nPrivilege: dialplan,all\r\n{snap}{extra}\r\n")

    def unknown_exten(self):
        c1, c2 = self.chan, self.chan2
        self.hangup_ev(c2, 0)
        self.originate_response(False, 0)
        self.hangup_ev(c1, 0)
        self.devstate(c1.device, "INVALID")
        self.devstate(c1.device, "INVALID")
        self.outcome = "nochannel"
        self.finish(0)

    def step2(self, g):
        if g != self.gen or self.done:
            return
        c1, c2 = self.chan, self.chan2
        if self.i2 >= len(self.steps2):
            return self.hangup_from_2()
        app, args = self.steps2[self.i2]
        self.i2 += 1
        c2.priority = self.i2
        c2.touch()
        self.newexten(c2, app, args)
        if self.ring_pending:
            self.ring_pending = False
            self.dial_ev("DialState", c1, "DialStatus: RINGING\r\n")
            self.devstate(c1.device, "INUSE")
        lapp = app.lower()
        delay = 0.0
        if lapp == "answer":
            if self.answer_t is None:
                self.local_answer()
                # ;1 starts its own application first (captures)
                delay = 0.001
        elif lapp == "busy":
            return self.local_fail(17, 5, "BUSY")
        elif lapp == "congestion":
            return self.local_fail(34, 8, "CONGESTION")
        elif lapp == "ringing":
            if c1.state != 5:
                self.newstate(c1, 5)
                self.ring_pending = True
        elif lapp == "wait":
            delay = self.wait_seconds(args)
        elif lapp == "set":
            self.set_app(c2, args)
        elif lapp == "hangup":
            return self.hangup_from_2()
        self.sim.at(delay, self.step2, g)

    def local_answer(self):
        c1, c2 = self.chan, self.chan2
        self.answer_t = self.sim.wallclock()
        self.newstate(c2, 6)
        self.newstate(c1, 6)
        self.dial_ev("DialEnd", c1, "DialStatus: ANSWER\r\n")
        self.devstate(c1.device, "INUSE")
        self.devstate(c1.device, "INUSE")
        if self.app is not None or not self.has_dialplan():
            self.originate_response(True, 4)
        self.run_application()

    def local_fail(self, cause, reason, status):
        c1, c2 = self.chan, self.chan2
        self.newstate(c2, 7)
        if cause == 17:
            self.devstate(c1.device, "INUSE")
        self.dial_ev("DialEnd", c1, f"DialStatus: {status}\r\n")
        self.ev("HangupRequest", CALL, c2, "Cause: 0\r\n")
        self.originate_response(False, reason)
        self.hangup_ev(c1, 0)
        self.ev("SoftHangupRequest", CALL, c2, "Cause: 16\r\n")
        self.hangup_ev(c2, cause)
        if cause != 17:
            self.devstate(c1.device, "INUSE")
        self.devstate(c1.device, "NOT_INUSE")
        self.devstate(c1.device, "NOT_INUSE")
        self.finish(cause)

    def no_answer(self, g):
        if g != self.gen or self.done or self.answer_t is not None:
            return
        c1, c2 = self.chan, self.chan2
        self.outcome = "noanswer"
        self.ev("HangupRequest", CALL, c2, "Cause: 19\r\n")
        self.originate_response(False, 3)
        self.ev("SoftHangupRequest", CALL, c2, "Cause: 16\r\n")
        self.hangup_ev(c1, 19)
        self.hangup_ev(c2, 19)
        self.devstate(c1.device, "NOT_INUSE")
        self.devstate(c1.device, "NOT_INUSE")
        self.finish(19)

    def _end(self, first, cause=16):
        c1, c2 = self.chan, self.chan2
        first()
        self.hangup_ev(c1, cause)
        self.ev("SoftHangupRequest", CALL, c2, "Cause: 16\r\n")
        self.hangup_ev(c2, cause)
        self.devstate(c1.device, "NOT_INUSE")
        self.devstate(c1.device, "NOT_INUSE")
        self.finish(cause)

    def hangup_from_2(self):
        """The ;2 dialplan hung up (the far end of a Local channel)."""
        c1, c2 = self.chan, self.chan2
        self.gen += 1
        self.app_end_events()
        if self.answer_t is None:
            self.originate_response(False, 3 if c1.state == 5 else 0)
        self.ev("SoftHangupRequest", CALL, c2, "Cause: 16\r\n")
        self.ev("HangupRequest", CALL, c1, "Cause: 16\r\n")
        self.hangup_ev(c1, 16)
        self.hangup_ev(c2, 16)
        self.devstate(c1.device, "NOT_INUSE")
        self.devstate(c1.device, "NOT_INUSE")
        self.finish(16)

    def remote_hangup(self, cause=16):
        self.hangup_from_2()

    def talk_over(self, g):
        """The ;2 dialplan decides when a Local call ends."""

    def local_hangup(self, soft_cause=16, cause=16):
        """The ;1 dialplan hung up (or a restart): ;2 is asked to hang up too."""
        self.gen += 1
        self.app_end_events()
        c1, c2 = self.chan, self.chan2
        self.ev("SoftHangupRequest", CALL, c1, f"Cause: {soft_cause}\r\n")
        self._end(lambda: self.ev("HangupRequest", CALL, c2, "Cause: 16\r\n"), cause)

    def app_over(self, g):
        if g != self.gen or self.done:
            return
        self.gen += 1
        self.app_end_events()
        self._end(lambda: self.ev("HangupRequest", CALL, self.chan2, "Cause: 16\r\n"))

    def action_hangup(self, cause):
        if self.done:
            return
        self.gen += 1
        if self.answer_t is None:
            self.originate_response(False, 3 if self.chan.state == 5 else 0)
        self.app_end_events()
        self._end(lambda: self.ev("HangupRequest", CALL, self.chan2, "Cause: 16\r\n"), cause)
