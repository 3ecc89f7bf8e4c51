"""The declarative table of every dialer.conf key: scope, converter, default, meaning.

One row per key. `General` and `Campaign` are built from this table, so a key added here
is parsed, validated, defaulted and exposed as an attribute with nothing else to change
(docs/config.md and dialer/data/dialer.conf are checked against it by the tests).
"""
import dataclasses
import socket
from dataclasses import dataclass
from typing import Any, Callable, Optional, Tuple

from dialer import codes
from dialer.names import ORDERBY
from dialer.config import types as t

GENERAL = "general"
CAMPAIGN = "campaign"


@dataclass(frozen=True)
class Setting:
    name: str
    scope: str                      # GENERAL or CAMPAIGN ([default] and campaign sections)
    convert: Callable[[str], Any]   # raises ValueError("<what is expected>")
    default: Any = None
    doc: str = ""
    aliases: Tuple[str, ...] = ()
    secret: bool = False            # never shown in repr() or messages
    is_path: bool = False           # relative paths are taken relative to the file that sets them
    default_factory: Optional[Callable[[], Any]] = None
    inert: bool = False             # accepted for compatibility, no effect: warn when changed

    def default_value(self):
        return self.default_factory() if self.default_factory else self.default


def _hostname():
    name = socket.gethostname().split(".")[0] or "dialer"
    try:
        return t.instance_id(name[:64])
    except ValueError:
        return "dialer"


def _answered_code(value):
    code = t.integer()(value)
    if code not in codes.RETURN_CODES:
        raise ValueError(f"a return code of the manual's table ({min(codes.RETURN_CODES)}..{max(codes.RETURN_CODES)})")
    return code


_opt = t.optional
_noz = t.NONE_OR_ZERO_WORDS
_MODES = ("voximal", "vxml", "application", "dialplan")

# f_mode -> the key holding its codes.
CODE_FILTER_KEYS = {"areacode": "f_areacode", "acprefix": "f_areacode_prefix", "zipcode": "f_zipcode"}

