"""Build the Originate action for one attempt (headers + channel variables).

Compatible with the original dialer's Originate (original-implementation.md) so existing
dialplans and VoiceXML applications keep working. Every value ends up in an AMI header: the
AMI link refuses CR/LF/control characters, and `check_lead()` refuses them earlier so a bad lead
is recorded as Invalid Lead instead of failing at the socket.
"""
import re

from .model import MAX_CHANNELID, ChannelId, channel_id  # noqa: F401  (the ChannelId naming lives with the data)

_UNSAFE = re.compile(r"[\x00-\x1f\x7f]")


class InvalidLead(ValueError):
    """The lead cannot be dialled safely (control characters, bad number)."""


def check_value(field: str, value: str) -> str:
    if _UNSAFE.search(value):
        raise InvalidLead(f"{field} contains a control character")
    return value


def _opt(value):
    """Config gives None for unset (none/0); tolerate plain strings from hand-built settings."""
    if value is None:
        return None
    text = str(value).strip()
    return None if text.lower() in ("", "none") else text


def dial_string(camp, phone: str) -> str:
    prefix = _opt(getattr(camp, "dialprefix", None)) or ""
    return camp.dialformat.replace("%s", prefix + phone, 1)


def build(camp, lead, chan_id: ChannelId, *, dspmode_context: str = None):
    """Return (headers, variables) for an Originate of `lead` in campaign settings `camp`."""
    phone = check_value("phone", lead.phone)
    param = check_value("param", lead.param or "")
    name = camp.name
    callerid = _opt(getattr(camp, "callerid", None)) or ""
    uri = _opt(getattr(camp, "uri", None)) or ""
    mode = (getattr(camp, "mode", None) or "voximal").lower()
    headers = {
        "Channel": dial_string(camp, phone),
        "Timeout": str(int(camp.timeout)),
        "Account": name,
        "ChannelId": chan_id,
        "OtherChannelId": ChannelId(chan_id).other,
    }
    if callerid:
        headers["CallerID"] = f"{callerid} <{callerid}>"
    variables = {
        "__LEADID": str(lead.id),
        "__CAMPAIGN": name,
        "DIALER_ID": f"{name}:{lead.id}",
        "DIALER_CAMPAIGN": name,
    }
    if mode in ("voximal", "vxml"):
        app, pfx = ("Voximal", "VOXIMAL") if mode == "voximal" else ("Vxml", "VXML")
        headers.update({"Application": app, "Data": uri})
        variables.update({
            f"__{pfx}_LOCAL": callerid,
            f"__{pfx}_REMOTE": phone,
            f"__{pfx}_URL2": uri,
            f"__{pfx}_ID": str(lead.id),
            f"__{pfx}_PARAM": param,
        })
    elif mode == "application":
        headers.update({"Application": camp.application, "Data": _opt(getattr(camp, "data", None)) or ""})
    else:  # dialplan
        headers.update({"Context": camp.context, "Exten": str(camp.extension), "Priority": str(camp.priority)})
    dsp = (getattr(camp, "dspmode", None) or "none").lower()
    if dsp != "none" and mode != "dialplan":
        # Answered calls go through the detection context first; it hands over to the
        # application named in these variables (dialer/data/extensions-dialer.conf).
        variables["DIALER_DSP"] = dsp
        variables["DIALER_APP"] = headers.pop("Application")
        variables["DIALER_APPDATA"] = headers.pop("Data")
        headers.update({"Context": dspmode_context or getattr(camp, "dspcontext", None) or "dialer-dsp",
                        "Exten": "s", "Priority": "1"})
    for key in ("chanvar", "chanstr", "chanvar1", "chanvar2"):
        pair = getattr(camp, key, None)
        if pair is None or str(pair).strip() in ("", "0"):
            continue
        name, sep, value = str(pair).partition("=")
        # A bare `chanvar=NAME` names the variable that receives the lead's param.
        variables[name.strip()] = value.strip() if sep else param
    for n, key in enumerate(("sipheader1", "sipheader2"), start=1):
        value = _opt(getattr(camp, key, None))
        if value:
            variables[f"__SIPADDHEADER{n:02d}"] = value
    for key, value in list(headers.items()) + list(variables.items()):
        check_value(key, str(value))
    return headers, variables
