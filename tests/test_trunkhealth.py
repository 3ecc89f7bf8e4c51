"""Trunk health (dialer/trunkhealth.py): classification from the captures' facts, and the
breaker driven by a manual clock."""
import pytest

from dialer import config, trunkhealth as th


class Clock:
    def __init__(self, t=1000.0):
        self.t = t

    def __call__(self):
        return self.t

    def advance(self, s):
        self.t += s


def _breaker(clock, rng=lambda: 0.5, **kw):
    return th.Breaker("carrier", th.Settings(**kw), clock, rng)


# -- classification: the facts each capture shows ---------------------------------------------

# (answered, channel created, response, reason, cause[, lost])
@pytest.mark.parametrize("facts,kind", [
    # fail-sip-unknown-peer, fail-unknown-tech, pjsip nosuchep/nocontact/badtech: Failure, no channel
    ((False, False, 'Failure', 0, None), th.NO_CHANNEL),
    # fail-local-unknown-exten: both Local halves hang up with cause 0, Failure / 0
    ((False, True, 'Failure', 0, 0), th.NO_ROUTE),
    # sip-congestion (Failure / 8, cause 34), pjsip congest (Failure / 0, cause 34)
    ((False, True, 'Failure', 8, 34), th.CONGESTION),
    ((False, True, 'Failure', 0, 34), th.CONGESTION),
    ((False, True, 'Failure', 8, None), th.CONGESTION),
    ((False, True, 'Failure', 0, 38), th.NETWORK),
    ((False, True, 'Failure', 0, 102), th.NETWORK),
    ((False, True, 'Failure', 0, 27), th.NETWORK),
    ((False, True, 'Failure', 0, 41), th.NETWORK),
    ((False, True, 'Failure', 0, 42), th.CONGESTION),
    ((False, True, 'Failure', 0, 44), th.CONGESTION),
    # callee outcomes: busy (17), unallocated (1), no route to destination (3), no answer (19),
    # rejected (21), answered
    ((False, True, 'Failure', 5, 17), th.HEALTHY),
    ((False, True, 'Failure', 0, 17), th.HEALTHY),
    ((False, True, 'Failure', 0, 1), th.HEALTHY),
    ((False, True, 'Failure', 0, 3), th.HEALTHY),
    ((False, True, 'Failure', 3, 19), th.HEALTHY),
    ((False, True, 'Failure', 0, 21), th.HEALTHY),
    ((True, True, 'Success', 4, 16), th.HEALTHY),
    # lost: the AMI link dropped, the dialer restarted, the Originate was refused
    ((False, False, None, None, None, True), th.NEUTRAL),
    ((False, True, None, None, 34, True), th.NEUTRAL),
    ((False, False, None, None, None), th.NEUTRAL),
])
def test_classify(facts, kind):
    names = ("answered", "channel_created", "response", "reason", "cause", "lost")
    assert th.classify(**dict(zip(names, facts))) == kind


# -- the breaker ------------------------------------------------------------------------------

def test_closed_trunk_lets_everything_through_and_counts_healthy_results():
    clock = Clock()
    b = _breaker(clock, failures=3)
    assert b.allow() is None
    v = b.observe(th.HEALTHY, "a")
    assert v.decisions == [("a", True)] and not v.changes and b.state == th.CLOSED


def test_streak_is_held_then_counted_when_a_healthy_result_breaks_it():
    clock = Clock()
    b = _breaker(clock, failures=3)
    v1 = b.observe(th.NO_CHANNEL, "a", "SIP/1@nope")
    assert v1.decisions == [] and v1.first_failure
    v2 = b.observe(th.CONGESTION, "b")
    assert v2.decisions == [] and not v2.first_failure
    v3 = b.observe(th.HEALTHY, "c")
    assert v3.decisions == [("a", True), ("b", True), ("c", True)]
    assert b.state == th.CLOSED and b.consecutive == 0


def test_consecutive_failures_open_the_trunk_and_uncount_the_streak():
    clock = Clock()
    b = _breaker(clock, failures=3, backoff=10, backoffmax=100)
    b.observe(th.NO_CHANNEL, "a")
    b.observe(th.NO_CHANNEL, "b")
    v = b.observe(th.NO_CHANNEL, "c", "SIP/1@nope")
    assert v.decisions == [("a", False), ("b", False), ("c", False)]
    assert [(c.old, c.new) for c in v.changes] == [(th.CLOSED, th.OPEN)]
    assert "3 consecutive trunk failures" in v.changes[0].message() and "SIP/1@nope" in v.changes[0].message()
    assert b.allow() == 0
    # Calls still live when it opened: failures are not counted, healthy ones are.
    assert b.observe(th.CONGESTION, "d").decisions == [("d", False)]
    assert b.observe(th.HEALTHY, "e").decisions == [("e", True)] and b.state == th.OPEN


