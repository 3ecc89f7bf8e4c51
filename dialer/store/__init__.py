"""Campaign store: one table per campaign on MariaDB/MySQL or SQLite (see docs/store.md).

    st = store.open_store(cfg.general)
"""
from typing import TYPE_CHECKING

from .admin import AdminMixin
from .base import StoreBase
from .claims import ClaimsMixin
from .console import ConsoleMixin
from .control import ControlMixin
from .dialect import for_engine
from .dump import DumpMixin
from .errors import StoreError, StoreNotWritable, StoreUnavailable
from .history import HistoryEntry, HistoryMixin
from .importer import ImportMixin, ImportReport
from .putback import PutBackMixin
from .stats import StatsMixin, format_table
from .statscache import CLAIM_TIMEOUT, StatsCacheMixin
from .zonefill import ZoneFillMixin

if TYPE_CHECKING:
    from ..config import General

__all__ = ["Store", "open_store", "StoreError", "StoreNotWritable", "StoreUnavailable", "ImportReport", "format_table",
           "HistoryEntry", "CLAIM_TIMEOUT"]


class Store(AdminMixin, ImportMixin, DumpMixin, StatsMixin, ClaimsMixin, PutBackMixin, ZoneFillMixin, HistoryMixin,
            ConsoleMixin, StatsCacheMixin, ControlMixin, StoreBase):
    """All store operations over one connection (opened lazily, reopened after a loss)."""

    def drop_campaign(self, name):
        AdminMixin.drop_campaign(self, name)
        if self._promoted:
            self._promoted.pop(name, None)


def open_store(general: "General") -> Store:
    """A Store for cfg.general; nothing is connected until the first operation."""
    st = Store(for_engine(general))
    days = getattr(general, "historydays", None)
    if days is not None:
        st.historydays = int(days)
    return st
