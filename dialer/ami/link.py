"""AmiLink: the engine's one AMI session, kept alive by a supervisor thread.

Threads per session (see connection.py): the reader drains the socket into a queue, the
parser matches responses to waiting callers and hands events on, the dispatcher puts them on
the engine's queue. None of them calls engine code. The supervisor connects, logs in, pings,
and on any loss builds a fresh Connection after an exponential, jittered delay.
"""
import logging
import random
import threading
import time
from dataclasses import dataclass

from .connection import ActionTimeout, AuthError, Connection, NotConnected
from .wire import AmiError, HeaderError, check_value, encode_action

log = logging.getLogger("dialer.ami")

EVENT_MASK = "call,system,user"
# Headers the link sets itself on an Originate.
_RESERVED = {"action", "actionid", "async", "variable"}


@dataclass(frozen=True)
class Connected:
    """Logged in (again): re-synchronise live calls with core_show_channels()."""
    host: str
    port: int
    version: str
    session: int


@dataclass(frozen=True)
class Disconnected:
    """The session is gone; actions raise NotConnected until the next Connected."""
    reason: str


@dataclass(frozen=True)
class AuthFailed:
    """Asterisk refused our user/secret; the link retries slowly."""
    message: str


@dataclass(frozen=True)
class Shutdown:
    """Asterisk announced it is stopping: stop originating until Connected arrives."""
    restart: bool
    how: str


class ActionError(AmiError):
    """Asterisk answered an action with an error (e.g. a missing write permission)."""

    def __init__(self, message, response=None):
        super().__init__(message)
        self.response = response


class _Throttle:
    """At most one log line per `every` seconds for a recurring condition."""

    def __init__(self, every):
        self.every = every
        self.last = None
        self.suppressed = 0

    def ready(self):
        now = time.monotonic()
        if self.last is None or now - self.last >= self.every:
            self.last = now
            return True
        self.suppressed += 1
        return False

    def reset(self):
        self.last, self.suppressed = None, 0


