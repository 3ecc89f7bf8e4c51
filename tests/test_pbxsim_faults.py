"""dialer-pbxsim: protocol rules, capacity, faults and the record query helpers."""
import socket
import threading
import time

import pytest

from tests.plugins.pbxsim import msg_get


def read_until_event(c, name):
    return c.read_until(lambda m: msg_get(m, "Event") == name)


def logged_in(sim, ami_client, events="call,system,user"):
    c = ami_client(sim)
    c.login(events=events)
    if events != "off":
        c.read()                 # FullyBooted
    return c


def test_before_login_permission_denied_and_unknown_command(pbxsim, ami_client):
    sim = pbxsim()
    c = ami_client(sim)
    c.action("Ping", ActionID="x")
    assert c.read() == [("Response", "Error"), ("ActionID", "x"), ("Message", "Permission denied")]
    c.login()
    c.read()
    c.send("action: FROBNICATE\nACTIONID: y\n\n")
    assert c.read() == [("Response", "Error"), ("ActionID", "y"), ("Message", "Invalid/unknown command")]
    c.send("Foo: bar\n\n")
    assert c.read() == [("Response", "Error"), ("Message", "Missing action in request")]
    c.action("Ping")                                  # no ActionID sent: none echoed
    assert [k for k, _ in c.read()] == ["Response", "Ping", "Timestamp"]


def test_wrong_secret_delayed_failure_then_close(pbxsim, ami_client):
    sim = pbxsim(auth_fail_delay=0.2)
    c = ami_client(sim)
    t0 = time.monotonic()
    c.action("Login", Username="dialer", Secret="nope", ActionID="bad")
    assert c.read() == [("Response", "Error"), ("ActionID", "bad"), ("Message", "Authentication failed")]
    assert time.monotonic() - t0 >= 0.2
    with pytest.raises(EOFError):
        c.read()


def test_unauthenticated_session_closed_after_authtimeout(pbxsim, ami_client):
    sim = pbxsim(authtimeout=0.2)
    c = ami_client(sim)
    with pytest.raises(EOFError):
        c.read()


def test_variables_repeated_and_comma_lists(pbxsim, ami_client):
    sim = pbxsim({"default": {"ring": 0.01, "talk": 5}}, channelvars="A,B,C,D")
    c = logged_in(sim, ami_client)
    c.action("Originate", Channel="SIP/1@t", Application="Wait", Data="1", ActionID="o",
             Variable=["A=1,B=2", "C=3"], ChannelId="v1", Async="true")
    msgs = read_until_event(c, "OriginateResponse")
    resp = msgs[-1]
    chan = msg_get(resp, "Channel")
    assert [(k, v) for k, v in resp if k.startswith("ChanVariable")] == [
        (f"ChanVariable({chan})", "A=1"), (f"ChanVariable({chan})", "B=2"),
        (f"ChanVariable({chan})", "C=3"), (f"ChanVariable({chan})", "D=")]
    assert sim.wait_records(1, ended=False)[0]["variables"] == {"A": "1", "B": "2", "C": "3"}


def test_line_over_1024_bytes_is_dropped(pbxsim, ami_client):
    sim = pbxsim()
    c = logged_in(sim, ami_client)
    c.send("Action: Ping\r\nActionID: " + "x" * 1100 + "\r\n\r\nAction: Ping\r\nActionID: ok\r\n\r\n")
    # the long ActionID line is dumped; what follows it in the buffer is a junk header
    first = c.read()
    assert msg_get(first, "Ping") == "Pong" and msg_get(first, "ActionID") is None
    assert msg_get(c.read(), "ActionID") == "ok"


def test_header_injection_crlf_and_blank_line(pbxsim, ami_client):
    sim = pbxsim({"default": {"ring": 0.01, "talk": 5}})
    c = logged_in(sim, ami_client)
    # a lone CRLF only adds headers to the same action: first Action: wins
    c.send("Action: Originate\r\nActionID: i1\r\nChannel: SIP/1@t\r\nApplication: Wait\r\n"
           "Data: 1\r\nAsync: true\r\nVariable: DIALER_ID=x\r\nAction: Logoff\r\n\r\n")
    assert msg_get(c.read(), "Message") == "Originate successfully queued"
    # a blank line starts a second action, run with the user's own rights
    c.send("Action: Ping\r\nActionID: i2\r\n\r\nAction: Command\r\nCommand: core show version\r\n\r\n")
    msgs = c.read_until(lambda m: msg_get(m, "Response") == "Error")
    assert msg_get(msgs[-1], "Message") == "Permission denied"   # dialer user lacks write=command


