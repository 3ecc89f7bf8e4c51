"""The engine's side of the store: claim, record, renew, held, repair.

A claim moves leads READY -> ACTIVE with the instance id (`owner`) and a lease; record()
moves them on (READY/WAITING to retry, FINAL otherwise) only if the caller still owns them
(fencing: a lead released by repair() cannot be overwritten by a late result).
"""
import math
import secrets
import string
import time
from functools import partial
from typing import Iterable, List, Optional, Tuple

from .. import codes
from ..model import ChannelId, Lead, Outcome, Selection, channel_id
from . import schema
from .base import sqltime
from .errors import StoreError

TEXT_MAX = 255
LEAD_COLS = "id, phone, param, attempts, pickups, disposition, timezone, channelid, outcomes"


def _lead(r):
    return Lead(id=int(r[0]), phone=r[1], param=r[2] or "", attempts=int(r[3]), pickups=int(r[4]),
                disposition=int(r[5]), timezone=r[6] or "", channelid=ChannelId(r[7]) if r[7] else None,
                outcomes=r[8] or "")


def _text(v):
    v = "" if v is None else str(v)
    return v[:TEXT_MAX]


def _in(ids):
    return f"({', '.join('?' * len(ids))})"


def _next_state(code: int, delay: int, now_i: int) -> Tuple[int, int]:
    """(state, nextcall) of a lead released with `code`: a retryable code waits attemptsdelay."""
    if not codes.is_retryable(code):
        return schema.FINAL, now_i + delay
    return (schema.WAITING if delay else schema.READY), now_i + delay


