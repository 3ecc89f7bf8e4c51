"""AMI wire format as Asterisk's manager.c reads it.

- Lines end with CRLF; a line that fills the 1024-byte input buffer without one is dumped
  and reading continues with whatever follows (Asterisk's get_input()).
- A message ends at an empty line; at most 128 headers are kept.
- Header lookup is case-insensitive and the first occurrence wins (astman_get_header),
  except `Variable:` where every occurrence counts.
"""

MAX_LINE = 1024
MAX_HEADERS = 128


class Message:
    __slots__ = ("headers",)

    def __init__(self, headers):
        self.headers = headers            # list of raw "Key: value" lines

    def get(self, key, default=""):
        key = key.lower()
        n = len(key)
        for h in self.headers:
            if len(h) > n and h[n] == ":" and h[:n].lower() == key:
                return h[n + 1:].lstrip(" \t")
        return default

    def getall(self, key):
        key = key.lower()
        n = len(key)
        return [h[n + 1:].lstrip(" \t") for h in self.headers
                if len(h) > n and h[n] == ":" and h[:n].lower() == key]


class Parser:
    """Feed bytes, collect complete Messages."""

    def __init__(self):
        self.buf = b""
        self.headers = []

    def feed(self, data: bytes):
        buf = self.buf + data
        out = []
        start = 0
        while True:
            i = buf.find(b"\r\n", start)
            if i < 0:
                break
            long_line = False
            while i + 2 - start > MAX_LINE:
                # Asterisk dumps a full input buffer that holds no CRLF
                start += MAX_LINE
                long_line = True
            line = buf[start:i].decode("utf-8", "replace") if start <= i else ""
            start = i + 2
            if long_line and not line:
                continue
            if line:
                if len(self.headers) < MAX_HEADERS:
                    self.headers.append(line)
            elif self.headers:
                out.append(Message(self.headers))
                self.headers = []
        rest = buf[start:]
        while len(rest) >= MAX_LINE:
            rest = rest[MAX_LINE:]
        self.buf = rest
        return out


def parse_variables(values):
    """Variable: headers -> ordered [(name, value)]; each header may hold a comma list."""
    out = []
    for v in values:
        for item in _split_commas(v):
            name, sep, value = item.partition("=")
            name = name.strip()
            if sep and name:
                out.append((name, value))
    return out


def _split_commas(s):
    parts, cur, quote, esc = [], [], False, False
    for c in s:
        if esc:
            cur.append(c)
            esc = False
        elif c == "\\":
            esc = True
        elif c == '"':
            quote = not quote
            cur.append(c)
        elif c == "," and not quote:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(c)
    parts.append("".join(cur))
    return parts


def response(kind, action_id, lines=()):
    """Asterisk puts ActionID right after Response (astman_start_ack)."""
    out = "Response: " + kind + "\r\n"
    if action_id is not None:
        out += "ActionID: " + action_id + "\r\n"
    for line in lines:
        out += line + "\r\n"
    return out + "\r\n"


def parse_callerid(s):
    """'"Dialer" <5550000>' -> ('Dialer', '5550000') like ast_callerid_parse."""
    s = s.strip()
    if "<" in s and s.endswith(">"):
        name, _, num = s[:-1].rpartition("<")
        name = name.strip().strip('"').strip()
        return name, num.strip()
    if s and all(c.isdigit() or c in "+*#" for c in s):
        return "", s
    return s.strip('"'), ""
