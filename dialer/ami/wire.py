"""AMI wire format: parsing received messages and building the actions we send.

Parsing subclasses pyst2's ManagerMsg: its `parse` calls `dict.has_key` on the first
`ChanVariable` header, which on Python 3 kills pyst2's parser thread (defect 1). Ours keeps
channel variables apart from the headers, in every spelling Asterisk uses.

Building is ours alone: pyst2 writes whatever it is given, so a phone number holding CR/LF
would inject a whole action (defect 8). Everything we send goes through `encode_action`.
"""
import re

from asterisk.manager import ManagerException, ManagerMsg

EOL = "\r\n"
# Asterisk's manager.c reads at most 1024 bytes per line and keeps 128 headers.
MAX_LINE = 1024
MAX_HEADERS = 128

_TOKEN = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+\Z")
# A channel variable, optionally a dialplan function with simple arguments: CDR(userfield).
_VAR_NAME = re.compile(r"[A-Za-z0-9_]+(?:\([A-Za-z0-9_.-]*\))?\Z")
# Asterisk splits every `Variable:` value on commas (AST_STANDARD_APP_ARGS), honours quotes and
# strips one level of backslashes; escaping these keeps one header = one variable, value intact.
_VAR_ESCAPE = re.compile(r'([\\,"])')
_CHANVAR = "ChanVariable"
# Control characters (Unicode Cc: C0, DEL, C1) and the Unicode line/paragraph separators.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


class AmiError(ManagerException):
    """Base of every error the AMI link raises."""


class HeaderError(AmiError, ValueError):
    """A header name or value we were asked to send is unsafe; nothing was sent."""


def check_value(name, value):
    """Return `value` as str, or raise HeaderError if it could break out of its header line."""
    if value is None or isinstance(value, (bytes, bytearray)):
        raise HeaderError(f"AMI header {name!r}: value must be text, got {type(value).__name__}")
    text = str(value)
    bad = _CONTROL.search(text)
    if bad:
        shown = "(hidden)" if str(name).lower() == "secret" else repr(text)
        raise HeaderError(f"AMI header {name!r}: value {shown} contains control character "
                          f"{bad.group()!r} at position {bad.start()}; expected printable text without CR/LF")
    return text


def check_name(name):
    if not isinstance(name, str) or not _TOKEN.match(name):
        raise HeaderError(f"AMI header name {name!r} is not a token; expected letters, digits or -_.")
    return name


def escape_variable(value):
    return _VAR_ESCAPE.sub(r"\\\1", value)


def variable_line(name, value):
    if not isinstance(name, str) or not _VAR_NAME.match(name):
        raise HeaderError(f"AMI channel variable name {name!r}: expected letters, digits and _ "
                          f"(or FUNC(arg)), no '=', spaces or control characters")
    return f"{name}={escape_variable(check_value(name, value))}"


def encode_action(action, headers=(), variables=None):
    """The bytes of one action. Raises HeaderError before anything could be sent.

    `headers`: dict or (name, value) pairs; `variables`: dict of channel variables, sent as
    one `Variable:` header each. Header names must be unique (case-insensitively): Asterisk
    would keep the first and silently ignore the others.
    """
    pairs = [("Action", action)]
    pairs += list(headers.items() if hasattr(headers, "items") else headers)
    seen = set()
    lines = []
    for name, value in pairs:
        check_name(name)
        low = name.lower()
        if low in seen:
            raise HeaderError(f"AMI header {name!r} given twice")
        if low == "variable":
            raise HeaderError("AMI header 'Variable' must be passed as variables, one per name")
        seen.add(low)
        lines.append(f"{name}: {check_value(name, value)}")
    for name, value in (variables or {}).items():
        lines.append("Variable: " + variable_line(name, value))
    if len(lines) > MAX_HEADERS:
        raise HeaderError(f"AMI action {action!r} has {len(lines)} headers; Asterisk keeps at most {MAX_HEADERS}")
    out = []
    for line in lines:
        try:
            raw = line.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise HeaderError(f"AMI header line {line[:60]!r}...: not encodable as UTF-8 ({exc.reason})") from None
        if len(raw) + 2 > MAX_LINE:
            raise HeaderError(f"AMI header line {line[:60]!r}... is {len(raw)} bytes; Asterisk reads at most "
                              f"{MAX_LINE - 2} per line")
        out.append(raw)
    return b"\r\n".join(out) + b"\r\n\r\n"


class Message(ManagerMsg):
    """One received AMI message (an event, or a response: see `Response`).

    `.name` is the Event name (None for a response). `.get(key)` is case-insensitive.
    `.headers` keeps the first value of a repeated header, as Asterisk itself does.
    `.variables` holds channel variables from `ChanVariable`, `ChanVariable(<chan>)`,
    `DestChanVariable`, `LocalOneChanVariable` and `LocalTwoChanVariable` (first value
    wins); `.chanvars[prefix]` keeps them per side ('' , 'Dest', 'LocalOne', 'LocalTwo').
    """

    def __init__(self, lines):
        self.variables = {}
        self.chanvars = {}
        self._lower = {}
        super().__init__(lines)
        self.response = None      # pyst2 keeps the raw lines here; we do not need them twice
        self.name = self._lower.get("event")
        self.received = None      # the engine's clock when AmiLink queued it

    def parse(self, response):
        headers, lower, data = self.headers, self._lower, []
        for n, line in enumerate(response):
            if not line.endswith(EOL):
                data.extend(response[n:])
                break
            key, sep, value = line.partition(":")
            if not sep:
                data.extend(response[n:])
                break
            key = key.strip()
            value = value.strip()
            pos = key.find(_CHANVAR)
            if pos >= 0 and (len(key) == pos + len(_CHANVAR) or key[pos + len(_CHANVAR)] == "("):
                var, _, val = value.partition("=")
                var = var.strip()
                side = self.chanvars.setdefault(key[:pos], {})
                side.setdefault(var, val)
                self.variables.setdefault(var, val)
                continue
            low = key.lower()
            if low not in lower:
                lower[low] = value
                headers[key] = value
        self.data = "".join(data)

    def get(self, key, default=None):
        return self._lower.get(key.lower(), default)

    get_header = get

    def has_header(self, hname):
        return hname.lower() in self._lower

    def __getitem__(self, key):
        return self._lower[key.lower()]

    def __contains__(self, key):
        return key.lower() in self._lower

    @property
    def action_id(self):
        return self._lower.get("actionid")

    def __repr__(self):
        kind = f"Event {self.name}" if self.name else f"Response {self.get('Response')}"
        return f"<ami.{type(self).__name__} {kind} {self.headers!r} variables={self.variables!r}>"


class Response(Message):
    """A `Response:` message; `.success` is True for `Response: Success` (and list starts)."""

    @property
    def success(self):
        return (self.get("Response") or "").lower() in ("success", "follows", "goodbye")

    @property
    def message(self):
        return self.get("Message") or ""


def build_message(lines):
    """Message or Response from one message's raw lines (each ending in CRLF)."""
    first = lines[0][:6].lower() if lines else ""
    return Message(lines) if first == "event:" else Response(lines)


def parse_text(text):
    """Every message in an AMI transcript (banner line skipped); for tests and tools."""
    out, cur = [], []
    for line in text.replace("\r\n", "\n").split("\n"):
        if line:
            if not cur and "/" in line and ":" not in line:
                continue
            cur.append(line + EOL)
        elif cur:
            out.append(build_message(cur))
            cur = []
    if cur:
        out.append(build_message(cur))
    return out
