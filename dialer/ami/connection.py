"""One AMI session: pyst2's Manager, subclassed where 0.5.1 breaks a dialer.

What stays pyst2's: its thread layout (reader -> parser -> dispatcher, with its queues),
`register_event`/`unregister_event`, `next_seq`, ManagerMsg as the base of our messages and
its exception classes. What we override, per defect (numbers as in ami-notes.md "pyst2
0.5.1 — known defects"):

1. parsing uses wire.Message (no `has_key`), and a message that fails to parse is dropped
   with a log line instead of killing the parser thread;
2. responses are matched to callers by ActionID, each wait has a deadline, and a late
   response is dropped instead of being handed to the next caller;
3. `send_action` builds a fresh dict per call (0.5.1 mutates a shared default);
4. a failing event callback is logged and dispatch goes on;
5. the socket is read through a 64 KiB buffer (0.5.1 reads one byte per recv());
6. an instance is used for exactly one connection (0.5.1's threads start once): the link
   builds a new one per connection;
7. connect and banner have a deadline, and `closed`/`on_closed` report the end of the session;
8. every action is built by wire.encode_action, which refuses CR/LF/control characters;
and beyond the list: its reader's guesses at Command/Status output are replaced by
Asterisk's plain framing (see `_receive_data`).
"""
import io
import itertools
import logging
import os
import socket
import struct
import threading
import time
import warnings

from asterisk.manager import Manager

from .wire import MAX_LINE, AmiError, build_message, encode_action

log = logging.getLogger("dialer.ami")

READ_BUFFER = 65536
_sessions = itertools.count(1)


class ConnectError(AmiError):
    """TCP connect or the AMI banner failed (or timed out)."""


class AuthError(AmiError):
    """Asterisk refused the login."""


class NotConnected(AmiError):
    """No usable AMI session (never connected, lost, or Asterisk shutting down)."""


class ActionTimeout(AmiError):
    """No response with our ActionID arrived in time."""


class _Flag(threading.Event):
    # pyst2 polls isSet() once per received line; since 3.10 that alias warns on every call.
    isSet = threading.Event.is_set


class _CountingSocketIO(socket.SocketIO):
    """Counts recv() calls (the buffered-read test checks them) and remembers why reading ended."""

    def __init__(self, sock):
        super().__init__(sock, "rb")
        self.reads = 0
        self.bytes = 0
        self.ended = None

    def readinto(self, b):
        self.reads += 1
        try:
            n = super().readinto(b)
        except OSError as exc:
            self.ended = self.ended or f"connection error: {exc}"
            raise
        if not n:
            self.ended = self.ended or "connection closed by Asterisk"
        self.bytes += n or 0
        return n


class _Waiter:
    __slots__ = ("done", "response", "events", "complete", "error")

    def __init__(self, complete=None):
        self.done = threading.Event()
        self.response = None
        self.events = [] if complete else None
        self.complete = complete
        self.error = None