class AmiLink:
    def __init__(self, host, port, user, secret, events, connect_timeout=5, ping_interval=10,
                 backoff=(0.5, 30), action_timeout=5, event_mask=EVENT_MASK, name="ami", clock=time.time):
        check_value("Username", user)
        try:
            check_value("Secret", secret)
        except HeaderError:
            raise HeaderError("AMI secret contains a control character; expected printable text") from None
        self.host, self.port = host, int(port)
        self.user, self._secret = user, secret
        self.events = events
        self.connect_timeout = connect_timeout
        self.ping_interval = ping_interval
        self.backoff = (float(backoff[0]), float(backoff[1]))
        self.action_timeout = action_timeout
        self.event_mask = event_mask
        self.name = name
        # Each event is stamped on arrival: an engine held up (a locked database) still
        # records when a call was answered or ended, not when it got to the event.
        self.clock = clock
        self._conn = None
        self._up = threading.Event()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._ping_now = False
        self._thread = None
        self._auth_log = _Throttle(300)
        self._connect_log = _Throttle(60)
        self.sessions = 0

    def __repr__(self):
        return f"<AmiLink {self.user}@{self.host}:{self.port} connected={self.connected}>"

    # ---- lifecycle ------------------------------------------------------------------

    def start(self):
        if self._thread is not None:
            raise AmiError("AmiLink.start() called twice")
        self._thread = threading.Thread(target=self._supervise, name=f"{self.name}-supervisor", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout=5.0):
        self._stop.set()
        self._wake.set()
        conn = self._conn
        if conn is not None:
            self._up.clear()
            conn.close(timeout=min(1.0, timeout))
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def connected(self):
        return self._up.is_set()

    def wait_connected(self, timeout=None):
        return self._up.wait(timeout)

    # ---- actions --------------------------------------------------------------------

    def _live_conn(self, action, headers, variables):
        conn = self._conn
        if conn is None or not self._up.is_set():
            encode_action(action, headers, variables)   # bad input is a HeaderError even while down
            raise NotConnected("not connected to Asterisk")
        return conn

    def _request(self, action, headers=None, variables=None, timeout=None, complete=None):
        conn = self._live_conn(action, headers, variables)
        try:
            return conn.request(action, headers, variables,
                                timeout=self.action_timeout if timeout is None else timeout, complete=complete)
        except ActionTimeout:
            self._ping_now = True   # a silent PBX is down; let the supervisor find out now
            self._wake.set()
            raise

    def send_action(self, name, headers=None, variables=None, timeout=None):
        """Any action; returns its Response (check `.success`)."""
        return self._request(name, headers, variables, timeout)

    def originate(self, action_id, headers, variables=None):
        """Async Originate; the immediate Response only says 'queued' (or an error)."""
        clash = sorted(k for k in headers if isinstance(k, str) and k.lower() in _RESERVED)
        if clash:
            raise HeaderError(f"AMI Originate: header(s) {', '.join(clash)} are set by the link")
        full = {"ActionID": action_id}
        full.update(headers)
        full["Async"] = "true"
        return self._request("Originate", full, variables)

    def hangup(self, channel, cause=None):
        headers = {"Channel": channel}
        if cause is not None:
            headers["Cause"] = str(int(cause))
        return self._request("Hangup", headers)

    def core_show_channels(self, timeout=5):
        """Live channels: one CoreShowChannel Message each (needs write class `reporting`)."""
        resp, items = self._request("CoreShowChannels", timeout=timeout, complete="CoreShowChannelsComplete")
        if not resp.success:
            raise ActionError(f"CoreShowChannels refused by Asterisk: {resp.message or resp.get('Response')}", resp)
        return [m for m in items if m.name == "CoreShowChannel"]

    # ---- the event path (dispatcher thread: parse results in, queue items out) ---------

    def _deliver(self, ev, conn):
        if ev.name == "Shutdown":
            if conn is self._conn:
                self._up.clear()
            self.events.put(Shutdown(restart=(ev.get("Restart") or "").lower() == "true",
                                     how=ev.get("Shutdown") or ""))
        else:
            ev.received = self.clock()
            self.events.put(ev)

    def _closed(self, conn):
        self._wake.set()

    # ---- supervisor -----------------------------------------------------------------

    def _delay(self, failures):
        base, cap = self.backoff
        delay = min(cap, base * (2 ** min(failures, 30)))
        return delay / 2 + random.uniform(0, delay / 2)

    def _supervise(self):
        try:
            self._reconnect_loop()
        except BaseException:          # a dead supervisor would leave the engine waiting forever
            log.critical("AMI supervisor failed; no more reconnects", exc_info=True)
            raise
        finally:
            self._up.clear()

    def _reconnect_loop(self):
        failed = 0      # consecutive failed attempts, for the log
        exponent = 0    # backoff step
        while not self._stop.is_set():
            conn = Connection(self.name, write_timeout=self.action_timeout, on_closed=self._closed)
            conn.register_event("*", self._deliver)
            try:
                conn.connect(self.host, self.port, self.connect_timeout)
                conn.login(self.user, self._secret, self.event_mask, timeout=self.action_timeout)
            except AuthError as exc:
                conn.abort("login refused")
                failed += 1
                delay = self._delay(30)          # the cap: a wrong password is not fixed by hammering
                self._auth_failed(str(exc), failed, delay)
            except (AmiError, OSError) as exc:
                conn.abort(f"login failed: {exc}")
                failed += 1
                if self._connect_log.ready():
                    extra = f" ({self._connect_log.suppressed} similar since)" if self._connect_log.suppressed else ""
                    self._connect_log.suppressed = 0
                    log.warning("AMI %s:%d unavailable: %s%s; retrying", self.host, self.port, exc, extra)
                delay = self._delay(exponent)
                exponent += 1
                # The engine's STATUS tells "AMI down" from "still connecting" by this.
                self.events.put(Disconnected(f"unavailable: {exc}"))
            else:
                if self._stop.is_set():
                    conn.close()
                    break
                lived = self._run_session(conn, failed)
                failed = 0
                # A PBX that accepts the login and drops us at once must not get a tight loop.
                if lived >= max(self.ping_interval, self.backoff[1]):
                    exponent = 0
                delay = self._delay(exponent)
                exponent += 1
            if not self._stop.is_set():
                self._stop.wait(delay)

    def _auth_failed(self, message, failed, delay):
        self.events.put(AuthFailed(message))
        if self._auth_log.ready():
            log.error("AMI login to %s:%d as %r refused: %s; check asteriskuser/asteriskpassword "
                      "(attempt %d, next in %.0fs)", self.host, self.port, self.user, message, failed, delay)
        else:
            log.debug("AMI login refused again (attempt %d)", failed)

    def _run_session(self, conn, failed):
        """Run one logged-in session until it ends; returns how long it lasted (s)."""
        self.sessions += 1
        started = time.monotonic()
        self._conn = conn
        self._auth_log.reset()
        self._connect_log.reset()
        after = f" after {failed} failed attempt(s)" if failed else ""
        log.info("AMI connected to %s:%d (%s/%s)%s", self.host, self.port, conn.title, conn.version, after)
        # Usable before the engine hears of it: its first move is core_show_channels().
        self._up.set()
        self.events.put(Connected(self.host, self.port, conn.version or "", self.sessions))
        reason = self._keepalive(conn)
        self._up.clear()
        conn.abort(reason)
        conn.wait_closed(5)
        self._conn = None
        if not self._stop.is_set():
            log.warning("AMI connection to %s:%d lost: %s; reconnecting", self.host, self.port, reason)
            self.events.put(Disconnected(reason))
        return time.monotonic() - started

    def _keepalive(self, conn):
        next_ping = time.monotonic() + self.ping_interval
        while True:
            if conn.closed.is_set():
                return conn.close_reason or "connection closed"
            if self._stop.is_set():
                return "stopped by the dialer"
            now = time.monotonic()
            if self._ping_now or now >= next_ping:
                self._ping_now = False
                try:
                    conn.request("Ping", timeout=self.action_timeout)
                except ActionTimeout:
                    return f"no answer to Ping within {self.action_timeout:g}s"
                except AmiError as exc:
                    return conn.close_reason or str(exc)
                next_ping = time.monotonic() + self.ping_interval
                continue
            self._wake.wait(next_ping - now)
            self._wake.clear()
