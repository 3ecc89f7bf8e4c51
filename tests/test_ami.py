"""AMI client (dialer.ami) against the real dialer-pbxsim over TCP.

One test per pyst2 0.5.1 defect (ami-notes.md), plus the link's behaviour as the engine
sees it: call event flows, reconnects, authentication failures, Shutdown, header checks.
"""
import logging
import queue
import threading
import time

import pytest

from dialer import ami
from dialer.ami import Connection

FAST = {"default": {"outcome": "answer", "ring": 0.05, "talk": 0.2},
        "rules": [{"peer": "busy", "outcome": "busy"}, {"peer": "long", "outcome": "answer", "talk": 30}]}
# Short waits for the tests; the link's defaults are for production.
LINK_OPTS = dict(connect_timeout=2, ping_interval=60, backoff=(0.05, 0.5), action_timeout=3)


def take(q, pred, timeout=10.0):
    """Items from q up to and including the first for which pred is true -> (item, seen)."""
    seen = []
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"nothing matched within {timeout}s; got {[_label(i) for i in seen]}")
        try:
            item = q.get(timeout=left)
        except queue.Empty:
            continue
        seen.append(item)
        if pred(item):
            return item, seen


def _label(item):
    return item.name if isinstance(item, ami.Message) else type(item).__name__


def event(name, **match):
    def pred(item):
        return (isinstance(item, ami.Message) and item.name == name
                and all(item.get(k) == v for k, v in match.items()))
    return pred


def kind(cls):
    return lambda item: isinstance(item, cls)


@pytest.fixture
def sim(pbxsim):
    return pbxsim(scenario=FAST)


def sim_with_user(pbxsim, read="call,system,user", write="originate,call,reporting", secret="1234", general=""):
    """A simulator whose manager.conf has one user `dialer` with these permissions."""
    return pbxsim(scenario=FAST, manager_conf=(f"[general]\nenabled=yes\n{general}\n[dialer]\n"
                                               f"secret={secret}\nread={read}\nwrite={write}\n"))


@pytest.fixture
def link_factory():
    links = []

    def make(sim, **opts):
        q = queue.Queue()
        kw = dict(LINK_OPTS, **opts)
        link = ami.AmiLink(sim.host, sim.port, kw.pop("user", sim.user), kw.pop("secret", sim.secret), q, **kw)
        links.append(link)
        link.start()
        return link, q

    yield make
    for link in links:
        link.stop()


@pytest.fixture
def link(sim, link_factory):
    link, q = link_factory(sim)
    take(q, kind(ami.Connected))
    return link, q


@pytest.fixture
def conn(sim):
    """A bare Connection (one pyst2 Manager, logged in) for the per-defect tests."""
    c = Connection("test")
    c.connect(sim.host, sim.port, timeout=5)
    c.login(sim.user, sim.secret)
    yield c
    c.close()


def originate(link, n, peer="answer", **extra_vars):
    headers = {"Channel": f"SIP/{1000 + n}@{peer}", "Application": "Wait", "Data": "1",
               "Timeout": "10000", "CallerID": '"Dialer" <5550000>', "Account": "test",
               "ChannelId": f"dialer-test-{n}-1", "OtherChannelId": f"dialer-test-{n}-1-o"}
    variables = {"DIALER_ID": f"test:{n}", "DIALER_CAMPAIGN": "test", **extra_vars}
    return link.originate(f"orig-{n}", headers, variables)


# ---- the call flows the engine depends on -----------------------------------------------

def test_answered_call_event_flow(sim, link):
    link, q = link
    resp = originate(link, 1)
    assert resp.success and resp.get("ActionID") == "orig-1"
    assert resp.message == "Originate successfully queued"
    hangup, seen = take(q, event("Hangup", Uniqueid="dialer-test-1-1"))
    names = [_label(i) for i in seen]
    assert "Newchannel" in names and "OriginateResponse" in names
    orr = next(i for i in seen if _label(i) == "OriginateResponse")
    assert (orr.get("response"), orr.get("Reason"), orr.get("ActionID")) == ("Success", "4", "orig-1")
    assert orr.variables["DIALER_ID"] == "test:1"            # the ChanVariable(<chan>) spelling
    assert (hangup.get("Cause"), hangup.get("Cause-txt")) == ("16", "Normal Clearing")
    assert hangup.variables == {"DIALER_ID": "test:1", "DIALER_CAMPAIGN": "test", "DIALER_STATUS": ""}


