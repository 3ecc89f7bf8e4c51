"""Process modes: foreground (`dialer`), systemd service (`--service`), daemon (`--start`),
`--stop`, and `-safe` (restart the engine when it dies). Signals only enqueue.
"""
import errno
import faulthandler
import logging
import os
import queue
import signal
import sys
import time

from . import __version__, ami, config
from .engine import Control, Engine

log = logging.getLogger("dialer")


def setup_logging(debug: bool, stream=None, path=None):
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    handler = logging.FileHandler(path) if path else logging.StreamHandler(stream or sys.stderr)
    # journald adds its own timestamps; a file does not.
    fmt = "%(asctime)s %(levelname)s %(name)s: %(message)s" if path else "%(levelname)s %(name)s: %(message)s"
    handler.setFormatter(logging.Formatter(fmt))
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    # pyst2 logs every frame at DEBUG, secrets included: never let it through.
    logging.getLogger("asterisk").setLevel(logging.WARNING)


def _store_factory(general):
    from . import store

    def factory():
        return store.open_store(general)
    return factory


def _wait_for_database(factory, notifier, metrics, events: queue.Queue) -> bool:
    """READY=1 needs a database that answers: wait for it, saying so in STATUS. The wait is on
    the event queue, so a stop request ends it at once (False)."""
    from .store import StoreUnavailable
    delay = 1.0
    while True:
        try:
            st = factory()
            st.ping()
            st.close()
            metrics.set_database_connected(True)
            return True
        except StoreUnavailable as exc:
            msg = f"database unavailable ({exc}), retrying in {delay:.0f} s"
            log.error(msg)
            metrics.database_error()
            metrics.set_database_connected(False)
            notifier.status(msg)
            if _stop_within(events, delay):
                log.info("stopped while waiting for the database")
                return False
            delay = min(delay * 2, 30.0)


def _stop_within(events: queue.Queue, seconds: float) -> bool:
    """True when a stop request arrives within `seconds`; other items stay queued for the engine."""
    deadline = time.monotonic() + seconds
    kept = []
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            try:
                item = events.get(timeout=left)
            except queue.Empty:
                return False
            if isinstance(item, Control) and item.kind == "stop":
                return True
            kept.append(item)
    finally:
        for item in kept:
            events.put(item)


def build_engine(cfg, args, *, forever, events=None, notifier=None, metrics=None, clock=time.time,
                 monotonic=time.monotonic) -> Engine:
    g = cfg.general
    events = events or queue.Queue()
    link = ami.AmiLink(g.asteriskhost, g.asteriskport, g.asteriskuser, g.asteriskpassword, events,
                       connect_timeout=g.amitimeout, ping_interval=g.amiping, action_timeout=g.amitimeout,
                       clock=clock)

    def reload_config():
        return config.load(getattr(args, "config", None))

    return Engine(cfg, store_factory=_store_factory(g), link=link, events=events, metrics=metrics,
                  notifier=notifier, forever=forever, reload_config=reload_config, clock=clock,
                  monotonic=monotonic)


def run(cfg, args, *, forever, clock=time.time) -> int:
    """Run the engine in this process until it is done (foreground) or stopped. `clock` is the
    engine's wall clock (the tests run simulated days through it)."""
    from .metrics import Metrics, MetricsError
    from .notify import Notifier
    # systemd's watchdog kills a hung engine with SIGABRT: leave its stack in the journal.
    faulthandler.enable()
    notifier = Notifier()
    events = queue.Queue()

    def on_stop(signum, frame):
        events.put(Control("stop"))

    signal.signal(signal.SIGTERM, on_stop)
    signal.signal(signal.SIGINT, on_stop)
    signal.signal(signal.SIGHUP, lambda s, f: events.put(Control("reload")))
    for warning in cfg.warnings:
        log.warning("%s", warning)
    metrics = Metrics()
    g = cfg.general
    if g.metricsport:
        try:
            metrics.start_http(g.metricsaddress, g.metricsport)
        except MetricsError as exc:
            log.error("%s", exc)
            return 2
    factory = _store_factory(g)
    if not _wait_for_database(factory, notifier, metrics, events):
        return 0
    engine = build_engine(cfg, args, forever=forever, events=events, notifier=notifier, metrics=metrics,
                          clock=clock)
    log.info("dialer %s starting: %d campaign(s), instance %s", __version__, len(cfg.campaigns), g.instance)
    notifier.ready()
    return engine.run()


