"""The AMI server: one thread, one selector, timers in a heap, buffered non-blocking writes."""
import heapq
import itertools
import json
import os
import selectors
import socket
import sys
import time
import traceback

from . import protocol, record
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


class Session:
    __slots__ = ("sim", "sock", "addr", "parser", "out", "authed", "user", "readperm",
                 "writeperm", "eventmask", "evmask", "closing", "blocked", "pending",
                 "stall", "writetimeout", "closed", "auth_timer", "fd", "username")

    def __init__(self, sim, sock, addr):
        self.sim = sim
        self.sock = sock
        self.fd = sock.fileno()
        self.addr = addr
        self.parser = protocol.Parser()
        self.out = []
        self.authed = False
        self.user = None
        self.username = ""
        self.readperm = self.writeperm = 0
        self.eventmask = ALL_CLASSES
        self.evmask = 0
        self.closing = False         # close once the output is flushed
        self.blocked = False         # a sync Originate or a delayed auth failure is pending
        self.pending = []
        self.stall = None
        self.writetimeout = sim.writetimeout
        self.closed = False

    def send(self, data):
        if not self.closed:
            if isinstance(data, str):
                data = data.encode()
            self.out.append(data)
            self.sim.dirty.add(self)


class Sim:
    def __init__(self, conf, scenario, *, host=None, port=None, driver=None, banner=None,
                 record_path=None, control_path=None, authtimeout=None, writetimeout=None,
                 auth_fail_delay=1.0, shutdown_delay=1.0, log=None):
        self.conf = conf
        self.scenario = scenario
        self.host = host if host is not None else conf.bindaddr
        self.port = port if port is not None else conf.port
        self.driver = driver or scenario.driver or "sip"
        self.banner = banner or scenario.banner or "Asterisk Call Manager/9.0.0"
        self.channelvars = list(conf.channelvars)
        self.channelvar_set = set(self.channelvars)
        self.authtimeout = authtimeout if authtimeout is not None else conf.authtimeout
        self.writetimeout = writetimeout        # ms; None = per user from manager.conf
        self.auth_fail_delay = auth_fail_delay
        self.shutdown_delay = shutdown_delay
        self.log = log
        self.catname = {bit: name for name, bit in CLASS_BITS.items()}
        self.sel = selectors.DefaultSelector()
        self.timers = []
        self.tseq = itertools.count()
        self.sessions = {}
        self.listeners = []           # authenticated sessions, in login order
        self.want = 0
        self.dirty = set()
        self.listen_sock = None
        self.control_sock = None
        self.control_path = control_path
        self.recorder = record.Recorder(record_path)
        self.calls = {}               # live calls by id
        self.live_channels = {}       # name -> Channel
        self.by_uniqueid = {}
        self.chan_seq = 0
        self.uniq_seq = 0
        self.call_ids = itertools.count(1)
        self.boot = time.monotonic()
        self.last_reload = self.boot
        self.hung = False
        self.stopping = False
        self.cps_window = (0, 0)
        self.counted = 0
        self.stats = {"originates": 0, "events": 0}
        self.clock = time.monotonic
        self.wallclock = time.time

    # ---- plumbing --------------------------------------------------------------------
    def at(self, delay, fn, *args):
        heapq.heappush(self.timers, (time.monotonic() + delay, next(self.tseq), fn, args))

    def open_listener(self):
        s = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((self.host, self.port))
        s.listen(512)
        s.setblocking(False)
        self.port = s.getsockname()[1]
        self.listen_sock = s
        self.sel.register(s, selectors.EVENT_READ, self.on_accept)

    def close_listener(self):
        if self.listen_sock is not None:
            try:
                self.sel.unregister(self.listen_sock)
            except (KeyError, ValueError):
                pass
            self.listen_sock.close()
            self.listen_sock = None

    def open_control(self):
        if not self.control_path:
            return
        try:
            os.unlink(self.control_path)
        except FileNotFoundError:
            pass
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(self.control_path)
        s.listen(8)
        s.setblocking(False)
        self.control_sock = s
        self.sel.register(s, selectors.EVENT_READ, self.on_control_accept)

    def say(self, msg):
        if self.log:
            self.log(msg)

    def recompute_want(self):
        w = 0
        for s in self.listeners:
            w |= s.evmask
        self.want = w

    def stamp(self, text):
        """manager.conf timestampevents=yes: Timestamp: right after Privilege:."""
        if not self.conf.timestampevents:
            return text
        cut = text.index("\r\n", text.index("\r\n") + 2) + 2
        return f"{text[:cut]}Timestamp: {time.time():.6f}\r\n{text[cut:]}"

    def emit(self, cat, text):
        data = self.stamp(text).encode()
        self.stats["events"] += 1
        for s in self.listeners:
            if s.evmask & cat == cat:
                s.out.append(data)
                self.dirty.add(s)

    # ---- connections -------------------------------------------------------------------
    def on_accept(self, mask):
        while True:
            try:
                sock, addr = self.listen_sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sess = Session(self, sock, addr)
            self.sessions[sess.fd] = sess
            self.sel.register(sock, selectors.EVENT_READ, lambda m, s=sess: self.on_session(s, m))
            sess.send(self.banner + "\r\n")
            self.at(self.authtimeout, self.auth_timeout, sess)

    def auth_timeout(self, sess):
        if not sess.closed and not sess.authed:
            self.close_session(sess)

    def on_session(self, sess, mask):
        if sess.closed:
            return
        if mask & selectors.EVENT_READ:
            try:
                data = sess.sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                data = None
            except OSError:
                data = b""
            if data == b"":
                self.close_session(sess)
                return
            if data:
                for msg in sess.parser.feed(data):
                    if sess.blocked or sess.pending:
                        sess.pending.append(msg)
                    else:
                        self.handle(sess, msg)
                    if sess.closed or sess.closing:
                        break
        if mask & selectors.EVENT_WRITE:
            self.flush(sess)

    def flush(self, sess):
        if sess.closed:
            return
        if sess.out:
            data = b"".join(sess.out) if len(sess.out) > 1 else sess.out[0]
            try:
                n = sess.sock.send(data)
            except (BlockingIOError, InterruptedError):
                n = 0
            except OSError:
                self.close_session(sess)
                return
            rest = data[n:]
            sess.out = [rest] if rest else []
            now = time.monotonic()
            if rest:
                if n > 0 or sess.stall is None:
                    if sess.stall is None:
                        # re-check when the timeout would expire, even if nothing else happens
                        self.at(sess.writetimeout / 1000.0, self.flush, sess)
                    sess.stall = now
                elif (now - sess.stall) * 1000 >= sess.writetimeout:
                    # Asterisk's writetimeout: give up on a client that does not read
                    self.say(f"writetimeout: dropping {sess.addr}")
                    self.close_session(sess)
                    return
                else:
                    self.at(sess.writetimeout / 1000.0 - (now - sess.stall), self.flush, sess)
                self.sel.modify(sess.sock, selectors.EVENT_READ | selectors.EVENT_WRITE,
                                self.sel.get_key(sess.sock).data)
                return
            sess.stall = None
            self.sel.modify(sess.sock, selectors.EVENT_READ, self.sel.get_key(sess.sock).data)
        if sess.closing:
            self.close_session(sess)

    def close_session(self, sess):
        if sess.closed:
            return
        sess.closed = True
        self.dirty.discard(sess)
        if sess in self.listeners:
            self.listeners.remove(sess)
            self.recompute_want()
        self.sessions.pop(sess.fd, None)
        try:
            self.sel.unregister(sess.sock)
        except (KeyError, ValueError):
            pass
        try:
            sess.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        sess.sock.close()

    def unblock(self, sess):
        sess.blocked = False
        while sess.pending and not sess.blocked and not sess.closed and not sess.closing:
            self.handle(sess, sess.pending.pop(0))

    # ---- actions -----------------------------------------------------------------------
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
        if sess.authed:
            return sess.send(protocol.response("Success", aid, ["Message: Already authenticated"]))
        name = msg.get("Username")
        user = self.conf.users.get(name)
        ip = sess.addr[0] if isinstance(sess.addr, tuple) else "127.0.0.1"
        if user is None or user.secret != msg.get("Secret") or not user.permitted(ip):
            sess.blocked = True
            self.say(f"login failed for {name!r} from {ip}")
            self.at(self.auth_fail_delay, self._auth_failed, sess, aid)
            return
        sess.authed = True
        sess.user = user
        sess.username = name
        sess.readperm, sess.writeperm = user.read, user.write
        if self.writetimeout is None:
            sess.writetimeout = user.writetimeout
        ev = msg.get("Events", None)
        if ev is not None:
            sess.eventmask = self.parse_eventmask(ev)
        sess.evmask = sess.readperm & sess.eventmask
        self.listeners.append(sess)
        self.recompute_want()
        sess.send(protocol.response("Success", aid, ["Message: Authentication accepted"]))
        if sess.evmask & SYSTEM:
            up = int(time.monotonic() - self.boot)
            rl = int(time.monotonic() - self.last_reload)
            sess.send(self.stamp(f"Event: FullyBooted\r\nPrivilege: system,all\r\nUptime: {up}\r\n"
                                 f"LastReload: {rl}\r\nStatus: Fully Booted\r\n\r\n"))
        if sess.evmask & SECURITY:
            now = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + ".000+0000"
            sess.send(self.stamp(f"Event: SuccessfulAuth\r\nPrivilege: security,all\r\nEventTV: {now}\r\n"
                      f"Severity: Informational\r\nService: AMI\r\nEventVersion: 1\r\n"
                      f"AccountID: {name}\r\nSessionID: 0x{id(sess):x}\r\n"
                      f"LocalAddress: IPV4/TCP/{self.host}/{self.port}\r\n"
                      f"RemoteAddress: IPV4/TCP/{ip}/{sess.addr[1]}\r\nUsingPassword: 0\r\n"
                      f"SessionTV: {now}\r\n\r\n"))

    def _auth_failed(self, sess, aid):
        sess.send(protocol.response("Error", aid, ["Message: Authentication failed"]))
        sess.closing = True
        self.flush(sess)

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
        self.recompute_want()
        sess.send(protocol.response("Success", aid, [f"Events: {'On' if sess.eventmask else 'Off'}"]))

    def act_ping(self, sess, msg, aid):
        sess.send(protocol.response("Success", aid, ["Ping: Pong", f"Timestamp: {time.time():.6f}"]))

    def act_logoff(self, sess, msg, aid):
        sess.send(protocol.response("Goodbye", aid, ["Message: Thanks for all the fish."]))
        sess.closing = True

    def find_channel(self, name):
        c = self.live_channels.get(name)
        if c is None:
            c = self.by_uniqueid.get(name)
        return c

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
            import re
            try:
                rx = re.compile(name[1:-1])
            except re.error:
                return sess.send(protocol.response("Error", aid, ["Message: Invalid regex"]))
            chans = [c for c in list(self.live_channels.values()) if rx.search(c.name)]
            sess.send(protocol.response("Success", aid, ["Message: Channels hung up will follow"]))
            for c in chans:
                c.call.action_hangup(cause)
            sess.send("Event: ChannelsHungupListComplete\r\n" +
                      (f"ActionID: {aid}\r\n" if aid is not None else "") +
                      f"EventList: Complete\r\nListItems: {len(chans)}\r\n\r\n")
            return
        c = self.live_channels.get(name)
        if c is None:
            return sess.send(protocol.response("Error", aid, ["Message: No such channel"]))
        sess.send(protocol.response("Success", aid, ["Message: Channel Hungup"]))
        c.call.action_hangup(cause)

    def act_coreshowchannels(self, sess, msg, aid):
        sess.send(protocol.response("Success", aid, ["EventList: start",
                                                     "Message: Channels will follow"]))
        a = f"ActionID: {aid}\r\n" if aid is not None else ""
        now = time.monotonic()
        chans = list(self.live_channels.values())[::-1]    # newest first, as Asterisk lists them
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
            c = self.live_channels.get(name)
            if c is None:
                return sess.send(protocol.response("Error", aid, ["Message: No such channel"]))
            chans = [c]
        else:
            chans = list(self.live_channels.values())[::-1]
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
            c = self.live_channels.get(name)
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
            c = self.live_channels.get(name)
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
        self.emit(USER, f"Event: UserEvent\r\nPrivilege: user,all\r\nUserEvent: {name}\r\n{body}\r\n")
        sess.send(protocol.response("Success", aid, ["Message: Event Sent"]))

    def act_command(self, sess, msg, aid):
        cmd = " ".join(msg.get("Command").split()).lower()
        if cmd == "core show version":
            version = "22.10.1" if self.driver == "pjsip" else "20.20.1"
            out = [f"Output: Asterisk {version} built by root @ vm on a x86_64 running Linux "
                   "on 2026-11-25 23:29:01 UTC"]
        elif cmd in ("core show channels count", "core show uptime"):
            out = [f"Output: {len(self.live_channels)} active channels"]
        else:
            out = [f"Output: No such command '{msg.get('Command')}' (type 'core show help "
                   f"{msg.get('Command')}' for other possible commands)"]
        sess.send(protocol.response("Success", aid, ["Message: Command output follows"] + out))

    def act_originate(self, sess, msg, aid):
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
        known = KNOWN_TECHS[self.driver]
        tech = known.get(style, tech)
        params = self.scenario.pick(number, peer, tech)
        self.stats["originates"] += 1
        dial = {"dialstring": dialstring, "tech": tech, "resource": resource, "number": number,
                "peer": peer, "style": style}
        cls = LocalCall if style == "local" else Call
        call = cls(self, next(self.call_ids), aid, msg, dial, params, variables, timeout, cid,
                   channelid, otherid)
        self.record_originate(call)
        if is_async:
            sess.send(protocol.response("Success", aid, ["Message: Originate successfully queued"]))
        else:
            sess.blocked = True

            def done(ok, sess=sess, aid=aid):
                if ok:
                    sess.send(protocol.response("Success", aid, ["Message: Originate successfully queued"]))
                else:
                    sess.send(protocol.response("Error", aid, ["Message: Originate failed"]))
                self.unblock(sess)
            call.on_response = done
        if (style not in known or params["outcome"] == "nochannel"
                or (channelid is not None and channelid in self.by_uniqueid)):
            return call.nochannel()
        if not self.admit():
            # a full trunk: the carrier answers 503
            call.params = dict(params, outcome="congestion", ring=0.0)
            call.outcome = "congestion"
            call.full = True
        self.calls[call.id] = call
        call.setup()

    def admit(self):
        sc = self.scenario
        if sc.max_channels is not None and self.counted >= sc.max_channels:
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

    # ---- channel bookkeeping -------------------------------------------------------------
    def next_chan_seq(self):
        n = self.chan_seq
        self.chan_seq += 1
        return n

    def new_uniqueid(self):
        self.uniq_seq += 1
        return f"{int(time.time())}.{self.uniq_seq}"

    def peer_context(self, style):
        if self.scenario.context:
            return self.scenario.context
        return "from-trunk" if style == "sip" else "from-carrier"

    def channel_up(self, chan, counted=True):
        self.live_channels[chan.name] = chan
        self.by_uniqueid[chan.uniqueid] = chan
        if counted:
            self.counted += 1

    def channel_gone(self, chan):
        if self.live_channels.pop(chan.name, None) is not None:
            self.by_uniqueid.pop(chan.uniqueid, None)
            if not chan.name.endswith(";2"):
                self.counted -= 1

    def emit_local_bridge(self, call, c1, c2):
        if self.want & CALL:
            one = c1.snapshot("LocalOne")
            two = c2.snapshot("LocalTwo")
            self.emit(CALL, f"Event: LocalBridge\r\nPrivilege: call,all\r\n{one}{two}"
                            f"Context: {c1.context}\r\nExten: {c1.exten}\r\nLocalOptimization: Yes\r\n\r\n")

    def record_originate(self, call):
        self.recorder.write({"event": "originate", "id": call.id, "start": call.start,
                             "actionid": call.action_id, "channelid": call.channelid,
                             "dialstring": call.dialstring, "tech": call.tech,
                             "number": call.number, "peer": call.peer,
                             "variables": dict(call.variables), "timeout": call.timeout,
                             "planned": call.params["outcome"]})

    def call_done(self, call):
        self.calls.pop(call.id, None)
        for c in (call.chan, call.chan2):
            if c is not None and c.alive:
                c.alive = False
                self.channel_gone(c)
        self.recorder.write({"event": "end", "id": call.id,
                             "channel": call.chan.name if call.chan else None,
                             "outcome": call.outcome_override or call.outcome,
                             "reason": call.reason, "cause": call.cause,
                             "answer": call.answer_t, "end": call.end_t,
                             "full": call.full,
                             "status": call.chan.vars.get("DIALER_STATUS") if call.chan else None})

    # ---- faults ------------------------------------------------------------------------
    def fault(self, name, seconds=None, ms=None):
        self.say(f"fault {name} seconds={seconds} ms={ms}")
        if name == "drop":
            for s in list(self.sessions.values()):
                self.close_session(s)
        elif name == "hang":
            self.hang()
            if seconds:
                self.at(seconds, self.resume)
        elif name == "resume":
            self.resume()
        elif name == "restart":
            self.restart(2.0 if seconds is None else seconds)
        elif name == "crash":
            self.crash(1.0 if seconds is None else seconds)
        elif name == "writetimeout":
            self.writetimeout = int(ms if ms is not None else (seconds or 0.1) * 1000)
            for s in self.sessions.values():
                s.writetimeout = self.writetimeout
        else:
            raise ValueError(f"unknown fault {name!r}")

    def hang(self):
        if self.hung:
            return
        self.hung = True
        for s in self.sessions.values():
            try:
                self.sel.unregister(s.sock)
            except (KeyError, ValueError):
                pass
        if self.listen_sock is not None:
            self.sel.unregister(self.listen_sock)
        self.hung_listeners = self.listeners
        self.listeners = []
        self.recompute_want()

    def resume(self):
        if not self.hung:
            return
        self.hung = False
        for s in self.sessions.values():
            self.sel.register(s.sock, selectors.EVENT_READ, lambda m, s=s: self.on_session(s, m))
            if s.out:
                self.dirty.add(s)
        if self.listen_sock is not None:
            self.sel.register(self.listen_sock, selectors.EVENT_READ, self.on_accept)
        self.listeners = [s for s in self.hung_listeners if not s.closed]
        self.recompute_want()

    def restart(self, down_for):
        self.resume()
        for call in list(self.calls.values()):
            call.shutdown_hangup()
        self.at(self.shutdown_delay, self._restart_shutdown, down_for)

    def _restart_shutdown(self, down_for):
        if self.want & SYSTEM:
            self.emit(SYSTEM, "Event: Shutdown\r\nPrivilege: system,all\r\nShutdown: Cleanly\r\n"
                              "Restart: True\r\n\r\n")
        for s in list(self.sessions.values()):
            s.closing = True
            self.flush(s)
        self.close_listener()
        self.at(down_for, self.reboot)

    def crash(self, down_for):
        self.resume()
        for s in list(self.sessions.values()):
            s.out = []
            self.close_session(s)
        self.close_listener()
        for call in list(self.calls.values()):
            call.gen += 1
            call.outcome_override = "crashed"
            call.finish(None)
        self.at(down_for, self.reboot)

    def reboot(self):
        if self.listen_sock is not None:
            return                      # a second restart/crash while down: already back
        self.boot = self.last_reload = time.monotonic()
        self.chan_seq = 0
        self.open_listener()

    # ---- control socket ----------------------------------------------------------------
    def on_control_accept(self, mask):
        try:
            sock, _ = self.control_sock.accept()
        except OSError:
            return
        sock.settimeout(2.0)
        try:
            line = b""
            while not line.endswith(b"\n") and len(line) < 4096:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                line += chunk
            reply = self.control(line.decode("utf-8", "replace").strip())
            sock.sendall((reply + "\n").encode())
        except OSError:
            pass
        finally:
            sock.close()

    def control(self, line):
        """Text commands: `fault NAME [seconds=N] [ms=N]`, `stats`, `stop`."""
        words = line.split()
        if not words:
            return "error empty command"
        if words[0] == "stats":
            return "ok " + json.dumps({"live_calls": len(self.calls),
                                       "live_channels": len(self.live_channels),
                                       "sessions": len(self.sessions),
                                       "logged_in": len(self.listeners),
                                       "port": self.port, "hung": self.hung,
                                       "listening": self.listen_sock is not None, **self.stats})
        if words[0] == "stop":
            self.stopping = True
            return "ok"
        if words[0] == "fault" and len(words) >= 2:
            kw = {}
            for w in words[2:]:
                k, _, v = w.partition("=")
                if k not in ("seconds", "ms"):
                    return f"error unknown option {k!r} (expected seconds=N or ms=N)"
                try:
                    kw[k] = float(v)
                except ValueError:
                    return f"error {k}={v!r}: expected a number"
            try:
                self.fault(words[1], **kw)
            except ValueError as e:
                return f"error {e}"
            return "ok"
        return f"error unknown command {line!r} (expected fault NAME, stats or stop)"

    # ---- main loop ---------------------------------------------------------------------
    def start(self):
        self.open_listener()
        self.open_control()
        for at, name, extra in self.scenario.faults:
            self.at(at, self.fault, name, extra.get("seconds"), extra.get("ms"))

    def run(self):
        timers = self.timers
        sel = self.sel
        while not self.stopping:
            if self.dirty:
                self._flush_dirty()
            now = time.monotonic()
            timeout = 0.5 if not timers else max(0.0, min(0.5, timers[0][0] - now))
            for key, mask in sel.select(timeout):
                self._guard(key.data, mask)
            now = time.monotonic()
            while timers and timers[0][0] <= now:
                _, _, fn, args = heapq.heappop(timers)
                self._guard(fn, *args)
            self._flush_dirty()
            self.recorder.flush()
        self.shutdown()

    def _guard(self, fn, *args):
        """A bug in one call or session must not take the whole PBX down."""
        try:
            fn(*args)
        except Exception:
            print("dialer-pbxsim: internal error (please report):\n" + traceback.format_exc(),
                  file=sys.stderr, flush=True)

    def _flush_dirty(self):
        if self.hung:
            self.dirty.clear()
            return
        dirty, self.dirty = self.dirty, set()
        for s in dirty:
            self.flush(s)

    def shutdown(self):
        # calls still up are recorded as ended by the stop (no AMI events: nobody listens)
        now = time.time()
        for call in list(self.calls.values()):
            call.gen += 1
            call.outcome_override = "stopped"
            call.done = True
            call.end_t = now
            self.call_done(call)
        for s in list(self.sessions.values()):
            self.close_session(s)
        self.close_listener()
        if self.control_sock is not None:
            self.control_sock.close()
            try:
                os.unlink(self.control_path)
            except OSError:
                pass
        self.recorder.close()
