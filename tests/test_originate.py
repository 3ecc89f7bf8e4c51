"""The Originate the dialer sends: compatible with the original, and never injectable."""
import pytest

from dialer import config, originate
from dialer.model import Lead


def camp(**kw):
    """Campaign `sales` as the config loader builds it from these keys."""
    keys = dict(dialformat="SIP/00%s@voip-out", dialprefix="none", timeout=5000, callerid="9987803065",
                uri="http://app/index.vxml", mode="voximal")
    keys.update(kw)
    return config.loads("[sales]\n" + "".join(f"{k}={v}\n" for k, v in keys.items())).campaigns["sales"]


def test_voximal_originate_matches_the_original():
    lead = Lead(id=42, phone="33123456", param="cust=7", attempts=1)
    cid = originate.channel_id("sales", 42, 1)
    headers, variables = originate.build(camp(), lead, cid)
    assert headers["Channel"] == "SIP/0033123456@voip-out"
    assert headers["Application"] == "Voximal" and headers["Data"] == "http://app/index.vxml"
    assert headers["Timeout"] == "5000" and headers["Account"] == "sales"
    assert headers["CallerID"] == "9987803065 <9987803065>"
    assert headers["ChannelId"] == cid == "d-sales-42-1"
    assert variables["__LEADID"] == "42" and variables["__CAMPAIGN"] == "sales"
    assert variables["__VOXIMAL_REMOTE"] == "33123456"
    assert variables["__VOXIMAL_PARAM"] == "cust=7"
    assert variables["__VOXIMAL_URL2"] == "http://app/index.vxml"
    assert variables["__VOXIMAL_LOCAL"] == "9987803065"
    assert variables["DIALER_ID"] == "sales:42" and variables["DIALER_CAMPAIGN"] == "sales"


@pytest.mark.parametrize("word", ["none", "None", ""])
def test_none_means_unset_for_callerid_uri_and_data(word):
    """As in the original, `none` leaves a value unset: no CallerID header, empty Data."""
    lead = Lead(id=1, phone="33123456", attempts=1)
    headers, variables = originate.build(camp(callerid=word, uri=word), lead, originate.channel_id("sales", 1, 1))
    assert "CallerID" not in headers and headers["Data"] == "" and variables["__VOXIMAL_LOCAL"] == ""
    headers, _ = originate.build(camp(mode="application", application="Playback", data=word), lead, "x")
    assert headers["Application"] == "Playback" and headers["Data"] == ""


def test_channel_id_differs_per_attempt_and_respects_asterisk_limit():
    assert originate.channel_id("c", 1, 1) != originate.channel_id("c", 1, 2)
    assert len(originate.channel_id("c" * 64, 10**12, 99)) <= originate.MAX_CHANNELID


def test_dialprefix_and_modes():
    lead = Lead(id=1, phone="123456")
    h, _ = originate.build(camp(dialprefix="9", dialformat="PJSIP/%s@trunk"), lead, "x")
    assert h["Channel"] == "PJSIP/9123456@trunk"
    h, v = originate.build(camp(mode="vxml"), lead, "x")
    assert h["Application"] == "Vxml" and v["__VXML_REMOTE"] == "123456"
    h, _ = originate.build(camp(mode="application", application="Playback", data="hello-world"), lead, "x")
    assert (h["Application"], h["Data"]) == ("Playback", "hello-world")
    h, _ = originate.build(camp(mode="dialplan", context="out", extension="s", priority=1), lead, "x")
    assert (h["Context"], h["Exten"], h["Priority"]) == ("out", "s", "1") and "Application" not in h


def test_dspmode_routes_through_detection_context():
    h, v = originate.build(camp(dspmode="amd", dspcontext="dialer-dsp"), Lead(id=1, phone="123456"), "x")
    assert (h["Context"], h["Exten"], h["Priority"]) == ("dialer-dsp", "s", "1")
    assert v["DIALER_APP"] == "Voximal" and v["DIALER_APPDATA"] == "http://app/index.vxml"
    assert v["DIALER_DSP"] == "amd"


def test_extra_variables_and_sip_headers():
    h, v = originate.build(camp(chanvar="CUSTOMER", chanstr="LANG=fr", chanvar1="A=1", chanvar2="B=2",
                                sipheader1="X-Campaign: sales"), Lead(id=1, phone="123", param="p1"), "x")
    assert v["CUSTOMER"] == "p1" and v["LANG"] == "fr" and v["A"] == "1" and v["B"] == "2"
    assert v["__SIPADDHEADER01"] == "X-Campaign: sales"


@pytest.mark.parametrize("field", ["phone", "param"])
@pytest.mark.parametrize("evil", ["1\r\nAction: Command", "1\nx", "1\x00", "1\rAction: Originate"])
def test_control_characters_in_a_lead_are_refused(field, evil):
    lead = Lead(id=1, phone="123456", param="ok")
    setattr(lead, field, evil)
    with pytest.raises(originate.InvalidLead):
        originate.build(camp(), lead, "x")