def test_busy_call_event_flow(sim, link):
    link, q = link
    assert originate(link, 2, peer="busy").success
    got = {}

    def both(item):     # OriginateResponse and Hangup come in either order
        if isinstance(item, ami.Message) and item.name in ("OriginateResponse", "Hangup"):
            got[item.name] = item
        return len(got) == 2

    take(q, both)
    assert (got["OriginateResponse"].get("Response"), got["OriginateResponse"].get("Reason")) == ("Failure", "5")
    assert got["OriginateResponse"].get("ActionID") == "orig-2"
    assert (got["Hangup"].get("Uniqueid"), got["Hangup"].get("Cause")) == ("dialer-test-2-1", "17")


def test_login_event_mask_keeps_dialplan_events_away(pbxsim, link_factory):
    """Even a user allowed to read everything only gets call, system and user events."""
    sim = sim_with_user(pbxsim, read="all", general="channelvars=DIALER_ID\n")
    link, q = link_factory(sim)
    take(q, kind(ami.Connected))
    assert originate(link, 9).success
    _, seen = take(q, event("Hangup", Uniqueid="dialer-test-9-1"))
    names = {_label(i) for i in seen}
    assert {"Newchannel", "OriginateResponse"} <= names
    assert not names & {"VarSet", "Newexten"}


def test_variables_arrive_intact_one_header_each(sim, link):
    """Asterisk splits Variable: values on commas and eats quotes/backslashes; we escape."""
    link, q = link
    tricky = 'a,b=c "quoted" back\\slash (x,y)'
    assert originate(link, 3, LEAD_PARAM=tricky).success
    rec = sim.wait_records(1)[0]
    assert rec["variables"]["LEAD_PARAM"] == tricky
    assert set(rec["variables"]) >= {"DIALER_ID", "DIALER_CAMPAIGN", "LEAD_PARAM"}
    assert "b" not in rec["variables"]


def test_core_show_channels_lists_live_calls(sim, link):
    link, q = link
    for n in (4, 5):
        assert originate(link, n, peer="long").success
    take(q, event("OriginateResponse", ActionID="orig-5"))
    chans = link.core_show_channels()
    assert sorted(c.get("Uniqueid") for c in chans) == ["dialer-test-4-1", "dialer-test-5-1"]
    assert {c.variables["DIALER_ID"] for c in chans} == {"test:4", "test:5"}
    # The list events are the caller's, not the engine's.
    leftovers = []
    while not q.empty():
        leftovers.append(_label(q.get()))
    assert "CoreShowChannel" not in leftovers and "CoreShowChannelsComplete" not in leftovers


def test_core_show_channels_without_reporting_permission(pbxsim, link_factory):
    sim = sim_with_user(pbxsim, write="originate,call")
    link, q = link_factory(sim)
    take(q, kind(ami.Connected))
    with pytest.raises(ami.ActionError, match="CoreShowChannels refused"):
        link.core_show_channels()


def test_hangup_action(sim, link):
    link, q = link
    assert originate(link, 6, peer="long").success
    orr, _ = take(q, event("OriginateResponse", ActionID="orig-6"))
    assert link.hangup(orr.get("Channel")).success
    hangup, _ = take(q, event("Hangup", Uniqueid="dialer-test-6-1"))
    assert hangup.get("Cause") is not None


# ---- pyst2 defect 1: ChanVariable kills the parser thread --------------------------------

def test_defect1_every_chanvariable_spelling_parsed_and_reader_survives(sim, link):
    link, q = link
    link.originate("loc-1", {"Channel": "Local/answer@sim", "Application": "Wait", "Data": "1",
                             "ChannelId": "dialer-test-7-1", "OtherChannelId": "dialer-test-7-1-o"},
                   {"DIALER_ID": "test:7", "DIALER_CAMPAIGN": "test"})
    _, seen = take(q, event("Hangup", Uniqueid="dialer-test-7-1-o"))
    spellings = set()
    for item in seen:
        if isinstance(item, ami.Message) and item.variables.get("DIALER_ID") == "test:7":
            spellings |= set(item.chanvars)
    assert {"", "Dest", "LocalOne", "LocalTwo"} <= spellings
    assert link.send_action("Ping").get("Ping") == "Pong"     # pyst2 0.5.1 would block here forever


# ---- pyst2 defect 2: responses matched by arrival order, no timeout ----------------------

