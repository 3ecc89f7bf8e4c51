"""Results that could not be written yet, kept in memory and in a small append-only file.

While the database is down the engine keeps dialling nothing new but still finishes live calls;
their results go here and are written, in order, when the database answers again. The file
makes them survive a restart of the dialer itself.
"""
import json
import logging
import os
from dataclasses import asdict

from .model import Outcome

log = logging.getLogger("dialer.journal")


class Journal:
    def __init__(self, path):
        self.path = path
        self.pending = []          # [(campaign, lead_id, outcome, now)]
        if path:
            self._load()

    def _load(self):
        try:
            with open(self.path, encoding="utf-8") as fh:
                for lineno, line in enumerate(fh, 1):
                    try:
                        rec = json.loads(line)
                        self.pending.append((rec["campaign"], int(rec["lead"]), Outcome(**rec["outcome"]),
                                             float(rec["now"])))
                    except (ValueError, KeyError, TypeError) as exc:
                        log.error("%s:%d: unreadable journal entry skipped (%s)", self.path, lineno, exc)
        except FileNotFoundError:
            return
        if self.pending:
            log.warning("%d buffered result(s) found in %s; writing them when the database answers",
                        len(self.pending), self.path)

    def add(self, campaign: str, lead_id: int, outcome: Outcome, now: float) -> None:
        self.pending.append((campaign, lead_id, outcome, now))
        if not self.path:
            return
        rec = {"campaign": campaign, "lead": lead_id, "outcome": asdict(outcome), "now": now}
        os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(rec, default=str) + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def __len__(self):
        return len(self.pending)

    def flush(self, write) -> int:
        """Call write(campaign, lead_id, outcome, now) for each entry in order; stop at the first
        exception (re-raised) keeping what is left. Returns how many were written."""
        done = 0
        try:
            while self.pending:
                write(*self.pending[0])
                self.pending.pop(0)
                done += 1
        finally:
            self._rewrite()
        return done

    def _rewrite(self):
        if not self.path:
            return
        if not self.pending:
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass
            return
        tmp = self.path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            for campaign, lead_id, outcome, now in self.pending:
                fh.write(json.dumps({"campaign": campaign, "lead": lead_id, "outcome": asdict(outcome),
                                     "now": now}, default=str) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)
