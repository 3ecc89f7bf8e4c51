"""The attempt history: append (inside the caller's transaction), look up, aggregate, purge.

Rows are only ever appended by the writer of a result, in the same transaction as the lead's
update, so the two never disagree; reading never locks anything the engine needs.
"""
import datetime as _dt
import time
from dataclasses import dataclass, fields
from typing import Optional

from .. import codes
from . import schema
from .history_schema import HISTORY_TABLE, INSERT_COLUMNS, history_ddl

TEXT_MAX = 255
# Periods are built from 15-minute slots: every UTC offset in use (and every DST change) is a
# multiple of 15 minutes, so local hours and days are exact unions of slots.
SLOT = 900
DEFAULT_HISTORYDAYS = 400
# Purge: rows per DELETE, each its own short transaction, so no lock is held for long.
PURGE_BATCH = 2000


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
        """The INSERT parameters, in INSERT_COLUMNS order (spelt out: this runs per attempt)."""
        def text(v):
            return ("" if v is None else str(v))[:TEXT_MAX]
        return (self.campaign, int(self.lead_id), self.phone, int(self.attempt), self.instance, self.channelid,
                int(self.originated_at), None if self.answered_at is None else int(self.answered_at),
                int(self.ended_at), int(self.disposition), 1 if self.answered else 0, text(self.reason),
                self.causecode, text(self.cause), int(self.duration or 0), text(self.result), text(self.param),
                self.trunk or "")

    @classmethod
    def from_outcome(cls, campaign, lead_id, outcome):
        """The entry of a result whose writer put the attempt's facts in outcome.extra["history"]
        (they travel with the outcome, through the journal too); None when it did not."""
        h = (outcome.extra or {}).get("history")
        if not h:
            return None
        kw = dict(h)
        if kw.get("disposition") is None:
            kw["disposition"] = outcome.disposition
        return cls(campaign=campaign, lead_id=int(lead_id), answered=bool(outcome.picked_up), reason=outcome.reason,
                   causecode=outcome.extra.get("cause_code"), cause=outcome.cause, duration=outcome.duration,
                   result=outcome.result, **kw)


# row() lists the fields in this order.
assert tuple(f.name for f in fields(HistoryEntry)) == INSERT_COLUMNS, "HistoryEntry and the table disagree"


def attempt_facts(lead, instance, trunk, originated_at, ended_at, disposition=None, answered_at=None,
                  channelid=None):
    """What outcome.extra["history"] holds: the attempt's facts the outcome itself does not carry.
    `disposition` is the code the lead gets (-8 when this retryable attempt was its last; None:
    the outcome's); `originated_at` None: the lead's `datetime` (the claim, i.e. the Originate)."""
    return {"phone": lead.phone, "attempt": int(lead.attempts), "instance": instance,
            "channelid": channelid or lead.channelid, "originated_at": originated_at, "answered_at": answered_at,
            "ended_at": ended_at, "disposition": None if disposition is None else int(disposition),
            "param": lead.param or "", "trunk": trunk or ""}


def _epoch(value, default):
    """A campaign table TIMESTAMP (local time: datetime on MariaDB, text on SQLite) -> epoch."""
    if value is None:
        return default
    if isinstance(value, str):
        value = _dt.datetime.strptime(value[:19], "%Y-%m-%d %H:%M:%S")
    return int(value.timestamp())


class HistoryMixin:
    historydays = DEFAULT_HISTORYDAYS

    def _h(self):
        return self.d.q(HISTORY_TABLE)

    def ensure_history(self):
        """Create the history table when missing (DDL: never inside a write transaction). A
        table that is there is left alone: no DDL, no metadata lock behind a long report."""
        if self.table_exists(HISTORY_TABLE):
            return False
        for stmt in history_ddl(self.d):
            self.execute(stmt)
        self._history_seen = True
        return True

    def record_attempt(self, name, lead_id, owner, outcome, now, *args, **kwargs):
        """record() and, when it took, the attempt's history row (from outcome.extra["history"],
        see attempt_facts), committed together: a late result refused by the fencing adds no
        row, so each attempt has exactly one (the release wrote it otherwise)."""
        with self.write_tx():
            ok = self.record(name, lead_id, owner, outcome, now, *args, **kwargs)
            entry = HistoryEntry.from_outcome(name, lead_id, outcome) if ok else None
            if entry is not None:
                if entry.originated_at is None:     # a call re-adopted or lost across a restart
                    entry.originated_at = _epoch(self.scalar(
                        f"SELECT datetime FROM {self.campaign(name)} WHERE id = ?", (int(lead_id),)), now)
                self.queue_write("history", self.add_history, entry)   # one INSERT per batch
        return ok

    def _history_ready(self):
        if not getattr(self, "_history_seen", False):
            self._history_seen = self.table_exists(HISTORY_TABLE)
        return self._history_seen

    def history_released(self, name, t, ids, reason, max_attempts, still, now_i):
        """History rows of the leads a release is about to give -1 (or -8) to; called in the
        release's transaction with its conditions, the rows locked until it commits. A
        database not upgraded yet (no history table) releases without them."""
        if not ids or not self._history_ready():
            return 0
        rows = self.rows(f"SELECT id, phone, attempts, owner, channelid, datetime, param FROM {t} "
                         f"WHERE state = ? AND {still[0]} AND id IN ({', '.join('?' * len(ids))}){self.d.lock_row}",
                         [schema.ACTIVE] + list(still[1]) + list(ids))
        return self.add_history([HistoryEntry(
            campaign=name, lead_id=int(i), phone=phone, attempt=int(att), instance=owner or "", channelid=cid,
            originated_at=_epoch(when, now_i), answered_at=None, ended_at=now_i,
            disposition=codes.final_code(codes.UNDEFINED, int(att), max_attempts), reason=reason, param=param or "")
            for i, phone, att, owner, cid, when, param in rows])

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
    def purge_history(self, now=None, days=None, max_rows=None, batch=PURGE_BATCH, between=None):
        """Delete the attempts placed more than `days` (default historydays; 0 = keep all) before
        `now`: at most max_rows (None: all), `batch` rows per autocommitted DELETE, calling
        between() after each one (False stops). Returns (rows deleted, True when more are left).

        Rows are deleted in id order, which is write order: the oldest rows sit together at the
        start of the clustered primary key, 3x faster to delete than along the time index (bench/
        RESULTS-history.md), and never near the end where the engine appends. The scan stops at
        the last id of an old row, found first along the (campaign, originated_at) index."""
        days = self.historydays if days is None else int(days)
        if days <= 0:
            return 0, False
        cutoff = int(time.time() if now is None else now) - days * 86400
        h = self._h()
        bound = None
        for name in self.history_campaigns():
            b = self.scalar(f"SELECT MAX(id) FROM {h} WHERE campaign = ? AND originated_at < ?", (name, cutoff))
            if b is not None:
                bound = max(int(b), bound or 0)
        if bound is None:
            return 0, False
        sql = self.d.delete_oldest_sql(h, "id <= ? AND originated_at < ?", "id")
        deleted = 0
        while max_rows is None or deleted < max_rows:
            n = batch if max_rows is None else min(batch, max_rows - deleted)
            got = self.execute(sql, (bound, cutoff, n)).rowcount
            deleted += got
            if got < n:
                return deleted, False
            if between is not None and not between():
                break
        return deleted, True
