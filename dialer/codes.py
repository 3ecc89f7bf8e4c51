"""The manual's tables as data: return codes, originate reasons, hangup causes.

Return codes -5..5 mean "call again while attempts remain"; every other code is final
(original-implementation.md: `disposition > -6 AND disposition < 6`).
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class ReturnCode:
    code: int
    name: str


# The manual's "Dialer Call Return Codes", verbatim names.
RETURN_CODES = {c.code: c for c in (
    ReturnCode(-8, "Burned (We give up)"),
    ReturnCode(-7, "Disconnected Number - No Answer"),
    ReturnCode(-6, "Fax Machine"),
    ReturnCode(-5, "Network Congestion"),
    ReturnCode(-4, "Busy"),
    ReturnCode(-3, "Voicemail - Get called back"),
    ReturnCode(-2, "No Answer"),
    ReturnCode(-1, "Undefined"),
    ReturnCode(0, "Callback"),
    ReturnCode(1, "Not Yet Called - Get called back"),
    ReturnCode(2, "No Answer"),
    ReturnCode(3, "Voicemail - Get called back"),
    ReturnCode(4, "Busy"),
    ReturnCode(5, "Fast Busy"),
    ReturnCode(6, "Fax Machine"),
    ReturnCode(7, "Disconnected Number"),
    ReturnCode(8, "Do Not Call - Don't count as contacts"),
    ReturnCode(9, "Invalid Lead"),
    ReturnCode(10, "No Sale"),
    ReturnCode(11, "No Sale - These both..."),
    ReturnCode(12, "Sale - count as contacts"),
)}

BURNED = -8
DISCONNECTED = -7
FAX = -6
CONGESTION = -5
BUSY = -4
VOICEMAIL = -3
NO_ANSWER = -2
UNDEFINED = -1
NOT_YET_CALLED = 1
DO_NOT_CALL = 8
INVALID_LEAD = 9
SALE = 12

RETRY_MIN, RETRY_MAX = -5, 5


def is_retryable(code: int) -> bool:
    """True for the codes the original dials again (-5..5) while attempts remain."""
    return RETRY_MIN <= code <= RETRY_MAX


def final_code(code: int, attempts: int, max_attempts: int) -> int:
    """The code an attempt's lead keeps: a retryable code on the last allowed attempt is -8
    (Burned). The only place this rule lives: the engine, the store's release and repair all
    call it, and the store writes what it is given."""
    if is_retryable(code) and attempts >= max_attempts:
        return BURNED
    return code


def code_name(code: int) -> str:
    rc = RETURN_CODES.get(code)
    return rc.name if rc else f"Unknown code {code}"


# OriginateResponse Reason values (the last control frame seen; manual + ami-notes).
ORIGINATE_REASONS = {
    0: "Failure (no channel, or rejected)",
    1: "Other end has hungup",
    2: "Local ring",
    3: "Remote end is ringing",
    4: "Remote end has answered",
    5: "Remote end is busy",
    6: "Make it go off hook",
    7: "Line is off hook",
    8: "Congestion (circuits busy)",
}

# The manual's hangup causes (Q.850).
HANGUP_CAUSES = {
    0: "Unknown",
    1: "Unallocated (unassigned) number",
    2: "No route to specified transmit network",
    3: "No route to destination",
    5: "Misdialled trunk prefix (national use)",
    6: "Channel unacceptable",
    7: "Call awarded and being delivered in an established channel",
    8: "Preemption",
    14: "QoR: ported number",
    16: "Normal Clearing",
    17: "User busy",
    18: "No user responding",
    19: "No answer from user (user alerted)",
    20: "Subscriber absent",
    21: "Call Rejected",
    22: "Number changed",
    23: "Redirected to new destination",
    26: "Non-selected user clearing",
    27: "Destination out of order",
    28: "Invalid number format",
    29: "Facility rejected",
    30: "Response to STATUS ENQUIRY",
    31: "Normal, unspecified",
    34: "No circuit/channel available",
    38: "Network out of order",
    41: "Temporary failure",
    42: "Switching equipment congestion",
    43: "Access information discarded",
    44: "Requested circuit/channel not available",
    50: "Requested facility not subscribed",
    52: "Outgoing call barred",
    54: "Incoming call barred",
    57: "Bearer capability not authorized",
    58: "Bearer capability not presently available",
    65: "Bearer capability not implemented",
    66: "Channel type not implemented",
    69: "Requested facility not implemented",
    81: "Invalid call reference value",
    88: "Incompatible destination",
    95: "Invalid message unspecified",
    96: "Mandatory information element is missing",
    97: "Message type non-existent or not implemented",
    98: "Message not compatible with call state or message type non-existent or not implemented",
    99: "Information element nonexistent or not implemented",
    100: "Invalid information element contents",
    101: "Message not compatible with call state",
    102: "Recover on timer expiry",
    111: "Protocol error, unspecified",
    127: "Interworking, unspecified",
}


def cause_text(cause: int) -> str:
    return HANGUP_CAUSES.get(cause, f"Cause {cause}")


def reason_text(reason: int) -> str:
    return ORIGINATE_REASONS.get(reason, f"Reason {reason}")


# Outcome classes: a bounded label set for metrics and logs.
CLASS_ANSWERED = "answered"
CLASS_BUSY = "busy"
CLASS_NOANSWER = "noanswer"
CLASS_CONGESTION = "congestion"
CLASS_DISCONNECTED = "disconnected"
CLASS_MACHINE = "machine"
CLASS_FAX = "fax"
CLASS_FAILED = "failed"
OUTCOME_CLASSES = (CLASS_ANSWERED, CLASS_BUSY, CLASS_NOANSWER, CLASS_CONGESTION,
                   CLASS_DISCONNECTED, CLASS_MACHINE, CLASS_FAX, CLASS_FAILED)

CAUSES_BUSY = frozenset({17})
CAUSES_CONGESTION = frozenset({34, 38, 41, 42, 44, 27, 102})
CAUSES_NOANSWER = frozenset({18, 19, 20, 21, 16})
CAUSES_DISCONNECTED = frozenset({1, 3, 22, 28})

REASON_ANSWERED = 4
REASON_RINGING = 3
REASON_BUSY = 5
REASON_CONGESTION = 8


@dataclass(frozen=True)
class Classification:
    code: int          # return code for the disposition column
    klass: str         # one of OUTCOME_CLASSES
    answered: bool


def classify(reason, cause, *, answered=None, machine=False, fax=False, channel_created=True,
             app_status=None, default_answered=12):
    """Map an attempt's AMI facts to a return code (README "Outcome to return code").

    reason: OriginateResponse Reason (int or None if never received); cause: the Hangup
    Cause of the far-end channel (int or None). The Cause wins over the Reason, since
    chan_pjsip reports Reason 0 for every rejection.
    """
    if answered is None:
        answered = reason == REASON_ANSWERED
    # A machine or a fax is not a contact: no pickup is counted for it.
    if fax or (answered and app_status == FAX):
        return Classification(FAX, CLASS_FAX, False)
    if machine or (answered and app_status == VOICEMAIL):
        return Classification(VOICEMAIL, CLASS_MACHINE, False)
    if answered:
        code = app_status if app_status is not None else default_answered
        return Classification(code, CLASS_ANSWERED, True)
    if not channel_created:
        return Classification(UNDEFINED, CLASS_FAILED, False)
    if cause in CAUSES_BUSY:
        return Classification(BUSY, CLASS_BUSY, False)
    if cause in CAUSES_CONGESTION:
        return Classification(CONGESTION, CLASS_CONGESTION, False)
    if cause in CAUSES_DISCONNECTED:
        return Classification(DISCONNECTED, CLASS_DISCONNECTED, False)
    if cause in CAUSES_NOANSWER:
        return Classification(NO_ANSWER, CLASS_NOANSWER, False)
    if reason == REASON_BUSY:
        return Classification(BUSY, CLASS_BUSY, False)
    if reason == REASON_CONGESTION:
        return Classification(CONGESTION, CLASS_CONGESTION, False)
    if reason == REASON_RINGING:
        return Classification(NO_ANSWER, CLASS_NOANSWER, False)
    return Classification(UNDEFINED, CLASS_FAILED, False)