class Connection(Manager):
    """A pyst2 Manager for exactly one TCP session."""

    def __init__(self, name="ami", write_timeout=5.0, on_closed=None):
        with warnings.catch_warnings():     # pyst2 calls the deprecated Thread.setDaemon
            warnings.simplefilter("ignore", DeprecationWarning)
            super().__init__()
        self._connected = _Flag()
        self._running = _Flag()
        self.session = next(_sessions)
        self.name = f"{name}#{self.session}"
        self.message_thread.name = f"{self.name}-parse"
        self.event_dispatch_thread.name = f"{self.name}-dispatch"
        self.version = None
        self.closed = threading.Event()
        self.close_reason = None
        self._on_closed = on_closed
        self._write_timeout = write_timeout
        self._raw = None
        self._io = None
        self._wlock = threading.Lock()
        self._plock = threading.Lock()
        self._pending = {}
        self._id_prefix = f"dialer-{os.getpid()}-{self.session}-"
        self._callback_errors = 0
        self._callback_logged = 0.0

    # ---- connection (defects 5, 6, 7) -------------------------------------------------

    def connect(self, host, port=5038, timeout=5.0):
        """TCP connect and read the banner, both within `timeout`; then start the threads."""
        if self._running.is_set() or self.closed.is_set():
            raise AmiError("an AMI Connection serves one session; build a new one")
        where = f"{host}:{port}"
        try:
            sock = socket.create_connection((host, int(port)), timeout=timeout)
        except socket.timeout:
            raise ConnectError(f"cannot connect to AMI at {where}: no answer within {timeout:g}s") from None
        except OSError as exc:
            raise ConnectError(f"cannot connect to AMI at {where}: {exc.strerror or exc}") from None
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            raw = _CountingSocketIO(sock)
            reader = io.BufferedReader(raw, READ_BUFFER)
            try:
                banner = reader.readline(MAX_LINE)
            except socket.timeout:
                raise ConnectError(f"no AMI banner from {where} within {timeout:g}s") from None
            except OSError as exc:
                raise ConnectError(f"AMI at {where} failed before its banner: {exc}") from None
            text = banner.decode("utf-8", "replace").strip()
            if not banner.endswith(b"\n") or "/" not in text or ":" in text:
                raise ConnectError(f"AMI at {where} did not send a banner (got {text[:80]!r})")
            self.title, _, self.version = text.partition("/")
            # The reader thread blocks in recv(); writes get their own deadline so that a
            # PBX that stops reading cannot block a caller forever.
            sock.settimeout(None)
            sec = int(self._write_timeout)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO,
                            struct.pack("ll", sec, int((self._write_timeout - sec) * 1e6)))
        except BaseException:
            sock.close()
            raise
        self._raw, self._io, self._sock = sock, raw, reader
        self._connected.set()
        self._running.set()
        self.message_thread.start()
        self.event_dispatch_thread.start()
        return self.version

    @property
    def reads(self):
        """recv() calls so far on this session."""
        return self._io.reads if self._io else 0

    @property
    def bytes_read(self):
        return self._io.bytes if self._io else 0

    def abort(self, reason):
        """End the session now (no Logoff): the reader sees EOF and every thread exits."""
        if self.close_reason is None:
            self.close_reason = reason
        self._connected.clear()
        if self._raw is not None:
            try:
                self._raw.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        else:
            self._finish()
        self._fail_pending(self.close_reason)

    def close(self, timeout=1.0):
        """Log off politely if still connected, then end the session."""
        if self._connected.is_set():
            try:
                self.request("Logoff", timeout=timeout)
            except AmiError:
                pass
        self.abort("closed by the dialer")
        self.wait_closed(timeout)

    def wait_closed(self, timeout=None):
        return self.closed.wait(timeout)

    def _finish(self):
        if self.closed.is_set():
            return
        if self._raw is not None:
            self._raw.close()
        self.closed.set()
        if self._on_closed:
            self._on_closed(self)

    # ---- threads (defects 1, 4) -------------------------------------------------------

    def _receive_data(self):
        """Frame messages as Asterisk does: header lines up to an empty line.

        pyst2's reader also guesses at Command/Status output from the text of any line
        ('status will follow', '--END COMMAND--'): a header value holding those words (a
        UserEvent carrying lead data, say) then swallows every later message, Ping
        responses included. The dialer sends neither action, so the plain rule is exact.
        """
        put = self._message_queue.put
        lines = []
        for raw in self._sock:       # BufferedReader: one recv() per 64 KiB, not per byte
            if raw == b"\r\n" or raw == b"\n":
                if lines:
                    put(lines)
                    lines = []
            else:
                lines.append(raw.decode("utf-8", "replace"))

    def _read_main(self):
        try:
            self._receive_data()
        except OSError:
            pass                     # _CountingSocketIO.ended says why
        except BaseException as exc:   # never leave the parser waiting
            self.close_reason = self.close_reason or f"AMI reader failed: {exc!r}"
            log.exception("%s: reader failed", self.name)
        finally:
            self._connected.clear()
            self._message_queue.put(None)

    def message_loop(self):
        reader = threading.Thread(target=self._read_main, name=f"{self.name}-read", daemon=True)
        reader.start()
        try:
            while True:
                lines = self._message_queue.get()
                if not lines:
                    break
                try:
                    msg = build_message(lines)
                except Exception:
                    log.exception("%s: unparseable AMI message dropped: %r", self.name, lines[:3])
                    continue
                if msg.name is None:
                    self._on_response(msg)
                else:
                    self._on_event(msg)
        finally:
            if self.close_reason is None:
                self.close_reason = (self._io and self._io.ended) or "connection closed by Asterisk"
            self._connected.clear()
            self._fail_pending(self.close_reason)
            reader.join(2)
            self._event_queue.put(None)

    def event_dispatch(self):
        try:
            while True:
                ev = self._event_queue.get()
                if ev is None:
                    break
                for callback in self._event_callbacks.get(ev.name, []) + self._event_callbacks.get("*", []):
                    try:
                        if callback(ev, self):
                            break
                    except Exception:
                        self._callback_failed(callback, ev)
        finally:
            self._finish()

    def _callback_failed(self, callback, ev):
        self._callback_errors += 1
        now = time.monotonic()
        if now - self._callback_logged >= 10:   # a callback failing on every event must not flood the log
            self._callback_logged = now
            log.exception("%s: AMI event callback %s failed on %s (%d failures so far); dispatch goes on",
                          self.name, getattr(callback, "__qualname__", callback), ev.name, self._callback_errors)

    # ---- requests (defects 2, 3, 8) ---------------------------------------------------

    def _on_response(self, msg):
        aid = msg.action_id
        with self._plock:
            waiter = self._pending.get(aid)
            if waiter is None:
                log.debug("%s: response for unknown or expired ActionID %r dropped", self.name, aid)
                return
            waiter.response = msg
            if waiter.complete is None or not msg.success:
                del self._pending[aid]
                waiter.done.set()

    def _on_event(self, msg):
        if msg.name == "Shutdown" and self.close_reason is None:   # the EOF that follows is expected
            self.close_reason = f"Asterisk shut down (Shutdown: {msg.get('Shutdown')}, Restart: {msg.get('Restart')})"
        aid = msg.action_id
        if aid is not None:
            with self._plock:
                waiter = self._pending.get(aid)
                if waiter is not None and waiter.complete is not None:
                    if msg.name == waiter.complete:
                        del self._pending[aid]
                        waiter.done.set()
                    else:
                        waiter.events.append(msg)
                    return
        self._event_queue.put(msg)

    def _fail_pending(self, reason):
        with self._plock:
            waiters, self._pending = list(self._pending.values()), {}
        for waiter in waiters:
            waiter.error = NotConnected(f"AMI connection lost: {reason}")
            waiter.done.set()

    def new_action_id(self):
        return f"{self._id_prefix}{self.next_seq()}"

    def request(self, action, headers=None, variables=None, timeout=5.0, complete=None):
        """Send one action and wait for the response carrying its ActionID.

        Returns the Response, or (Response, [events]) when `complete` names the event that
        ends a list (CoreShowChannelsComplete). HeaderError is raised before anything is
        sent; NotConnected and ActionTimeout after.
        """
        headers = dict(headers or {})
        aid = None
        for key in [k for k in headers if isinstance(k, str) and k.lower() == "actionid"]:
            aid = str(headers.pop(key))
        if aid is None:
            aid = self.new_action_id()
        data = encode_action(action, [("ActionID", aid)] + list(headers.items()), variables)
        if not self._connected.is_set():
            raise NotConnected(f"not connected to AMI ({self.close_reason or 'no session'})")
        waiter = _Waiter(complete)
        with self._plock:
            if aid in self._pending:
                raise AmiError(f"ActionID {aid!r} is already waiting for a response")
            self._pending[aid] = waiter
        if not self._connected.is_set():     # lost in between: _fail_pending may have missed us
            self._forget(aid)
            raise NotConnected(f"not connected to AMI ({self.close_reason or 'no session'})")
        try:
            with self._wlock:
                self._raw.sendall(data)
        except OSError as exc:
            self._forget(aid)
            self.abort(f"write failed: {exc}")
            raise NotConnected(f"AMI write failed: {exc}") from None
        if not waiter.done.wait(timeout):
            self._forget(aid)
            if not waiter.done.is_set():
                raise ActionTimeout(f"no response to {action} (ActionID {aid}) within {timeout:g}s")
        if waiter.error is not None:
            raise waiter.error
        return (waiter.response, waiter.events) if complete else waiter.response

    def _forget(self, aid):
        with self._plock:
            self._pending.pop(aid, None)

    def send_action(self, cdict=None, timeout=5.0, **kwargs):
        """pyst2's signature without the shared mutable default; `Variable` may be a list of
        'name=value' strings as in pyst2's originate()."""
        headers = dict(cdict or {})
        headers.update(kwargs)
        action = None
        variables = {}
        for key in list(headers):
            low = key.lower()
            if low == "action":
                action = headers.pop(key)
            elif low == "variable":
                value = headers.pop(key)
                for item in value if isinstance(value, (list, tuple)) else [value]:
                    name, _, val = str(item).partition("=")
                    variables[name] = val
        if action is None:
            raise AmiError("send_action needs an 'Action' header")
        return self.request(action, headers, variables, timeout=timeout)

    def login(self, username, secret, events="call,system,user", timeout=5.0):
        resp = self.request("Login", {"Username": username, "Secret": secret, "Events": events}, timeout=timeout)
        if not resp.success:
            raise AuthError(resp.message or "login refused")
        return resp