def test_events_off_suppresses_originate_response(pbxsim, ami_client):
    sim = pbxsim({"default": {"ring": 0.01, "talk": 0.01}})
    c = logged_in(sim, ami_client, events="off")
    c.action("Originate", Channel="SIP/1@t", Application="Wait", Data="1", ActionID="o",
             Async="true")
    c.read()
    sim.wait_records(1)
    c.action("Ping", ActionID="p")
    assert msg_get(c.read(), "ActionID") == "p"       # nothing else arrived before it


def test_events_mask_call_drops_user_events(pbxsim, ami_client):
    sim = pbxsim({"default": {"ring": 0.01, "talk": 0.05, "userevents": True}})
    c = logged_in(sim, ami_client, events="off")
    c.action("Events", EventMask="call", ActionID="e")
    assert c.read() == [("Response", "Success"), ("ActionID", "e"), ("Events", "On")]
    c.action("Originate", Channel="SIP/1@t", Application="Wait", Data="9", ActionID="o",
             Async="true")
    msgs = read_until_event(c, "Hangup")
    assert "UserEvent" not in [msg_get(m, "Event") for m in msgs]
    assert "OriginateResponse" in [msg_get(m, "Event") for m in msgs]


def test_capacity_full_trunk_cause_34(pbxsim, ami_client):
    sim = pbxsim({"default": {"ring": 0.01, "talk": 30}}, max_channels=2)
    c = logged_in(sim, ami_client)
    for i in range(3):
        c.action("Originate", Channel=f"SIP/10{i}@t", Application="Wait", Data="60",
                 ActionID=f"o{i}", ChannelId=f"c{i}", Async="true")
    msgs = c.read_until(lambda m: msg_get(m, "Event") == "Hangup")
    h = msgs[-1]
    assert msg_get(h, "Uniqueid") == "c2" and msg_get(h, "Cause") == "34"
    recs = {r["channelid"]: r for r in sim.wait_records(3, ended=False)}
    assert recs["c2"]["full"] is True and recs["c2"]["cause"] == 34
    assert sim.stats()["live_calls"] == 2


def test_fault_hang_keeps_tcp_but_stops_answering(pbxsim, ami_client):
    sim = pbxsim()
    c = logged_in(sim, ami_client)
    sim.fault("hang")
    c.action("Ping", ActionID="p")
    c.sock.settimeout(0.3)
    with pytest.raises(socket.timeout):
        c.read()
    sim.fault("resume")
    c.sock.settimeout(5)
    assert msg_get(c.read(), "ActionID") == "p"


def test_fault_restart_shutdown_event_refuses_then_accepts(pbxsim, ami_client):
    sim = pbxsim({"default": {"ring": 0.01, "talk": 30}})
    c = logged_in(sim, ami_client)
    c.action("Originate", Channel="SIP/1@t", Application="Wait", Data="60", ActionID="o",
             ChannelId="up", Async="true")
    read_until_event(c, "OriginateResponse")
    sim.fault("restart", seconds=3)
    msgs = read_until_event(c, "Shutdown")
    names = [msg_get(m, "Event") for m in msgs]
    assert names.index("SoftHangupRequest") < names.index("Hangup") < names.index("Shutdown")
    assert msg_get(msgs[names.index("SoftHangupRequest")], "Cause") == "4"
    assert msgs[-1] == [("Event", "Shutdown"), ("Privilege", "system,all"),
                        ("Shutdown", "Cleanly"), ("Restart", "True")]
    with pytest.raises(EOFError):
        c.read()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((sim.host, sim.port), timeout=2).close()
    sim.wait_listening()
    c2 = logged_in(sim, ami_client)
    c2.action("CoreShowChannels", ActionID="c")
    assert msg_get(c2.read_until(lambda m: msg_get(m, "Event") == "CoreShowChannelsComplete")[-1],
                   "ListItems") == "0"


