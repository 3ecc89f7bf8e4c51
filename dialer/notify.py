"""systemd service notifications (sd_notify protocol) through sdnotify 0.3.2.

Without NOTIFY_SOCKET (not started by systemd as Type=notify) every method does nothing, so
the daemon calls them unconditionally.
"""
import os
import re
import time

import sdnotify

# A newline inside STATUS= would start another assignment (e.g. "READY=1") in the datagram.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
STATUS_MAX = 1024


def clean_status(text) -> str:
    """One printable line, latin-1 encodable (sdnotify encodes latin-1 and drops the rest)."""
    text = _CONTROL.sub(" ", str(text)).strip()[:STATUS_MAX]
    return text.encode("latin-1", "replace").decode("latin-1")


def monotonic_usec() -> int:
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000


class Notifier:
    """Messages to systemd for a Type=notify service.

    ready(status=None)   READY=1 (after start and after each reload), optionally with STATUS=
    stopping(status=None)  STOPPING=1 (on SIGTERM, before draining), optionally with STATUS=
    status(text)         STATUS=<one line>; sent only when the text differs from the last one
    watchdog()           WATCHDOG=1; called by the engine loop itself, so that a hung loop stops
                         the pings and systemd kills it. Wait at most watchdog_interval()
                         between calls.
    watchdog_interval()  half of WATCHDOG_USEC in seconds, or None when no watchdog is set for
                         this process
    reloading()          RELOADING=1 with MONOTONIC_USEC= (call ready() when the reload is done)
    extend_timeout(s)    EXTEND_TIMEOUT_USEC=: while draining, asks systemd for s more seconds
    """

    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._last_status = None
        self._last_ping = None
        self._interval = _watchdog_interval(os.environ)
        self.socket_path = os.environ.get("NOTIFY_SOCKET") or None
        notifier = sdnotify.SystemdNotifier() if self.socket_path else None
        # sdnotify swallows a failed connect and leaves socket None: treat that as disabled.
        self._sd = notifier if notifier is not None and notifier.socket is not None else None
        if self._sd is not None:
            # A datagram send blocks while the receiver's queue is full: never let a slow
            # reader of the notification socket stall the engine loop (sdnotify ignores the
            # resulting error, and a lost STATUS is replaced by the next one).
            self._sd.socket.setblocking(False)

    @property
    def enabled(self) -> bool:
        """True when connected to a notification socket."""
        return self._sd is not None

    def _send(self, *lines):
        if self._sd is not None:
            self._sd.notify("\n".join(lines))

    def _send_with_status(self, line, status):
        if status is None:
            self._send(line)
            return
        self._last_status = clean_status(status)
        self._send(line, "STATUS=" + self._last_status)

    def ready(self, status=None):
        self._send_with_status("READY=1", status)

    def status(self, text):
        text = clean_status(text)
        if text == self._last_status:
            return
        self._last_status = text
        self._send("STATUS=" + text)

    def watchdog_interval(self):
        return self._interval

    def watchdog(self):
        # Pings closer together than a quarter of the interval add nothing: with the loop
        # waking at most every interval, the gap between pings stays under 1.25 intervals,
        # i.e. 0.625 x WATCHDOG_USEC.
        if self._interval is None:
            return
        now = self._clock()
        if self._last_ping is not None and now - self._last_ping < self._interval / 4:
            return
        self._last_ping = now
        self._send("WATCHDOG=1")

    def reloading(self):
        self._send("RELOADING=1", f"MONOTONIC_USEC={monotonic_usec()}")

    def stopping(self, status=None):
        self._send_with_status("STOPPING=1", status)

    def extend_timeout(self, seconds):
        usec = max(1, int(seconds * 1_000_000))
        self._send(f"EXTEND_TIMEOUT_USEC={usec}")


def _watchdog_interval(env):
    """Seconds between pings (half of WATCHDOG_USEC), or None when no watchdog applies to us."""
    try:
        usec = int(env.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    if usec <= 0:
        return None
    pid = env.get("WATCHDOG_PID")
    # systemd sets WATCHDOG_PID so that a child inheriting the environment does not ping.
    if pid and pid != str(os.getpid()):
        return None
    return usec / 2 / 1_000_000
