"""Build the Originate action for one attempt (headers + channel variables).

Compatible with the original dialer's Originate (original-implementation.md) so existing
dialplans and VoiceXML applications keep working. Every value ends up in an AMI header: the
AMI link refuses CR/LF/control characters, and `check_lead()` refuses them earlier so a bad lead
is recorded as Invalid Lead instead of failing at the socket.
"""
import re
from typing import Dict, Tuple

from .model import MAX_CHANNELID, ChannelId, Lead, channel_id  # noqa: F401  (the ChannelId naming lives with the data)

_UNSAFE = re.compile(r"[\x00-\x1f\x7f]")


class InvalidLead(ValueError):
    """The lead cannot be dialled safely (control characters, bad number)."""


def check_value(field: str, value: str) -> str:
    if _UNSAFE.search(value):
        raise InvalidLead(f"{field} contains a control character")
    return value


def dial_string(camp, phone: str) -> str:
    return camp.dialformat.replace("%s", (camp.dialprefix or "") + phone, 1)


def build(camp, lead: Lead, chan_id: ChannelId) -> Tuple[Dict[str, str], Dict[str, str]]:
    """Return (headers, variables) for an Originate of `lead` in campaign `camp` (a
    config.Campaign: its values are already parsed and checked)."""
    phone = check_value("phone", lead.phone)
    param = check_value("param", lead.param or "")
    name = camp.name
    callerid = camp.callerid or ""
    uri = camp.uri or ""
    mode = camp.mode
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
        headers.update({"Application": camp.application, "Data": camp.data or ""})
    else:  # dialplan
        headers.update({"Context": camp.context, "Exten": str(camp.extension), "Priority": str(camp.priority)})
    if camp.dspmode != "none" and mode != "dialplan":
        # Answered calls go through the detection context first; it hands over to the
        # application named in these variables (dialer/data/extensions-dialer.conf).
        variables["DIALER_DSP"] = camp.dspmode
        variables["DIALER_APP"] = headers.pop("Application")
        variables["DIALER_APPDATA"] = headers.pop("Data")
        headers.update({"Context": camp.dspcontext, "Exten": "s", "Priority": "1"})
    for pair in camp.chanvars:
        # A bare `chanvar=NAME` names the variable that receives the lead's param.
        variables[pair.name] = param if pair.value is None else pair.value
    for n, header in enumerate(camp.sipheaders, start=1):
        variables[f"__SIPADDHEADER{n:02d}"] = str(header)
    for key, value in list(headers.items()) + list(variables.items()):
        check_value(key, str(value))
    return headers, variables
