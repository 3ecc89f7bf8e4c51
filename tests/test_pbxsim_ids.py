"""dialer-pbxsim refuses a ChannelId/OtherChannelId in use, as Asterisk 20.20.1 does: an id that
is a case-insensitive prefix of the uniqueid of a live channel (channelstorage strncasecmp over
the new id's length) gets a Failure OriginateResponse, Reason 0, and no channel, no events."""
from tests.plugins.pbxsim import msg_get

UP = {"default": {"ring": 0.01, "talk": 60}}


def logged_in(sim, ami_client):
    c = ami_client(sim)
    c.login()
    c.read()                                          # FullyBooted
    return c


def originate(c, aid, number="1000", is_async="true", **ids):
    c.action("Originate", Channel=f"SIP/{number}@voip-out", Application="Wait", Data="60",
             Timeout="10000", CallerID='"Dialer" <5550000>', Variable="DIALER_ID=test:1",
             ActionID=aid, Async=is_async, **ids)


def response_of(c, aid):
    """-> (the OriginateResponse of `aid`, every message read up to it)."""
    msgs = c.read_until(lambda m: msg_get(m, "Event") == "OriginateResponse"
                        and msg_get(m, "ActionID") == aid)
    return msgs[-1], msgs


def up(c, aid, number, channelid, **other):
    originate(c, aid, number, ChannelId=channelid, **other)
    resp, _ = response_of(c, aid)
    assert msg_get(resp, "Response") == "Success", resp
    return msg_get(resp, "Channel")


def refused(c, aid, number, **ids):
    """Originate, expect the in-use failure and nothing else: no Newchannel, no Hangup."""
    originate(c, aid, number, **ids)
    resp, msgs = response_of(c, aid)
    c.action("Ping", ActionID=f"{aid}-ping")
    msgs += c.read_until(lambda m: msg_get(m, "ActionID") == f"{aid}-ping")
    others = [m for m in msgs if m is not resp and msg_get(m, "ActionID") not in (aid, f"{aid}-ping")]
    assert not [m for m in others if msg_get(m, "Event") in ("Newchannel", "DialBegin", "Hangup")
                or msg_get(m, "Uniqueid") in ids.values()], others
    return resp


def test_channelid_prefix_of_a_live_uniqueid_is_refused_like_asterisk(pbxsim, ami_client):
    sim = pbxsim(UP)
    c = logged_in(sim, ami_client)
    chan = up(c, "a", "1010", "pfxtest-10")
    # the exact shape of a Reason-0 failure (captures: cid-fail-unknown-peer)
    assert refused(c, "r1", "1001", ChannelId="pfxtest-1", OtherChannelId="pfxtest-1-o") == [
        ("Event", "OriginateResponse"), ("Privilege", "call,all"), ("ActionID", "r1"),
        ("Response", "Failure"), ("Channel", "SIP/1001@voip-out"), ("Application", "Wait"),
        ("Data", "60"), ("Reason", "0"), ("Uniqueid", "pfxtest-1"), ("CallerIDNum", "5550000"),
        ("CallerIDName", "Dialer")]
    assert msg_get(refused(c, "r2", "1002", ChannelId="PFXTEST-10"), "Uniqueid") == "PFXTEST-10"
    assert msg_get(refused(c, "r3", "1003", ChannelId="PfxTest-"), "Reason") == "0"
    # OtherChannelId is checked the same way
    assert msg_get(refused(c, "r4", "1004", ChannelId="fresh-4", OtherChannelId="pfxtest-1"),
                   "Uniqueid") == "fresh-4"
    # longer than the live id, or different: accepted
    up(c, "a2", "1100", "pfxtest-100")
    up(c, "a3", "1200", "pfxtest-2")
    c.action("CoreShowChannels", ActionID="csc")
    listed = c.read_until(lambda m: msg_get(m, "Event") == "CoreShowChannelsComplete")
    assert sorted(msg_get(m, "Uniqueid") for m in listed if msg_get(m, "Event") == "CoreShowChannel") \
        == ["pfxtest-10", "pfxtest-100", "pfxtest-2"]
    recs = {r["actionid"]: r for r in sim.wait_records(7, ended=False)}
    for aid in ("r1", "r2", "r3", "r4"):
        assert recs[aid]["outcome"] == "inuse" and recs[aid]["channel"] is None
    assert recs["a"]["end"] is None and recs["a2"]["end"] is None
    assert f"Channel Unique ID 'pfxtest-1' already in use by channel {chan}" in sim.log()
    assert sim.stats()["live_calls"] == 3


def test_sync_originate_with_an_id_in_use_fails(pbxsim, ami_client):
    sim = pbxsim(UP)
    c = logged_in(sim, ami_client)
    up(c, "a", "1010", "dup-1")
    originate(c, "s", "1011", is_async="false", ChannelId="DUP-1")
    msgs = c.read_until(lambda m: msg_get(m, "Event") is None and msg_get(m, "ActionID") == "s")
    assert msgs[-1] == [("Response", "Error"), ("ActionID", "s"), ("Message", "Originate failed")]
    assert [msg_get(m, "Reason") for m in msgs if msg_get(m, "Event") == "OriginateResponse"] == ["0"]


def test_the_local_second_half_counts(pbxsim, ami_client):
    sim = pbxsim(UP)
    c = logged_in(sim, ami_client)
    c.action("Originate", Channel="Local/1000@sim", Application="Wait", Data="60", ActionID="l",
             ChannelId="loc-1", OtherChannelId="loc-1-other", Async="true")
    c.read_until(lambda m: msg_get(m, "Event") == "OriginateResponse")
    assert msg_get(refused(c, "r", "1001", ChannelId="LOC-1-OTH"), "Response") == "Failure"


def test_the_rule_ends_when_the_channel_hangs_up(pbxsim, ami_client):
    sim = pbxsim(UP)
    c = logged_in(sim, ami_client)
    chan = up(c, "a", "1010", "pfxtest-10")
    refused(c, "r", "1001", ChannelId="pfxtest-1")
    c.action("Hangup", Channel=chan, ActionID="h")
    c.read_until(lambda m: msg_get(m, "Event") == "Hangup" and msg_get(m, "Uniqueid") == "pfxtest-10")
    up(c, "b", "1001", "pfxtest-1")
    up(c, "b2", "1010", "PFXTEST-10X")
    recs = {r["actionid"]: r for r in sim.wait_records(4, ended=False)}
    assert recs["b"]["end"] is None and recs["b2"]["end"] is None
