"""Channels and the per-call event sequences of the captures.

A Call owns one channel (two for Local/...: `;1` gets the ChannelId, `;2` the OtherChannelId)
and walks it through setup -> ringing -> answer/rejection/timeout -> hangup, emitting the
same events, headers and header order as Asterisk 20 (chan_sip, `style` "sip"), Asterisk 20/22
chan_pjsip (`style` "pjsip") and Local channels (`style` "local").
"""
import random

from . import causes
from .managerconf import CLASS_BITS

CALL = CLASS_BITS["call"]
DIALPLAN = CLASS_BITS["dialplan"]
USER = CLASS_BITS["user"]

STATE_DESC = {0: "Down", 1: "Rsrvd", 2: "OffHook", 3: "Dialing", 4: "Ring", 5: "Ringing", 6: "Up",
              7: "Busy"}

RTP_VARS = (
    ("RTPAUDIOQOS", "ssrc={ssrc};themssrc=0;lp=0;rxjitter=0.000000;rxcount=0;txjitter=0.000000;"
                    "txcount=0;rlp=0;rtt=0.000000;rxmes=0.000000;txmes=0.000000"),
    ("RTPAUDIOQOSJITTER", "minrxjitter=000.000000;maxrxjitter=000.000000;avgrxjitter=000.000000;"
                          "stdevrxjitter=000.000000;mintxjitter=000.000000;maxtxjitter=000.000000;"
                          "avgtxjitter=000.000000;stdevtxjitter=000.000000;"),
    ("RTPAUDIOQOSLOSS", "  minrxlost=000.000000;  maxrxlost=000.000000;  avgrxlost=000.000000;  "
                        "stdevrxlost=000.000000;  mintxlost=000.000000;  maxtxlost=000.000000;  "
                        "avgtxlost=000.000000;  stdevtxlost=000.000000;"),
    ("RTPAUDIOQOSRTT", "     minrtt=000.000000;     maxrtt=000.000000;     avgrtt=000.000000;     "
                       "stdevrtt=000.000000;"),
    ("RTPAUDIOQOSMES", "   minrxmes=000.000000;   maxrxmes=000.000000;   avgrxmes=000.000000;   "
                       "stdevrxmes=000.000000;   mintxmes=000.000000;   maxtxmes=000.000000;   "
                       "avgtxmes=000.000000;   stdevtxmes=000.000000;"),
)


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