def test_fault_crash_closes_without_event(pbxsim, ami_client):
    sim = pbxsim({"default": {"ring": 0.01, "talk": 30}})
    c = logged_in(sim, ami_client)
    c.action("Originate", Channel="SIP/1@t", Application="Wait", Data="60", ActionID="o",
             Async="true")
    read_until_event(c, "OriginateResponse")
    sim.fault("crash", seconds=0.3)
    with pytest.raises(EOFError):
        c.read()                                      # no Hangup, no Shutdown before EOF
    sim.wait_listening()
    assert sim.records()[0]["outcome"] == "crashed"


def test_writetimeout_drops_a_client_that_does_not_read(pbxsim, ami_client):
    sim = pbxsim({"default": {"ring": 0.0, "talk": 0.0}}, writetimeout=100)
    slow = ami_client(sim)
    slow.login()
    slow.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    fast = logged_in(sim, ami_client, events="off")    # only its own responses: it keeps up

    def drain():
        try:
            while fast.sock.recv(1 << 20):
                pass
        except OSError:
            pass
    threading.Thread(target=drain, daemon=True).start()
    batch = "".join(f"Action: Originate\r\nChannel: SIP/{i}@t\r\nApplication: Wait\r\nData: 1\r\n"
                    f"Variable: DIALER_ID={'x' * 200}\r\nAsync: true\r\n\r\n" for i in range(3000))
    fast.send(batch)
    deadline = time.monotonic() + 20
    while sim.stats()["logged_in"] > 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sim.stats()["logged_in"] == 1
    assert "writetimeout" in sim.log()


def test_scheduled_fault_from_scenario(pbxsim, ami_client):
    sim = pbxsim({"faults": [{"at": 0.3, "fault": "drop"}]})
    c = logged_in(sim, ami_client)
    with pytest.raises(EOFError):
        while True:
            c.read()


def test_record_helpers_overlap_and_concurrency(pbxsim, ami_client):
    sim = pbxsim({"default": {"ring": 0.01, "talk": 0.3}})
    c = logged_in(sim, ami_client)
    for i, number in enumerate(["0611", "0611", "0622"]):
        c.action("Originate", Channel=f"SIP/{number}@t", Application="Wait", Data="9",
                 ActionID=f"o{i}", Async="true")
    recs = sim.wait_records(3)
    assert set(sim.overlapping_numbers()) == {"0611"}
    assert sim.max_concurrent() == 3
    assert sim.concurrent_at(recs[0]["start"] + 0.05) == 3
    assert sim.concurrent_at(max(r["end"] for r in recs) + 1) == 0


def test_calls_per_second_limit_fails_the_excess_like_a_full_trunk(pbxsim, ami_client):
    sim = pbxsim({"default": {"ring": 0.01, "talk": 30}}, cps=2)
    c = logged_in(sim, ami_client)
    c.send("".join(f"Action: Originate\r\nChannel: SIP/20{i}@t\r\nApplication: Wait\r\nData: 60\r\n"
                   f"ActionID: o{i}\r\nAsync: true\r\n\r\n" for i in range(6)))
    recs = sim.wait_records(6, ended=False)
    refused = [r for r in sim.wait_records(2) if r.get("full")]
    # one burst spans at most two one-second windows: at most 4 admitted
    assert len(recs) == 6 and len(refused) >= 2
    assert all(r["cause"] == 34 and r["channel"] for r in refused)


def test_trunk_down_for_a_while_then_back(pbxsim, ami_client):
    """A rule with until: the carrier answers 503 from the first Originate on, then recovers."""
    sim = pbxsim({"default": {"ring": 0.01, "talk": 0.05},
                  "rules": [{"until": 1.0, "outcome": "congestion"}]})
    c = logged_in(sim, ami_client)
    c.action("Originate", Channel="SIP/100@t", Application="Wait", Data="1", ActionID="o0",
             ChannelId="c0", Async="true")
    time.sleep(1.2)
    c.action("Originate", Channel="SIP/101@t", Application="Wait", Data="1", ActionID="o1",
             ChannelId="c1", Async="true")
    recs = {r["channelid"]: r for r in sim.wait_records(2)}
    assert (recs["c0"]["outcome"], recs["c0"]["cause"]) == ("congestion", 34)
    assert recs["c1"]["outcome"] == "answer"
