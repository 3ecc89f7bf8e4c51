"""The engine in the test's own process, wired as `dialer --service` wires it (service.build_engine:
real AMI link to a real dialer-pbxsim over TCP, real SQLite/MariaDB store), on a manual clock.

The engine claims and originates synchronously inside step(), so "nothing was dialled" is a
plain assertion after a step, with no sleep: had a lead been dialable, that step would have
dialled it.

    rig = EngineRig(env)                # env: a DialEnv (fixture `dial`)
    rig.start()                         # connects; returns once the AMI link is synchronised
    rig.step(advance=0.1)               # move both clocks, then one engine iteration
    rig.run_until(lambda: ..., advance=0.0)
    rig.stop()
"""
import queue
import time
from types import SimpleNamespace

from dialer import config, service
from dialer.engine import LinkState


class ManualClock:
    """Wall clock and monotonic clock that move only when told to."""

    def __init__(self, start: float):
        self.now = float(start)
        self.mono = 1000.0

    def time(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.mono

    def advance(self, seconds: float) -> None:
        self.now += seconds
        self.mono += seconds


class EngineRig:
    def __init__(self, env, *, start=None, forever=True):
        self.env = env
        self.cfg = config.load(str(env.conf))
        self.clock = ManualClock(time.time() if start is None else start)
        self.events = queue.Queue()
        self.engine = service.build_engine(self.cfg, SimpleNamespace(config=str(env.conf)), forever=forever,
                                           events=self.events, clock=self.clock.time,
                                           monotonic=self.clock.monotonic)
        self.period = self.engine.period
        self.done = False
        self.stopped = False

    def start(self, timeout=30):
        self.engine.start()
        self.run_until(lambda: self.engine.link_state is LinkState.SYNCED, timeout=timeout,
                       what="AMI link synchronised")

    def step(self, advance=0.0) -> bool:
        self.clock.advance(advance)
        self.done = self.engine.step()
        return self.done

    def run_until(self, predicate, *, advance=0.0, timeout=30, what="condition"):
        """Step (moving the clocks by `advance` each time) until predicate() is true. With the
        clocks still, a step waits for queued events (up to one period of real time). The
        timeout is real time and only turns a hang into a failure."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            self.step(advance)

    def stop(self):
        if not self.stopped:
            self.stopped = True
            self.engine.stop()