class Call:
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

    # ---- event helpers -------------------------------------------------------------
    def ev(self, name, cat, chan, extra=""):
        sim = self.sim
        if sim.want & cat != cat:
            return
        sim.emit(cat, f"Event: {name}\r\nPrivilege: {sim.catname[cat]},all\r\n"
                      f"{chan.snapshot()}{extra}\r\n")

    def dial_ev(self, name, chan, extra):
        sim = self.sim
        if sim.want & CALL:
            sim.emit(CALL, f"Event: {name}\r\nPrivilege: call,all\r\n"
                           f"{chan.snapshot('Dest')}{extra}\r\n")

    def varset(self, chan, name, value):
        chan.setvar(name, value)
        self.ev("VarSet", DIALPLAN, chan, f"Variable: {name}\r\nValue: {value}\r\n")

    def newexten(self, chan, app, data):
        chan.app, chan.appdata = app, data
        self.ev("Newexten", DIALPLAN, chan, f"Extension: {chan.exten}\r\nApplication: {app}\r\n"
                                            f"AppData: {data}\r\n")

    def newstate(self, chan, state):
        chan.state = state
        chan.touch()
        self.ev("Newstate", CALL, chan)

    def devstate(self, device, state):
        sim = self.sim
        if sim.want & CALL:
            sim.emit(CALL, f"Event: DeviceStateChange\r\nPrivilege: call,all\r\n"
                           f"Device: {device}\r\nState: {state}\r\n\r\n")

    def techcause(self, code):
        return f"TechCause: {code}\r\n" if code and self.style == "pjsip" else ""

    def hangup_ev(self, chan, cause, code=None):
        chan.alive = False
        self.ev("Hangup", CALL, chan, f"Cause: {cause}\r\nCause-txt: {causes.cause_text(cause)}\r\n"
                                      + self.techcause(code))
        self.sim.channel_gone(chan)

    def rtp_varsets(self, chan, n=None):
        """RTP statistics chan_sip/chan_pjsip set on hangup; chan_sip repeats RTPAUDIOQOS
        when Asterisk itself hangs up."""
        if n is None:
            n = 6 if self.style == "sip" else 5
        for i in range(n):
            name, value = RTP_VARS[i % 5]
            self.varset(chan, name, value.format(ssrc=chan.ssrc))

    def originate_response(self, ok, reason):
        self.reason = reason
        sim = self.sim
        if sim.want & CALL:
            aid = f"ActionID: {self.action_id}\r\n" if self.action_id is not None else ""
            if ok:
                chan, uniq = self.chan.name, self.chan.uniqueid
            else:
                chan, uniq = self.dialstring, self.channelid or "<unknown>"
            if self.app is not None:
                mode = f"Application: {self.app}\r\nData: {self.appdata}\r\n"
            else:
                mode = f"Context: {self.context}\r\nExten: {self.exten}\r\n"
            name, num = self.cid if self.cid else ("<unknown>", "<unknown>")
            text = (f"Event: OriginateResponse\r\nPrivilege: call,all\r\n{aid}"
                    f"Response: {'Success' if ok else 'Failure'}\r\nChannel: {chan}\r\n{mode}"
                    f"Reason: {reason}\r\nUniqueid: {uniq}\r\n"
                    f"CallerIDNum: {num or '<unknown>'}\r\nCallerIDName: {name or '<unknown>'}\r\n")
            if ok:
                vars_ = self.chan.vars
                for v in sim.channelvars:
                    text += f"ChanVariable({chan}): {v}={vars_.get(v, '')}\r\n"
            sim.emit(CALL, text + "\r\n")
        if self.on_response:
            cb, self.on_response = self.on_response, None
            cb(ok)

    # ---- lifecycle -----------------------------------------------------------------
    def nochannel(self):
        """No channel could be created (unknown technology/peer, or the scenario says so)."""
        self.outcome = "nochannel"
        self.sim.at(0.001, self._nochannel_response)

    def _nochannel_response(self):
        self.originate_response(False, 0)
        self.finish(None)

    def setup(self):
        sim = self.sim
        name = f"{self.tech}/{self.peer}-{sim.next_chan_seq():08x}"
        uniq = self.channelid or sim.new_uniqueid()
        ctx = sim.peer_context(self.style)
        c = self.chan = Channel(sim, self, name, uniq, uniq, ctx, "s",
                                f"{self.tech}/{self.peer}", self.tech)
        sim.channel_up(c)
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

    def has_dialplan(self):
        dp = self.sim.scenario.dialplan
        return (self.context, self.exten) in dp or (self.context, "s") in dp

    def pending_response(self):
        if self.reason is None:
            self.originate_response(True, 4)

    def run_application(self):
        """What the answered channel runs: the scenario's 'application' behaviour, or the
        scenario's dialplan for a Context/Exten originate."""
        c = self.chan
        p = self.params
        sim = self.sim
        if self.app is not None:
            c.app, c.appdata = self.app, self.appdata or ""
        else:
            c.context, c.exten, c.priority = self.context, self.exten, self.priority
            c.touch()
            steps = sim.scenario.dialplan.get((self.context, self.exten))
            if steps is None and (self.context, "s") in sim.scenario.dialplan:
                steps = sim.scenario.dialplan[(self.context, "s")]
            if steps is not None:
                self.steps = steps
                self.step_i = 0
                sim.at(p["talk"], self.talk_over, self.gen)
                return self.next_step(self.gen)
        if self.outcome == "machine":
            self.varset(c, "AMDSTATUS", "MACHINE")
            self.varset(c, "AMDCAUSE", "LONGGREETING-1500-1500")
        elif self.outcome == "fax":
            self.varset(c, "FAXEXTEN", c.exten)
            c.exten = "fax"
            c.touch()
            self.newexten(c, "NoOp", "fax detected")
        if p["userevents"]:
            self.user_event(c, "Pickup", "")
        if p["status"] is not None:
            if self.app is None:
                self.newexten(c, "Set", f"DIALER_STATUS={p['status']}")
            self.varset(c, "DIALER_STATUS", p["status"])
        app_len = self.app_duration()
        if app_len is not None and app_len <= p["talk"]:
            sim.at(app_len, self.app_over, self.gen)
        else:
            sim.at(p["talk"], self.talk_over, self.gen)

    def app_duration(self):
        """Seconds the Originate's Application runs on its own (Wait(N)); None = until hangup."""
        if self.app is not None and self.app.strip().lower() == "wait":
            try:
                return float(self.appdata or 0) * self.sim.scenario.timescale
            except ValueError:
                return 0.0
        return None

    def app_over(self, g):
        """The Application returned: Asterisk hangs the channel up without a request event."""
        if g != self.gen or self.done:
            return
        c = self.chan
        self.app_end_events()
        self.rtp_varsets(c)
        self.hangup_ev(c, 16)
        if self.style == "pjsip":
            self.devstate(c.device, "NOT_INUSE")
        self.finish(16)

    def user_event(self, c, name, body):
        self.ev("UserEvent", USER, c, f"UserEvent: {name}\r\n{body}")

    def next_step(self, g):
        if g != self.gen or self.done:
            return
        c = self.chan
        if self.step_i >= len(self.steps):
            self.pending_response()
            return self.local_hangup()
        app, args = self.steps[self.step_i]
        self.step_i += 1
        c.priority = self.priority + self.step_i - 1
        c.touch()
        args = self.substitute(args)
        self.newexten(c, app, args)
        lapp = app.lower()
        self.current_app = lapp
        delay = 0.0
        if lapp == "set":
            self.set_app(c, args)
        elif lapp == "wait":
            delay = self.wait_seconds(args)
        elif lapp == "userevent":
            name, _, rest = args.partition(",")
            body = "".join(h.strip() + "\r\n" for h in rest.split(",") if h.strip())
            self.user_event(c, name.strip(), body)
        elif lapp == "amd":
            self.pending_response()
            return self.sim.at(self.params["amdtime"], self.amd_done, g)
        elif lapp == "hangup":
            self.pending_response()
            return self.local_hangup()
        if delay > 0:
            self.pending_response()
        self.sim.at(delay, self.next_step, g)

    def wait_seconds(self, args):
        """Wait(N) of a scenario dialplan, scaled by the scenario's timescale."""
        try:
            return float(args or 0) * self.sim.scenario.timescale
        except ValueError:
            return 0.0

    def set_app(self, chan, args):
        name, _, value = args.partition("=")
        self.varset(chan, name.strip(), value)

    def amd_result(self):
        p = self.params
        status = p["amd"] or ("MACHINE" if self.outcome == "machine" else "HUMAN")
        cause = p["amdcause"]
        if cause is None:
            cause = {"MACHINE": "LONGGREETING-1500-1500", "HUMAN": "HUMAN-300-300",
                     "NOTSURE": "TOOLONG-4900"}.get(status, "")
        return status, cause

    def amd_done(self, g):
        if g != self.gen or self.done:
            return
        status, cause = self.amd_result()
        self.varset(self.chan, "AMDSTATUS", status)
        self.varset(self.chan, "AMDCAUSE", cause)
        self.current_app = None
        self.next_step(g)

    def substitute(self, s):
        if "${" not in s:
            return s
        c = self.chan
        out, i = [], 0
        while True:
            j = s.find("${", i)
            if j < 0:
                out.append(s[i:])
                break
            k = s.find("}", j)
            if k < 0:
                out.append(s[i:])
                break
            out.append(s[i:j])
            name = s[j + 2:k]
            out.append(c.name if name == "CHANNEL" else c.vars.get(name, ""))
            i = k + 1
        return "".join(out)

    def talk_over(self, g):
        if g != self.gen or self.done:
            return
        if self.params["hangup"] == "local":
            self.local_hangup()
        else:
            self.remote_hangup()

    def app_end_events(self):
        p = self.params
        if p["userevents"] and self.answer_t is not None:
            dur = int(round(self.sim.wallclock() - self.answer_t))
            result = p["result"] if p["result"] is not None else (p["status"] or "")
            self.user_event(self.chan, "Hangup", f"Duration: {dur}\r\nResult: {result}\r\n")

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
