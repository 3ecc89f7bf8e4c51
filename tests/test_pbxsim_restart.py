"""dialer-pbxsim standing in for an Asterisk that restarts (`core restart now`) or is killed
(kill -9) with calls up: what a client sees, and the PBX it finds when it comes back."""
import socket
import subprocess
import sys

import pytest

from tests.plugins.pbxsim import ROOT, msg_get

LONG = {"default": {"ring": 0.01, "talk": 60}}


def event(name):
    return lambda m: msg_get(m, "Event") == name


def logged_in(sim, ami_client):
    c = ami_client(sim)
    c.login()
    booted = c.read()
    assert msg_get(booted, "Event") == "FullyBooted"
    return c, booted


def two_calls_up(c):
    """One answered call (cid-a) and one still ringing (cid-b: ring 30 s)."""
    c.action("Originate", Channel="SIP/0611@voip-out", Application="Wait", Data="60",
             ActionID="a", ChannelId="cid-a", Async="true")
    c.read_until(lambda m: event("OriginateResponse")(m) and msg_get(m, "ActionID") == "a")
    c.action("Originate", Channel="SIP/0622@slow", Application="Wait", Data="60",
             ActionID="b", ChannelId="cid-b", Async="true")
    c.read_until(lambda m: event("Newchannel")(m) and msg_get(m, "Uniqueid") == "cid-b")


def after_reboot(sim, ami_client):
    """Log in to the PBX that came back: -> (FullyBooted, uniqueids CoreShowChannels lists)."""
    sim.wait_listening()
    c, booted = logged_in(sim, ami_client)
    c.action("CoreShowChannels", ActionID="csc")
    listed = c.read_until(event("CoreShowChannelsComplete"))
    return c, booted, [msg_get(m, "Uniqueid") for m in listed if event("CoreShowChannel")(m)]


def refused():
    # the listener is closed before the sessions: once the client saw the close, no connect
    return pytest.raises(ConnectionRefusedError)


SLOW = {"default": {"ring": 0.01, "talk": 60},
        "rules": [{"peer": "slow", "outcome": "answer", "ring": 30}]}


def test_scheduled_restart_hangs_up_every_call_then_shuts_down(pbxsim, ami_client):
    sim = pbxsim(dict(SLOW, faults=[{"at": 1.5, "fault": "restart", "seconds": 1}]))
    c, _ = logged_in(sim, ami_client)
    two_calls_up(c)
    msgs = c.read_until(event("Shutdown"))
    with pytest.raises(EOFError):
        c.read()
    with refused():
        socket.create_connection((sim.host, sim.port), timeout=2).close()
    hangups = {msg_get(m, "Uniqueid"): m for m in msgs if event("Hangup")(m)}
    assert set(hangups) == {"cid-a", "cid-b"}
    soft = [msg_get(m, "Uniqueid") for m in msgs
            if event("SoftHangupRequest")(m) and msg_get(m, "Cause") == "4"]
    assert sorted(soft) == ["cid-a", "cid-b"]
    # the ringing call's Originate ends as a failure, before its Hangup
    fail = [m for m in msgs if event("OriginateResponse")(m) and msg_get(m, "ActionID") == "b"]
    assert msg_get(fail[0], "Response") == "Failure" and msg_get(fail[0], "Reason") == "0"
    assert msgs[-1] == [("Event", "Shutdown"), ("Privilege", "system,all"),
                        ("Shutdown", "Cleanly"), ("Restart", "True")]
    _, booted, listed = after_reboot(sim, ami_client)
    assert listed == [] and msg_get(booted, "Uptime") == "0"
    recs = {r["channelid"]: r for r in sim.wait_records(2)}
    assert recs["cid-a"]["outcome"] == recs["cid-b"]["outcome"] == "shutdown"