def run_foreground(cfg, args, *, clock=time.time) -> int:
    forever = bool(getattr(args, "service", False))
    setup_logging(cfg.general.debug)
    return run(cfg, args, forever=forever, clock=clock)


# -- daemon: --start / --stop ------------------------------------------------------------
def _read_pid(path):
    try:
        with open(path) as fh:
            return int(fh.read().strip())
    except (OSError, ValueError):
        return None


def _alive(pid):
    try:
        os.kill(pid, 0)
    except OSError as exc:
        return exc.errno == errno.EPERM
    return True


def start_daemon(cfg, args) -> int:
    pidfile = cfg.general.pidfile
    pid = _read_pid(pidfile)
    if pid and _alive(pid):
        print(f"dialer: already running (pid {pid}, {pidfile})", file=sys.stderr)
        return 1
    try:
        os.makedirs(os.path.dirname(pidfile) or ".", exist_ok=True)
        with open(pidfile, "a"):
            pass
    except OSError as exc:
        print(f"dialer: cannot write pidfile {pidfile}: {exc.strerror}", file=sys.stderr)
        return 2
    if os.fork():
        # Parent: wait until the daemon wrote its pid, so `--start; --stop` works at once.
        for _ in range(100):
            pid = _read_pid(pidfile)
            if pid and _alive(pid):
                print(f"dialer: started (pid {pid})")
                return 0
            time.sleep(0.05)
        print("dialer: the daemon did not start; see its log", file=sys.stderr)
        return 1
    os.setsid()
    if os.fork():
        os._exit(0)
    logdir = os.path.dirname(cfg.general.calllog or "") or "/tmp"
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    with open(pidfile, "w") as fh:
        fh.write(f"{os.getpid()}\n")
    try:
        setup_logging(cfg.general.debug, path=os.path.join(logdir, "dialer.log"))
        status = run(cfg, args, forever=True)
    finally:
        try:
            if _read_pid(pidfile) == os.getpid():
                os.unlink(pidfile)
        except OSError:
            pass
    os._exit(status)


def stop_daemon(cfg, args) -> int:
    """Unconditionally stop the running dialer: SIGTERM, then SIGKILL after the drain time."""
    pidfile = cfg.general.pidfile
    pid = _read_pid(pidfile)
    if not pid or not _alive(pid):
        print(f"dialer: not running (no live pid in {pidfile})", file=sys.stderr)
        return 1
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + float(cfg.general.drainseconds) + 10
    while time.monotonic() < deadline:
        if not _alive(pid):
            print(f"dialer: stopped (pid {pid})")
            return 0
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)
    print(f"dialer: killed (pid {pid}) after {cfg.general.drainseconds}s drain timeout")
    return 0


# -- -safe: restart the engine when it dies ------------------------------------------------
def run_safe(cfg, args) -> int:
    setup_logging(cfg.general.debug)
    child = None
    stopping = []

    def forward(signum, frame):
        stopping.append(signum)
        if child:
            try:
                os.kill(child, signum)
            except OSError:
                pass

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGHUP, lambda s, f: child and os.kill(child, signal.SIGHUP))
    delay = 1.0
    while True:
        started = time.monotonic()
        child = os.fork()
        if child == 0:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            os._exit(run(cfg, args, forever=True))
        while True:
            try:
                _, status = os.waitpid(child, 0)
                break
            except InterruptedError:
                continue
        code = os.waitstatus_to_exitcode(status)
        if stopping or code == 0:
            return 0 if code in (0, -signal.SIGTERM, -signal.SIGINT) else 1
        if time.monotonic() - started > 60:
            delay = 1.0
        log.error("engine exited with status %s; restarting in %.0f s", code, delay)
        time.sleep(delay)
        delay = min(delay * 2, 60.0)
