"""The engine's states and the data its parts share: link, database and run state as enums
(what `_status` used to decode from seven flags), the campaigns being dialled, the counters."""
import enum
from dataclasses import dataclass, field, replace
from typing import Dict, Optional, Tuple


class LinkState(enum.Enum):
    CONNECTING = "connecting"   # no login outcome yet
    DOWN = "down"               # lost, refused or never reached; the link retries
    UP = "up"                   # logged in, live calls not resynchronised
    SYNCED = "synced"           # logged in and resynchronised: calls may be originated
    STOPPING = "stopping"       # Asterisk is shutting down (SoftHangupRequest Cause 4, Shutdown)

    @property
    def connected(self) -> bool:
        return self in (LinkState.UP, LinkState.SYNCED, LinkState.STOPPING)


class DbState(enum.Enum):
    UP = "up"
    DOWN = "down"               # results go to the journal; no claims
    NOT_WRITABLE = "not writable"   # the same, until a write goes through (a permission problem)


class RunState(enum.Enum):
    RUNNING = "running"
    DRAINING = "draining"       # stop requested: no new calls, live calls may finish
    HANGING_UP = "hanging up"   # second stop request: live calls are hung up


@dataclass
class Control:
    """Items the engine's own process puts on the queue (signals)."""
    kind: str            # 'stop' | 'reload'


@dataclass
class CampaignState:
    settings: object             # config.Campaign
    live: int = 0
    sent_in_period: int = 0
    idle_until: float = 0.0      # monotonic: no claim before (nothing was dialable)
    paused_until: float = 0.0    # monotonic: after an AMI error on this campaign
    window: Optional[bool] = None
    zones: Optional[list] = None
    zones_at: float = -1e9
    zonefill_at: float = 0.0
    done: bool = False           # foreground mode: nothing left to dial, ever
    done_check_at: float = 0.0


@dataclass
class Stats:
    started: int = 0
    finished: int = 0
    put_back: int = 0            # claims undone, attempt not counted (ChannelId in use, shutdown)
    by_code: Dict[int, int] = field(default_factory=dict)


class Campaigns(dict):
    """name -> CampaignState of the campaigns dialled, shared by the engine's parts. One object
    for the engine's life: a reload updates it in place."""

    def __init__(self, cfg, metrics=None):
        super().__init__()
        self.cfg = cfg
        self.metrics = metrics
        # name -> (user, since) of the campaigns an operator paused (engine/runtime.py), any
        # campaign in the database's table, configured here or not
        self.paused: Dict[str, Tuple[str, float]] = {}
        self.apply(cfg)

    def apply(self, cfg) -> None:
        old = dict(self)
        self.clear()
        for name, camp in cfg.campaigns.items():
            state = old.get(name) or CampaignState(settings=camp)
            state.settings = camp
            state.done = False
            state.idle_until = 0.0
            state.zones_at = -1e9
            state.zonefill_at = 0.0
            self[name] = state
            if self.metrics:
                self.metrics.add_campaign(name, camp.maxlines)
        for name in set(old) - set(self):
            if old[name].live:
                # Live calls of a removed campaign still finish and are recorded; it dials no
                # more (config.Campaign is frozen: a changed copy).
                self[name] = old[name]
                old[name].settings = replace(old[name].settings, active=False)
            elif self.metrics:
                self.metrics.remove_campaign(name)
        self.cfg = cfg

    def settings(self, name: str):
        """The config.Campaign of `name`, also for a campaign no longer in the configuration."""
        state = self.get(name)
        return state.settings if state else self.cfg.campaign(name)

    def active(self):
        return [s for s in self.values() if s.settings.active]

    def live(self) -> int:
        return sum(s.live for s in self.values())
