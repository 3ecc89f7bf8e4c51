"""manager.conf in Asterisk's own syntax: sections, templates, `#include` / `#tryinclude`
with globs (manager.d/*.conf), `;` comments and `;-- --;` blocks.

Only what an AMI server needs is interpreted: [general] enabled/port/bindaddr/channelvars/
authtimeout/timestampevents, and per user secret/read/write/deny/permit/writetimeout.
"""
import glob
import ipaddress
import os
from dataclasses import dataclass, field

EVENT_CLASSES = ("system", "call", "log", "verbose", "command", "agent", "user", "config",
                 "dtmf", "reporting", "cdr", "dialplan", "originate", "agi", "cc", "aoc",
                 "test", "security", "message")
CLASS_BITS = {name: 1 << i for i, name in enumerate(EVENT_CLASSES)}
ALL_CLASSES = (1 << len(EVENT_CLASSES)) - 1


class ConfigError(Exception):
    """One-line message naming file, line, key and value."""


def parse_classes(value, where="") -> int:
    mask = 0
    for part in value.split(","):
        part = part.strip().lower()
        if not part:
            continue
        if part == "all":
            mask |= ALL_CLASSES
        elif part in CLASS_BITS:
            mask |= CLASS_BITS[part]
        else:
            raise ConfigError(f"{where}: unknown permission class {part!r} "
                              f"(expected a comma list of {', '.join(EVENT_CLASSES)}, all)")
    return mask


def classes_to_str(mask: int) -> str:
    return ",".join(n for n in EVENT_CLASSES if mask & CLASS_BITS[n])


@dataclass
class User:
    name: str
    secret: str = ""
    read: int = 0
    write: int = 0
    acl: list = field(default_factory=list)   # [(permit: bool, network)] in file order
    writetimeout: int = 100                   # ms, Asterisk's default

    def permitted(self, ip: str) -> bool:
        """Asterisk's ast_apply_ha: start permitted; the last matching rule decides."""
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            return False
        allowed = True
        for permit, net in self.acl:
            if addr.version == net.version and addr in net:
                allowed = permit
        return allowed


@dataclass
class ManagerConf:
    enabled: bool = True
    port: int = 5038
    bindaddr: str = "0.0.0.0"
    channelvars: list = field(default_factory=list)
    authtimeout: float = 30.0
    timestampevents: bool = False
    users: dict = field(default_factory=dict)
    path: str = "<built-in>"


def default_conf() -> ManagerConf:
    """The demo's user: least privilege from ami-notes.md."""
    conf = ManagerConf(bindaddr="127.0.0.1",
                       channelvars=["DIALER_ID", "DIALER_CAMPAIGN", "DIALER_STATUS"])
    conf.users["dialer"] = User("dialer", "1234", parse_classes("call,system,user"),
                                parse_classes("originate,call,reporting"))
    return conf


def _strip_comment(line: str, state: dict) -> str:
    out = []
    i = 0
    while i < len(line):
        if state["block"]:
            end = line.find("--;", i)
            if end < 0:
                return "".join(out)
            state["block"] = False
            i = end + 3
            continue
        c = line[i]
        if c == "\\" and i + 1 < len(line) and line[i + 1] == ";":
            out.append(";")
            i += 2
            continue
        if c == ";":
            if line.startswith(";--", i):
                state["block"] = True
                i += 3
                continue
            break
        out.append(c)
        i += 1
    return "".join(out)


