"""Engine logic on a manual clock, in this process (tests/harness/engine.py): real dialer-pbxsim
over TCP, real SQLite/MariaDB. Hours of engine time take no real time, and "nothing was
dialled" needs no sleep: the engine claims and originates inside the step that could."""
import datetime as dt

from dialer import codes
from dialer.engine import Control
from dialer.store import schema


def originated(env):
    return [r for r in env.sim.records() if r.get("channelid")]


def test_maxcaps_starts_at_most_maxcaps_calls_per_period(dial, engine_rig):
    env = dial({"default": {"outcome": "answer", "ring": 0.05, "talk": 60}},
               leads=[f"30{i:02d}" for i in range(10)], campaign="maxlines=10\nmaxcaps=3\n")
    rig = engine_rig(env)
    rig.start()
    started = lambda: rig.engine.stats.started     # noqa: E731  (Originates sent and accepted)
    rig.run_until(started, what="first calls")
    assert started() == 3
    for _ in range(5):
        rig.step(advance=0)          # the same period: no new budget however often the loop turns
    assert started() == 3
    rig.step(advance=rig.period)
    assert started() == 6 and rig.engine.campaigns["camp"].live == 6
    rig.run_until(lambda: len(originated(env)) == 6, what="the PBX's record of 6 calls")


def test_a_retry_waits_attemptsdelay_of_engine_time(dial, engine_rig):
    env = dial({"default": {"outcome": "busy", "ring": 0.05}}, leads=["3101"],
               campaign="attempts=2\nattemptsdelay=600\n")
    rig = engine_rig(env)
    rig.start()
    rig.run_until(lambda: rig.engine.stats.finished == 1, what="first attempt recorded")
    row = env.leads()["3101"]
    assert (row["attempts"], row["disposition"], row["state"]) == (1, codes.BUSY, schema.WAITING)
    for _ in range(50):
        rig.step(advance=10)         # 500 s of the 600
    assert len(originated(env)) == 1
    rig.clock.advance(100)
    rig.run_until(lambda: rig.engine.stats.finished == 2, advance=1, what="second attempt recorded")
    assert len(originated(env)) == 2
    row = env.leads()["3101"]
    # Busy again on the last allowed attempt: Burned, final.
    assert (row["attempts"], row["disposition"], row["state"]) == (2, codes.BURNED, schema.FINAL)


def test_no_call_before_the_calling_window_opens(dial, engine_rig):
    env = dial({"default": {"outcome": "answer", "ring": 0.05, "talk": 0.1}}, leads=["3201", "3202"],
               campaign="timeslot=mon-sun 9h-10h\ntimezone=UTC\n")
    start = dt.datetime(2026, 6, 1, 8, 58, tzinfo=dt.timezone.utc).timestamp()
    rig = engine_rig(env, start=start)
    rig.start()
    while rig.clock.now < start + 115:
        rig.step(advance=1)          # 08:58:00 .. 08:59:55
    assert originated(env) == [] and rig.engine.campaigns["camp"].window is False
    rig.run_until(lambda: len(originated(env)) == 2, advance=1, what="calls once the window opens")
    assert rig.clock.now >= start + 120


def test_drain_timeout_hangs_up_records_and_releases_the_calls_still_up(dial, engine_rig):
    env = dial({"default": {"outcome": "answer", "ring": 0.05, "talk": 600}}, leads=["3301", "3302"],
               campaign="attempts=3\n", general="drainseconds=120\n")
    rig = engine_rig(env)
    rig.start()
    rig.run_until(lambda: env.sim.stats()["live_calls"] == 2, what="calls up")
    rig.events.put(Control("stop"))
    rig.step()                                                # the stop: drain for up to 120 s
    rig.step(advance=119)
    assert not rig.done and len(rig.engine.calls) == 2        # still draining
    assert rig.step(advance=2)                                # drain timeout: the run is over
    rig.stop()
    rows = env.leads()
    assert all((r["disposition"], r["state"], r["owner"], r["reason"])
               == (codes.UNDEFINED, schema.READY, None, "Stopped during the call: drain timeout")
               for r in rows.values()), rows
    assert rig.engine.stats.by_code == {codes.UNDEFINED: 2}
    env.wait_for(lambda: env.sim.stats()["live_calls"] == 0, what="the calls hung up through AMI")
