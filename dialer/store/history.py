"""The attempt history: append (inside the caller's transaction), look up, aggregate, purge.

Rows are only ever appended by the writer of a result, in the same transaction as the lead's
update, so the two never disagree; reading never locks anything the engine needs.
"""
import time
from dataclasses import astuple, dataclass
from typing import Optional

from . import schema
from .history_schema import HISTORY_TABLE, INSERT_COLUMNS, history_ddl

TEXT_MAX = 255
# Periods are built from 15-minute slots: every UTC offset in use (and every DST change) is a
# multiple of 15 minutes, so local hours and days are exact unions of slots.
SLOT = 900
DEFAULT_HISTORYDAYS = 400
# Purge: rows per DELETE (one short transaction each) and per call of purge_history() by the
# engine, so one call costs tens of milliseconds and never holds locks for long.
PURGE_BATCH = 2000
PURGE_ROWS_PER_CALL = 20000


@dataclass
class HistoryEntry:
    """One finished attempt, as written to dialer_history (times in epoch seconds)."""
    campaign: str
    lead_id: int
    phone: str
    attempt: int
    instance: str
    channelid: Optional[str]
    originated_at: float
    answered_at: Optional[float]
    ended_at: float
    disposition: int
    answered: bool = False
    reason: str = ""
    causecode: Optional[int] = None
    cause: str = ""
    duration: int = 0
    result: str = ""
    param: str = ""
    trunk: str = ""

    def row(self):
        r = list(astuple(self))
        for i, name in enumerate(INSERT_COLUMNS):
            v = r[i]
            if name.endswith("_at") and v is not None:
                r[i] = int(v)
            elif name in ("reason", "cause", "result", "param"):
                r[i] = ("" if v is None else str(v))[:TEXT_MAX]
        r[INSERT_COLUMNS.index("answered")] = 1 if self.answered else 0
        r[INSERT_COLUMNS.index("duration")] = int(self.duration or 0)
        return r


class HistoryMixin:
    historydays = DEFAULT_HISTORYDAYS

    def _h(self):
        return self.d.q(HISTORY_TABLE)

    def ensure_history(self):
        """Create the history table when missing (DDL: never inside a write transaction)."""
        for stmt in history_ddl(self.d):
            self.execute(stmt)

    def add_history(self, entries):
        """Append rows; joins the caller's write_tx() (the lead's result) or runs its own."""
        entries = list(entries)
        if not entries:
            return 0
        cols = ", ".join(self.d.q(c) for c in INSERT_COLUMNS)
        marks = ", ".join("?" * len(INSERT_COLUMNS))
        with self.write_tx():
            self.execute_many(f"INSERT INTO {self._h()} ({cols}) VALUES ({marks})", [e.row() for e in entries])
        return len(entries)

    # -- reading ---------------------------------------------------------------------------
    def history(self, phone, campaign=None):
        """Every attempt to a number (any campaign, or one), oldest first, as dicts."""
        from .admin import _phone_arg
        sql = f"SELECT * FROM {self._h()} WHERE phone = ?"
        params = [_phone_arg(phone)]
        if campaign is not None:
            sql += " AND campaign = ?"
            params.append(schema.check_campaign_name(campaign))
        cur = self.execute(sql + " ORDER BY originated_at, id", params)
        cols = [c[0] for c in cur.description]
        return [dict(zip(cols, r)) for r in cur.fetchall()]

    def history_campaigns(self):
        """The campaigns present in the history, by skipping along the (campaign, ...) index:
        one index probe per campaign, not a pass over the table (SQLite has no loose scan)."""
        return [r[0] for r in self.rows(self.d.distinct_sql(self._h(), "campaign"))]

    def history_slots(self, start, end, campaign=None):
        """[(slot start, disposition, attempts, answered, sum of durations)] of the attempts
        placed in [start, end), by 15-minute slot; one range scan of the covering index per
        campaign (all campaigns when campaign is None)."""
        if campaign is not None:
            names = [schema.check_campaign_name(campaign)]
        else:
            names = self.history_campaigns()
        if not names:
            return []
        nosort = self.d.small_group[1]
        rows = self.rows(
            f"SELECT originated_at - originated_at % {SLOT} AS s, disposition, COUNT(*), SUM(answered), "
            f"SUM(duration) FROM {self._h()} WHERE campaign IN ({', '.join('?' * len(names))}) "
            f"AND originated_at >= ? AND originated_at < ? GROUP BY s, disposition{nosort}",
            names + [int(start), int(end)])
        return [(int(s), int(disp), int(n), int(a or 0), int(dur or 0)) for s, disp, n, a, dur in rows]

    def history_dump(self, out, campaign=None, header=True, convert=None):
        """Stream the history (one campaign or all) as CSV in id order; returns the row count."""
        from .history_schema import COLUMN_NAMES
        sql = f"SELECT {', '.join(self.d.q(c) for c in COLUMN_NAMES)} FROM {self._h()}"
        params = ()
        if campaign is not None:
            sql += " WHERE campaign = ?"
            params = (schema.check_campaign_name(campaign),)
        return self._stream(sql + " ORDER BY id", COLUMN_NAMES, out, header, params=params, convert=convert)

    # -- retention -----------------------------------------------------------------------------
    def purge_history(self, now=None, days=None, max_rows=PURGE_ROWS_PER_CALL, batch=PURGE_BATCH):
        """Delete attempts placed more than `days` (default historydays; 0 = keep all) before
        `now`, at most max_rows (None: all), PURGE_BATCH rows per autocommitted DELETE.
        Returns (rows deleted, True when more are left)."""
        days = self.historydays if days is None else int(days)
        if days <= 0:
            return 0, False
        cutoff = int(time.time() if now is None else now) - days * 86400
        sql = self.d.delete_oldest_sql(self._h(), "campaign = ? AND originated_at < ?", "originated_at")
        deleted = 0
        for name in self.history_campaigns():
            while max_rows is None or deleted < max_rows:
                n = batch if max_rows is None else min(batch, max_rows - deleted)
                # Along the (campaign, originated_at) index: each DELETE locks only the oldest
                # rows of one campaign, never the recent end where attempts are appended.
                got = self.execute(sql, (name, cutoff, n)).rowcount
                deleted += got
                if got < n:
                    break
            if max_rows is not None and deleted >= max_rows:
                return deleted, True
        return deleted, False
