"""Q.850 cause texts exactly as Asterisk prints them (main/channel.c causes[]), and the
SIP-response-to-cause map chan_sip and chan_pjsip share (ami-notes.md)."""

CAUSE_TEXT = {
    0: "Unknown",
    1: "Unallocated (unassigned) number",
    2: "No route to specified transmit network",
    3: "No route to destination",
    5: "Misdialed trunk prefix",
    6: "Channel unacceptable",
    7: "Call awarded and being delivered in an established channel",
    8: "Pre-empted",
    14: "Number ported elsewhere",
    16: "Normal Clearing",
    17: "User busy",
    18: "No user responding",
    19: "User alerting, no answer",
    20: "Subscriber absent",
    21: "Call Rejected",
    22: "Number changed",
    23: "Redirected to new destination",
    26: "Answered elsewhere",
    27: "Destination out of order",
    28: "Invalid number format",
    29: "Facility rejected",
    30: "Response to STATUS ENQUIRY",
    31: "Normal, unspecified",
    34: "Circuit/channel congestion",
    38: "Network out of order",
    41: "Temporary failure",
    42: "Switching equipment congestion",
    43: "Access information discarded",
    44: "Requested channel not available",
    50: "Facility not subscribed",
    52: "Outgoing call barred",
    54: "Incoming call barred",
    57: "Bearer capability not authorized",
    58: "Bearer capability not available",
    65: "Bearer capability not implemented",
    66: "Channel not implemented",
    69: "Facility not implemented",
    81: "Invalid call reference value",
    88: "Incompatible destination",
    95: "Invalid message unspecified",
    96: "Mandatory information element is missing",
    97: "Message type nonexist.",
    98: "Wrong message",
    99: "Info. element nonexist or not implemented",
    100: "Invalid information element contents",
    101: "Message not compatible with call state",
    102: "Recover on timer expiry",
    103: "Mandatory IE length error",
    111: "Protocol error, unspecified",
    127: "Interworking, unspecified",
}

_SIP_CAUSE = {401: 21, 403: 21, 407: 21, 603: 21, 404: 1, 485: 1, 604: 1, 408: 18,
              480: 19, 483: 19, 484: 28, 486: 17, 600: 17, 487: 127, 488: 58, 606: 58,
              500: 38, 502: 27, 503: 34, 504: 102}


def cause_text(cause: int) -> str:
    return CAUSE_TEXT.get(cause, "Unknown")


def sip_to_cause(code: int) -> int:
    if code in _SIP_CAUSE:
        return _SIP_CAUSE[code]
    if 400 <= code < 500:
        return 127
    if 500 <= code < 600:
        return 34
    return 0
