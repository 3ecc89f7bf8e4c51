"""Outcome classification against the real Asterisk transcripts (tests/captures, copied from the team's Asterisk runs).

Every capture that originates a call is fed, event by event and in the order Asterisk sent
them, to the engine's Attempt; the decided return code must match what the far end did."""
import re

import pytest

from dialer import codes
from dialer.ami import parse_text
from dialer.attempt import Attempt
from dialer.model import Lead
from tests.conftest import CAPTURES

ANSWERED = "answered"
# Keyword of the capture name -> expected return code (first match wins).
EXPECTED = [
    ("shutdown", None), ("kill9", None), ("events-off", None), ("header-injection", None),
    ("minimal", None),
    ("noanswer", codes.NO_ANSWER), ("ringbusy", codes.BUSY), ("busy", codes.BUSY),
    ("congest", codes.CONGESTION), ("unavail", codes.NO_ANSWER), ("decline", codes.NO_ANSWER),
    ("notfound", codes.DISCONNECTED), ("noroute", codes.DISCONNECTED),
    ("unknown", codes.UNDEFINED), ("badtech", codes.UNDEFINED), ("nosuchep", codes.UNDEFINED),
    ("nocontact", codes.UNDEFINED),
    ("userevent", ANSWERED), ("amd", ANSWERED), ("answer", ANSWERED), ("csc", ANSWERED),
    ("coreshowchannels", ANSWERED), ("ping-events", ANSWERED), ("hangup-action", ANSWERED),
    ("local.txt", ANSWERED),
]


def captures():
    out = []
    for path in sorted(CAPTURES.glob("asterisk-*/*.txt")):
        if path.name.endswith((".sent.txt", ".timeline.txt")) or path.name.startswith("SUMMARY"):
            continue
        text = path.read_text(errors="replace")
        if "Event: OriginateResponse" not in text:
            continue
        expected = next((code for key, code in EXPECTED if key in path.name), "missing")
        if expected is None:       # protocol captures, not call outcomes
            continue
        out.append(pytest.param(path, expected, id=f"{path.parent.name}/{path.stem}"))
    return out


def call_events(path):
    """The first originated call's events: by ChannelId when the capture set one."""
    msgs = parse_text(path.read_text(errors="replace"))
    resp = next(m for m in msgs if m.name == "OriginateResponse")
    cid = resp.get("Uniqueid") or ""
    if cid in ("", "<unknown>"):
        # Round 1: no ChannelId, one call per capture: every channel event, up to the first
        # CoreShowChannels listing (the csc captures list channels, they are not new calls).
        return [m for m in msgs if m.name and m.name != "CoreShowChannel"]
    ids = {cid, cid + "-o", cid + ";2"}
    return [m for m in msgs if m is resp or m.get("Linkedid") in ids or m.get("Uniqueid") in ids]


@pytest.mark.parametrize("path,expected", captures())
def test_capture_outcome(path, expected):
    assert expected != "missing", f"no expectation for {path.name}"
    att = Attempt(campaign="test", lead=Lead(id=1, phone="1000", attempts=1), channelid="x",
                  action_id="a", started=0.0, answeredcode=11)
    for n, msg in enumerate(call_events(path)):
        att.on_event(msg, float(n))
    assert att.complete() or expected == ANSWERED, "the attempt should be decidable from its events"
    out = att.outcome(now=1000.0)
    if expected == ANSWERED:
        # The application's status (DIALER_STATUS on the Hangup, or a UserEvent's Status),
        # else answeredcode.
        assert out.picked_up
        events = call_events(path)
        status = [m.variables.get("DIALER_STATUS") for m in events
                  if m.name == "Hangup" and m.variables.get("DIALER_STATUS")]
        status += [m.get("Status") for m in events if m.name == "UserEvent" and m.get("Status")]
        want = int(status[-1]) if status else 11
        assert out.disposition == want, (out, status)
    else:
        assert out.disposition == expected, out
        assert not out.picked_up
    if out.cause:
        assert not re.search(r"[\r\n]", out.cause)