def test_scheduled_crash_drops_the_connection_and_the_calls_without_a_word(pbxsim, ami_client):
    sim = pbxsim(dict(SLOW, faults=[{"at": 1.5, "fault": "crash", "seconds": 1}]))
    c, _ = logged_in(sim, ami_client)
    two_calls_up(c)
    after = []
    with pytest.raises(EOFError):
        while True:
            after.append(c.read())
    # no Hangup, no Shutdown: the connection just closes
    assert [msg_get(m, "Event") for m in after
            if msg_get(m, "Event") in ("SoftHangupRequest", "Hangup", "Shutdown")] == []
    with refused():
        socket.create_connection((sim.host, sim.port), timeout=2).close()
    c2, booted, listed = after_reboot(sim, ami_client)
    assert listed == [] and msg_get(booted, "Uptime") == "0"
    recs = {r["channelid"]: r for r in sim.wait_records(2)}
    assert recs["cid-a"]["outcome"] == recs["cid-b"]["outcome"] == "crashed"
    assert recs["cid-a"]["end"] >= recs["cid-a"]["answer"] and recs["cid-b"]["answer"] is None
    # the vanished channels hold no id any more
    c2.action("Originate", Channel="SIP/0611@voip-out", Application="Wait", Data="60",
              ActionID="again", ChannelId="cid-a", Async="true")
    resp = c2.read_until(event("OriginateResponse"))[-1]
    assert msg_get(resp, "Response") == "Success" and msg_get(resp, "Uniqueid") == "cid-a"


@pytest.mark.parametrize("fault", ["restart", "crash"])
def test_ctl_command_line_triggers_restart_and_crash(pbxsim, ami_client, fault):
    sim = pbxsim(LONG)
    c, _ = logged_in(sim, ami_client)
    c.action("Originate", Channel="SIP/0611@voip-out", Application="Wait", Data="60",
             ActionID="a", ChannelId="cid-a", Async="true")
    c.read_until(event("OriginateResponse"))
    out = subprocess.run([sys.executable, "-m", "dialer.pbxsim", "ctl", str(sim.control_path),
                          "fault", fault, "seconds=0.5"], cwd=ROOT, capture_output=True, text=True,
                         timeout=30)
    assert (out.returncode, out.stdout.strip()) == (0, "ok")
    with pytest.raises(EOFError):
        while True:
            c.read()
    _, _, listed = after_reboot(sim, ami_client)
    assert listed == []
    assert sim.wait_records(1)[0]["outcome"] == {"restart": "shutdown", "crash": "crashed"}[fault]


def test_no_channel_is_created_while_shutting_down(pbxsim, ami_client):
    """Between the hangups and the Shutdown event Asterisk refuses new channels ("Refusing
    due to active shutdown"): an Originate then fails like an unknown peer, and nothing of it
    survives into the restarted PBX."""
    sim = pbxsim(LONG, shutdown_delay=1.0)
    c, _ = logged_in(sim, ami_client)
    c.action("Originate", Channel="SIP/0611@voip-out", Application="Wait", Data="60",
             ActionID="a", ChannelId="cid-a", Async="true")
    c.read_until(event("OriginateResponse"))
    sim.fault("restart", seconds=0.5)
    c.read_until(lambda m: event("Hangup")(m) and msg_get(m, "Uniqueid") == "cid-a")
    c.action("Originate", Channel="SIP/0622@voip-out", Application="Wait", Data="60",
             ActionID="late", ChannelId="late-1", Async="true")
    msgs = c.read_until(event("Shutdown"))
    late = [m for m in msgs if msg_get(m, "ActionID") == "late" or msg_get(m, "Uniqueid") == "late-1"]
    assert [(msg_get(m, "Event"), msg_get(m, "Response")) for m in late] == [
        (None, "Success"), ("OriginateResponse", "Failure")]
    assert msg_get(late[1], "Reason") == "0"
    _, _, listed = after_reboot(sim, ami_client)
    assert listed == []
    recs = {r["channelid"]: r for r in sim.wait_records(2)}
    assert recs["late-1"]["outcome"] == "shutdown" and recs["late-1"]["channel"] is None
    assert "Refusing due to active shutdown" in sim.log()
