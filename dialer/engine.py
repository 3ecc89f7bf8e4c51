"""The dialing engine: one thread owns all call state and the database connection.

The AMI reader thread only parses and enqueues; signal handlers only enqueue. The loop waits on
the queue until the next iteration is due, so a freed line is refilled as soon as its Hangup is
processed, with `maxcaps` acting as a rate cap per iteration period (gunicorn arbiter style).
"""
import logging
import queue
import time
from dataclasses import dataclass, field
from typing import Optional

from . import ami, codes, originate
from .attempt import Attempt
from .history_purge import HistoryPurger
from .journal import Journal
from .model import Outcome
from .store.history import attempt_facts

log = logging.getLogger("dialer.engine")

# How long to wait for the missing half of an attempt's events before deciding anyway.
GRACE_NO_RESPONSE = 3.0      # Hangup(s) in, OriginateResponse missing
GRACE_FAILED_CHANNELS = 10.0  # failed OriginateResponse, channels not all hung up
ORIGINATE_SLACK = 60.0       # beyond the ring Timeout with no OriginateResponse at all


@dataclass
class Control:
    """Items the engine's own process puts on the queue (signals, test hooks)."""
    kind: str            # 'stop' | 'reload' | 'hang'
    arg: object = None


@dataclass
class CampaignState:
    settings: object
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
    by_code: dict = field(default_factory=dict)


