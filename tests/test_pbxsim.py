"""dialer-pbxsim: the AMI protocol, the call model and the record, over real TCP."""

import pytest

from tests.plugins.pbxsim import msg_get


def events_of(msgs, name):
    return [m for m in msgs if msg_get(m, "Event") == name]


def originate(c, number="1000", peer="voip-out", aid="o1", tech="SIP", **extra):
    h = dict(Channel=f"{tech}/{number}@{peer}", Application="Wait", Data="2", Timeout="10000",
             CallerID='"Dialer" <5550000>', Variable=["DIALER_ID=test:1", "DIALER_CAMPAIGN=test"],
             ActionID=aid, Async="true")
    h.update(extra)
    c.action("Originate", **h)


def until_hangup(c, uniqueid=None):
    def done(m):
        return msg_get(m, "Event") == "Hangup" and (uniqueid is None or msg_get(m, "Uniqueid") == uniqueid)
    return c.read_until(done)


def test_login_fullybooted_and_ping(pbxsim, ami_client):
    sim = pbxsim()
    c = ami_client(sim)
    assert c.banner == "Asterisk Call Manager/9.0.0"
    assert c.login() == [("Response", "Success"), ("ActionID", "login"),
                         ("Message", "Authentication accepted")]
    assert msg_get(c.read(), "Event") == "FullyBooted"
    c.action("Ping", ActionID="p")
    m = c.read()
    assert m[:3] == [("Response", "Success"), ("ActionID", "p"), ("Ping", "Pong")]
    c.action("Logoff")
    assert c.read() == [("Response", "Goodbye"), ("Message", "Thanks for all the fish.")]
    with pytest.raises(EOFError):
        c.read()


def test_answered_call_full_sequence_and_record(pbxsim, ami_client):
    sim = pbxsim({"default": {"outcome": "answer", "ring": 0.05, "talk": 0.05, "status": 12,
                              "userevents": True, "result": "sale"}})
    c = ami_client(sim)
    c.login()
    originate(c, number="0612345678", ChannelId="dlr-1")
    msgs = until_hangup(c)
    names = [msg_get(m, "Event") for m in msgs if msg_get(m, "Event")]
    assert names[0] == "FullyBooted"
    assert names.index("Newchannel") < names.index("DialBegin") < names.index("OriginateResponse")
    resp = events_of(msgs, "OriginateResponse")[0]
    assert msg_get(resp, "Response") == "Success" and msg_get(resp, "Reason") == "4"
    assert msg_get(resp, "Uniqueid") == "dlr-1"
    chan = msg_get(resp, "Channel")
    assert chan.startswith("SIP/voip-out-")
    assert (f"ChanVariable({chan})", "DIALER_ID=test:1") in resp
    ue = events_of(msgs, "UserEvent")
    assert [msg_get(u, "UserEvent") for u in ue] == ["Pickup", "Hangup"]
    assert msg_get(ue[1], "Result") == "sale" and msg_get(ue[1], "Duration") == "0"
    hangup = msgs[-1]
    assert msg_get(hangup, "Uniqueid") == msg_get(hangup, "Linkedid") == "dlr-1"
    assert msg_get(hangup, "Cause") == "16" and msg_get(hangup, "Cause-txt") == "Normal Clearing"
    assert ("ChanVariable", "DIALER_STATUS=12") in hangup
    rec = sim.wait_records(1)[0]
    assert rec["number"] == "0612345678" and rec["peer"] == "voip-out"
    assert rec["variables"] == {"DIALER_ID": "test:1", "DIALER_CAMPAIGN": "test"}
    assert rec["outcome"] == "answer" and rec["channel"] == chan and rec["status"] == "12"
    assert rec["start"] <= rec["answer"] <= rec["end"]


