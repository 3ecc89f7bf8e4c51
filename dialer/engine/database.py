"""The engine's database connection: the one place that knows about outages.

Two ways to lose it: an outage (StoreUnavailable: down, refused, locked) and a database this
user may not write (StoreNotWritable: waiting does not fix it, the one-line message says what
does). Both stop the claims and send the results to the journal; only the message differs,
said once. "database is back" only after a write went through (Store.probe_write), so a
database that answers reads but refuses writes is never reported back."""
import logging
from typing import Callable, Optional

from ..store import StoreError, StoreNotWritable, StoreUnavailable
from .state import DbState

log = logging.getLogger("dialer.engine")


class Database:
    def __init__(self, store_factory: Callable, *, metrics=None, monotonic: Callable[[], float]):
        self.factory = store_factory
        self.store = None
        self.state = DbState.UP
        self.metrics = metrics
        self.mono = monotonic
        self.retry_at = 0.0
        self.errors = {}            # message -> when last logged (once a minute each)

    @property
    def down(self) -> bool:
        """No claims, results to the journal: an outage or a database we may not write."""
        return self.state is not DbState.UP

    def open(self) -> bool:
        """Connect at start; False (and DOWN) when the database does not answer."""
        try:
            self.store = self.factory()
            self.store.ping()
            self.store.ensure_history()     # a database made before the history table
            self.store.ensure_control()
        except (StoreUnavailable, StoreNotWritable) as exc:
            self.lost(exc)
            return False
        return True

    def call(self, method: str, *args, **kwargs):
        """Run a store method; on an outage mark the database down; None when it failed."""
        if self.down:
            return None
        try:
            return getattr(self.store, method)(*args, **kwargs)
        except (StoreUnavailable, StoreNotWritable) as exc:
            self.lost(exc)
        except StoreError as exc:
            # e.g. a campaign table dropped or never created: that campaign waits, the rest dial.
            self.error(str(exc))
        return None

    def error(self, text: str) -> None:
        now = self.mono()
        if self.errors.get(text, -1e9) + 60 <= now:
            log.error("%s", text)
            self.errors[text] = now

    def lost(self, exc: Exception) -> None:
        if isinstance(exc, StoreNotWritable):
            if self.state is not DbState.NOT_WRITABLE:
                log.error("%s", exc)
            self.state = DbState.NOT_WRITABLE
        else:
            if not self.down:
                log.error("database unavailable: %s; no new calls until it answers, results are buffered", exc)
            self.state = DbState.DOWN
        self.retry_at = self.mono() + 1.0
        if self.metrics:
            self.metrics.database_error()
            self.metrics.set_database_connected(False)
        self._close()

    def retry(self) -> bool:
        """While down, reconnect when due; True when the database just came back."""
        if not self.down or self.mono() < self.retry_at:
            return False
        try:
            self.store = self.factory()
            self.store.probe_write()
            self.store.ensure_history()
            self.store.ensure_control()
        except StoreError as exc:
            self.retry_at = self.mono() + 2.0
            self._close()
            if isinstance(exc, StoreNotWritable) and self.state is DbState.DOWN:
                self.lost(exc)      # the outage is over, the permission problem is not: say so
            elif isinstance(exc, (StoreUnavailable, StoreNotWritable)):
                log.debug("database still %s: %s", self.state.value, exc)
            else:
                self.error(str(exc))
            return False
        self.state = DbState.UP
        log.info("database is back")
        if self.metrics:
            self.metrics.set_database_connected(True)
        return True

    def close(self) -> None:
        self._close()

    def _close(self) -> None:
        store, self.store = self.store, None
        if store is not None:
            try:
                store.close()
            except Exception:
                pass


def journal_path(general) -> Optional[str]:
    import os
    if not general.statedir:
        return None
    return os.path.join(str(general.statedir), f"journal-{general.instance}.jsonl")
