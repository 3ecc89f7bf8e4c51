"""The AMI server: one thread, one selector, timers in a heap, buffered non-blocking writes.

Sim owns the connections, the timers, the live calls and the record. What the AMI actions do
is in actions.py (dispatch by `act_<action>`), the faults in faults.py, the control socket in
control.py.
"""
import heapq
import itertools
import selectors
import socket
import sys
import time
import traceback

from . import protocol, record
from .actions import Actions
from .channels import ChannelTable
from .control import ControlServer
from .faults import Faults
from .managerconf import ALL_CLASSES, CLASS_BITS


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
        self.recorder = record.Recorder(record_path)
        self.calls = {}               # live calls by id
        self.channels = ChannelTable()
        self.call_ids = itertools.count(1)
        self.boot = time.monotonic()
        self.last_reload = self.boot
        self.stopping = False
        self.stats = {"originates": 0, "events": 0}
        self.clock = time.monotonic
        self.wallclock = time.time
        self.actions = Actions(self)
        self.faults = Faults(self)
        self.control = ControlServer(self, control_path)

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
            self.watch(sess)
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
                        self.actions.handle(sess, msg)
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
            self.actions.handle(sess, sess.pending.pop(0))

    def watch(self, sess):
        self.sel.register(sess.sock, selectors.EVENT_READ, lambda m, s=sess: self.on_session(s, m))

    # ---- the record ----------------------------------------------------------------------
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
                self.channels.gone(c)
        self.recorder.write({"event": "end", "id": call.id,
                             "channel": call.chan.name if call.chan else None,
                             "outcome": call.outcome_override or call.outcome,
                             "reason": call.reason, "cause": call.cause,
                             "answer": call.answer_t, "end": call.end_t,
                             "full": call.full,
                             "status": call.chan.vars.get("DIALER_STATUS") if call.chan else None})

    # ---- main loop ---------------------------------------------------------------------
    def start(self):
        self.open_listener()
        self.control.open()
        for at, name, extra in self.scenario.faults:
            self.at(at, self.faults.fault, name, extra.get("seconds"), extra.get("ms"))

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
        if self.faults.hung:
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
        self.control.close()
        self.recorder.close()