@pytest.mark.parametrize("outcome,reason,cause,text", [
    ("busy", "5", "17", "User busy"),
    ("congestion", "8", "34", "Circuit/channel congestion"),
    ("unallocated", "0", "1", "Unallocated (unassigned) number"),
    ("unavailable", "5", "19", "User alerting, no answer"),
    ("rejected", "0", "21", "Call Rejected"),
])
def test_rejections_chan_sip(pbxsim, ami_client, outcome, reason, cause, text):
    sim = pbxsim({"rules": [{"prefix": "9", "outcome": outcome, "ring": 0.01}]})
    c = ami_client(sim)
    c.login()
    originate(c, number="9001", ChannelId="r1")
    msgs = c.read_until(lambda m: msg_get(m, "Event") == "Hangup")
    more = [] if events_of(msgs, "OriginateResponse") else c.read_until(
        lambda m: msg_get(m, "Event") == "OriginateResponse")
    resp = events_of(msgs + more, "OriginateResponse")[0]
    assert msg_get(resp, "Response") == "Failure" and msg_get(resp, "Reason") == reason
    assert msg_get(resp, "Channel") == "SIP/9001@voip-out"
    assert not any(k.startswith("ChanVariable") for k, _ in resp)
    h = events_of(msgs, "Hangup")[0]
    assert (msg_get(h, "Cause"), msg_get(h, "Cause-txt")) == (cause, text)


def test_pjsip_rejection_reason_0_with_techcause(pbxsim, ami_client):
    sim = pbxsim({"default": {"outcome": "busy", "ring": 0.01}}, driver="pjsip")
    c = ami_client(sim)
    c.login()
    originate(c, tech="PJSIP", peer="carrier")
    msgs = c.read_until(lambda m: msg_get(m, "Event") == "Hangup")
    resp = events_of(msgs, "OriginateResponse")[0]
    assert msg_get(resp, "Reason") == "0"
    assert msg_get(msgs[-1], "Cause") == "17" and msg_get(msgs[-1], "TechCause") == "486"
    assert msg_get(events_of(msgs, "DialEnd")[0], "DialStatus") == "BUSY"


def test_noanswer_rings_until_timeout(pbxsim, ami_client):
    sim = pbxsim({"default": {"outcome": "noanswer"}})
    c = ami_client(sim)
    c.login()
    originate(c, Timeout="100")
    msgs = c.read_until(lambda m: msg_get(m, "Event") == "OriginateResponse")
    assert msg_get(msgs[-1], "Reason") == "3"
    assert "DialEnd" not in [msg_get(m, "Event") for m in msgs]
    assert msg_get(events_of(msgs, "Hangup")[0], "Cause") == "19"


def test_unknown_technology_only_failure_response(pbxsim, ami_client):
    sim = pbxsim()
    c = ami_client(sim)
    c.login()
    c.read()
    c.action("Originate", Channel="FOO/bar", Application="Wait", Data="2", ActionID="f",
             Async="true")
    assert c.read() == [("Response", "Success"), ("ActionID", "f"),
                        ("Message", "Originate successfully queued")]
    m = c.read()
    assert msg_get(m, "Event") == "OriginateResponse"
    assert msg_get(m, "Response") == "Failure" and msg_get(m, "Reason") == "0"
    assert msg_get(m, "Uniqueid") == "<unknown>" and msg_get(m, "Channel") == "FOO/bar"
    rec = sim.wait_records(1)[0]
    assert rec["channel"] is None and rec["outcome"] == "nochannel"


def test_fault_drop_closes_connections_and_accepts_again(pbxsim, ami_client):
    sim = pbxsim()
    c = ami_client(sim)
    c.login()
    c.read()
    sim.fault("drop")
    with pytest.raises(EOFError):
        while True:
            c.read()
    c2 = ami_client(sim)
    assert c2.login()[0] == ("Response", "Success")


def test_hangup_action_on_a_ringing_call(pbxsim, ami_client):
    sim = pbxsim({"default": {"outcome": "noanswer"}})
    c = ami_client(sim)
    c.login()
    originate(c, ChannelId="ring-1", Timeout="60000")
    msgs = c.read_until(lambda m: msg_get(m, "Event") == "DialState")
    chan = msg_get(msgs[-1], "DestChannel")
    c.action("Hangup", Channel=chan, ActionID="h")
    msgs = c.read_until(lambda m: msg_get(m, "Event") == "Hangup")
    assert [("Response", "Success"), ("ActionID", "h"), ("Message", "Channel Hungup")] in msgs
    assert msg_get(events_of(msgs, "OriginateResponse")[0], "Reason") == "3"
    c.action("Hangup", Channel=chan, ActionID="h2")
    assert msg_get(c.read(), "Message") == "No such channel"