G, C = GENERAL, CAMPAIGN
SETTINGS = (
    # ---- [general]: process, database, Asterisk ------------------------------------------
    Setting("debug", G, t.boolean, False,
            "Verbose logging of the whole process, and tracebacks of internal errors (same as --debug)."),
    Setting("log", G, t.boolean, False, "Write one line per finished attempt to `calllog`."),
    Setting("calllog", G, t.path, "/var/log/dialer/calls.log", "Per-attempt call log file (when log=true).", is_path=True),
    Setting("dbengine", G, t.choice("mysql", "sqlite", aliases={"mariadb": "mysql"}), "mysql",
            "Database backend: mysql (MariaDB/MySQL server) or sqlite (embedded file)."),
    Setting("sqlitepath", G, t.path, "/var/lib/dialer/dialer.sqlite", "SQLite database file (dbengine=sqlite).", is_path=True),
    Setting("mysqlhost", G, t.host, "localhost", "MariaDB/MySQL server host."),
    Setting("mysqlport", G, t.port(), 3306, "MariaDB/MySQL server TCP port."),
    Setting("mysqlsocket", G, _opt(t.path), None,
            "Unix socket of the MariaDB server; when set it is used instead of host and port.", is_path=True),
    Setting("mysqluser", G, t.text, "dialer", "MariaDB/MySQL user."),
    Setting("mysqlpassword", G, t.secret, "", "MariaDB/MySQL password.", secret=True),
    Setting("mysqldatabase", G, t.identifier, "dialer", "Database (schema) holding the campaign tables."),
    Setting("asteriskhost", G, t.host, "localhost", "Asterisk Manager Interface host."),
    Setting("asteriskport", G, t.port(), 5038, "Asterisk Manager Interface TCP port."),
    Setting("asteriskuser", G, t.text, "dialer", "AMI user (a section of manager.conf)."),
    Setting("asteriskpassword", G, t.secret, "", "AMI secret.", secret=True),
    Setting("amiping", G, t.duration("s", 0, strict_minimum=True, whole=False), 10.0,
            "Seconds between AMI Ping keep-alives; a missed answer means the link is down."),
    Setting("amitimeout", G, t.duration("s", 0, strict_minimum=True, whole=False), 5.0,
            "Seconds allowed for the AMI connect, login and each action."),
    Setting("metricsaddress", G, t.host, "127.0.0.1", "Address the Prometheus metrics endpoint listens on."),
    Setting("metricsport", G, t.port(allow_zero=True), 9317, "Port of the Prometheus metrics endpoint; 0 disables it."),
    Setting("pidfile", G, t.path, "/run/dialer/dialer.pid", "Pid file of `dialer --start`.", is_path=True),
    Setting("statedir", G, t.path, "/var/lib/dialer",
            "Directory for state that must survive a restart (the result journal).", is_path=True),
    Setting("drainseconds", G, t.duration("s", 0, whole=False), 60.0,
            "On stop, seconds live calls may take to finish before they are hung up."),
    Setting("instance", G, t.instance_id, None, "Name of this dialer in lead claims (several dialers may share a database).",
            default_factory=_hostname),
    Setting("leaseseconds", G, t.duration("s", 1), 300,
            "Seconds a claimed lead stays reserved to this dialer without being renewed."),
    Setting("loopms", G, t.duration("ms", 1), 1000, "Period of the engine's dialing iteration, in milliseconds."),
    Setting("historydays", G, t.integer(0), 400,
            "Days the attempt history (dialer_history) is kept; older attempts are purged; 0 = keep forever."),
    Setting("trunkbreaker", G, t.boolean, True,
            "Hold calls back on a trunk whose calls fail on the trunk side, and do not count those attempts."),
    Setting("trunkfailures", G, t.integer(1), 20, "Consecutive trunk failures that open a trunk."),
    Setting("trunkfailpercent", G, t.integer(0, 100), 90,
            "Share (%) of trunk failures in the last trunkwindow attempts that opens a trunk; 0 = off."),
    Setting("trunkwindow", G, t.integer(1), 50, "Attempts trunkfailpercent looks at."),
    Setting("trunkbackoff", G, t.duration("s", 0, strict_minimum=True, whole=False), 30.0,
            "Seconds an open trunk waits before its first probe calls; doubled at each failed probe."),
    Setting("trunkbackoffmax", G, t.duration("s", 0, strict_minimum=True, whole=False), 600.0,
            "Cap on that wait, in seconds."),
    Setting("trunkprobes", G, t.integer(1), 2, "Calls let through to test an open trunk; one success closes it."),
    # ---- [general]: the web console, dialer-web (docs/web.md) --------------------------------
    Setting("weblisten", G, t.listen, "127.0.0.1:8080", "host:port the web console listens on."),
    Setting("websecretfile", G, t.path, "/var/lib/dialer/web-secret",
            "File holding the web console's session key; created (mode 0600) at its first start.", is_path=True),
    Setting("webcertfile", G, _opt(t.path), None,
            "TLS certificate (PEM) of the web console; with webkeyfile, it serves HTTPS; none = plain HTTP.",
            is_path=True),
    Setting("webkeyfile", G, _opt(t.path), None, "TLS private key (PEM) matching webcertfile.", is_path=True),
    Setting("webworkers", G, t.integer(1, 64), 2, "Worker processes of the web console."),
    Setting("webmaxupload", G, t.integer(1, 4096), 50, "Largest lead list the web console accepts, in MB."),

    # ---- campaign keys: [default] and one section per campaign ---------------------------
    Setting("active", C, t.boolean, True, "false pauses the campaign."),
    Setting("mode", C, t.choice(*_MODES, aliases={"notify": "voximal"}), "voximal",
            "What an answered call runs: voximal (Voximal application with `uri`), vxml (Vxml application), "
            "application (`application`/`data`), dialplan (`context`/`extension`/`priority`).",
            aliases=("function",)),
    Setting("debug", C, t.boolean, False,
            "Accepted for compatibility with the original; no effect (use [general] debug).", inert=True),
    Setting("calltoday", C, t.boolean, True,
            "false: at most one attempt per lead per calendar day; true: retries may happen the same day."),
    Setting("usednc", C, t.boolean, False, "Also skip numbers in the global do-not-call table."),
    Setting("maxlines", C, t.integer(1), 30, "Maximum simultaneous calls of the campaign."),
    Setting("maxcaps", C, t.integer(1), 10, "Maximum calls started per iteration (the dialing speed)."),
    Setting("trunk", C, t.text, "SIP", "Trunk name; campaigns with the same trunk share `trunkmaxlines`."),
    Setting("trunkmaxlines", C, t.integer(0), 0, "Cap on simultaneous calls over all campaigns of this trunk; 0 = no cap."),
    Setting("attempts", C, t.integer(1), 1, "Calls placed to a lead at most."),
    Setting("attemptsdelay", C, t.duration("s", 0), 600, "Seconds between two attempts on the same lead."),
    Setting("retry", C, _opt(t.retry_delays), None,
            "Delay before the next call per outcome, e.g. busy:5m noanswer:1h; attemptsdelay for the others."),
    Setting("maxretries", C, _opt(t.retry_limits), None,
            "Attempts ending with an outcome at most, e.g. busy:5 noanswer:3; attempts for the others."),
    Setting("timeout", C, t.duration("ms", 0, strict_minimum=True), 30000,
            "Milliseconds the call may ring before it counts as not answered (Originate Timeout)."),
    Setting("dialformat", C, t.dialformat, "SIP/%s", "Channel to dial; %s is replaced by dialprefix + the phone."),
    Setting("dialprefix", C, _opt(t.dialprefix), None, "Prefix put before every phone number; none = no prefix."),
    Setting("callerid", C, _opt(t.text), None, "Caller ID presented on the calls; none = the trunk's own."),
    Setting("uri", C, _opt(t.text), None, "URL of the VoiceXML application (voximal and vxml modes).", aliases=("url",)),
    Setting("application", C, _opt(t.app_name), None, "Asterisk application run by an answered call (mode=application)."),
    Setting("data", C, _opt(t.text), None, "Argument string of `application` (mode=application)."),
    Setting("context", C, _opt(t.context_name), None, "Dialplan context of an answered call (mode=dialplan)."),
    Setting("extension", C, _opt(t.extension), None, "Dialplan extension of an answered call (mode=dialplan)."),
    Setting("priority", C, t.priority, 1, "Dialplan priority (number or label) of an answered call (mode=dialplan)."),
    Setting("dspmode", C, t.choice("none", "amd", "fax", "both"), "none",
            "Answering-machine (amd) and/or fax detection on answered calls."),
    Setting("dspcontext", C, t.context_name, "dialer-dsp", "Dialplan context that runs the detection for dspmode."),
    Setting("answeredcode", C, _answered_code, 12,
            "Return code of an answered call whose application reported none."),
    Setting("multiplecalls", C, t.boolean, False,
            "false: never two simultaneous calls to the same number (across campaigns and dialers)."),
    Setting("timeslot", C, _opt(t.timeslot), None,
            "Calling window; none = any time. Read in `timezone` (or in the lead's zone, see leadtimezone)."),
    Setting("pause", C, _opt(t.pause), None, "Window inside the timeslot when no call starts; none = no pause."),
    Setting("timestart", C, _opt(t.integer(0, 24)), None,
            "Original spelling of the window: first hour (0-24); used when timeslot is not set."),
    Setting("timestop", C, _opt(t.integer(0, 24)), None,
            "Original spelling of the window: hour the window closes (0-24); used when timeslot is not set."),
    Setting("timezone", C, _opt(t.timezone), None, "IANA zone the window is read in; none = the server's zone."),
    Setting("leadtimezone", C, _opt(t.lead_timezone), None,
            "Apply the window in the lead's own zone: auto = from the number; a zone name = for leads without one; "
            "none = no per-lead zone."),
    Setting("defaultregion", C, _opt(t.region), None,
            "With leadtimezone = auto: country (FR, US...) of numbers stored without their country code; "
            "none = numbers are international digits (33..., 1212...)."),
    Setting("orderby", C, t.choice(*ORDERBY), ORDERBY[0],
            "Order in which leads are taken."),
    Setting("skip", C, t.integer(0), 0, "Skip this many of the ordered candidates (OFFSET)."),
    Setting("filter", C, _opt(t.filter_expression, _noz), None,
            "Expression over the campaign's columns restricting which leads are called; 0/none = all."),
    Setting("blacklist", C, _opt(t.identifier, _noz), None, "Table of numbers never to call; none = no blacklist."),
    Setting("f_mode", C, _opt(t.choice(*CODE_FILTER_KEYS), _noz), None,
            "Which code filter applies: areacode, acprefix (area code + prefix) or zipcode; 0/none = no code filter."),
    Setting("f_areacode", C, t.code_list(r"\+?[0-9]{1,8}", "area codes (number prefixes)"),
            t.CodeFilter(), "Area codes (leading digits of the number) to call, or with ! to skip (f_mode=areacode)."),
    Setting("f_areacode_prefix", C, t.code_list(r"\+?[0-9]{1,12}", "area code + prefix digits"),
            t.CodeFilter(), "Area code + exchange prefixes to call, or with ! to skip (f_mode=acprefix)."),
    Setting("f_zipcode", C, t.code_list(r"[A-Za-z0-9][A-Za-z0-9 -]{0,15}", "zip codes"),
            t.CodeFilter(), "Zip codes to call, or with ! to skip (f_mode=zipcode)."),
    Setting("chanvar", C, _opt(t.chanvar_or_name, _noz), None,
            "NAME: a channel variable that receives the lead's param; or NAME=value, a fixed variable; 0 = none."),
    Setting("chanstr", C, _opt(t.chanvar, _noz), None, "NAME=value channel variable (second one); 0 = none."),
    Setting("chanvar1", C, _opt(t.chanvar, _noz), None, "NAME=value extra channel variable (original's chanvar1)."),
    Setting("chanvar2", C, _opt(t.chanvar, _noz), None, "NAME=value extra channel variable (original's chanvar2)."),
    Setting("sipheader1", C, _opt(t.sipheader, _noz), None, "'Name: value' SIP header added to the call."),
    Setting("sipheader2", C, _opt(t.sipheader, _noz), None, "'Name: value' second SIP header."),
    Setting("clipping", C, t.boolean, False, "Accepted for compatibility with the original; no effect: each "
            "attempt's result is written once anyway (as is -k).", inert=True),
    Setting("retries", C, t.integer(0), 0, "Accepted for compatibility with the original; no effect (see attempts).",
            inert=True),
    Setting("ringonly", C, t.boolean, False, "Accepted for compatibility with the original; no effect.", inert=True),
    Setting("unanswered", C, t.boolean, False, "Accepted for compatibility with the original; no effect.", inert=True),
)
del G, C