def test_neutral_results_are_counted_and_do_not_touch_the_streak():
    clock = Clock()
    b = _breaker(clock, failures=2)
    b.observe(th.NO_CHANNEL, "a")
    assert b.observe(th.NEUTRAL, "n").decisions == [("n", True)]
    v = b.observe(th.NO_CHANNEL, "b")
    assert b.state == th.OPEN and v.decisions == [("a", False), ("b", False)]


def test_failure_share_of_the_window_opens_the_trunk():
    clock = Clock()
    b = _breaker(clock, failures=100, percent=80, window=5)
    for kind in (th.CONGESTION, th.CONGESTION, th.HEALTHY, th.CONGESTION):
        b.observe(kind, kind)
    assert b.state == th.CLOSED          # window not full yet
    v = b.observe(th.CONGESTION, "last")
    assert b.state == th.OPEN and "4 trunk failures in the last 5 attempts" in v.changes[0].why
    # Only the current streak is put back; the failure before the healthy one was counted.
    assert v.decisions == [("congestion", False), ("last", False)]


def test_percent_zero_disables_the_share_rule():
    clock = Clock()
    b = _breaker(clock, failures=100, percent=0, window=2)
    for i in range(10):
        b.observe(th.NETWORK, i)
    assert b.state == th.CLOSED


def test_backoff_then_half_open_probes_then_close():
    clock = Clock()
    b = _breaker(clock, failures=1, backoff=10, backoffmax=100, probes=2)
    b.observe(th.NO_CHANNEL, "a")
    clock.advance(9.9)
    assert not b.poll().changes and b.allow() == 0
    clock.advance(0.1)
    v = b.poll()
    assert [(c.old, c.new) for c in v.changes] == [(th.OPEN, th.HALF_OPEN)]
    assert b.allow() == 2
    b.dialled(2)
    assert b.allow() == 0
    v = b.observe(th.HEALTHY, "p1")
    assert v.decisions == [("p1", True)]
    assert [(c.old, c.new) for c in v.changes] == [(th.HALF_OPEN, th.CLOSED)]
    assert "10 s" in v.changes[0].why and b.allow() is None
    # The second probe's result, after the close, is an ordinary one.
    assert b.observe(th.HEALTHY, "p2").decisions == [("p2", True)]


def test_failed_probe_reopens_with_a_doubled_capped_backoff():
    clock = Clock()
    b = _breaker(clock, failures=1, backoff=10, backoffmax=25, probes=1)
    b.observe(th.NO_CHANNEL, "a")
    assert b.retry_at == clock.t + 10
    for expected in (20, 25, 25):
        clock.t = b.retry_at
        b.poll()
        assert b.state == th.HALF_OPEN and b.allow() == 1
        b.dialled()
        v = b.observe(th.CONGESTION, "probe")
        assert v.decisions == [("probe", False)]
        assert [(c.old, c.new) for c in v.changes] == [(th.HALF_OPEN, th.OPEN)]
        assert b.retry_at - clock.t == pytest.approx(expected)
    # A success resets the exponent.
    clock.t = b.retry_at
    b.poll()
    b.observe(th.HEALTHY, "ok")
    b.observe(th.NO_CHANNEL, "again")
    assert b.retry_at - clock.t == pytest.approx(10)


@pytest.mark.parametrize("draw,factor", [(0.0, 0.8), (1.0, 1.2), (0.25, 0.9)])
def test_jitter_spreads_the_backoff_twenty_percent_each_way(draw, factor):
    clock = Clock()
    b = _breaker(clock, rng=lambda: draw, failures=1, backoff=100, backoffmax=1000)
    b.observe(th.NO_CHANNEL, "a")
    assert b.retry_at - clock.t == pytest.approx(100 * factor)


def test_jitter_never_exceeds_the_cap():
    clock = Clock()
    b = _breaker(clock, rng=lambda: 1.0, failures=1, backoff=100, backoffmax=100)
    b.observe(th.NO_CHANNEL, "a")
    assert b.retry_at - clock.t == pytest.approx(100)