def test_synchronous_originate_answers_after_the_call_is_decided(pbxsim, ami_client):
    sim = pbxsim({"rules": [{"prefix": "4", "outcome": "busy", "ring": 0.05}],
                  "default": {"ring": 0.05, "talk": 5}})
    c = ami_client(sim)
    c.login(events="off")
    c.action("Originate", Channel="SIP/1@t", Application="Wait", Data="9", ActionID="s1")
    c.action("Ping", ActionID="p")        # queued behind the blocking Originate
    assert c.read() == [("Response", "Success"), ("ActionID", "s1"),
                        ("Message", "Originate successfully queued")]
    assert msg_get(c.read(), "ActionID") == "p"
    c.action("Originate", Channel="SIP/4@t", Application="Wait", Data="9", ActionID="s2")
    assert c.read() == [("Response", "Error"), ("ActionID", "s2"), ("Message", "Originate failed")]


def test_dialplan_originate_runs_the_scenario_dialplan(pbxsim, ami_client):
    sim = pbxsim({"default": {"ring": 0.01, "talk": 30},
                  "dialplan": {"dialer-app": {"s": ["Answer()", "UserEvent(Pickup)",
                                                    "Set(DIALER_STATUS=12)", "Wait(0.05)",
                                                    "Hangup()"]}}},
                 manager_conf="[general]\nchannelvars = DIALER_STATUS\n"
                              "[dialer]\nsecret = 1234\nread = all\nwrite = originate\n")
    c = ami_client(sim)
    c.login(events="all")
    c.action("Originate", Channel="SIP/1@t", Context="dialer-app", Exten="s", Priority="1",
             ActionID="d", Async="true")
    msgs = c.read_until(lambda m: msg_get(m, "Event") == "Hangup")
    apps = [msg_get(m, "Application") for m in events_of(msgs, "Newexten")]
    assert apps == ["AppDial2", "Answer", "UserEvent", "Set", "Wait", "Hangup"]
    assert msg_get(events_of(msgs, "UserEvent")[0], "UserEvent") == "Pickup"
    assert msg_get(events_of(msgs, "SoftHangupRequest")[0], "Cause") == "16"
    assert ("ChanVariable", "DIALER_STATUS=12") in msgs[-1]


def test_local_channel_outcome_comes_from_its_second_half(pbxsim, ami_client):
    sim = pbxsim({"rules": [{"prefix": "555", "outcome": "busy"}]})
    c = ami_client(sim)
    c.login()
    c.action("Originate", Channel="Local/5551@from-internal", Application="Wait", Data="1",
             ActionID="l", ChannelId="loc", Async="true")
    msgs = c.read_until(lambda m: msg_get(m, "Event") == "Hangup" and
                        msg_get(m, "Uniqueid") == "loc;2")
    resp = events_of(msgs, "OriginateResponse")[0]
    assert (msg_get(resp, "Response"), msg_get(resp, "Reason")) == ("Failure", "5")
    causes = {msg_get(m, "Uniqueid"): msg_get(m, "Cause") for m in events_of(msgs, "Hangup")}
    assert causes == {"loc": "0", "loc;2": "17"}


def test_pjsip_driver_has_no_chan_sip(pbxsim, ami_client):
    sim = pbxsim(driver="pjsip")
    c = ami_client(sim)
    c.login()
    c.read()
    originate(c, tech="SIP")
    c.read()
    m = c.read()
    assert (msg_get(m, "Event"), msg_get(m, "Reason")) == ("OriginateResponse", "0")


def test_stop_records_calls_still_up_and_ctl_command(pbxsim, ami_client, tmp_path):
    import subprocess
    import sys
    sim = pbxsim({"default": {"ring": 0.01, "talk": 60}})
    c = ami_client(sim)
    c.login()
    originate(c)
    c.read_until(lambda m: msg_get(m, "Event") == "OriginateResponse")
    r = subprocess.run([sys.executable, "-m", "dialer.pbxsim", "ctl", str(sim.control_path), "stats"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and '"live_calls": 1' in r.stdout
    r = subprocess.run([sys.executable, "-m", "dialer.pbxsim", "ctl", str(sim.control_path),
                        "fault", "explode"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and "unknown fault 'explode'" in r.stdout
    sim.stop()
    rec = sim.records()[0]
    assert rec["outcome"] == "stopped" and rec["end"] >= rec["answer"]