def test_defect2_concurrent_actions_get_their_own_response_amid_events(sim, link):
    link, q = link
    results, errors = {}, []

    def worker(base):
        try:
            for i in range(10):
                n = base + i
                results[n] = originate(link, n)
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(b,)) for b in (100, 200, 300, 400)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(results) == 40
    assert all(r.get("ActionID") == f"orig-{n}" for n, r in results.items())
    sim.wait_records(40)


def test_defect2_timeout_and_late_response_not_given_to_next_caller(sim, conn):
    sim.fault("hang")
    with pytest.raises(ami.ActionTimeout, match="Ping"):
        conn.request("Ping", {"ActionID": "late-1"}, timeout=0.5)
    sim.fault("resume")                  # the simulator now reads and answers late-1
    resp = conn.request("Ping", {"ActionID": "next-1"}, timeout=5)
    assert resp.get("ActionID") == "next-1"


def test_action_timeout_then_link_declares_pbx_down_and_recovers(sim, link_factory):
    link, q = link_factory(sim, action_timeout=0.5)
    take(q, kind(ami.Connected))
    sim.fault("hang")
    with pytest.raises(ami.ActionTimeout):
        link.send_action("Ping")
    gone, _ = take(q, kind(ami.Disconnected))
    assert "Ping" in gone.reason
    assert not link.connected
    with pytest.raises(ami.NotConnected):
        originate(link, 8)
    sim.fault("resume")
    again, _ = take(q, kind(ami.Connected))
    assert again.session == 2
    assert originate(link, 8).success


def test_periodic_ping_detects_a_silent_pbx(sim, link_factory):
    link, q = link_factory(sim, ping_interval=0.2, action_timeout=0.5)
    take(q, kind(ami.Connected))
    sim.fault("hang")
    gone, _ = take(q, kind(ami.Disconnected))
    assert gone.reason == "no answer to Ping within 0.5s"
    sim.fault("resume")
    take(q, kind(ami.Connected))


# ---- pyst2 defect 3: mutable default argument of send_action -----------------------------

def test_defect3_send_action_does_not_reuse_headers(sim, conn):
    first = conn.send_action(Action="Ping")
    second = conn.send_action(Action="Ping")
    assert first.get("ActionID") != second.get("ActionID")
    explicit = conn.send_action({"Action": "Ping", "ActionID": "mine"})
    third = conn.send_action(Action="Ping")
    assert explicit.get("ActionID") == "mine" and third.get("ActionID") != "mine"


# ---- pyst2 defect 4: an exception in a callback kills dispatch ----------------------------

def test_defect4_failing_callback_does_not_stop_dispatch(sim, conn, caplog):
    got = []
    done = threading.Event()

    def broken(ev, mgr):
        raise RuntimeError("callback bug")

    def collect(ev, mgr):
        got.append(ev.name)
        if ev.name == "Hangup":
            done.set()

    conn.register_event("Newchannel", broken)
    conn.register_event("*", collect)
    with caplog.at_level(logging.ERROR, logger="dialer.ami"):
        conn.request("Originate", {"Channel": "SIP/1@answer", "Application": "Wait", "Async": "true"})
        assert done.wait(10), f"dispatch stopped; saw {got}"
    assert got.index("Newchannel") < got.index("Hangup")
    assert "callback bug" in caplog.text


# ---- pyst2 defect 5: one recv() per byte --------------------------------------------------

def test_defect5_socket_read_in_chunks(sim, link):
    link, q = link
    for n in range(20, 30):
        assert originate(link, n).success
    for n in range(20, 30):
        take(q, event("Hangup", Uniqueid=f"dialer-test-{n}-1"))
    c = link._conn
    assert c.bytes_read > 20000
    # pyst2 0.5.1 makes one recv() per byte; buffered reading needs one per burst at most.
    assert c.reads * 50 < c.bytes_read, (c.reads, c.bytes_read)


# ---- pyst2 defect 6: no reconnect (a Manager's threads start once) ------------------------

@pytest.mark.parametrize("fault", ["drop", "restart", "crash"])
def test_defect6_reconnects_with_a_new_session(sim, link, fault):
    link, q = link
    first = link._conn
    sim.fault(fault, seconds=0.3 if fault != "drop" else None)
    gone, seen = take(q, kind(ami.Disconnected))
    if fault == "restart":
        shut = next(i for i in seen if isinstance(i, ami.Shutdown))
        assert shut.restart is True and shut.how == "Cleanly"
        assert "shut down" in gone.reason
    back, _ = take(q, kind(ami.Connected))
    assert link.core_show_channels() == []    # what the engine does first on Connected
    assert back.session == 2 and link.connected
    assert link._conn is not first and first.closed.is_set()
    assert originate(link, 40).success
    take(q, event("Hangup", Uniqueid="dialer-test-40-1"))