class Engine:
    def __init__(self, cfg, *, store_factory, link, events, metrics=None, notifier=None,
                 forever=False, clock=time.time, monotonic=time.monotonic,
                 reload_config=None):
        self.cfg = cfg
        self.store_factory = store_factory
        self.store = None
        self.link = link
        self.events = events
        self.metrics = metrics
        self.notifier = notifier
        self.forever = forever
        self.clock = clock
        self.mono = monotonic
        self.reload_config = reload_config
        g = cfg.general
        self.owner = str(g.instance)
        self.period = max(0.01, g.loopms / 1000.0)
        self.lease = int(g.leaseseconds)
        self.journal = Journal(_journal_path(g))
        self.calls = {}            # channelid -> Attempt
        self.by_action = {}        # ActionID -> channelid
        self.campaigns = {}
        self.stats = Stats()
        self.ami_up = False
        self.ami_synced = False
        self.db_down = False
        self.db_retry_at = 0.0
        self.stopping = False
        self.stop_deadline = None
        self.hard_stop = False
        self.hung = False          # test hook: a hung engine stops its watchdog pings
        self.seq = 0
        self.next_tick = 0.0
        self.next_renew = 0.0
        self.next_watchdog = 0.0
        self.next_counts = 0.0
        self.ami_tried = False     # STATUS says "connecting" until the first login outcome
        self.reload_error = None
        self.store_errors = {}     # message -> when last logged (once a minute each)
        self.more_to_dial = False  # a campaign had more budget than one pass originates
        self.results = []          # finished attempts not written yet (see _write_results)
        self.last_status = None
        self.calllog = None
        self._apply_campaigns(cfg)

    # -- configuration -------------------------------------------------------
    def _apply_campaigns(self, cfg):
        old = self.campaigns
        self.campaigns = {}
        for name, camp in cfg.campaigns.items():
            state = old.get(name) or CampaignState(settings=camp)
            state.settings = camp
            state.done = False
            state.idle_until = 0.0
            state.zones_at = -1e9
            state.zonefill_at = 0.0
            self.campaigns[name] = state
            if self.metrics:
                self.metrics.add_campaign(name, camp.maxlines)
        for name in set(old) - set(self.campaigns):
            if old[name].live:
                # Live calls of a removed campaign still finish and are recorded.
                self.campaigns[name] = old[name]
                old[name].settings.active = False
            elif self.metrics:
                self.metrics.remove_campaign(name)
        self.cfg = cfg

    def reload(self):
        if self.notifier:
            self.notifier.reloading()
        try:
            new = self.reload_config()
        except Exception as exc:  # a bad reload keeps the old config (brief: Standards)
            log.error("reload failed, keeping the previous configuration: %s", exc)
            self.reload_error = str(exc)
            if self.metrics:
                self.metrics.config_reloaded(False)
        else:
            self._apply_campaigns(new)
            self.reload_error = None
            log.info("configuration reloaded: %d campaign(s)", len(self.campaigns))
            if self.metrics:
                self.metrics.config_reloaded(True)
        if self.notifier:
            self.notifier.ready()

    # -- store access (one place that knows about outages) --------------------
    def _db(self, fn, *args, **kwargs):
        """Run a store call; on an outage mark the database down; None when it failed."""
        from .store import StoreError, StoreUnavailable
        if self.db_down:
            return None
        try:
            return fn(*args, **kwargs)
        except StoreUnavailable as exc:
            self._db_lost(exc)
        except StoreError as exc:
            # e.g. a campaign table dropped or never created: that campaign waits, the rest dial.
            self._store_error(str(exc))
        return None

    def _store_error(self, text):
        now = self.mono()
        if self.store_errors.get(text, -1e9) + 60 <= now:
            log.error("%s", text)
            self.store_errors[text] = now

    def _db_lost(self, exc):
        if not self.db_down:
            log.error("database unavailable: %s; no new calls until it answers, results are buffered", exc)
        self.db_down = True
        self.db_retry_at = self.mono() + 1.0
        if self.metrics:
            self.metrics.database_error()
            self.metrics.set_database_connected(False)
        try:
            self.store.close()
        except Exception:
            pass

    def _db_retry(self):
        from .store import StoreUnavailable
        if not self.db_down or self.mono() < self.db_retry_at:
            return
        try:
            self.store = self.store_factory()
            self.store.ping()
            self.store.ensure_history()
        except StoreUnavailable as exc:
            self.db_retry_at = self.mono() + 2.0
            log.debug("database still unavailable: %s", exc)
            return
        self.db_down = False
        log.info("database is back")
        if self.metrics:
            self.metrics.set_database_connected(True)
        self._flush_journal()

    def _flush_journal(self):
        from .store import StoreUnavailable
        if not len(self.journal):
            return
        try:
            n = self.journal.flush(self._write_result)
        except StoreUnavailable as exc:
            self._db_lost(exc)
            return
        log.info("wrote %d buffered result(s)", n)

    def _write_result(self, campaign, lead_id, outcome, now):
        from .store import StoreError
        camp = self._settings(campaign)
        try:
            self.store.record_attempt(campaign, lead_id, self.owner, outcome, now, camp.attemptsdelay, camp.attempts)
        except StoreError as exc:    # kept in the journal it would block every later result
            log.error("%s: buffered result of lead %s dropped: %s", campaign, lead_id, exc)

    def _settings(self, campaign):
        state = self.campaigns.get(campaign)
        return state.settings if state else self.cfg.campaign(campaign)

    # -- lifecycle -------------------------------------------------------------
    def start(self):
        from .store import StoreUnavailable
        try:
            self.store = self.store_factory()
            self.store.ping()
            self.store.ensure_history()   # a database older than the history table
        except StoreUnavailable as exc:
            self._db_lost(exc)
        else:
            self._flush_journal()
        self.purger = HistoryPurger(self.store_factory, getattr(self.cfg.general, "historydays", 0))
        self.purger.start()
        if self.cfg.general.log and self.cfg.general.calllog:
            try:
                self.calllog = open(self.cfg.general.calllog, "a", encoding="utf-8", buffering=1)
            except OSError as exc:
                log.error("cannot open call log %s: %s", self.cfg.general.calllog, exc)
        self.link.start()
        now = self.mono()
        self.next_tick = now

    def close(self):
        try:
            self.link.stop()
            if getattr(self, "purger", None):
                self.purger.stop()
        finally:
            if self.store:
                try:
                    self.store.close()
                except Exception:
                    pass
            if self.calllog:
                self.calllog.close()

    def run(self) -> int:
        """Run until done (foreground) or stopped. Returns the exit status."""
        self.start()
        try:
            while True:
                self._wait_and_handle()
                began = self.mono()
                if began >= self.next_tick:
                    self.next_tick = began + self.period
                    self._tick()
                self._write_results()
                self._dial()
                self._write_results()
                self._watchdog()
                if self.metrics:
                    self.metrics.observe_iteration(self.mono() - began)
                if self._finished():
                    break
        finally:
            try:
                self._write_results()
            finally:
                self.close()
        self._summary()
        return 0

    def _wait_and_handle(self):
        timeout = 0.0 if self.more_to_dial else max(0.0, min(self.next_tick - self.mono(), 0.5))
        try:
            item = self.events.get(timeout=timeout)
        except queue.Empty:
            return
        self._handle(item)
        # Drain what is already there before dialling: results first, then new calls.
        for _ in range(5000):
            try:
                item = self.events.get_nowait()
            except queue.Empty:
                break
            self._handle(item)

    # -- events -------------------------------------------------------------------
    def _handle(self, item):
        if isinstance(item, ami.Message):
            self._on_message(item)
        elif isinstance(item, Control):
            self._on_control(item)
        elif isinstance(item, ami.Connected):
            self._on_connected()
        elif isinstance(item, ami.Disconnected):
            self._on_disconnected(item)
        elif isinstance(item, ami.Shutdown):
            log.warning("Asterisk is shutting down; no new calls until it is back")
            self.ami_synced = False
        elif isinstance(item, ami.AuthFailed):
            self.ami_tried = True
            self.ami_up = False
            self.ami_synced = False

    def _on_control(self, item):
        if item.kind == "stop":
            self._request_stop()
        elif item.kind == "reload":
            self.reload()
        elif item.kind == "hang":
            self.hung = True

    def _request_stop(self):
        if not self.stopping:
            drain = float(self.cfg.general.drainseconds)
            log.info("stopping: no new calls; waiting up to %ss for %d live call(s)", drain, len(self.calls))
            self.stopping = True
            self.stop_deadline = self.mono() + drain
            if self.notifier:
                self.notifier.stopping()
                if self.calls:
                    self.notifier.extend_timeout(drain + 10)
        elif not self.hard_stop:
            log.warning("second stop request: hanging up %d live call(s)", len(self.calls))
            self.hard_stop = True
            self.stop_deadline = self.mono() + 5.0
            for att in list(self.calls.values()):
                for chan in att.channels - set(att.hungup):
                    self._hangup(chan)

    def _hangup(self, chan):
        try:
            self.link.hangup(chan)
        except Exception as exc:    # gone already, or the link is down: the drain deadline ends it
            log.debug("hangup %s: %s", chan, exc)

    def _attempt_for(self, msg):
        if msg.name == "OriginateResponse":
            cid = self.by_action.get(msg.get("ActionID") or "")
            if cid:
                return self.calls.get(cid)
        for key in ("Linkedid", "Uniqueid"):
            value = msg.get(key)
            if value:
                att = self.calls.get(value)
                if att is None and value.endswith("-o"):
                    att = self.calls.get(value[:-2])
                if att is not None:
                    return att
        return None

    def _on_message(self, msg):
        att = self._attempt_for(msg)
        if att is None:
            return
        now = self.clock()
        att.on_event(msg, now)
        if self.hard_stop and msg.name == "Newchannel":
            # Created after the hang-up order went out: hang it up as well.
            self._hangup(msg.get("Channel") or "")
        if msg.name == "OriginateResponse":
            self.by_action.pop(att.action_id, None)
        if att.complete():
            self._finish(att, now)

    def _on_connected(self):
        self.ami_up = True
        self.ami_tried = True
        if self.metrics:
            self.metrics.set_ami_connected(True)
        try:
            channels = self.link.core_show_channels()
        except Exception as exc:
            log.error("CoreShowChannels failed after login (%s); will retry on the next connection", exc)
            return
        self._resync(channels)
        self.ami_synced = True
        log.info("AMI connected; %d live channel(s), %d call(s) tracked", len(channels), len(self.calls))

    def _on_disconnected(self, item):
        self.ami_tried = True
        if self.ami_up:
            log.warning("AMI connection lost (%s); no new calls until it is back", getattr(item, "reason", ""))
        self.ami_up = False
        self.ami_synced = False
        if self.metrics:
            self.metrics.set_ami_connected(False)

    def _resync(self, channels):
        """Rebuild in-flight state from the PBX's live channels (our ChannelIds are Uniqueids)."""
        live = {}
        for ch in channels:
            for key in ("Uniqueid", "Linkedid"):
                uid = ch.get(key) or ""
                if uid.endswith("-o"):
                    uid = uid[:-2]
                if uid:
                    live.setdefault(uid, []).append(ch)
        now = self.clock()
        for cid, att in list(self.calls.items()):
            if cid in live:
                if att.response is None:
                    # Its OriginateResponse went to the old session and is lost: finish it on
                    # its Hangup, with the answer state Asterisk reports now.
                    self._take_over(att, live[cid], now)
                continue
            # Gone while we were not listening: decide on what we saw, else "unknown".
            self._finish(att, now, lost="Call ended while the AMI link was down")
        self._write_results()
        self._flush_journal()
        if self.db_down:
            return
        buffered = {(c, lead_id) for c, lead_id, _, _ in self.journal.pending}
        for name, state in self.campaigns.items():
            held = self._db(self.store.held, name, self.owner) or []
            for lead in held:
                cid = lead.channelid or originate.channel_id(name, lead.id, lead.attempts)
                if cid in self.calls or (name, lead.id) in buffered:
                    continue
                lead.channelid = cid
                if cid in live:
                    self._adopt(name, lead, live[cid], now)
                else:
                    self._record(name, lead.id, Outcome(codes.UNDEFINED, reason="Lost: dialer restarted, call not live"),
                                 now, lead=lead)
            # Leads of crashed instances whose lease ran out, not live here.
            n = self._db(self.store.repair, name, None, set(live), now)
            if n:
                log.warning("%s: released %d lead(s) left in progress by a crashed dialer", name, n)

    @staticmethod
    def _take_over(att, chans, now):
        att.adopted = True
        for ch in chans:
            name = ch.get("Channel") or ""
            att.channels.add(name)
            up = (ch.get("ChannelStateDesc") or "") == "Up" or (ch.get("ChannelState") or "") == "6"
            # A Local channel's ;1 half is Up at once; only the far end's answer counts.
            far = not name.startswith("Local/") or name.endswith(";2")
            if up and far and att.answered_at is None:
                att.answered_at = now

    def _adopt(self, campaign, lead, chans, now):
        state = self.campaigns[campaign]
        att = Attempt(campaign=campaign, lead=lead, channelid=lead.channelid, action_id="",
                      started=now, answeredcode=_answeredcode(state.settings))
        self._take_over(att, chans, now)
        self.calls[lead.channelid] = att
        state.live += 1
        log.info("%s: re-adopted live call of lead %s (%s)", campaign, lead.id, lead.channelid)

    # -- periodic work -------------------------------------------------------------
    def _tick(self):
        now_m = self.mono()
        now = self.clock()
        self._db_retry()
        if not self.db_down and len(self.journal):
            self._flush_journal()
        for state in self.campaigns.values():
            state.sent_in_period = 0
        if now_m >= self.next_renew and not self.db_down:
            self.next_renew = now_m + max(1.0, self.lease / 3.0)
            for name, state in self.campaigns.items():
                if state.live:
                    self._db(self.store.renew, name, self.owner, now + self.lease)
        self._check_grace(now)
        self._update_windows(now)
        if self.metrics and now_m >= self.next_counts and not self.db_down:
            self._update_counts()
        self._status()

    def _update_counts(self):
        """Lead counts for the dashboard; spaced out in proportion to what the query costs."""
        began = self.mono()
        for name, state in self.campaigns.items():
            st = self._db(self.store.statistics, name)
            if st:
                self.metrics.set_leads(name, st["dialable_now"], st["waiting"] + st["in_progress"], st["final"])
        self.next_counts = self.mono() + max(15.0, 20 * (self.mono() - began))

    def _check_grace(self, now):
        for att in list(self.calls.values()):
            age = now - att.started
            if att.response is None:
                if att.adopted:
                    continue
                if att.hungup and att.all_hungup() and now - (att.ended_at or now) > GRACE_NO_RESPONSE:
                    self._finish(att, now)
                elif not att.channels and age > self._settings(att.campaign).timeout / 1000.0 + ORIGINATE_SLACK:
                    if self.ami_up:
                        self._finish(att, now, lost="No OriginateResponse")
            elif att.response != "Success" and now - att.response_at > GRACE_FAILED_CHANNELS:
                self._finish(att, now)

    def _update_windows(self, now):
        from .rules import selection as rsel
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

    # -- dialling ---------------------------------------------------------------------
    def _can_dial(self):
        return (self.ami_up and self.ami_synced and not self.db_down and not self.stopping
                and not self.hung)

    # Originates per pass of the loop: between passes the queued events are handled, so a big
    # maxcaps neither delays hangups nor piles up thousands of parsed events in memory.
    DIAL_CHUNK = 100

    def _dial(self):
        self.more_to_dial = False
        if not self._can_dial():
            return
        now_m = self.mono()
        for name, state in self.campaigns.items():
            camp = state.settings
            if not camp.active or not state.window or now_m < state.idle_until or now_m < state.paused_until:
                continue
            free = min(camp.maxlines - state.live, camp.maxcaps - state.sent_in_period, self._trunk_room(camp))
            if free <= 0:
                continue
            if free > self.DIAL_CHUNK:
                free = self.DIAL_CHUNK
                self.more_to_dial = True
            self._dial_campaign(name, state, free)
            if not self._can_dial():
                return

    def _trunk_room(self, camp):
        cap = int(getattr(camp, "trunkmaxlines", 0) or 0)
        if cap <= 0:
            return 1 << 30
        used = sum(s.live for s in self.campaigns.values() if s.settings.trunk == camp.trunk)
        return cap - used

    def _refresh_zones(self, name, state):
        """The lead time zones present in a campaign (per-lead calling windows), every minute.
        With leadtimezone = auto, first derive the zones of leads imported without one."""
        if getattr(state.settings, "leadtimezone", None) in (None, "", "none"):
            state.zones = None
            return
        if self.db_down:
            return
        if state.settings.leadtimezone == "auto" and self.mono() >= state.zonefill_at:
            self._fill_zones(name, state)
        if self.mono() - state.zones_at < 60:
            return
        zones = self._db(self.store.zones, name)
        if zones is not None:
            state.zones = zones
            state.zones_at = self.mono()

    ZONEFILL_BATCH = 2000

    def _fill_zones(self, name, state):
        from .rules import selection as rsel, zones as rzones
        todo = self._db(self.store.leads_without_zone, name, self.ZONEFILL_BATCH)
        if todo is None:
            return
        region = rsel.default_region(state.settings)
        pairs = [(lead_id, rzones.zone_key_for_number(phone, region)) for lead_id, phone in todo]
        if pairs and self._db(self.store.set_zones, name, pairs) is not None:
            state.zones_at = -1e9        # new zones: re-read the list now
        # A full batch: more to do at the next tick; else look again for new imports later.
        state.zonefill_at = self.mono() + (0 if len(todo) == self.ZONEFILL_BATCH else 30)

    def _selection(self, name, state, now):
        from .rules import selection as rsel
        return rsel.build_selection(state.settings, now, state.zones)

    def _dial_campaign(self, name, state, n):
        now = self.clock()
        sel = self._selection(name, state, now)
        leads = self._db(self.store.claim, name, n, self.owner, self.lease, now, sel)
        if leads is None:
            if not self.db_down:
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
            if not self._can_dial():
                break

    def _nothing_left(self, name, state, now):
        """Foreground mode: can this campaign never dial again? Leads barred for good (DNC,
        blacklist, filter, attempts) do not count; leads waiting for a retry, for their window,
        for tomorrow (calltoday) or for a number busy elsewhere do."""
        from .rules import selection as rsel
        sel = rsel.build_selection(state.settings, now, state.zones)
        sel.zones, sel.not_updated_since, sel.multiplecalls = None, None, True
        if self._db(self.store.pick, name, 1, now, sel) != []:
            return False
        st = self._db(self.store.statistics, name, now)
        return st is not None and st["waiting"] == 0 and st["in_progress"] == 0

    def _originate(self, name, state, lead, now):
        camp = state.settings
        cid = lead.channelid or originate.channel_id(name, lead.id, lead.attempts)
        self.seq += 1
        action_id = f"{self.owner}-{self.seq}"
        try:
            headers, variables = originate.build(camp, lead, cid)
        except originate.InvalidLead as exc:
            log.warning("%s: lead %s refused: %s", name, lead.id, exc)
            self._record(name, lead.id, Outcome(9, reason=f"Invalid lead: {exc}"), now, lead=lead)
            return
        att = Attempt(campaign=name, lead=lead, channelid=cid, action_id=action_id, started=now,
                      answeredcode=_answeredcode(camp))
        self.calls[cid] = att
        self.by_action[action_id] = cid
        state.live += 1
        state.sent_in_period += 1
        self.stats.started += 1
        if self.metrics:
            self.metrics.attempt_started(name)
        try:
            resp = self.link.originate(action_id, headers, variables)
        except ami.HeaderError as exc:
            self._drop(att)
            self._record(name, lead.id, Outcome(9, reason=f"Invalid lead: {exc}"), now, lead=lead)
            return
        except Exception as exc:
            # Link trouble: the call may or may not exist; the next resync decides.
            log.warning("%s: originate of lead %s not confirmed: %s", name, lead.id, exc)
            return
        if (resp.get("Response") or "") != "Success":
            message = resp.get("Message") or "Originate refused"
            log.error("%s: Asterisk refused the Originate of lead %s: %s", name, lead.id, message)
            self._finish(att, now, lost=f"Originate refused: {message}")
            state.paused_until = self.mono() + 5.0

    def _drop(self, att):
        if self.calls.pop(att.channelid, None) is not None:
            self.by_action.pop(att.action_id, None)
            state = self.campaigns.get(att.campaign)
            if state:
                state.live -= 1

    def _finish(self, att, now, lost=""):
        if att.channelid not in self.calls:
            return
        self._drop(att)
        outcome = att.outcome(now, lost=lost)
        self._record(att.campaign, att.lead.id, outcome, now, lead=att.lead, att=att)

    def _record(self, name, lead_id, outcome, now, lead=None, att=None):
        camp = self._settings(name)
        final_code = outcome.disposition
        if codes.is_retryable(final_code) and lead is not None and lead.attempts >= camp.attempts:
            final_code = codes.BURNED
        if lead is not None:
            # Its history row travels with the result (journal included); an attempt re-adopted
            # after a restart, or without a call, takes its originate time from the lead row.
            outcome.extra["history"] = attempt_facts(
                lead, self.owner, camp.trunk, att.started if att and not att.adopted else None,
                (att.ended_at if att else None) or now, final_code, att.answered_at if att else None)
        self.stats.finished += 1
        self.stats.by_code[final_code] = self.stats.by_code.get(final_code, 0) + 1
        klass = outcome.extra.get("class", codes.CLASS_FAILED)
        if self.metrics:
            self.metrics.attempt_finished(name, final_code, klass, outcome.extra.get("answer_delay"),
                                          outcome.duration if outcome.picked_up else None)
        self._calllog(name, lead, lead_id, final_code, outcome)
        self.results.append((name, lead_id, outcome, now))

    def _write_results(self):
        """Write the results gathered since the last call, in one transaction (one commit per
        batch, not per call). An outage keeps them all in the journal; a campaign-level error
        (a dropped table) falls back to one transaction each, so it costs only its own."""
        from .store import StoreError, StoreUnavailable
        if not self.results:
            return
        batch, self.results = self.results, []
        if self.db_down:
            for item in batch:
                self.journal.add(*item)
            return
        try:
            with self.store.write_tx():
                written = [self._write_one(*item) for item in batch]
        except StoreUnavailable as exc:
            self._db_lost(exc)
            for item in batch:
                self.journal.add(*item)
            return
        except StoreError:
            written = []
            for item in batch:
                try:
                    written.append(self._write_one(*item))
                except StoreError as exc:
                    log.error("%s: result of lead %s not written: %s", item[0], item[1], exc)
                    written.append(True)
                except StoreUnavailable as exc:
                    self._db_lost(exc)
                    self.journal.add(*item)
                    written.append(True)
        for (name, lead_id, _, _), ok in zip(batch, written):
            if not ok:
                log.warning("%s: result of lead %s not written: this dialer no longer holds it "
                            "(its lease expired and it was released)", name, lead_id)

    def _write_one(self, name, lead_id, outcome, now):
        camp = self._settings(name)
        return self.store.record_attempt(name, lead_id, self.owner, outcome, now, camp.attemptsdelay, camp.attempts)

    def _calllog(self, name, lead, lead_id, code, outcome):
        line = (f"campaign={name} lead={lead_id} phone={lead.phone if lead else ''} "
                f"attempt={lead.attempts if lead else ''} code={code} reason=\"{outcome.reason}\" "
                f"cause=\"{outcome.cause}\" duration={outcome.duration}")
        log.debug("finished %s", line)
        if self.calllog:
            self.calllog.write(time.strftime("%Y-%m-%d %H:%M:%S ") + line + "\n")

    # -- end conditions, status ------------------------------------------------------------
    def _finished(self):
        if self.stopping:
            if not self.calls:
                return True
            if self.mono() >= self.stop_deadline:
                if not self.hard_stop:
                    log.warning("drain timeout: %d call(s) still live; they stay claimed and are "
                                "re-adopted at the next start", len(self.calls))
                return True
            return False
        if self.forever or self.calls or len(self.journal):
            return False
        active = [s for s in self.campaigns.values() if s.settings.active]
        return all(s.done for s in active)

    def _status(self):
        live = sum(s.live for s in self.campaigns.values())
        lines = sum(s.settings.maxlines for s in self.campaigns.values() if s.settings.active)
        active = sum(1 for s in self.campaigns.values() if s.settings.active)
        if self.stopping:
            text = f"stopping: draining {live} live call(s)"
        elif self.db_down:
            text = f"database down, {len(self.journal)} result(s) buffered, {live} call(s) live"
        elif not self.ami_tried:
            text = "connecting to Asterisk"
        elif not self.ami_up:
            text = f"AMI down, retrying; {live} call(s) live"
        elif not self.ami_synced:
            text = "AMI connected, waiting for Asterisk"
        else:
            text = f"dialing {live}/{lines} lines in {active} campaign(s)"
        if self.reload_error:
            text += f"; reload failed: {self.reload_error}"
        if self.metrics:
            self.metrics.set_results_buffered(len(self.journal))
            for name, state in self.campaigns.items():
                self.metrics.set_calls_live(name, state.live)
        if text != self.last_status:
            self.last_status = text
            log.debug("status: %s", text)
        if self.notifier:
            self.notifier.status(text)

    def _watchdog(self):
        if self.hung or not self.notifier:
            return
        interval = self.notifier.watchdog_interval()
        if interval and self.mono() >= self.next_watchdog:
            self.notifier.watchdog()
            self.next_watchdog = self.mono() + interval

    def _summary(self):
        parts = ", ".join(f"{codes.code_name(c)} ({c}): {n}" for c, n in sorted(self.stats.by_code.items()))
        log.info("dialer finished: %d attempt(s) started, %d finished%s", self.stats.started,
                 self.stats.finished, f" — {parts}" if parts else "")


def _answeredcode(camp):
    value = getattr(camp, "answeredcode", None)
    return codes.SALE if value is None else int(value)


def _journal_path(general):
    statedir = getattr(general, "statedir", None)
    if not statedir:
        return None
    import os
    return os.path.join(str(statedir), f"journal-{general.instance}.jsonl")
