"""Calling windows end to end: the real `dialer --service` on a simulated clock
(tests.harness.dialer_at) against a real dialer-pbxsim, on SQLite and MariaDB.

What a compliance officer asks: was anybody called outside their window? Every call in
pbxsim's record, and every claim in the campaign table, is checked against an oracle written
here by hand (zoneinfo for the local time, the window as minute ranges), not through
dialer.rules. pbxsim stamps real time: it is mapped onto the engine's clock through the
table's `datetime` column (the engine clock at claim time), see SimRun.
"""
import collections
import datetime as dt
import time
from zoneinfo import ZoneInfo

import pytest

from dialer.model import campaign_key

pytestmark = pytest.mark.slow

UTC = dt.timezone.utc
# Every call is rejected busy at once: a retryable code, so leads are dialled again and
# again while their window is open (attemptsdelay, in simulated seconds, paces them).
BUSY = {"seed": 5, "default": {"outcome": "busy", "ring": 0.01}}
GENERAL = "loopms=100\nleaseseconds=100000000\n"


def epoch(text, zone="UTC"):
    """'2026-03-08 09:00' in `zone` -> epoch seconds."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone)).timestamp()


def hm(text):
    h, _, m = text.partition(":")
    return int(h) * 60 + int(m or 0)


class Oracle:
    """A window as [start, end) minute ranges of the local day, minus pause ranges."""

    def __init__(self, ranges, pauses=()):
        self.ranges = [(hm(a), hm(b)) for a, b in ranges]
        self.pauses = [(hm(a), hm(b)) for a, b in pauses]

    def open(self, t, zone):
        local = dt.datetime.fromtimestamp(t, ZoneInfo(zone))
        m = local.hour * 60 + local.minute
        inside = lambda rs: any(a <= m < b for a, b in rs)
        return inside(self.ranges) and not inside(self.pauses)

    def open_during(self, t1, t2, zone, step=20):
        """Open at every instant of [t1, t2] (sampled): a call started in there is legal."""
        return all(self.open(t, zone) for t in _samples(t1, t2, step))

    def open_somewhere(self, t1, t2, zone, step=20):
        return any(self.open(t, zone) for t in _samples(t1, t2, step))


def _samples(t1, t2, step):
    t = t1
    while t < t2:
        yield t
        t += step
    yield t2


class SimRun:
    """`dialer --service` on the test clock "<start>:<speed>" from `start` to `until`
    (engine time), then stopped; the record and the table are read back."""

    # Claim -> pbxsim's record of the Originate: a few ms of real time; allowed up to this
    # (real seconds, scaled by the speed) after the claim when mapping the record.
    LAG = 0.15

    def __init__(self, env, start, speed, until):
        self.env, self.start, self.speed, self.until = env, start, speed, until
        proc = env.service(clock=f"{start}:{speed}")
        # The engine's clock starts when the dialer logs it (after its imports): run from there.
        while "test clock" not in env.output(proc):
            if proc.poll() is not None:
                raise AssertionError(f"dialer exited ({proc.returncode}):\n" + env.output(proc))
            time.sleep(0.01)
        deadline = time.time() + (until - start) / speed
        while time.time() < deadline:
            if proc.poll() is not None:
                raise AssertionError(f"dialer exited ({proc.returncode}):\n" + env.output(proc))
            time.sleep(0.1)
        assert env.stop(proc) == 0, env.output(proc)
        self.log = env.output(proc)
        self.rows = env.leads()
        self.records = [r for r in env.sim.records() if r.get("channelid")]
        self.t0 = self._calibrate()

    def _calibrate(self):
        """The real instant at which the engine clock read `start`. Each lead's last claim
        is in the table (engine time, whole seconds) and in the record (real time, a little
        later): the smallest difference is the closest to the claim itself."""
        # The ChannelId up to its lead and attempt (model.ChannelId: installation and claim time follow).
        by_cid = {r["channelid"].rsplit("-", 2)[0]: r for r in self.records}
        offsets = []
        for row in self.rows.values():
            if not row["attempts"]:
                continue
            rec = by_cid.get(f"d-{campaign_key(self.env.name)}-{row['id']}-{row['attempts']}")
            assert rec is not None, ("a claimed lead was never originated", row)
            offsets.append(rec["start"] - (self.claimed_at(row) - self.start) / self.speed)
        assert offsets, "nothing was dialled:\n" + self.log
        return min(offsets)

    @staticmethod
    def claimed_at(row):
        """The table's `datetime` (server local time) as epoch seconds."""
        value = row["datetime"]
        if not isinstance(value, dt.datetime):
            value = dt.datetime.fromisoformat(str(value))
        return value.timestamp()

    def engine_time(self, rec):
        """(earliest, latest) engine time at which this Originate's lead can have been claimed."""
        t = self.start + (rec["start"] - self.t0) * self.speed
        return t - self.LAG * self.speed, t

    def calls(self, number=None):
        return sorted((r for r in self.records if number is None or r["number"] == number), key=lambda r: r["start"])


