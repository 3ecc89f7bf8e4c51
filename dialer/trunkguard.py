"""The engine's side of trunk health: breakers (trunkhealth.py) plus what operators see.

The engine asks `room(trunk)` before claiming leads, tells `dialled(trunk)` after each
Originate, hands every finished attempt to `finished()` and calls `poll()` every iteration;
each of those returns the results to settle now, as (token, counted) pairs: counted ones are
recorded as usual, the others put back without counting the attempt. This module logs one
line per state change (and one at the first failure of a streak), updates the metrics and
the state file `statistics`/`explain` read (trunkstate.py), and words the STATUS= part.
"""
import logging
import random
from typing import Callable, List, Optional, Tuple

from . import trunkhealth as th, trunkstate

log = logging.getLogger("dialer.trunks")

NOT_COUNTED = "trunk failure: not counted"


class TrunkGuard:
    def __init__(self, general, *, clock: Callable[[], float], metrics=None,
                 rng: Callable[[], float] = random.random):
        self.metrics = metrics
        self.clock = clock
        self.statedir = getattr(general, "statedir", None)
        self.instance = str(getattr(general, "instance", "dialer"))
        self.health = th.TrunkHealth(th.Settings.from_general(general), clock, rng)
        trunkstate.clear(self.statedir, self.instance)    # a state left by a crash is not ours

    # -- configuration ----------------------------------------------------------------------
    def configure(self, general, trunks=()) -> List[Tuple[object, bool]]:
        """A (re)load: new settings, and every trunk of the campaigns known to the metrics."""
        for trunk in trunks:
            self.health.breaker(trunk)
            if self.metrics:
                self.metrics.add_trunk(trunk)
        return self._apply(self.health.configure(th.Settings.from_general(general)))

    # -- pacing ------------------------------------------------------------------------------
    def room(self, trunk: str) -> Optional[int]:
        """New calls this trunk allows now; None = no limit from its breaker."""
        return self.health.allow(trunk)

    def dialled(self, trunk: str, n: int = 1) -> None:
        self.health.dialled(trunk, n)

    # -- results -----------------------------------------------------------------------------
    def finished(self, trunk: str, kind: str, token, detail: str = "") -> List[Tuple[object, bool]]:
        if kind in th.FAILURE_KINDS and self.metrics:
            self.metrics.trunk_failure(trunk, kind)
        verdict = self.health.observe(trunk, kind, token, detail)
        if verdict.first_failure:
            b = self.health.breaker(trunk)
            log.warning("trunk %s: a call failed on the trunk side (%s); its result waits: %d such failures "
                        "in a row stop calls on this trunk", trunk, b.last_failure, b.settings.failures)
        return self._apply(verdict, trunk)

    def poll(self) -> List[Tuple[object, bool]]:
        return self._apply(self.health.poll())

    def _apply(self, verdict, trunk=None):
        for change in verdict.changes:
            (log.info if change.new == th.CLOSED else log.warning)("%s", change.message())
            if self.metrics:
                self.metrics.set_trunk_state(change.trunk, change.new)
        if verdict.changes:
            self.save()
        # Only a result of this trunk can open it or fail a probe: poll() and a reload never uncount.
        uncounted = sum(1 for _, counted in verdict.decisions if not counted)
        if uncounted and self.metrics and trunk is not None:
            self.metrics.trunk_uncounted(trunk, uncounted)
        return verdict.decisions

    # -- what operators see ----------------------------------------------------------------------
    def held(self) -> int:
        """Results waiting for their trunk's streak to be decided."""
        return self.health.held()

    def held_tokens(self) -> list:
        return [t for b in self.health.breakers.values() for t, _ in b.pending]

    def release_held(self, counted: bool) -> List[Tuple[object, bool]]:
        """Every held result, settled now (the engine stops)."""
        out = []
        for b in self.health.breakers.values():
            out += [(t, counted) for t, _ in b.pending]
            b.pending.clear()
        return out

    def status(self) -> str:
        """'' when every trunk is closed, else the part of STATUS= that names the others."""
        return "; ".join(b.describe() for b in self.health.not_closed())

    def save(self) -> None:
        try:
            trunkstate.save(self.statedir, self.instance, self.health.breakers.values(), self.clock())
        except OSError as exc:
            log.error("cannot write the trunk state for statistics/explain in %s: %s", self.statedir, exc)

    def close(self) -> None:
        trunkstate.clear(self.statedir, self.instance)