def test_reconnects_after_the_pbx_process_is_killed_and_replaced(pbxsim, tcpproxy):
    """kill -9 of the real simulator process; a new one takes over behind the same address."""
    first = pbxsim(scenario=FAST)
    proxy = tcpproxy(first.host, first.port)
    q = queue.Queue()
    link = ami.AmiLink(first.host, proxy.port, first.user, first.secret, q, **LINK_OPTS).start()
    try:
        take(q, kind(ami.Connected))
        first.kill()
        gone, _ = take(q, kind(ami.Disconnected))
        assert gone.reason == "connection closed by Asterisk"
        second = pbxsim(scenario=FAST)
        proxy.target = (second.host, second.port)
        back, _ = take(q, kind(ami.Connected), timeout=15)
        assert back.session == 2
        assert originate(link, 42).success
        assert [r["channelid"] for r in second.wait_records(1)] == ["dialer-test-42-1"]
    finally:
        link.stop()


def test_shutdown_stops_originates_until_connected_again(sim, link_factory):
    link, q = link_factory(sim)
    take(q, kind(ami.Connected))
    sim.fault("restart", seconds=1)
    take(q, kind(ami.Shutdown))
    with pytest.raises(ami.NotConnected):
        originate(link, 41)
    take(q, kind(ami.Connected))
    assert originate(link, 41).success


def test_unreachable_pbx_is_retried_until_it_appears(pbxsim, link_factory):
    sim = pbxsim(scenario=FAST)
    sim.fault("crash", seconds=1.5)          # listener closed: connection refused meanwhile
    link, q = link_factory(sim)
    take(q, kind(ami.Connected))
    assert link.connected


# ---- pyst2 defect 7: no connect/banner timeout, no disconnect notice ----------------------

def test_defect7_banner_timeout(sim):
    sim.fault("hang")                        # the kernel accepts, nobody sends a banner
    c = Connection("test")
    with pytest.raises(ami.ConnectError, match="no AMI banner .* within 0.3s"):
        c.connect(sim.host, sim.port, timeout=0.3)


def test_defect7_connection_reports_its_end(sim):
    ended = threading.Event()
    c = Connection("test", on_closed=lambda conn: ended.set())
    c.connect(sim.host, sim.port, timeout=5)
    c.login(sim.user, sim.secret)
    sim.fault("drop")
    assert ended.wait(10)
    assert c.close_reason == "connection closed by Asterisk"
    with pytest.raises(ami.NotConnected):
        c.request("Ping")


# ---- pyst2 defect 8: header values not checked (AMI injection) ----------------------------

INJECTIONS = [
    ("phone in Channel", {"Channel": "SIP/1000\r\nAction: Command\r\nCommand: core stop now@answer"}, {}),
    ("blank line in Channel", {"Channel": "SIP/1000@answer\r\n\r\nAction: Logoff"}, {}),
    ("LF alone", {"Channel": "SIP/1000@answer\nAction: Command"}, {}),
    ("NUL", {"Channel": "SIP/1000@answer\x00"}, {}),
    ("control char", {"CallerID": "Dialer\x1b[2J"}, {}),
    ("unicode line separator", {"CallerID": "Dialer\u2028x"}, {}),
    ("param in variable", {}, {"LEAD_PARAM": "x\r\nAction: Command\r\nCommand: core show version"}),
    ("variable name", {}, {"X\r\nAction: Command\r\nCommand: x\r\nY": "1"}),
    ("variable name with =", {}, {"A=B": "1"}),
    ("header name", {"Bad Name": "1"}, {}),
    ("header name with colon", {"X: y\r\nAction": "Command"}, {}),
]


@pytest.mark.parametrize("what,headers,variables", INJECTIONS, ids=[i[0] for i in INJECTIONS])
def test_defect8_injection_refused_before_the_socket(sim, link, what, headers, variables):
    link, q = link
    base = {"Channel": "SIP/1000@answer", "Application": "Wait", "Data": "1", "ChannelId": "dialer-test-50-1"}
    with pytest.raises(ami.HeaderError):
        link.originate("inj-1", {**base, **headers}, {"DIALER_ID": "test:50", **variables})
    assert link.send_action("Ping").success          # the session is intact
    assert sim.stats()["originates"] == 0
    assert sim.records() == []


