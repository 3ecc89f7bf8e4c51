"""dialer.ami.wire: parsing Asterisk's bytes (the real captures) and building safe actions."""
import pytest

from dialer import ami
from dialer.ami.wire import encode_action
from tests.conftest import CAPTURES

ROUND2 = CAPTURES / "asterisk-20.20.1-round2"


def messages(name):
    return ami.parse_text((ROUND2 / f"{name}.txt").read_text())


def test_every_capture_parses_and_keeps_chanvariables_out_of_headers():
    files = sorted(ROUND2.glob("*.txt"))
    files = [f for f in files if not f.name.endswith((".sent.txt", ".timeline.txt")) and f.stem != "SUMMARY"]
    assert len(files) > 20
    for f in files:
        for msg in ami.parse_text(f.read_text()):
            assert msg.name or msg.get("Response"), (f.name, msg)
            assert not any("ChanVariable" in k for k in msg.headers), (f.name, msg.headers)


def test_four_chanvariable_spellings():
    by_name = {}
    for msg in messages("cid-local-answer"):
        by_name.setdefault(msg.name, msg)
    orr = by_name["OriginateResponse"]
    assert orr.variables == {"DIALER_ID": "test:10", "DIALER_CAMPAIGN": "test", "DIALER_STATUS": ""}
    assert list(orr.chanvars) == [""]                      # ChanVariable(Local/...;1): ...
    assert by_name["DialBegin"].chanvars["Dest"]["DIALER_ID"] == "test:10"
    bridge = by_name["LocalBridge"]
    assert set(bridge.chanvars) == {"LocalOne", "LocalTwo"}
    assert bridge.variables["DIALER_CAMPAIGN"] == "test"


def test_status_set_by_the_dialplan_is_on_the_hangup():
    hangup = [m for m in messages("amd-answerlong") if m.name == "Hangup"][-1]
    assert hangup.variables["DIALER_STATUS"] == "12"
    assert hangup.get("cause") == "16" and hangup["CAUSE-TXT"] == "Normal Clearing"


def test_first_value_wins_and_get_is_case_insensitive():
    msg = ami.parse_text("Event: X\r\nFoo: 1\r\nfoo: 2\r\nEmpty: \r\n\r\n")[0]
    assert msg.headers == {"Event": "X", "Foo": "1", "Empty": ""}
    assert msg.get("FOO") == "1" and msg.get("empty") == "" and msg.get("missing", "d") == "d"
    assert "foo" in msg and "bar" not in msg


def test_responses_and_list_events():
    msgs = messages("coreshowchannels")
    chans = [m for m in msgs if m.name == "CoreShowChannel"]
    assert len(chans) == 2 and all(m.action_id for m in chans)
    login = msgs[0]
    assert isinstance(login, ami.Response) and login.success and login.message == "Authentication accepted"


def test_encode_action_one_variable_per_header_with_escaping():
    data = encode_action("Originate", {"ActionID": "a1", "Channel": "SIP/1@x"},
                         {"__LEADID": "7", "P": 'a,b"c\\d'})
    assert data == (b"Action: Originate\r\nActionID: a1\r\nChannel: SIP/1@x\r\n"
                    b"Variable: __LEADID=7\r\nVariable: P=a\\,b\\\"c\\\\d\r\n\r\n")


@pytest.mark.parametrize("headers,variables", [
    ({"Channel": "SIP/1\r\nAction: Command"}, {}),
    ({"Channel": "SIP/1\n"}, {}),
    ({"Channel": "\x7f"}, {}),
    ({"Channel": "x\x85y"}, {}),          # NEL, a C1 control character
    ({"Channel": None}, {}),
    ({"Chan nel": "x"}, {}),
    ({"Channel": "x", "CHANNEL": "y"}, {}),
    ({"Variable": "A=1"}, {}),
    ({}, {"A": "1\r\n"}),
    ({}, {"A B": "1"}),
    ({}, {"": "1"}),
    ({"Data": "x" * 1100}, {}),
])
def test_encode_action_refuses(headers, variables):
    with pytest.raises(ami.HeaderError):
        encode_action("Originate", headers, variables)


def test_encode_action_accepts_ordinary_text():
    data = encode_action("Originate", {"CallerID": '"Zoë Müller" <+33 1 23>', "Data": "https://x/y?a=1&b=2"},
                         {"CDR(userfield)": "é", "__X": ""})
    assert "Zoë".encode() in data and b"Variable: CDR(userfield)=\xc3\xa9\r\n" in data


def test_refusal_names_the_header_but_never_shows_a_secret():
    with pytest.raises(ami.HeaderError) as err:
        encode_action("Originate", {"Channel": "SIP/1\r\n"})
    assert "'Channel'" in str(err.value) and "'\\r'" in str(err.value)
    with pytest.raises(ami.HeaderError) as err:
        encode_action("Login", {"Username": "dialer", "Secret": "topsecret\n"})
    assert "topsecret" not in str(err.value)
    with pytest.raises(ami.HeaderError) as err:
        ami.AmiLink("127.0.0.1", 5038, "dialer", "topsecret\n", None)
    assert "topsecret" not in str(err.value)
