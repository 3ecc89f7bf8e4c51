"""The `dialer` command for process-level tests: a simulated clock, and a SIGUSR2 that hangs the
engine. Test-only: production code just accepts a clock parameter.

    python -m tests.harness.dialer_at CLOCK -- [dialer arguments]

CLOCK is `real`, or START:SPEED: the engine's wall clock reads START (epoch seconds) when it is
first read and then runs SPEED times faster than real time; the dialer logs "test clock" then.
SIGUSR2 blocks the engine's thread (the main thread, which runs signal handlers) as a deadlock
would, until the next SIGTERM or SIGINT, which then reaches the dialer's own handler: a hung
engine must stop its watchdog pings.
"""
import functools
import logging
import signal
import sys
import time

from dialer import cli, service

log = logging.getLogger("dialer")


def make_clock(spec):
    if spec == "real":
        return time.time
    start, _, speed = spec.partition(":")
    start, speed = float(start), float(speed or 1)
    t0 = []

    def clock():
        if not t0:
            t0.append(time.time())
            log.warning("test clock: starts at %s, %sx real time", start, speed)
        return start + (time.time() - t0[0]) * speed
    return clock


def _hang(signum, frame):
    released = []
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    for sig in previous:
        signal.signal(sig, lambda s, f: released.append(s))
    while not released:
        time.sleep(0.05)
    for sig, handler in previous.items():
        signal.signal(sig, handler)
    if callable(previous[released[0]]):
        previous[released[0]](released[0], frame)


def main(argv):
    if "--" not in argv or argv.index("--") != 1:
        print("usage: python -m tests.harness.dialer_at real|START:SPEED -- [dialer arguments]", file=sys.stderr)
        return 2
    service.run_foreground = functools.partial(service.run_foreground, clock=make_clock(argv[0]))
    signal.signal(signal.SIGUSR2, _hang)
    return cli.main(argv[2:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