GENERAL_SETTINGS = {s.name: s for s in SETTINGS if s.scope == GENERAL}
CAMPAIGN_SETTINGS = {s.name: s for s in SETTINGS if s.scope == CAMPAIGN}
ALIASES = {alias: s.name for s in SETTINGS for alias in s.aliases}

assert len(GENERAL_SETTINGS) + len(CAMPAIGN_SETTINGS) == len(SETTINGS), "a key is listed twice"


class _Masked:
    """repr() of a settings object, with secrets replaced by '***'."""

    def __repr__(self):
        table = GENERAL_SETTINGS if isinstance(self, General) else CAMPAIGN_SETTINGS
        parts = []
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            setting = table.get(f.name)
            if setting is not None and setting.secret and value:
                value = _Hidden()
            parts.append(f"{f.name}={value!r}")
        return f"{type(self).__name__}({', '.join(parts)})"


class _Hidden:
    def __repr__(self):
        return "'***'"


class _CampaignBase(_Masked):
    @property
    def chanvars(self):
        """Every NAME=value of chanvar, chanstr, chanvar1, chanvar2 that is set, in that order."""
        return [v for v in (self.chanvar, self.chanstr, self.chanvar1, self.chanvar2) if v]

    @property
    def sipheaders(self):
        return [h for h in (self.sipheader1, self.sipheader2) if h]

    @property
    def code_filter_key(self) -> Optional[str]:
        """The f_* key that f_mode selects (None when f_mode is none)."""
        return CODE_FILTER_KEYS.get(self.f_mode)

    @property
    def code_filter(self) -> t.CodeFilter:
        """The CodeFilter selected by f_mode (empty when f_mode is none)."""
        key = self.code_filter_key
        return getattr(self, key) if key else t.CodeFilter()


def _fields(table):
    return [(name, Any, dataclasses.field(default=None)) for name in table]


General = dataclasses.make_dataclass("General", _fields(GENERAL_SETTINGS), bases=(_Masked,),
                                     frozen=True, repr=False)
General.__doc__ = "The [general] section: one attribute per key of GENERAL_SETTINGS."

Campaign = dataclasses.make_dataclass(
    "Campaign", [("name", str, dataclasses.field(default="default"))] + _fields(CAMPAIGN_SETTINGS),
    bases=(_CampaignBase,), frozen=True, repr=False)
General.__module__ = Campaign.__module__ = __name__   # make_dataclass(module=) is Python 3.12+
Campaign.__doc__ = "One campaign's settings ([default] merged with its section): attributes named like the keys."