def test_neutral_probe_result_frees_its_slot():
    clock = Clock()
    b = _breaker(clock, failures=1, backoff=1, probes=1)
    b.observe(th.NO_CHANNEL, "a")
    clock.advance(2)
    b.poll()
    b.dialled()
    assert b.allow() == 0
    b.observe(th.NEUTRAL, "lost")
    assert b.allow() == 1 and b.state == th.HALF_OPEN


def test_held_results_are_counted_after_a_quiet_period():
    clock = Clock()
    b = _breaker(clock, failures=5)
    b.observe(th.NO_CHANNEL, "a")
    clock.advance(th.HOLD_SECONDS - 1)
    b.observe(th.NO_CHANNEL, "b")
    clock.advance(th.HOLD_SECONDS - 1)
    assert b.poll().decisions == []
    clock.advance(1)
    assert b.poll().decisions == [("a", True), ("b", True)]
    assert b.state == th.CLOSED and not b.pending


def test_disabled_breaker_counts_everything_at_once_and_never_opens():
    clock = Clock()
    b = _breaker(clock, enabled=False, failures=1)
    for i in range(5):
        assert b.observe(th.NO_CHANNEL, i).decisions == [(i, True)]
    assert b.state == th.CLOSED and b.allow() is None


def test_each_state_change_is_reported_once():
    clock = Clock()
    b = _breaker(clock, failures=2, backoff=5, probes=1)
    changes = []
    for kind in [th.CONGESTION] * 6:
        changes += b.observe(kind, kind).changes
        changes += b.poll().changes
    clock.advance(6)
    for _ in range(3):
        changes += b.poll().changes
    changes += b.observe(th.HEALTHY, "ok").changes
    changes += b.poll().changes
    assert [c.new for c in changes] == [th.OPEN, th.HALF_OPEN, th.CLOSED]


def test_registry_one_breaker_per_trunk_and_reload():
    clock = Clock()
    health = th.TrunkHealth(th.Settings(failures=1, backoff=5), clock, lambda: 0.5)
    health.observe("a", th.NO_CHANNEL, "x")
    health.observe("b", th.NO_CHANNEL, "y")
    health.observe("b", th.HEALTHY, "z")   # b's calls before it opened
    assert health.allow("a") == 0 and health.allow("c") is None
    assert [b.trunk for b in health.not_closed()] == ["a", "b"]
    assert "trunk a open" in health.breaker("a").describe()
    health2 = th.TrunkHealth(th.Settings(failures=3), clock)
    health2.observe("a", th.NO_CHANNEL, "held")
    assert health2.held() == 1
    v = health2.configure(th.Settings(enabled=False))
    assert v.decisions == [("held", True)] and health2.held() == 0
    v = health.configure(th.Settings(enabled=False))
    assert [c.new for c in v.changes] == [th.CLOSED, th.CLOSED] and health.allow("a") is None


def test_settings_from_the_general_section():
    cfg = config.loads("[general]\ntrunkfailures=5\ntrunkfailpercent=0\ntrunkbackoff=1m\ntrunkprobes=1\n[default]\n")
    s = th.Settings.from_general(cfg.general)
    assert s == th.Settings(enabled=True, failures=5, percent=0, window=50, backoff=60.0, backoffmax=600.0, probes=1)
    assert th.Settings.from_general(config.loads("[general]\n[default]\n").general) == th.Settings()


# -- the captures, event by event through the engine's Attempt ----------------------------------

from tests.test_outcomes_captures import ANSWERED, call_events, captures  # noqa: E402

KINDS = [("fail-local-unknown-exten", th.NO_ROUTE), ("congest", th.CONGESTION), ("unknown", th.NO_CHANNEL),
         ("badtech", th.NO_CHANNEL), ("nosuchep", th.NO_CHANNEL), ("nocontact", th.NO_CHANNEL)]


@pytest.mark.parametrize("path,expected", captures())
def test_capture_kind(path, expected):
    from dialer.attempt import Attempt
    from dialer.model import Lead
    att = Attempt(campaign="test", lead=Lead(id=1, phone="1000", attempts=1), channelid="x",
                  action_id="a", started=0.0)
    for n, msg in enumerate(call_events(path)):
        att.on_event(msg, float(n))
    want = next((kind for key, kind in KINDS if key in path.name), th.HEALTHY)
    assert th.classify_attempt(att) == want, path.name
    assert th.classify_attempt(att, lost="AMI link lost") == (th.HEALTHY if expected == ANSWERED else th.NEUTRAL)