class ClaimsMixin:
    _promoted = None
    _installation = None

    def installation(self) -> str:
        """This database's installation id: 6 random characters made once, in every ChannelId,
        so dialers on separate databases sharing one Asterisk never use the same ids."""
        if self._installation is None:
            q = self.d.q(schema.META_TABLE)
            self.execute(schema.meta_ddl(self.d))   # a database made before the table existed
            with self.write_tx():
                self.execute(f"{self.d.insert_ignore} INTO {q} (name, value) VALUES ('installation', ?)",
                             ("".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(6)),))
            self._installation = self.scalar(f"SELECT value FROM {q} WHERE name = 'installation'")
        return self._installation

    def claim(self, name: str, n: int, owner: str, lease_s: float, now: float, sel: Selection) -> List[Lead]:
        """Atomically take up to n dialable leads for `owner` until now + lease_s."""
        t = self.campaign(name)
        n = int(n)
        if n <= 0 or (sel.zones is not None and not list(sel.zones)):
            return []
        self._promote(name, t, int(now), sel.attempts)
        d = self.d
        sql, params = self._pick_sql(t, n, now, sel)
        sql += d.skip_locked
        until, now_i = int(now + lease_s), int(now)
        installation = self.installation()      # not in the transaction: it may create a table
        with self.write_tx():
            if d.lock_row:
                # A claim that checks dialer_inflight (multiplecalls=false) runs alone, so its
                # check and its registration are one atomic step; the others only register, and
                # may run together (shared lock) but never during such a check.
                mode = d.share_row if sel.multiplecalls else d.lock_row
                self.rows(f"SELECT name FROM {d.q(schema.LOCK_TABLE)} WHERE name = 'claim'{mode}")
            leads = [_lead(r) for r in self.rows(sql, params)]
            if not sel.multiplecalls:
                uniq, phones = [], set()
                for lead in leads:
                    if lead.phone not in phones:
                        phones.add(lead.phone)
                        uniq.append(lead)
                leads = uniq
            if not leads:
                return []
            ids, cids = [], []
            for lead in leads:
                lead.attempts += 1      # the rows are locked: attempts + 1 below is the same number
                lead.channelid = channel_id(name, lead.id, lead.attempts, installation, now)
                ids.append(lead.id)
                cids += (lead.id, lead.channelid)
            # Each attempt's ChannelId in the claim's one UPDATE (a CASE on the id): no round trip
            # per lead, no commit per attempt before its Originate.
            self.execute(f"UPDATE {t} SET state = ?, owner = ?, lease = ?, nextcall = ?, attempts = attempts + 1, "
                         f"datetime = ?, channelid = CASE id{' WHEN ? THEN ?' * len(leads)} END"
                         f"{d.set_lastupdated} WHERE id IN {_in(ids)}",
                         [schema.ACTIVE, owner, until, until, sqltime(now)] + cids + ids)
            self.execute_many(f"REPLACE INTO {d.q(schema.INFLIGHT_TABLE)} (campaign, lead_id, phone, owner, since) "
                              "VALUES (?, ?, ?, ?, ?)", [(name, lead.id, lead.phone, owner, now_i) for lead in leads])
        return leads

    def pick(self, name, n, now, sel):
        """The next n dialable leads in claim order, without claiming them (explain, benchmarks)."""
        t = self.campaign(name)
        if sel.zones is not None and not list(sel.zones):
            return []
        self._promote(name, t, int(now), sel.attempts)
        sql, params = self._pick_sql(t, int(n), now, sel)
        return [_lead(r) for r in self.rows(sql, params)]

    def _pick_sql(self, t, n, now, sel):
        order = schema.ORDERS.get(sel.orderby)
        if order is None:
            raise StoreError(f"orderby {sel.orderby!r}: expected one of {', '.join(schema.ORDERS)}")
        d = self.d
        where = ["state = ?", "attempts < ?"]
        params = [schema.READY, int(sel.attempts)]
        if sel.not_updated_since is not None:
            where.append("(datetime IS NULL OR datetime < ?)")
            params.append(sqltime(sel.not_updated_since))
        if sel.blacklist and str(sel.blacklist).lower() != "none":
            bt = self._list_cached(sel.blacklist)
            where.append(f"NOT EXISTS (SELECT 1 FROM {bt} b WHERE b.phone = {t}.phone)")
        if sel.usednc:
            where.append(f"NOT EXISTS (SELECT 1 FROM {d.q(schema.DNC_TABLE)} dn WHERE dn.phone = {t}.phone)")
        if not sel.multiplecalls:
            where.append(f"NOT EXISTS (SELECT 1 FROM {d.q(schema.INFLIGHT_TABLE)} f WHERE f.phone = {t}.phone)")
        if sel.where:
            frag, fparams = sel.where
            where.append(f"({frag})")
            params.extend(fparams)
        if sel.zones is not None:
            zones = list(sel.zones)
            where.append(f"timezone IN {_in(zones)}")
            params.extend(zones)
        sql = (f"SELECT {LEAD_COLS} FROM {t} WHERE {' AND '.join(where)} "
               f"ORDER BY {', '.join(order)} LIMIT ? OFFSET ?")
        return sql, params + [n, max(0, int(sel.skip or 0))]

    def _list_cached(self, table):
        cache = self.__dict__.setdefault("_lists", {})
        if table not in cache:
            cache[table] = self.list_table(table)
        return cache[table]

    def _promote(self, name, t, now_i, max_attempts):
        """WAITING leads whose time has come become READY; expired leases are released.

        Once per second per campaign is enough: both are cheap index range scans, but a
        claim can run many times a second.
        """
        if self._promoted is None:
            self._promoted = {}
        if self._promoted.get(name) == now_i:
            return
        self._promoted[name] = now_i
        self.execute(f"UPDATE {t} SET state = ? WHERE state = ? AND nextcall <= ?",
                     (schema.READY, schema.WAITING, now_i))
        expired = [int(r[0]) for r in self.rows(f"SELECT id FROM {t} WHERE state = ? AND nextcall < ?",
                                                 (schema.ACTIVE, now_i))]
        if expired:
            self._release(name, t, expired, "Released: lease expired (dialer instance gone)",
                          max_attempts, 0, now_i, ("nextcall < ?", [now_i]))

    def _release(self, name: str, t: str, ids: List[int], reason: str, max_attempts: int,
                 attemptsdelay: int, now_i: int, still: Tuple[str, list]) -> int:
        """Give leads an undefined outcome (-1): the attempt counts, and codes.final_code decides
        whether the lead may be called again.

        `still` (sql, params) re-checks why they were chosen, so a lead recorded and claimed
        again by a live instance since then is left alone.
        """
        max_attempts = int(max_attempts)
        delay = max(0, int(attemptsdelay or 0))
        released = 0
        with self.write_tx():
            for i in range(0, len(ids), 500):
                part = ids[i:i + 500]
                self.history_released(name, t, part, reason, max_attempts, still, now_i)   # same rows, same tx
                by_code = {}
                for lead_id, attempts in self.rows(
                        f"SELECT id, attempts FROM {t} WHERE state = ? AND id IN {_in(part)}",
                        [schema.ACTIVE] + part):
                    code = codes.final_code(codes.UNDEFINED, int(attempts), max_attempts)
                    by_code.setdefault(code, []).append(int(lead_id))
                for code, group in by_code.items():
                    state, nextcall = _next_state(code, delay, now_i)
                    released += self.execute(
                        f"UPDATE {t} SET disposition = ?, state = ?, reason = ?, nextcall = ?, "
                        f"owner = NULL, lease = NULL, channelid = NULL{self.d.set_lastupdated} "
                        f"WHERE state = ? AND {still[0]} AND id IN {_in(group)}",
                        [code, state, reason, nextcall, schema.ACTIVE] + list(still[1]) + group).rowcount
                # Only the registrations of leads that really left ACTIVE (see `still`).
                self.execute(f"DELETE FROM {self.d.q(schema.INFLIGHT_TABLE)} WHERE campaign = ? "
                             f"AND lead_id IN {_in(part)} AND lead_id NOT IN "
                             f"(SELECT id FROM {t} WHERE state = ? AND id IN {_in(part)})",
                             [name] + part + [schema.ACTIVE] + part)
        return released

    def record(self, name: str, lead_id: int, owner: str, outcome: Outcome, now: float,
               attemptsdelay: int) -> bool:
        """Write an attempt's result as given (its disposition already went through
        rules.retry.decide) and release the claim; False if `owner` no longer holds it."""
        t = self.campaign(name)
        code = int(outcome.disposition)
        state, nextcall = _next_state(code, max(0, int(attemptsdelay or 0)), math.ceil(now))
        lead_id = int(lead_id)
        with self.write_tx():
            ok = self.execute(
                f"UPDATE {t} SET disposition = ?, state = ?, reason = ?, cause = ?, "
                f"duration = ?, result = ?, pickups = pickups + ?, nextcall = ?, owner = NULL, lease = NULL, "
                f"channelid = NULL, outcomes = COALESCE(?, outcomes){self.d.set_lastupdated} "
                f"WHERE id = ? AND owner = ? AND state = ?",
                [code, state, _text(outcome.reason), _text(outcome.cause), int(outcome.duration or 0),
                 _text(outcome.result), 1 if outcome.picked_up else 0, nextcall, outcome.outcomes,
                 lead_id, owner, schema.ACTIVE]).rowcount == 1
            # One DELETE for the batch of results this transaction commits, not one per result.
            self.queue_write(("inflight", name, owner), partial(self._forget_inflight, name, owner), lead_id)
            if ok and code == codes.DO_NOT_CALL:
                self.execute(f"{self.d.insert_ignore} INTO {self.d.q(schema.DNC_TABLE)} (phone) "
                             f"SELECT phone FROM {t} WHERE id = ?", (lead_id,))
        return ok

    def _forget_inflight(self, name, owner, ids):
        """Drop the dialer_inflight registrations of `owner`'s leads `ids` (results written)."""
        for i in range(0, len(ids), 500):
            part = ids[i:i + 500]
            self.execute(f"DELETE FROM {self.d.q(schema.INFLIGHT_TABLE)} WHERE campaign = ? AND owner = ? "
                         f"AND lead_id IN {_in(part)}", [name, owner] + part)

    def renew(self, name: str, owner: str, until: float) -> int:
        """Extend the lease of every lead `owner` holds in a campaign; returns how many."""
        t = self.campaign(name)
        return self.execute(f"UPDATE {t} SET lease = ?, nextcall = ? WHERE state = ? AND owner = ?",
                            (int(until), int(until), schema.ACTIVE, owner)).rowcount

    def held(self, name: str, owner: str) -> List[Lead]:
        t = self.campaign(name)
        return [_lead(r) for r in self.rows(
            f"SELECT {LEAD_COLS} FROM {t} WHERE state = ? AND owner = ? ORDER BY id", (schema.ACTIVE, owner))]

    def repair(self, name: str, owner: Optional[str] = None, live_channelids: Iterable[str] = (),
               now: Optional[float] = None, force: bool = False, *, max_attempts: int,
               attemptsdelay: int) -> int:
        """Release leads left in progress by a dead instance; returns how many.

        Which: those of `owner` (given), else those whose lease expired (or all with force),
        minus the ones whose channel is still live in Asterisk (`live_channelids`).
        """
        t = self.campaign(name)
        now_i = int(time.time() if now is None else now)
        if owner is not None:
            cond, p = "owner = ?", [owner]
        elif force:
            cond, p = "1 = 1", []
        else:
            cond, p = "nextcall < ?", [now_i]
        live = set(live_channelids or ())
        ids = [int(r[0]) for r in self.rows(f"SELECT id, channelid FROM {t} WHERE state = ? AND {cond}",
                                            [schema.ACTIVE] + p) if r[1] is None or r[1] not in live]
        if not ids:
            return 0
        return self._release(name, t, ids, "Released: the dialer stopped during the call", max_attempts,
                             attemptsdelay, now_i, (cond, p))
