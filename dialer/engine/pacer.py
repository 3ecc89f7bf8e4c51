"""How many calls to start, where and when: lines, caps, trunks, calling windows and lead time
zones; then the claims and the Originates."""
import logging
from typing import Callable

from .. import ami, originate
from ..attempt import Attempt
from ..model import ChannelId, Lead, Outcome
from ..rules import selection as rsel, zones as rzones
from ..trunkguard import TrunkGuard
from .calls import CallTable
from .database import Database
from .results import ResultWriter
from .state import CampaignState, Campaigns, Stats

log = logging.getLogger("dialer.engine")


class Pacer:
    # Originates per pass of the loop: between passes the queued events are handled, so a big
    # maxcaps neither delays hangups nor piles up thousands of parsed events in memory.
    DIAL_CHUNK = 100
    ZONEFILL_BATCH = 2000

    def __init__(self, campaigns: Campaigns, calls: CallTable, results: ResultWriter, db: Database, link, *,
                 owner: str, lease: int, period: float, forever: bool, stats: Stats, trunks: TrunkGuard,
                 metrics=None, clock: Callable[[], float], monotonic: Callable[[], float]):
        self.campaigns = campaigns
        self.calls = calls
        self.results = results
        self.db = db
        self.link = link
        self.owner = owner
        self.lease = lease
        self.period = period
        self.forever = forever
        self.stats = stats
        self.metrics = metrics
        self.trunks = trunks
        self.clock = clock
        self.mono = monotonic
        self.seq = 0
        self.more_to_dial = False  # a campaign had more budget than one pass originates
        self.next_counts = 0.0

    def new_period(self) -> None:
        for state in self.campaigns.values():
            state.sent_in_period = 0

    # -- windows and zones ----------------------------------------------------------------
    def update_windows(self, now: float) -> None:
        for name, state in self.campaigns.items():
            self._refresh_zones(name, state)
            try:
                is_open = bool(rsel.window_open(state.settings, now, state.zones))
            except Exception as exc:
                log.error("%s: calling window: %s", name, exc)
                is_open = False
            if is_open != state.window:
                log.info("%s: calling window %s", name, "open" if is_open else "closed")
                state.window = is_open
                state.idle_until = 0.0
            if self.metrics:
                self.metrics.set_window_open(name, is_open)

    def _refresh_zones(self, name: str, state: CampaignState) -> None:
        """The lead time zones present in a campaign (per-lead calling windows), every minute.
        With leadtimezone = auto, first derive the zones of leads imported without one."""
        if state.settings.leadtimezone in (None, "", "none"):
            state.zones = None
            return
        if self.db.down:
            return
        if state.settings.leadtimezone == "auto" and self.mono() >= state.zonefill_at:
            self._fill_zones(name, state)
        if self.mono() - state.zones_at < 60:
            return
        zones = self.db.call("zones", name)
        if zones is not None:
            state.zones = zones
            state.zones_at = self.mono()

    def _fill_zones(self, name: str, state: CampaignState) -> None:
        todo = self.db.call("leads_without_zone", name, self.ZONEFILL_BATCH)
        if todo is None:
            return
        region = rsel.default_region(state.settings)
        pairs = [(lead_id, rzones.zone_key_for_number(phone, region)) for lead_id, phone in todo]
        if pairs and self.db.call("set_zones", name, pairs) is not None:
            state.zones_at = -1e9        # new zones: re-read the list now
        # A full batch: more to do at the next tick; else look again for new imports later.
        state.zonefill_at = self.mono() + (0 if len(todo) == self.ZONEFILL_BATCH else 30)

    def update_counts(self) -> None:
        """Lead counts for the dashboard; spaced out in proportion to what the query costs."""
        if self.mono() < self.next_counts or self.db.down:
            return
        began = self.mono()
        for name in self.campaigns:
            st = self.db.call("statistics", name)
            if st:
                self.metrics.set_leads(name, st["dialable_now"], st["waiting"] + st["in_progress"], st["final"])
        self.next_counts = self.mono() + max(15.0, 20 * (self.mono() - began))

    # -- dialling ---------------------------------------------------------------------------
    def dial(self, can_dial: Callable[[], bool]) -> None:
        self.more_to_dial = False
        if not can_dial():
            return
        now_m = self.mono()
        for name, state in self.campaigns.items():
            camp = state.settings
            if (not camp.active or not state.window or now_m < state.idle_until or now_m < state.paused_until
                    or name in self.campaigns.paused):
                continue
            free = min(camp.maxlines - state.live, camp.maxcaps - state.sent_in_period, self._trunk_room(camp))
            if free <= 0:
                continue
            if free > self.DIAL_CHUNK:
                free = self.DIAL_CHUNK
                self.more_to_dial = True
            self._dial_campaign(name, state, free, can_dial)
            if not can_dial():
                return

    def _trunk_room(self, camp) -> int:
        """trunkmaxlines, and the trunk's breaker: none while it is open, its probes when half-open."""
        room = self.trunks.room(camp.trunk)
        room = 1 << 30 if room is None else room
        if camp.trunkmaxlines <= 0:
            return room
        used = sum(s.live for s in self.campaigns.values() if s.settings.trunk == camp.trunk)
        return min(room, camp.trunkmaxlines - used)

    def _dial_campaign(self, name: str, state: CampaignState, n: int, can_dial: Callable[[], bool]) -> None:
        now = self.clock()
        sel = rsel.build_selection(state.settings, now, state.zones)
        leads = self.db.call("claim", name, n, self.owner, self.lease, now, sel)
        if leads is None:
            if not self.db.down:
                # Not an outage: the campaign itself is unusable (no table). Look again later;
                # in the foreground it does not hold the run open.
                state.idle_until = self.mono() + 30
                state.done = True
            return
        if len(leads) < n:
            # Nothing more is dialable now: ask again next period, not at every hangup.
            state.idle_until = self.mono() + self.period
        if leads:
            state.done = False
        elif not state.live and not self.forever and self.mono() >= state.done_check_at:
            state.done_check_at = self.mono() + max(1.0, 5 * self.period)
            state.done = self._nothing_left(name, state, now)
        for lead in leads:
            self._originate(name, state, lead, now)
            if not can_dial():
                break

    def _nothing_left(self, name: str, state: CampaignState, now: float) -> bool:
        """Foreground mode: can this campaign never dial again? Leads barred for good (DNC,
        blacklist, filter, attempts) do not count; leads waiting for a retry, for their window,
        for tomorrow (calltoday) or for a number busy elsewhere do."""
        sel = rsel.build_selection(state.settings, now, state.zones)
        sel.zones, sel.not_updated_since, sel.multiplecalls = None, None, True
        if self.db.call("pick", name, 1, now, sel) != []:
            return False
        st = self.db.call("statistics", name, now)
        return st is not None and st["waiting"] == 0 and st["in_progress"] == 0

    def _originate(self, name: str, state: CampaignState, lead: Lead, now: float) -> None:
        camp = state.settings
        cid = lead.channelid or ChannelId.new(name, lead.id, lead.attempts)
        self.seq += 1
        action_id = f"{self.owner}-{self.seq}"
        try:
            headers, variables = originate.build(camp, lead, cid)
        except originate.InvalidLead as exc:
            log.warning("%s: lead %s refused: %s", name, lead.id, exc)
            self.results.record(name, lead, Outcome.invalid_lead(exc), now)
            return
        att = Attempt(campaign=name, lead=lead, channelid=cid, action_id=action_id, started=now,
                      answeredcode=camp.answeredcode)
        self.calls.add(att)
        state.sent_in_period += 1
        self.stats.started += 1
        if self.metrics:
            self.metrics.attempt_started(name)
        try:
            resp = self.link.originate(action_id, headers, variables)
        except ami.HeaderError as exc:
            self.calls.drop(att)
            self.results.record(name, lead, Outcome.invalid_lead(exc), now)
            return
        except Exception as exc:
            # Link trouble: the call may or may not exist; the next resync decides.
            log.warning("%s: originate of lead %s not confirmed: %s", name, lead.id, exc)
            return
        self.trunks.dialled(camp.trunk)
        if (resp.get("Response") or "") != "Success":
            message = resp.get("Message") or "Originate refused"
            log.error("%s: Asterisk refused the Originate of lead %s: %s", name, lead.id, message)
            self.calls.end_call(att, now, lost=f"Originate refused: {message}")
            state.paused_until = self.mono() + 5.0