def read_sections(path: str, base_dir=None, _depth=0, _out=None):
    """-> [(section, {key: [(value, file, line)]}, file, line, is_template)] in file order."""
    if _out is None:
        _out = []
    if _depth > 20:
        raise ConfigError(f"{path}: #include nested more than 20 levels (include loop?)")
    base_dir = base_dir or os.path.dirname(os.path.abspath(path))
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            lines = fh.read().splitlines()
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e.strerror}") from None
    state = {"block": False}
    for lineno, raw in enumerate(lines, 1):
        line = _strip_comment(raw, state).strip()
        if not line:
            continue
        where = f"{path}:{lineno}"
        if line.startswith("#"):
            word, _, arg = line[1:].partition(" ")
            word = word.lower()
            arg = arg.strip().strip('"').strip("<>").strip()
            if word in ("include", "tryinclude"):
                if not arg:
                    raise ConfigError(f"{where}: #{word} needs a file name")
                pattern = arg if os.path.isabs(arg) else os.path.join(base_dir, arg)
                matches = sorted(glob.glob(pattern))
                if not matches and word == "include" and not glob.has_magic(pattern):
                    raise ConfigError(f"{where}: #include {arg!r}: no such file")
                for m in matches:
                    read_sections(m, base_dir, _depth + 1, _out)
                continue
            raise ConfigError(f"{where}: unsupported directive #{word} "
                              "(expected #include or #tryinclude)")
        if line.startswith("["):
            close = line.find("]")
            if close < 0:
                raise ConfigError(f"{where}: section header {line!r} has no closing ']'")
            name = line[1:close].strip()
            opts = line[close + 1:].strip()
            body = {}
            if opts:
                if not (opts.startswith("(") and opts.endswith(")")):
                    raise ConfigError(f"{where}: unexpected text {opts!r} after section name")
                for opt in opts[1:-1].split(","):
                    opt = opt.strip()
                    if opt in ("!", ""):
                        continue
                    if opt == "+":
                        prev = [s for s in _out if s[0] == name]
                        if prev:
                            body = prev[-1][1]
                        continue
                    tpl = [s for s in _out if s[0] == opt]
                    if not tpl:
                        raise ConfigError(f"{where}: section [{name}] uses unknown template {opt!r}")
                    for k, v in tpl[-1][1].items():
                        body.setdefault(k, []).extend(v)
                if "!" in [o.strip() for o in opts[1:-1].split(",")]:
                    _out.append((name, body, path, lineno, True))    # a template, not a user
                    continue
            if not any(s[1] is body for s in _out):
                _out.append((name, body, path, lineno, False))
            continue
        if not _out:
            raise ConfigError(f"{where}: {line!r} before any [section]")
        key, sep, value = line.partition("=")
        if not sep:
            raise ConfigError(f"{where}: expected 'key = value', got {line!r}")
        value = value[1:] if value.startswith(">") else value
        _out[-1][1].setdefault(key.strip().lower(), []).append((value.strip(), path, lineno))
    return _out


def _int(vals, key, lo, hi):
    value, f, ln = vals[-1]
    try:
        n = int(value)
    except ValueError:
        n = None
    if n is None or not lo <= n <= hi:
        raise ConfigError(f"{f}:{ln}: {key} = {value!r}: expected an integer {lo}..{hi}")
    return n


def _acl(value, f, ln, key):
    addr, _, mask = value.partition("/")
    try:
        if not mask:
            return ipaddress.ip_network(addr.strip(), strict=False)
        mask = mask.strip()
        if "." in mask:
            return ipaddress.ip_network(f"{addr.strip()}/{mask}", strict=False)
        return ipaddress.ip_network(f"{addr.strip()}/{int(mask)}", strict=False)
    except ValueError:
        raise ConfigError(f"{f}:{ln}: {key} = {value!r}: expected ADDRESS[/MASK], "
                          "e.g. 127.0.0.1/255.255.255.255 or 10.0.0.0/8") from None


def load(path: str) -> ManagerConf:
    conf = ManagerConf(path=path)
    for name, body, f, ln, is_template in read_sections(path):
        if is_template:
            continue
        if name.lower() == "general":
            if "enabled" in body:
                conf.enabled = body["enabled"][-1][0].lower() in ("yes", "true", "1", "on")
            if "port" in body:
                conf.port = _int(body["port"], "port", 0, 65535)
            if "bindaddr" in body:
                value, vf, vl = body["bindaddr"][-1]
                try:
                    ipaddress.ip_address(value)
                except ValueError:
                    raise ConfigError(f"{vf}:{vl}: bindaddr = {value!r}: expected an IP address") from None
                conf.bindaddr = value
            if "timestampevents" in body:
                conf.timestampevents = body["timestampevents"][-1][0].lower() in ("yes", "true", "1", "on")
            if "authtimeout" in body:
                conf.authtimeout = float(_int(body["authtimeout"], "authtimeout", 1, 86400))
            for value, _, _ in body.get("channelvars", []):
                # Asterisk: each channelvars line replaces the list
                conf.channelvars = [v.strip() for v in value.split(",") if v.strip()]
            continue
        user = conf.users.get(name) or User(name)
        for key, vals in body.items():
            value = vals[-1][0]
            if key == "secret":
                user.secret = value
            elif key in ("read", "write"):
                # like manager.c: every line is checked, the last one counts
                for v, vf2, vl2 in vals:
                    setattr(user, key, parse_classes(v, f"{vf2}:{vl2}: {key} = {v!r}"))
            elif key in ("deny", "permit"):
                pass
            elif key == "writetimeout":
                user.writetimeout = _int(vals, key, 100, 3600000)
        # deny/permit keep their relative file order across both keys
        rules = []
        for key in ("deny", "permit"):
            for v, vf, vl in body.get(key, []):
                rules.append(((vf, vl), key == "permit", _acl(v, vf, vl, key)))
        rules.sort(key=lambda r: r[0])
        user.acl = [(p, n) for _, p, n in rules]
        conf.users[name] = user
    return conf
