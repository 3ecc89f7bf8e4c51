"""Finished attempts: the return code a lead keeps, the counters, the call log, and the writes
(batched per wake-up; journaled while the database is down)."""
import logging
import time
from typing import List, Optional, Set, Tuple

from .. import codes, trunkhealth
from ..journal import Journal
from ..model import Lead, Outcome
from ..rules import retry
from ..store import StoreError, StoreNotWritable, StoreUnavailable
from ..store.history import attempt_facts
from ..trunkguard import NOT_COUNTED, TrunkGuard
from .database import Database
from .state import Campaigns, Stats

log = logging.getLogger("dialer.engine")

Result = Tuple[str, int, Outcome, float]     # campaign, lead id, outcome, when


class ResultWriter:
    def __init__(self, db: Database, journal: Journal, campaigns: Campaigns, *, owner: str, stats: Stats,
                 trunks: TrunkGuard, metrics=None):
        self.db = db
        self.journal = journal
        self.campaigns = campaigns
        self.owner = owner
        self.stats = stats
        self.metrics = metrics
        self.trunks = trunks
        self._policies = {}                 # campaign -> (its settings, their retry.Policy)
        self.pending: List[Result] = []     # recorded, not written yet (see write())
        self.calllog = None

    # -- the call log ---------------------------------------------------------------
    def open_calllog(self, general) -> None:
        if general.log and general.calllog:
            try:
                self.calllog = open(general.calllog, "a", encoding="utf-8", buffering=1)
            except OSError as exc:
                log.error("cannot open call log %s: %s", general.calllog, exc)

    def close(self) -> None:
        if self.calllog:
            self.calllog.close()

    def _calllog(self, name: str, lead: Lead, code: int, outcome: Outcome) -> None:
        line = (f"campaign={name} lead={lead.id} phone={lead.phone} "
                f"attempt={lead.attempts} code={code} reason=\"{outcome.reason}\" "
                f"cause=\"{outcome.cause}\" duration={outcome.duration}")
        log.debug("finished %s", line)
        if self.calllog:
            self.calllog.write(time.strftime("%Y-%m-%d %H:%M:%S ") + line + "\n")

    # -- recording ----------------------------------------------------------------------
    def policy(self, name: str) -> retry.Policy:
        settings = self.campaigns.settings(name)
        cached = self._policies.get(name)
        if cached is None or cached[0] is not settings:
            cached = self._policies[name] = (settings, retry.policy(settings))
        return cached[1]

    def finish(self, att, outcome: Outcome, now: float, lost: str = "") -> None:
        """A finished call: its trunk's breaker decides whether its result is recorded now, held
        while a failure streak is undecided, or put back without counting (trunkguard.py)."""
        camp = self.campaigns.settings(att.campaign)
        detail = f"{camp.dialformat}: {outcome.reason}" + (f", {outcome.cause}" if outcome.cause else "")
        facts = self._facts(att.campaign, att.lead, now, att)
        outcome = outcome.but(extra={**outcome.extra, "history": facts})
        self.settle(self.trunks.finished(camp.trunk, trunkhealth.classify_attempt(att, lost),
                                         (att.campaign, att.lead, outcome, now), detail))

    def settle(self, decisions) -> None:
        for (name, lead, outcome, now), counted in decisions:
            if counted:
                self.record(name, lead, outcome, now)
            else:
                self._put_back(name, lead, outcome, now)

    def record(self, name: str, lead: Lead, outcome: Outcome, now: float) -> None:
        """The attempt's result, with the code its lead keeps (rules.retry.decide), counted now
        and written at the next write(), with its history row (see _facts)."""
        counts, same = retry.count_outcome(lead.outcomes, outcome.disposition)
        final, _ = retry.decide(self.policy(name), outcome.disposition, lead.attempts, same, now)
        extra = outcome.extra if "history" in outcome.extra else {**outcome.extra,
                                                                 "history": self._facts(name, lead, now)}
        outcome = outcome.but(disposition=final, outcomes=counts, extra=extra)
        self.stats.by_code[final] = self.stats.by_code.get(final, 0) + 1
        self._finished(name, lead, final, outcome)
        self.pending.append((name, lead.id, outcome, now))

    def _facts(self, name: str, lead: Lead, now: float, att=None) -> dict:
        """The attempt's history facts, carried in outcome.extra["history"] to the write (through
        the journal too). Without a call of ours (re-adopted after a restart, lost, invalid,
        given up) the originate time is the lead row's `datetime`, read when it is written.
        A put-back attempt (not counted) writes no row: the next claim reuses its number."""
        return attempt_facts(lead, self.owner, self.campaigns.settings(name).trunk,
                             att.started if att and not att.adopted else None,
                             (att.ended_at if att else None) or now, None, att.answered_at if att else None)

    def _put_back(self, name: str, lead: Lead, outcome: Outcome, now: float) -> None:
        """A trunk failure: the lead goes back as it was, the attempt not counted."""
        self._finished(name, lead, outcome.disposition, outcome.but(reason=NOT_COUNTED))
        self.pending.append((name, lead.id, outcome.but(reason=NOT_COUNTED,
                                                      extra=dict(outcome.extra, not_counted=True)), now))

    def put_back(self, name: str, lead: Lead, reason: str, now: float) -> None:
        """A claim undone at the next write(), its attempt not counted (store.put_back): the call
        never started, and not by the lead's fault (a ChannelId in use, Asterisk shutting
        down). Not a finished attempt: only the `put_back` counter."""
        self.stats.put_back += 1
        log.info("%s: lead %s put back, attempt not counted: %s", name, lead.id, reason)
        self.pending.append((name, lead.id, Outcome(lead.disposition, reason=reason, extra={"not_counted": True}), now))

    def _finished(self, name: str, lead: Lead, code: int, outcome: Outcome) -> None:
        self.stats.finished += 1
        klass = outcome.extra.get("class", codes.CLASS_FAILED)
        if self.metrics:
            self.metrics.attempt_finished(name, code, klass, outcome.extra.get("answer_delay"),
                                          outcome.duration if outcome.picked_up else None)
        self._calllog(name, lead, code, outcome)

    @property
    def buffered(self) -> int:
        """Results waiting in the journal for the database."""
        return len(self.journal)

    def buffered_leads(self) -> Set[Tuple[str, int]]:
        """Leads whose result is not written: in the journal, or held by a trunk's breaker."""
        return ({(c, lead_id) for c, lead_id, _, _ in self.journal.pending}
                | {(c, lead.id) for c, lead, _, _ in self.trunks.held_tokens()})

    # -- writing --------------------------------------------------------------------------
    def write(self) -> None:
        """Write the results gathered since the last call, in one transaction (one commit per
        batch, not per call). An outage keeps them all in the journal; a campaign-level error
        (a dropped table) falls back to one transaction each, so it costs only its own."""
        if not self.pending:
            return
        batch, self.pending = self.pending, []
        if self.db.down:
            for item in batch:
                self.journal.add(*item)
            return
        try:
            with self.db.store.write_tx():
                written = [self._record_one(*item) for item in batch]
        except (StoreUnavailable, StoreNotWritable) as exc:
            self.db.lost(exc)
            for item in batch:
                self.journal.add(*item)
            return
        except StoreError:
            written = []
            for item in batch:
                try:
                    written.append(self._write_alone(*item))
                except (StoreUnavailable, StoreNotWritable) as exc:
                    self.db.lost(exc)
                    self.journal.add(*item)
                    written.append(True)
        for (name, lead_id, _, _), ok in zip(batch, written):
            if not ok:
                log.warning("%s: result of lead %s not written: this dialer no longer holds it "
                            "(its lease expired and it was released)", name, lead_id)

    def flush_journal(self) -> Optional[int]:
        """Write the buffered results, in order; how many, or None when the database went away."""
        if not len(self.journal):
            return 0
        if self.db.down:
            return None
        try:
            n = self.journal.flush(self._write_alone)
        except (StoreUnavailable, StoreNotWritable) as exc:
            self.db.lost(exc)
            return None
        log.info("wrote %d buffered result(s)", n)
        return n

    def _record_one(self, name: str, lead_id: int, outcome: Outcome, now: float) -> bool:
        if outcome.extra.get("not_counted"):
            return self.db.store.put_back(name, self.owner, [lead_id], outcome.reason, now) == 1
        return self.db.store.record_attempt(name, lead_id, self.owner, outcome, now,
                                            self.policy(name).delay(outcome.disposition))

    def _write_alone(self, name: str, lead_id: int, outcome: Outcome, now: float) -> bool:
        """One result in its own transaction; a campaign-level error drops it (kept, it would
        block every later result). StoreUnavailable and StoreNotWritable go to the caller."""
        try:
            return self._record_one(name, lead_id, outcome, now)
        except (StoreUnavailable, StoreNotWritable):
            raise
        except StoreError as exc:
            log.error("%s: result of lead %s not written: %s", name, lead_id, exc)
            return True
