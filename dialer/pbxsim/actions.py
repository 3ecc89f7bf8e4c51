"""The AMI actions: `handle` checks login and write permissions, then dispatches to
`act_<action>` (lower case), as manager.c registers them. Replies and events only; the
connections, timers and channel table belong to the Sim (server.py).
"""
import re
import time

from . import protocol
from .channels import Call
from .local import LocalCall
from .managerconf import ALL_CLASSES, CLASS_BITS

SYSTEM = CLASS_BITS["system"]
CALL = CLASS_BITS["call"]
USER = CLASS_BITS["user"]
SECURITY = CLASS_BITS["security"]

# Write classes an action needs (manager.c registrations); any one of them suffices.
AUTHORITY = {
    "originate": CLASS_BITS["originate"],
    "hangup": SYSTEM | CALL,
    "coreshowchannels": SYSTEM | CLASS_BITS["reporting"],
    "status": SYSTEM | CALL | CLASS_BITS["reporting"],
    "getvar": CALL | CLASS_BITS["reporting"],
    "setvar": CALL,
    "userevent": USER,
    "ping": 0, "events": 0, "logoff": 0, "login": 0,
    "command": CLASS_BITS["command"],
}
# Applications that need the extra `system` write class on Originate (manager.c).
SYSTEM_APPS = ("system", "exec", "trysystem", "eval")

# Asterisk 20 loads chan_sip and chan_pjsip; Asterisk 22 has no chan_sip. Technology names
# are case-insensitive; channels carry the canonical spelling.
KNOWN_TECHS = {"sip": {"sip": "SIP", "pjsip": "PJSIP", "local": "Local"},
               "pjsip": {"pjsip": "PJSIP", "local": "Local"}}


def parse_dialstring(dialstring):
    """Channel header -> tech, resource, number, peer.

    The number a scenario matches is the user part: `SIP/00123@voip-out` -> 00123 (peer
    voip-out); `SIP/voip-out/00123` -> 00123; `PJSIP/trunk/sip:00123@host` -> 00123;
    `Local/00123@ctx/n` -> 00123 (peer = context); `SIP/00123` -> 00123 (peer 00123).
    """
    tech, _, resource = dialstring.partition("/")
    res = resource
    if tech.lower() == "local":
        res = res.split("/")[0]
        number, _, peer = res.partition("@")
        return tech, res, number, peer or "default"
    if "/" in res:
        peer, _, rest = res.partition("/")
        if rest.startswith("sip:") or rest.startswith("sips:"):
            rest = rest.split(":", 1)[1]
        number = rest.partition("@")[0]
        return tech, res, number, peer
    number, at, peer = res.partition("@")
    return tech, res, number, (peer if at else number)


