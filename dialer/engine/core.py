"""The dialing engine: one thread owns all call state and the database connection.

The AMI reader thread only parses and enqueues; signal handlers only enqueue. The loop waits on
the queue until the next iteration is due, so a freed line is refilled as soon as its Hangup is
processed, with `maxcaps` acting as a rate cap per iteration period (gunicorn arbiter style).
Queue items are dispatched by kind to `_on_<kind>`, as gunicorn's arbiter does with signals.

Parts: Database (connection and outages), ResultWriter (codes, counters, call log, batched
writes, journal), CallTable (live attempts, adoption, resync, grace), Pacer (lines, caps,
trunks, windows, zones, claims and Originates).
"""
import logging
import queue
import time
from typing import Callable, Optional

from .. import codes
from ..attempt import is_shutdown_hangup
from ..history_purge import HistoryPurger
from ..journal import Journal
from ..trunkguard import TrunkGuard
from .calls import CallTable
from .database import Database, journal_path
from .pacer import Pacer
from .results import ResultWriter
from .runtime import Runtime
from .state import Campaigns, Control, DbState, LinkState, RunState, Stats

log = logging.getLogger("dialer.engine")

STOPPED_DURING_CALL = "Stopped during the call: drain timeout"


class Engine:
    def __init__(self, cfg, *, store_factory: Callable, link, events: queue.Queue, metrics=None,
                 notifier=None, forever: bool = False, clock: Callable[[], float] = time.time,
                 monotonic: Callable[[], float] = time.monotonic,
                 reload_config: Optional[Callable] = None):
        g = cfg.general
        self.cfg = cfg
        self.link = link
        self.events = events
        self.metrics = metrics
        self.notifier = notifier
        self.forever = forever
        self.clock = clock
        self.mono = monotonic
        self.reload_config = reload_config
        self.owner = str(g.instance)
        self.period = max(0.01, g.loopms / 1000.0)
        self.stats = Stats()
        self.campaigns = Campaigns(cfg, metrics)
        self.db = Database(store_factory, metrics=metrics, monotonic=monotonic)
        self.trunks = TrunkGuard(g, clock=clock, metrics=metrics)
        self.trunks.configure(g, self._trunk_names())
        self.results = ResultWriter(self.db, Journal(journal_path(g)), self.campaigns, owner=self.owner,
                                    stats=self.stats, trunks=self.trunks, metrics=metrics)
        lease = int(g.leaseseconds)
        self.calls = CallTable(self.campaigns, self.results, self.db, link, owner=self.owner, clock=clock,
                               lease=lease)
        self.pacer = Pacer(self.campaigns, self.calls, self.results, self.db, link, owner=self.owner,
                           lease=lease, period=self.period, forever=forever, stats=self.stats,
                           trunks=self.trunks, metrics=metrics, clock=clock, monotonic=monotonic)
        self.runtime = Runtime(self.campaigns, self.db, self.trunks, owner=self.owner, period=self.period,
                               metrics=metrics, clock=clock, monotonic=monotonic)
        self.link_state = LinkState.CONNECTING
        self.run_state = RunState.RUNNING
        self.stop_deadline = None
        self.next_tick = 0.0
        self.next_renew = 0.0
        self.reload_error = None
        self.last_status = None
        self._handlers = {}
        self.purger = None

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> None:
        if self.db.open():
            self.results.flush_journal()
        self.purger = HistoryPurger(self.db.factory, self.cfg.general.historydays)
        self.purger.start()
        self.results.open_calllog(self.cfg.general)
        self.link.start()
        self.next_tick = self.mono()

    def close(self) -> None:
        try:
            self.link.stop()
            if self.purger:
                self.purger.stop()
        finally:
            self.db.close()
            self.results.close()
            self.trunks.close()

    def run(self) -> int:
        """Run until done (foreground) or stopped, then log the summary. Returns 0: outages,
        refused calls and a drain timeout are logged and counted, not an exit status."""
        self.start()
        try:
            while not self.step():
                pass
        finally:
            self.stop()
        self._summary()
        return 0

    def step(self) -> bool:
        """One iteration: handle what is queued (waiting until the next tick at most), tick when
        due, write results, dial. True when the run is over. run() loops on it; the tests'
        in-process harness calls it with a manual clock."""
        self._wait_and_handle()
        began = self.mono()
        if began >= self.next_tick:
            self.next_tick = began + self.period
            self._tick()
        # Dial, then write: the results decided above have freed their lines already, and
        # their transaction (a commit, an fsync) need not delay the calls that refill them.
        self.pacer.dial(self._can_dial)
        self.results.write()
        self._watchdog()
        if self.metrics:
            self.metrics.observe_iteration(self.mono() - began)
        return self._should_exit()

    def stop(self) -> None:
        """Write what is left and close everything."""
        try:
            # A failure streak still undecided at the end: put back, never burned.
            self.results.settle(self.trunks.release_held(counted=False))
            self.results.write()
            self.runtime.beat(self.link_state.value, "stopped", force=True)
        finally:
            self.close()

    def _wait_and_handle(self) -> None:
        busy = self.pacer.more_to_dial
        timeout = 0.0 if busy else max(0.0, min(self.next_tick - self.mono(), 0.5))
        try:
            item = self.events.get(timeout=timeout)
        except queue.Empty:
            return
        self._handle(item)
        # Drain what is already there before dialling: results first, then new calls.
        for _ in range(5000):
            try:
                item = self.events.get_nowait()
            except queue.Empty:
                break
            self._handle(item)

    # -- queue items: _on_<kind> -------------------------------------------------------------
    # Control(kind) -> _on_<kind>; ami.Message, Connected, Disconnected, Shutdown, AuthFailed ->
    # _on_<class name in lower case>.
    def _handle(self, item) -> None:
        kind = item.kind if isinstance(item, Control) else type(item)
        handler = self._handlers.get(kind)
        if handler is None:
            name = kind if isinstance(kind, str) else kind.__name__.lower()
            handler = self._handlers[kind] = getattr(self, f"_on_{name}", self._on_unknown)
        handler(item)

    def _on_unknown(self, item) -> None:
        log.debug("ignored queue item %r", item)

    def _on_message(self, msg) -> None:
        if is_shutdown_hangup(msg):
            self._asterisk_stopping()
        att = self.calls.on_message(msg)
        if self.link_state is LinkState.STOPPING and self.calls.refused:
            self.calls.put_back_refused(self.clock())
        if att is not None and self.run_state is RunState.HANGING_UP and msg.name == "Newchannel":
            # Created after the hang-up order went out: hang it up as well.
            self.calls.hangup(msg.get("Channel") or "")

    def _on_stop(self, item) -> None:
        if self.run_state is RunState.RUNNING:
            drain = float(self.cfg.general.drainseconds)
            log.info("stopping: no new calls; waiting up to %ss for %d live call(s)", drain, len(self.calls))
            self.run_state = RunState.DRAINING
            self.stop_deadline = self.mono() + drain
            if self.notifier:
                self.notifier.stopping()
                if self.calls:
                    self.notifier.extend_timeout(drain + 10)
        elif self.run_state is RunState.DRAINING:
            log.warning("second stop request: hanging up %d live call(s)", len(self.calls))
            self.run_state = RunState.HANGING_UP
            self.stop_deadline = self.mono() + 5.0
            self.calls.hangup_all()

    def _on_reload(self, item) -> None:
        if self.notifier:
            self.notifier.reloading()
        try:
            new = self.reload_config()
        except Exception as exc:  # a bad reload keeps the old config (brief: Standards)
            log.error("reload failed, keeping the previous configuration: %s", exc)
            self.reload_error = str(exc)
            if self.metrics:
                self.metrics.config_reloaded(False)
        else:
            self.campaigns.apply(new)
            self.cfg = new
            self.results.settle(self.trunks.configure(new.general, self._trunk_names()))
            self.reload_error = None
            log.info("configuration reloaded: %d campaign(s)", len(self.campaigns))
            if self.metrics:
                self.metrics.config_reloaded(True)
        if self.notifier:
            self.notifier.ready()

    def _on_connected(self, item) -> None:
        self.link_state = LinkState.UP
        if self.metrics:
            self.metrics.set_ami_connected(True)
        try:
            channels = self.link.core_show_channels()
        except Exception as exc:
            log.error("CoreShowChannels failed after login (%s); will retry on the next connection", exc)
            return
        self.calls.resync(channels)
        self.link_state = LinkState.SYNCED
        log.info("AMI connected; %d live channel(s), %d call(s) tracked", len(channels), len(self.calls))

    def _on_disconnected(self, item) -> None:
        if self.link_state.connected:
            log.warning("AMI connection lost (%s); no new calls until it is back", item.reason)
            self.calls.put_back_refused(self.clock())
            self.calls.link_lost(self.clock())
        self.link_state = LinkState.DOWN
        if self.metrics:
            self.metrics.set_ami_connected(False)

    def _on_shutdown(self, item) -> None:
        self._asterisk_stopping()

    def _asterisk_stopping(self) -> None:
        """`core stop/restart now`: it refuses Originates from now on (Reason 0, no channel) and
        hangs up every call, then sends Shutdown and closes. No new call until reconnected and
        resynchronised; what it refused is put back uncounted."""
        if self.link_state is not LinkState.STOPPING:
            log.warning("Asterisk is shutting down; no new calls until it is back")
        if self.link_state.connected:
            self.link_state = LinkState.STOPPING
        self.calls.put_back_refused(self.clock())

    def _on_authfailed(self, item) -> None:
        self.link_state = LinkState.DOWN

    # -- periodic work ---------------------------------------------------------------------
    def _tick(self) -> None:
        now_m = self.mono()
        now = self.clock()
        self.db.retry()
        if self.db.state is DbState.UP and self.results.buffered:
            self.results.flush_journal()
        self.runtime.refresh()
        self.pacer.new_period()
        self.results.settle(self.trunks.poll())
        if now_m >= self.next_renew and not self.db.down:
            self.next_renew = now_m + max(1.0, self.calls.lease / 3.0)
            self.calls.renew(now, {name for name, _, _, _ in self.trunks.held_tokens()})
        self.calls.check_grace(now, self.link_state.connected)
        if self.link_state is LinkState.SYNCED:
            self.calls.check_refused(now)
        self.pacer.update_windows(now)
        if self.metrics:
            self.pacer.update_counts()
        self._status()

    def _can_dial(self) -> bool:
        return self.link_state is LinkState.SYNCED and not self.db.down and self.run_state is RunState.RUNNING

    # -- end conditions, status ------------------------------------------------------------
    def _should_exit(self) -> bool:
        if self.run_state is not RunState.RUNNING:
            if self.calls and self.mono() >= self.stop_deadline:
                self._give_up_calls()
            return not self.calls
        if self.forever or self.calls or self.results.buffered or self.trunks.held():
            return False
        return all(s.done for s in self.campaigns.active())

    def _give_up_calls(self) -> None:
        """Calls still up when the drain time is over: hung up through AMI when the link is up,
        recorded as -1 and released, so the summary, the table, the metrics and the next start
        tell the same story (codes.final_code applies, as to any -1)."""
        log.warning("drain timeout: hanging up %d live call(s); recorded as -1 (%s)", len(self.calls),
                    STOPPED_DURING_CALL)
        if self.link_state.connected and self.run_state is RunState.DRAINING:
            self.calls.hangup_all()
        self.calls.give_up_all(self.clock(), STOPPED_DURING_CALL)

    def _status(self) -> None:
        live = self.campaigns.live()
        active = self.campaigns.active()
        lines = sum(s.settings.maxlines for s in active)
        if self.run_state is not RunState.RUNNING:
            text = f"stopping: draining {live} live call(s)"
        elif self.db.down:
            text = f"database {self.db.state.value}, {self.results.buffered} result(s) buffered, {live} call(s) live"
        elif self.link_state is LinkState.CONNECTING:
            text = "connecting to Asterisk"
        elif self.link_state is LinkState.DOWN:
            text = f"AMI down, retrying; {live} call(s) live"
        elif self.link_state is LinkState.UP:
            text = "AMI connected, waiting for Asterisk"
        elif self.link_state is LinkState.STOPPING:
            text = f"Asterisk is shutting down; {live} call(s) live"
        else:
            text = f"dialing {live}/{lines} lines in {len(active)} campaign(s)"
        for part in (self.runtime.status(), self.trunks.status()):
            if part:
                text += f"; {part}"
        if self.reload_error:
            text += f"; reload failed: {self.reload_error}"
        if self.metrics:
            self.metrics.set_results_buffered(self.results.buffered)
            for name, state in self.campaigns.items():
                self.metrics.set_calls_live(name, state.live)
        if text != self.last_status:
            self.last_status = text
            log.debug("status: %s", text)
        if self.notifier:
            self.notifier.status(text)
        self.runtime.beat(self.link_state.value, text)

    def _trunk_names(self):
        return sorted({s.settings.trunk for s in self.campaigns.values()})

    def _watchdog(self) -> None:
        # The notifier spaces the pings out; the engine only proves its loop still turns.
        if self.notifier:
            self.notifier.watchdog()

    def _summary(self) -> None:
        parts = ", ".join(f"{codes.code_name(c)} ({c}): {n}" for c, n in sorted(self.stats.by_code.items()))
        back = f", {self.stats.put_back} put back uncounted" if self.stats.put_back else ""
        log.info("dialer finished: %d attempt(s) started, %d finished%s%s", self.stats.started,
                 self.stats.finished, back, f" — {parts}" if parts else "")
