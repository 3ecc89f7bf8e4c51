"""Faults: what a PBX does to its AMI clients when it misbehaves, restarts or dies.

Triggered by the scenario's `faults:` schedule or the control socket (`fault NAME`):
drop, hang/resume, restart (`core restart now`), crash (kill -9), writetimeout.
"""
import selectors

from .managerconf import CLASS_BITS

SYSTEM = CLASS_BITS["system"]
NAMES = ("drop", "hang", "resume", "restart", "crash", "writetimeout")


class Faults:
    def __init__(self, sim):
        self.sim = sim
        self.hung = False
        self.hung_listeners = []
        self.shutting_down = False    # from `core restart now` until the PBX is back

    def fault(self, name, seconds=None, ms=None):
        sim = self.sim
        sim.say(f"fault {name} seconds={seconds} ms={ms}")
        if name == "drop":
            for s in list(sim.sessions.values()):
                sim.close_session(s)
        elif name == "hang":
            self.hang()
            if seconds:
                sim.at(seconds, self.resume)
        elif name == "resume":
            self.resume()
        elif name == "restart":
            self.restart(2.0 if seconds is None else seconds)
        elif name == "crash":
            self.crash(1.0 if seconds is None else seconds)
        elif name == "writetimeout":
            sim.writetimeout = int(ms if ms is not None else (seconds or 0.1) * 1000)
            for s in sim.sessions.values():
                s.writetimeout = sim.writetimeout
        else:
            raise ValueError(f"unknown fault {name!r}")

    def hang(self):
        if self.hung:
            return
        sim = self.sim
        self.hung = True
        for s in sim.sessions.values():
            try:
                sim.sel.unregister(s.sock)
            except (KeyError, ValueError):
                pass
        if sim.listen_sock is not None:
            sim.sel.unregister(sim.listen_sock)
        self.hung_listeners = sim.listeners
        sim.listeners = []
        sim.recompute_want()

    def resume(self):
        if not self.hung:
            return
        sim = self.sim
        self.hung = False
        for s in sim.sessions.values():
            sim.watch(s)
            if s.out:
                sim.dirty.add(s)
        if sim.listen_sock is not None:
            sim.sel.register(sim.listen_sock, selectors.EVENT_READ, sim.on_accept)
        sim.listeners = [s for s in self.hung_listeners if not s.closed]
        sim.recompute_want()

    def restart(self, down_for):
        """`core restart now`: every call is hung up (SoftHangupRequest Cause 4), then Shutdown."""
        self.resume()
        self.shutting_down = True
        for call in list(self.sim.calls.values()):
            call.shutdown_hangup()
        self.sim.at(self.sim.shutdown_delay, self._restart_shutdown, down_for)

    def _restart_shutdown(self, down_for):
        sim = self.sim
        if sim.want & SYSTEM:
            sim.emit(SYSTEM, "Event: Shutdown\r\nPrivilege: system,all\r\nShutdown: Cleanly\r\n"
                             "Restart: True\r\n\r\n")
        # the listener goes first: a client that sees the close must find the port closed
        sim.close_listener()
        for s in list(sim.sessions.values()):
            s.closing = True
            sim.flush(s)
        sim.at(down_for, self.reboot)

    def crash(self, down_for):
        """kill -9: the connections close with no event and the calls vanish without Hangup."""
        sim = self.sim
        self.resume()
        sim.close_listener()
        for s in list(sim.sessions.values()):
            s.out = []
            sim.close_session(s)
        for call in list(sim.calls.values()):
            call.gen += 1
            call.outcome_override = "crashed"
            call.finish(None)
        sim.at(down_for, self.reboot)

    def reboot(self):
        sim = self.sim
        if sim.listen_sock is not None:
            return                      # a second restart/crash while down: already back
        self.shutting_down = False
        sim.boot = sim.last_reload = sim.clock()
        sim.channels.seq = 0
        sim.open_listener()