class Actions:
    def __init__(self, sim):
        self.sim = sim
        self.cps_window = (0, 0)

    def handle(self, sess, msg):
        action = msg.get("Action").strip().lower()
        aid = msg.get("ActionID", None)
        if not action:
            return sess.send(protocol.response("Error", aid, ["Message: Missing action in request"]))
        if not sess.authed and action not in ("login", "challenge"):
            return sess.send(protocol.response("Error", aid, ["Message: Permission denied"]))
        fn = getattr(self, "act_" + action, None)
        if fn is None:
            return sess.send(protocol.response("Error", aid, ["Message: Invalid/unknown command"]))
        need = AUTHORITY.get(action, 0)
        if need and not sess.writeperm & need:
            return sess.send(protocol.response("Error", aid, ["Message: Permission denied"]))
        fn(sess, msg, aid)

    def act_challenge(self, sess, msg, aid):
        sess.send(protocol.response("Error", aid, ["Message: Must specify AuthType"]))

    def act_login(self, sess, msg, aid):
        sim = self.sim
        if sess.authed:
            return sess.send(protocol.response("Success", aid, ["Message: Already authenticated"]))
        name = msg.get("Username")
        user = sim.conf.users.get(name)
        ip = sess.addr[0] if isinstance(sess.addr, tuple) else "127.0.0.1"
        if user is None or user.secret != msg.get("Secret") or not user.permitted(ip):
            sess.blocked = True
            sim.say(f"login failed for {name!r} from {ip}")
            sim.at(sim.auth_fail_delay, self._auth_failed, sess, aid)
            return
        sess.authed = True
        sess.user = user
        sess.username = name
        sess.readperm, sess.writeperm = user.read, user.write
        if sim.writetimeout is None:
            sess.writetimeout = user.writetimeout
        ev = msg.get("Events", None)
        if ev is not None:
            sess.eventmask = self.parse_eventmask(ev)
        sess.evmask = sess.readperm & sess.eventmask
        sim.listeners.append(sess)
        sim.recompute_want()
        sess.send(protocol.response("Success", aid, ["Message: Authentication accepted"]))
        if sess.evmask & SYSTEM:
            up = int(time.monotonic() - sim.boot)
            rl = int(time.monotonic() - sim.last_reload)
            sess.send(sim.stamp(f"Event: FullyBooted\r\nPrivilege: system,all\r\nUptime: {up}\r\n"
                                f"LastReload: {rl}\r\nStatus: Fully Booted\r\n\r\n"))
        if sess.evmask & SECURITY:
            now = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + ".000+0000"
            sess.send(sim.stamp(f"Event: SuccessfulAuth\r\nPrivilege: security,all\r\nEventTV: {now}\r\n"
                      f"Severity: Informational\r\nService: AMI\r\nEventVersion: 1\r\n"
                      f"AccountID: {name}\r\nSessionID: 0x{id(sess):x}\r\n"
                      f"LocalAddress: IPV4/TCP/{sim.host}/{sim.port}\r\n"
                      f"RemoteAddress: IPV4/TCP/{ip}/{sess.addr[1]}\r\nUsingPassword: 0\r\n"
                      f"SessionTV: {now}\r\n\r\n"))

    def _auth_failed(self, sess, aid):
        sess.send(protocol.response("Error", aid, ["Message: Authentication failed"]))
        sess.closing = True
        self.sim.flush(sess)

    @staticmethod
    def parse_eventmask(value):
        v = value.strip().lower()
        if v in ("on", "yes", "true", "all"):
            return ALL_CLASSES
        if v in ("off", "no", "false", "none", ""):
            return 0
        mask = 0
        for part in v.split(","):
            part = part.strip()
            if part == "all":
                mask |= ALL_CLASSES
            elif part in CLASS_BITS:
                mask |= CLASS_BITS[part]
        return mask

    def act_events(self, sess, msg, aid):
        mask = msg.get("EventMask")
        sess.eventmask = self.parse_eventmask(mask)
        sess.evmask = sess.readperm & sess.eventmask
        self.sim.recompute_want()
        sess.send(protocol.response("Success", aid, [f"Events: {'On' if sess.eventmask else 'Off'}"]))

    def act_ping(self, sess, msg, aid):
        sess.send(protocol.response("Success", aid, ["Ping: Pong", f"Timestamp: {time.time():.6f}"]))

    def act_logoff(self, sess, msg, aid):
        sess.send(protocol.response("Goodbye", aid, ["Message: Thanks for all the fish."]))
        sess.closing = True

    def act_hangup(self, sess, msg, aid):
        name = msg.get("Channel")
        if not name:
            return sess.send(protocol.response("Error", aid, ["Message: No channel specified"]))
        cause_s = msg.get("Cause")
        try:
            cause = int(cause_s) if cause_s else 16
        except ValueError:
            return sess.send(protocol.response("Error", aid, ["Message: Invalid cause"]))
        if name.startswith("/") and name.endswith("/") and len(name) > 2:
            try:
                rx = re.compile(name[1:-1])
            except re.error:
                return sess.send(protocol.response("Error", aid, ["Message: Invalid regex"]))
            chans = [c for c in list(self.sim.channels.live.values()) if rx.search(c.name)]
            sess.send(protocol.response("Success", aid, ["Message: Channels hung up will follow"]))
            for c in chans:
                c.call.action_hangup(cause)
            sess.send("Event: ChannelsHungupListComplete\r\n" +
                      (f"ActionID: {aid}\r\n" if aid is not None else "") +
                      f"EventList: Complete\r\nListItems: {len(chans)}\r\n\r\n")
            return
        c = self.sim.channels.live.get(name)
        if c is None:
            return sess.send(protocol.response("Error", aid, ["Message: No such channel"]))
        sess.send(protocol.response("Success", aid, ["Message: Channel Hungup"]))
        c.call.action_hangup(cause)

    def act_coreshowchannels(self, sess, msg, aid):
        sess.send(protocol.response("Success", aid, ["EventList: start",
                                                     "Message: Channels will follow"]))
        a = f"ActionID: {aid}\r\n" if aid is not None else ""
        now = time.monotonic()
        chans = list(self.sim.channels.live.values())[::-1]    # newest first, as Asterisk lists them
        parts = []
        for c in chans:
            d = int(now - c.created)
            parts.append(f"Event: CoreShowChannel\r\n{a}{c.snapshot()}Application: {c.app}\r\n"
                         f"ApplicationData: {c.appdata}\r\n"
                         f"Duration: {d // 3600:02d}:{d // 60 % 60:02d}:{d % 60:02d}\r\n"
                         f"BridgeId: \r\n\r\n")
        parts.append(f"Event: CoreShowChannelsComplete\r\n{a}EventList: Complete\r\n"
                     f"ListItems: {len(chans)}\r\n\r\n")
        sess.send("".join(parts))

    def act_status(self, sess, msg, aid):
        name = msg.get("Channel")
        if name:
            c = self.sim.channels.live.get(name)
            if c is None:
                return sess.send(protocol.response("Error", aid, ["Message: No such channel"]))
            chans = [c]
        else:
            chans = list(self.sim.channels.live.values())[::-1]
        sess.send(protocol.response("Success", aid, ["EventList: start",
                                                     "Message: Channel status will follow"]))
        a = f"ActionID: {aid}\r\n" if aid is not None else ""
        now = time.monotonic()
        parts = []
        for c in chans:
            parts.append(f"Event: Status\r\nPrivilege: Call\r\n{c.snapshot()}Type: {c.tech}\r\n"
                         f"DNID: {c.dnid}\r\nEffectiveConnectedLineNum: {c.clnum}\r\n"
                         f"EffectiveConnectedLineName: {c.clname}\r\nTimeToHangup: 0\r\n"
                         f"BridgeID: \r\nApplication: {c.app}\r\nData: {c.appdata}\r\n"
                         f"Nativeformats: (ulaw)\r\nReadformat: ulaw\r\nReadtrans: \r\n"
                         f"Writeformat: ulaw\r\nWritetrans: \r\nCallgroup: 0\r\nPickupgroup: 0\r\n"
                         f"Seconds: {int(now - c.created)}\r\n{a}\r\n")
        parts.append(f"Event: StatusComplete\r\n{a}EventList: Complete\r\nListItems: {len(chans)}\r\n"
                     f"Items: {len(chans)}\r\n\r\n")
        sess.send("".join(parts))

    def act_getvar(self, sess, msg, aid):
        var = msg.get("Variable")
        if not var:
            return sess.send(protocol.response("Error", aid, ["Message: No variable specified"]))
        name = msg.get("Channel")
        value = ""
        if name:
            c = self.sim.channels.live.get(name)
            if c is None:
                return sess.send(protocol.response("Error", aid, ["Message: No such channel"]))
            value = c.name if var == "CHANNEL" else c.vars.get(var, "")
        sess.send(protocol.response("Success", aid, [f"Variable: {var}", f"Value: {value}"]))

    def act_setvar(self, sess, msg, aid):
        var = msg.get("Variable")
        if not var:
            return sess.send(protocol.response("Error", aid, ["Message: No variable specified"]))
        name = msg.get("Channel")
        if name:
            c = self.sim.channels.live.get(name)
            if c is None:
                return sess.send(protocol.response("Error", aid, ["Message: No such channel"]))
            c.call.varset(c, var, msg.get("Value"))
        sess.send(protocol.response("Success", aid, ["Message: Variable Set"]))

    def act_userevent(self, sess, msg, aid):
        name = msg.get("UserEvent")
        if not name:
            return sess.send(protocol.response("Error", aid, ["Message: UserEvent requires a UserEvent header"]))
        skip = ("action:", "actionid:", "userevent:")
        body = "".join(h + "\r\n" for h in msg.headers if not h.lower().startswith(skip))
        self.sim.emit(USER, f"Event: UserEvent\r\nPrivilege: user,all\r\nUserEvent: {name}\r\n{body}\r\n")
        sess.send(protocol.response("Success", aid, ["Message: Event Sent"]))

    def act_command(self, sess, msg, aid):
        cmd = " ".join(msg.get("Command").split()).lower()
        if cmd == "core show version":
            version = "22.10.1" if self.sim.driver == "pjsip" else "20.20.1"
            out = [f"Output: Asterisk {version} built by root @ vm on a x86_64 running Linux "
                   "on 2026-11-25 23:29:01 UTC"]
        elif cmd in ("core show channels count", "core show uptime"):
            out = [f"Output: {len(self.sim.channels.live)} active channels"]
        else:
            out = [f"Output: No such command '{msg.get('Command')}' (type 'core show help "
                   f"{msg.get('Command')}' for other possible commands)"]
        sess.send(protocol.response("Success", aid, ["Message: Command output follows"] + out))

    def act_originate(self, sess, msg, aid):
        sim = self.sim
        dialstring = msg.get("Channel")
        if not dialstring:
            return sess.send(protocol.response("Error", aid, ["Message: Channel not specified"]))
        timeout_s = msg.get("Timeout")
        try:
            timeout = int(timeout_s) / 1000.0 if timeout_s else 30.0
        except ValueError:
            return sess.send(protocol.response("Error", aid, ["Message: Invalid timeout"]))
        prio = msg.get("Priority")
        if prio and not prio.strip().lstrip("-").isdigit():
            return sess.send(protocol.response("Error", aid, ["Message: Invalid priority"]))
        if "/" not in dialstring:
            return sess.send(protocol.response("Error", aid, ["Message: Invalid channel"]))
        channelid = msg.get("ChannelId", None) or None
        otherid = msg.get("OtherChannelId", None) or None
        for v in (channelid, otherid):
            if v is not None and len(v) >= 150:
                return sess.send(protocol.response(
                    "Error", aid, ["Message: Uniqueid length exceeds maximum of 149"]))
        app = msg.get("Application", None)
        if app is not None and app.strip().lower() in SYSTEM_APPS and not sess.writeperm & SYSTEM:
            return sess.send(protocol.response(
                "Error", aid, ["Message: Originate Access Forbidden: app or data blacklisted"]))
        variables = protocol.parse_variables(msg.getall("Variable"))
        cid_s = msg.get("CallerID", None)
        cid = protocol.parse_callerid(cid_s) if cid_s else None
        is_async = msg.get("Async").strip().lower() in ("true", "yes", "1", "on", "y", "t")

        tech, resource, number, peer = parse_dialstring(dialstring)
        style = tech.lower()
        known = KNOWN_TECHS[sim.driver]
        tech = known.get(style, tech)
        params = sim.scenario.pick(number, peer, tech)
        sim.stats["originates"] += 1
        dial = {"dialstring": dialstring, "tech": tech, "resource": resource, "number": number,
                "peer": peer, "style": style}
        cls = LocalCall if style == "local" else Call
        call = cls(sim, next(sim.call_ids), aid, msg, dial, params, variables, timeout, cid,
                   channelid, otherid)
        sim.record_originate(call)
        if is_async:
            sess.send(protocol.response("Success", aid, ["Message: Originate successfully queued"]))
        else:
            sess.blocked = True

            def done(ok, sess=sess, aid=aid):
                if ok:
                    sess.send(protocol.response("Success", aid, ["Message: Originate successfully queued"]))
                else:
                    sess.send(protocol.response("Error", aid, ["Message: Originate failed"]))
                sim.unblock(sess)
            call.on_response = done
        if style not in known or params["outcome"] == "nochannel":
            return call.nochannel()
        if sim.faults.shutting_down:
            sim.say("Channel allocation failed: Refusing due to active shutdown")
            return call.nochannel("shutdown")
        if self.id_in_use(channelid, otherid):
            return call.nochannel("inuse")
        if not self.admit():
            # a full trunk: the carrier answers 503
            call.params = dict(params, outcome="congestion", ring=0.0)
            call.outcome = "congestion"
            call.full = True
        sim.calls[call.id] = call
        call.setup()

    def id_in_use(self, *ids):
        """Asterisk creates no channel for an assigned id that is a prefix of a live uniqueid
        (ChannelTable.holder), and says so in its log."""
        for uid in ids:
            holder = self.sim.channels.holder(uid) if uid is not None else None
            if holder is not None:
                self.sim.say(f"Channel Unique ID '{uid}' already in use by channel {holder.name}")
                return True
        return False

    def admit(self):
        sc = self.sim.scenario
        if sc.max_channels is not None and self.sim.channels.counted >= sc.max_channels:
            return False
        if sc.cps is not None:
            sec = int(time.monotonic())
            start, n = self.cps_window
            if sec != start:
                start, n = sec, 0
            if n >= sc.cps:
                self.cps_window = (start, n)
                return False
            self.cps_window = (start, n + 1)
        return True

