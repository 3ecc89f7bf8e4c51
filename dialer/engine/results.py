"""Finished attempts: the return code a lead keeps, the counters, the call log, and the writes
(batched per wake-up; journaled while the database is down)."""
import logging
import time
from dataclasses import replace
from typing import List, Optional, Set, Tuple

from .. import codes
from ..journal import Journal
from ..model import Lead, Outcome
from ..store import StoreError, StoreUnavailable
from ..store.history import attempt_facts
from .database import Database
from .state import Campaigns, Stats

log = logging.getLogger("dialer.engine")

Result = Tuple[str, int, Outcome, float]     # campaign, lead id, outcome, when


class ResultWriter:
    def __init__(self, db: Database, journal: Journal, campaigns: Campaigns, *, owner: str, stats: Stats,
                 metrics=None):
        self.db = db
        self.journal = journal
        self.campaigns = campaigns
        self.owner = owner
        self.stats = stats
        self.metrics = metrics
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
    def record(self, name: str, lead: Lead, outcome: Outcome, now: float, att=None) -> None:
        """The attempt's result, with the code its lead keeps (codes.final_code), counted now
        and written at the next write(), together with its history row: the attempt's facts
        travel in outcome.extra["history"] (through the journal too). Without a call of ours
        (re-adopted after a restart, lost, invalid) the originate time is the lead row's."""
        camp = self.campaigns.settings(name)
        final = codes.final_code(outcome.disposition, lead.attempts, camp.attempts)
        facts = attempt_facts(lead, self.owner, camp.trunk, att.started if att and not att.adopted else None,
                              (att.ended_at if att else None) or now, final, att.answered_at if att else None)
        outcome = replace(outcome, disposition=final, extra={**outcome.extra, "history": facts})
        self.stats.finished += 1
        self.stats.by_code[final] = self.stats.by_code.get(final, 0) + 1
        klass = outcome.extra.get("class", codes.CLASS_FAILED)
        if self.metrics:
            self.metrics.attempt_finished(name, final, klass, outcome.extra.get("answer_delay"),
                                          outcome.duration if outcome.picked_up else None)
        self._calllog(name, lead, final, outcome)
        self.pending.append((name, lead.id, outcome, now))

    @property
    def buffered(self) -> int:
        """Results waiting in the journal for the database."""
        return len(self.journal)

    def buffered_leads(self) -> Set[Tuple[str, int]]:
        return {(c, lead_id) for c, lead_id, _, _ in self.journal.pending}

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
        except StoreUnavailable as exc:
            self.db.lost(exc)
            for item in batch:
                self.journal.add(*item)
            return
        except StoreError:
            written = []
            for item in batch:
                try:
                    written.append(self._write_alone(*item))
                except StoreUnavailable as exc:
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
        try:
            n = self.journal.flush(self._write_alone)
        except StoreUnavailable as exc:
            self.db.lost(exc)
            return None
        log.info("wrote %d buffered result(s)", n)
        return n

    def _record_one(self, name: str, lead_id: int, outcome: Outcome, now: float) -> bool:
        return self.db.store.record_attempt(name, lead_id, self.owner, outcome, now,
                                            self.campaigns.settings(name).attemptsdelay)

    def _write_alone(self, name: str, lead_id: int, outcome: Outcome, now: float) -> bool:
        """One result in its own transaction; a campaign-level error drops it (kept, it would
        block every later result). StoreUnavailable goes to the caller."""
        try:
            return self._record_one(name, lead_id, outcome, now)
        except StoreError as exc:
            log.error("%s: result of lead %s not written: %s", name, lead_id, exc)
            return True