def test_defect8_reserved_and_duplicate_headers_refused(sim, link):
    link, q = link
    with pytest.raises(ami.HeaderError, match="set by the link"):
        link.originate("x", {"Channel": "SIP/1@answer", "Action": "Command"}, {})
    with pytest.raises(ami.HeaderError, match="given twice"):
        link.send_action("Originate", {"Channel": "SIP/1@answer", "channel": "SIP/2@answer"})
    assert sim.stats()["originates"] == 0


def test_header_error_even_while_disconnected(pbxsim, link_factory):
    sim = pbxsim(scenario=FAST)
    sim.fault("crash", seconds=30)
    link, q = link_factory(sim)
    with pytest.raises(ami.HeaderError):
        originate(link, 51, LEAD_PARAM="\r\n")
    with pytest.raises(ami.NotConnected):
        originate(link, 51)


# ---- authentication ---------------------------------------------------------------------

def test_wrong_password_is_reported_and_retried_slowly(sim, link_factory, caplog):
    caplog.set_level(logging.DEBUG, logger="dialer.ami")
    link, q = link_factory(sim, secret="wrong-secret-xyz", backoff=(0.01, 0.6))
    first, _ = take(q, kind(ami.AuthFailed))
    t0 = time.monotonic()
    assert first.message == "Authentication failed"
    take(q, kind(ami.AuthFailed))
    # Not a tight loop: the retry waits for (at least half of, with jitter) the backoff cap.
    assert time.monotonic() - t0 >= 0.3
    assert not link.connected and link._thread.is_alive()
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "refused: Authentication failed" in errors[0].getMessage()
    assert "wrong-secret-xyz" not in caplog.text


def test_secret_never_logged_nor_shown(pbxsim, link_factory, caplog):
    secret = "Zq-s3cret-9"
    sim = sim_with_user(pbxsim, secret=secret)
    caplog.set_level(logging.DEBUG, logger="dialer.ami")
    link, q = link_factory(sim)
    take(q, kind(ami.Connected))
    sim.fault("drop")
    take(q, kind(ami.Connected))
    link.stop()
    assert "AMI connected" in caplog.text
    assert secret not in caplog.text
    assert secret not in repr(link)


def test_header_values_that_look_like_command_output_do_not_stall_the_reader(pbxsim, link_factory):
    """pyst2's reader treats 'status will follow' in any line as the start of Status output."""
    sim = sim_with_user(pbxsim, write="originate,call,reporting,user")
    link, q = link_factory(sim)
    take(q, kind(ami.Connected))
    for note in ("the status will follow", "--END COMMAND--", "Response: Follows"):
        assert link.send_action("UserEvent", {"UserEvent": "Result", "Note": note}).success
        ev, _ = take(q, event("UserEvent", UserEvent="Result"))
        assert ev.get("Note") == note
    assert link.send_action("Ping").get("Ping") == "Pong"


def test_reader_drains_the_socket_while_the_engine_is_busy(pbxsim, link_factory):
    """Asterisk drops a client that does not read for 100 ms; a busy engine must not cause that."""
    sim = pbxsim(scenario=FAST, writetimeout=100)
    link, q = link_factory(sim)
    take(q, kind(ami.Connected))
    for n in range(60, 110):                  # nobody consumes q meanwhile
        assert originate(link, n).success
    sim.wait_records(50)
    want = {f"dialer-test-{n}-1" for n in range(60, 110)}
    hangups = set()

    def all_hung_up(item):
        if _label(item) == "Hangup":
            hangups.add(item.get("Uniqueid"))
        return hangups >= want

    _, items = take(q, all_hung_up)
    assert not [i for i in items if isinstance(i, (ami.Disconnected, ami.Connected))]
    assert "writetimeout" not in sim.log()


def test_defect7_login_timeout(sim):
    c = Connection("test")
    c.connect(sim.host, sim.port, timeout=5)
    sim.fault("hang")                        # banner received, then silence
    try:
        with pytest.raises(ami.ActionTimeout, match="Login"):
            c.login(sim.user, sim.secret, timeout=0.3)
    finally:
        c.abort("test over")
