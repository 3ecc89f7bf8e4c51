"""The history retention purge of a running dialer: a background thread with its own store
connection, so a purge never delays the engine's loop (a 2,000-row DELETE takes 0.1-0.5 s on
a 10-million-row MariaDB table, see bench/RESULTS-history.md) and shares none of its state.

Each DELETE is its own short transaction on old rows only, so the engine's appends never wait
for it on MariaDB; on SQLite they wait for one batch at most (a few milliseconds).
"""
import logging
import threading
import time

log = logging.getLogger("dialer.history")

INTERVAL = 600.0      # seconds between two purges (a day's worth of rows goes in one pass)
PAUSE = 0.05          # between two DELETEs: lets the engine's writes in on SQLite


class HistoryPurger:
    def __init__(self, store_factory, days, interval=INTERVAL, clock=time.time):
        self.store_factory = store_factory
        self.days = int(days or 0)
        self.interval = interval
        self.clock = clock
        self.stopped = threading.Event()
        self.thread = None

    def start(self):
        if self.days > 0:
            self.thread = threading.Thread(target=self._run, name="history-purge", daemon=True)
            self.thread.start()

    def stop(self):
        self.stopped.set()
        if self.thread is not None:
            self.thread.join(timeout=5)

    def _run(self):
        while not self.stopped.is_set():
            self.run_once()
            self.stopped.wait(self.interval)

    def run_once(self):
        """Purge to the end (or until stopped); a database error waits for the next round."""
        from .store import StoreError
        st = None
        try:
            st = self.store_factory()
            n, _ = st.purge_history(self.clock(), days=self.days, between=lambda: not self.stopped.wait(PAUSE))
            if n:
                log.info("history: %d attempt(s) older than %d days purged", n, self.days)
        except StoreError as exc:
            log.warning("history purge skipped until the next round: %s", exc)
        finally:
            if st is not None:
                st.close()
