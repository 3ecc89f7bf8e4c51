"""Runtime control shared by every node through the database (docs/control.md): the campaign
pauses an operator sets (CLI or web console), read by each engine about once a second, and the
heartbeat each engine writes every few seconds so the console can show every node.

Both run on the engine's thread, through its Database: an outage never un-pauses a campaign
(the last pauses read stay in force) and a missed heartbeat only makes the node look stale."""
import logging
import socket
from typing import Callable, Dict, Tuple

from .. import __version__
from ..store.control import HEARTBEAT_EVERY, describe_pause
from .database import Database
from .state import Campaigns

log = logging.getLogger("dialer.engine")

# At most one read of the pauses per second (one query for every campaign), at least one per
# loop period: a pause takes effect within one iteration at the default loopms.
REFRESH_MIN = 1.0


class Runtime:
    def __init__(self, campaigns: Campaigns, db: Database, trunks, *, owner: str, period: float, metrics=None,
                 clock: Callable[[], float], monotonic: Callable[[], float]):
        self.campaigns = campaigns
        self.db = db
        self.trunks = trunks
        self.owner = owner
        self.period = period
        self.metrics = metrics
        self.clock = clock
        self.mono = monotonic
        self.started = clock()
        self.host = socket.gethostname()
        self.next_read = 0.0
        self.next_beat = 0.0

    # -- pauses ------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Read the pauses when due; an unreadable table keeps the pauses last read."""
        now_m = self.mono()
        if now_m >= self.next_read:
            self.next_read = now_m + max(self.period, REFRESH_MIN)
            paused = self.db.call("paused_campaigns")
            if paused is not None:
                self._apply(paused)
        if self.metrics:
            for name in self.campaigns:
                self.metrics.set_campaign_paused(name, name in self.campaigns.paused)

    def _apply(self, paused: Dict[str, Tuple[str, float]]) -> None:
        old = self.campaigns.paused
        for name in self.campaigns:
            if name in paused and name not in old:
                state = self.campaigns[name]
                log.info("%s: paused by %s; no new calls, %d live call(s) finish", name, paused[name][0], state.live)
            elif name in old and name not in paused:
                log.info("%s: resumed", name)
        old.clear()
        old.update(paused)

    def status(self) -> str:
        """'NAME paused by USER' for the configured campaigns paused, for STATUS."""
        return ", ".join(f"{name} paused by {self.campaigns.paused[name][0]}"
                         for name in sorted(self.campaigns) if name in self.campaigns.paused)

    # -- heartbeat ---------------------------------------------------------------------------
    def beat(self, ami: str, status: str, force: bool = False) -> None:
        """Write this node's heartbeat when due (force: now, e.g. the last one at stop)."""
        now_m = self.mono()
        if now_m < self.next_beat and not force:
            return
        self.next_beat = now_m + HEARTBEAT_EVERY
        self.db.call("write_heartbeat", self.owner, self.info(ami, status))

    def info(self, ami: str, status: str) -> dict:
        active = self.campaigns.active()
        return {"host": self.host, "version": __version__, "started": self.started,
                "campaigns": {name: {"live": s.live, "state": self.campaign_state(name, s)}
                              for name, s in sorted(self.campaigns.items())},
                "lines": sum(s.settings.maxlines for s in active), "live": self.campaigns.live(),
                "ami": ami, "db": self.db.state.value, "status": status}

    def campaign_state(self, name: str, state) -> str:
        if not state.settings.active:
            return "inactive"
        if name in self.campaigns.paused:
            return describe_pause(*self.campaigns.paused[name])
        if state.done:
            return "finished"
        if state.window is False:
            return "window closed"
        if self.trunks.room(state.settings.trunk) == 0:
            return f"trunk {state.settings.trunk} open"
        return "dialling"
