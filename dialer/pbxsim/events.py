"""What a call says on the AMI: one helper per event shape, headers in the order of the captures.

Call (channels.py) inherits these; every helper checks the listeners' event mask first, so a
PBX nobody listens to (or with `Events: off`) formats nothing.
"""
from . import causes
from .managerconf import CLASS_BITS

CALL = CLASS_BITS["call"]
DIALPLAN = CLASS_BITS["dialplan"]
USER = CLASS_BITS["user"]

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


class CallEvents:
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
        self.sim.channels.gone(chan)

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


    def user_event(self, c, name, body):
        self.ev("UserEvent", USER, c, f"UserEvent: {name}\r\n{body}")