def check_no_call_outside(run, oracle, zone_of):
    """Every Originate and every claim in the table falls inside the window of the lead's
    zone (zone_of(number)). Returns {number: [engine time of each call]}."""
    bad, times = [], {}
    for rec in run.calls():
        zone = zone_of(rec["number"])
        early, late = run.engine_time(rec)
        # The claim happened in [early, late]: legal only if the window was open at some
        # instant of it (a wider gap would hide nothing: it is a few simulated minutes).
        if not oracle.open_somewhere(early, late, zone):
            bad.append((rec["number"], zone, fmt(late, "UTC")))
        times.setdefault(rec["number"], []).append(late)
    for phone, row in run.rows.items():
        if row["attempts"]:
            t = run.claimed_at(row)
            if not oracle.open(t, zone_of(phone)):
                bad.append(("claim in the table", phone, zone_of(phone), fmt(t, "UTC")))
    assert not bad, f"{len(bad)} call(s) outside the window, e.g. {bad[:5]}"
    return times


def column(env, name):
    """[(phone, value of column `name`)] of the campaign table."""
    st = env.store()
    try:
        return [tuple(r) for r in st.rows(f"SELECT phone, {name} FROM {st.d.q(env.name)} ORDER BY id")]
    finally:
        st.close()


def fmt(t, zone):
    return dt.datetime.fromtimestamp(t, ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M:%S %Z")


def first_call_after(times, t):
    after = [x for x in times if x >= t - 1]
    return min(after) if after else None


# -- the campaign's own window, read in its `timezone` ----------------------------------------

WINDOW_CASES = {
    # A weekday with a pause: the window opens, pauses, resumes and closes.
    "pause": dict(zone="America/New_York", timeslot="9h-11h30", pause="10h-10h30", oracle=Oracle(
        [("9:00", "11:30")], [("10:00", "10:30")]), start=epoch("2026-06-15 08:40", "America/New_York"),
        hours=3.2, opens=[epoch("2026-06-15 09:00", "America/New_York"), epoch("2026-06-15 10:30", "America/New_York")],
        closed=[(epoch("2026-06-15 10:00", "America/New_York"), epoch("2026-06-15 10:30", "America/New_York"))]),
    # Spring forward in Paris: 02:00-03:00 does not exist; 2h30-4h opens at the jump
    # (03:00 CEST = 01:00 UTC) and closes at 04:00 CEST (02:00 UTC).
    "eu-spring": dict(zone="Europe/Paris", timeslot="2h30-4h", pause="none", oracle=Oracle([("2:30", "4:00")]),
                      start=epoch("2026-03-29 00:00"), hours=2.7, opens=[epoch("2026-03-29 01:00")],
                      closed=[(epoch("2026-03-29 00:00"), epoch("2026-03-29 01:00"))]),
    # Fall back in New York: 01:00-02:00 happens twice, so 0h30-1h30 is open 04:30-05:30 UTC
    # (EDT) and again 06:00-06:30 UTC (EST); closed in between.
    "us-autumn": dict(zone="America/New_York", timeslot="0h30-1h30", pause="none", oracle=Oracle([("0:30", "1:30")]),
                      start=epoch("2026-11-01 04:15"), hours=2.7,
                      opens=[epoch("2026-11-01 04:30"), epoch("2026-11-01 06:00")],
                      closed=[(epoch("2026-11-01 05:30"), epoch("2026-11-01 06:00"))]),
}


@pytest.mark.parametrize("case", sorted(WINDOW_CASES))
def test_campaign_window_edges_pause_and_dst(dial, case):
    c = WINDOW_CASES[case]
    leads = [f"1555{i:04d}" for i in range(12)]
    env = dial(BUSY, leads=leads, general=GENERAL, campaign=(
        f"timezone={c['zone']}\ntimeslot={c['timeslot']}\npause={c['pause']}\n"
        "attempts=100000\nattemptsdelay=300\nmaxlines=4\nmaxcaps=4\n"))
    speed = 1800
    run = SimRun(env, c["start"], speed, c["start"] + c["hours"] * 3600)
    times = check_no_call_outside(run, c["oracle"], lambda n: c["zone"])
    every = sorted(t for ts in times.values() for t in ts)
    # Called in every open stretch, from the moment it opens (within a few ticks of the
    # simulated clock: 100 ms real = 3 simulated minutes)...
    for opening in c["opens"]:
        first = first_call_after(every, opening)
        assert first is not None and first - opening < 30 * 60, (case, fmt(opening, c["zone"]), first and fmt(first, c["zone"]))
    # ...and never while closed.
    for a, b in c["closed"]:
        assert not [t for t in every if a + 300 < t < b - 60], case


# -- per-lead zones: an import column, and leadtimezone = auto --------------------------------

# Numbers whose zone the dialer derives (international digits without '+'), and what the
# oracle knows them to be: (number, zones the lead must be inside all of).
DERIVED = ([(f"3314268530{i}", ("Europe/Paris",)) for i in range(4)]
           + [(f"1212555123{i}", ("America/New_York",)) for i in range(4)]
           + [(f"1213555123{i}", ("America/Los_Angeles",)) for i in range(4)]
           + [(f"8133555123{i}", ("Asia/Tokyo",)) for i in range(4)]
           # +1 208 315: Boise and Los Angeles; called only while open in both.
           + [("12083151234", ("America/Boise", "America/Los_Angeles"))])
# A zone given in the import file wins over the number's: a French mobile living in LA.
EXPLICIT = [("33612345670", ("America/Los_Angeles",)), ("12125559870", ("Asia/Tokyo",)),
            ("81335559870", ("Europe/Paris",))]

# UTC hours, written by hand from the zones' rules, at which 9h opens on the transition day.
DST_DAYS = {
    # US springs forward 2026-03-08 (New York 07:00 UTC, LA 10:00 UTC); Europe is still on CET.
    "2026-03-08": dict(start="2026-03-08 06:00", until="2026-03-09 01:30", opens={
        "Europe/Paris": "2026-03-08 08:00", "America/New_York": "2026-03-08 13:00",
        "America/Los_Angeles": "2026-03-08 16:00"}),
    # Europe springs forward 2026-03-29 (01:00 UTC): Paris opens 07:00 UTC, not 08:00.
    "2026-03-29": dict(start="2026-03-29 05:00", until="2026-03-30 01:30", opens={
        "Europe/Paris": "2026-03-29 07:00", "America/New_York": "2026-03-29 13:00",
        "America/Los_Angeles": "2026-03-29 16:00"}),
}
# The autumn days (SQLite only, to keep the suite short; the store's part is the same).
AUTUMN_DAYS = {
    # Europe falls back 2026-10-25 (01:00 UTC): Paris opens 08:00 UTC; the US is still on EDT.
    "2026-10-25": dict(start="2026-10-25 05:00", until="2026-10-26 01:30", opens={
        "Europe/Paris": "2026-10-25 08:00", "America/New_York": "2026-10-25 13:00",
        "America/Los_Angeles": "2026-10-25 16:00"}),
    # The US falls back 2026-11-01 (New York 06:00 UTC, LA 09:00 UTC): 14:00 and 17:00 UTC.
    "2026-11-01": dict(start="2026-11-01 06:00", until="2026-11-02 02:30", opens={
        "Europe/Paris": "2026-11-01 08:00", "America/New_York": "2026-11-01 14:00",
        "America/Los_Angeles": "2026-11-01 17:00"}),
}


def zone_oracle(zones_of):
    """Open for a lead only when 9h-18h is open in every one of its zones."""
    win = Oracle([("9:00", "18:00")])

    class PerLead:
        def open(self, t, number):
            return all(win.open(t, z) for z in zones_of[number])

        def open_somewhere(self, t1, t2, number, step=20):
            return any(self.open(t, number) for t in _samples(t1, t2, step))
    return PerLead()


@pytest.mark.parametrize("day", sorted(DST_DAYS))
def test_per_lead_zones_on_dst_days(dial, day):
    per_lead_zones_day(dial, day, DST_DAYS[day])


@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.parametrize("day", sorted(AUTUMN_DAYS))
def test_per_lead_zones_on_autumn_dst_days(dial, day, backend):
    per_lead_zones_day(dial, day, AUTUMN_DAYS[day])


def per_lead_zones_day(dial, day, d):
    zones_of = dict(DERIVED + EXPLICIT)
    env = dial(BUSY, general=GENERAL, campaign=(
        "timezone=Europe/Paris\nleadtimezone=auto\ntimeslot=9h-18h\npause=none\n"
        # Few lines for many leads: closed leads must not hold up the open ones.
        "attempts=100000\nattemptsdelay=1800\nmaxlines=3\nmaxcaps=3\n"))
    env.cli("-c", env.name, "-a", "create", check=0)
    listing = env.tmp / "zones.csv"
    listing.write_text("phone,param,timezone\n" + "".join(f"{n},derived,\n" for n, _ in DERIVED)
                       + "".join(f"{n},explicit,{z[0]}\n" for n, z in EXPLICIT))
    env.cli("-c", env.name, "-a", "file", "-p", listing, check=0)
    start, until, speed = epoch(d["start"]), epoch(d["until"]), 5400
    run = SimRun(env, start, speed, until)
    oracle = zone_oracle(zones_of)
    # check_no_call_outside reads the zone through zone_of: here the "zone" is the number.
    times = check_no_call_outside(run, oracle, lambda n: n)
    # The dialer derived each zone from the number and kept the imported ones.
    assert dict(column(env, "timezone")) == {p: " ".join(z) for p, z in zones_of.items()}
    # Every lead was called on the day, and each zone from the moment its window opened.
    assert set(times) == set(zones_of), sorted(set(zones_of) - set(times))
    for zone, opening in d["opens"].items():
        opening = epoch(opening)
        numbers = [n for n, z in zones_of.items() if z == (zone,)]
        first = first_call_after([t for n in numbers for t in times[n]], opening)
        assert first is not None and first - opening < 40 * 60, (day, zone, first and fmt(first, zone))


# -- calltoday = false: one attempt per lead per calendar day of the campaign's zone ----------------

def test_calltoday_false_one_attempt_per_lead_per_day(dial):
    # attemptsdelay (10 simulated minutes) alone would allow a retry every 10 minutes.
    leads = [f"3365000{i:03d}" for i in range(6)]
    env = dial(BUSY, leads=leads, general=GENERAL, campaign=(
        "timezone=Europe/Paris\ncalltoday=false\nattempts=100\nattemptsdelay=600\nmaxlines=3\nmaxcaps=3\n"))
    start = epoch("2026-06-15 22:00", "Europe/Paris")
    run = SimRun(env, start, 1800, epoch("2026-06-16 02:00", "Europe/Paris"))
    paris = ZoneInfo("Europe/Paris")
    for phone in leads:
        days = collections.Counter(dt.datetime.fromtimestamp(run.engine_time(r)[1], paris).date().isoformat()
                                   for r in run.calls(phone))
        assert days == {"2026-06-15": 1, "2026-06-16": 1}, (phone, days)
        # The second call came soon after midnight, when the new day allowed it.
        second = run.engine_time(run.calls(phone)[1])[1]
        assert second - epoch("2026-06-16 00:00", "Europe/Paris") < 20 * 60, fmt(second, "Europe/Paris")
