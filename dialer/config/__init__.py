"""dialer.conf (+ dialer.d/*.conf) -> a typed, validated Config.

    cfg = config.load()                    # $DIALER_CONFIG or /etc/dialer.conf, then <dir>/dialer.d/*.conf
    cfg = config.loads(text, source="x")   # one file's text, for tests and tools
    cfg.general.mysqlhost ; cfg.default.maxlines ; cfg.campaigns["sales"].timeslot ; cfg.warnings

Every key is declared once in settings.SETTINGS. A bad value raises ConfigError with one line
naming file, line, section, key, value and what was expected; an unknown key is a warning.
"""
import configparser
import dataclasses
import difflib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from dialer import names
from dialer.config import types
from dialer.config.settings import (ALIASES, CAMPAIGN_SETTINGS, CODE_FILTER_KEYS, GENERAL_SETTINGS, SETTINGS, Campaign,
                                    General)
from dialer.config.types import CodeFilter

__all__ = ["load", "loads", "loads_many", "Config", "ConfigError", "General", "Campaign", "CodeFilter", "SETTINGS",
           "DEFAULT_PATH", "validate_campaign_name"]

DEFAULT_PATH = "/etc/dialer.conf"
DROPIN_DIR = "dialer.d"
_RESERVED = ("general", "default")
_WINDOW_KEYS = ("timeslot", "timestart", "timestop")


class ConfigError(Exception):
    """An unusable configuration; str() is the one-line message for the user."""


@dataclass
class _Raw:
    value: str
    source: str
    line: Optional[int]
    spelled: str            # the key as written (an alias, maybe)

    @property
    def where(self):
        return f"{self.source}:{self.line}" if self.line else self.source


class Config:
    """The loaded configuration. `campaigns` holds every section but [general] and [default]."""

    def __init__(self, general, default, campaigns, warnings, files, origins=None):
        self.general: General = general
        self.default: Campaign = default
        self.campaigns: Dict[str, Campaign] = campaigns
        self.warnings: List[str] = warnings
        self.files: List[str] = files
        self._origins: Dict[str, Dict[str, str]] = origins or {}

    def origin(self, section, key):
        """Where the value of `key` in `section` comes from: 'file:line', or 'built-in default'.
        A campaign's inherited key names the [default] line it comes from."""
        table = self._origins.get(section if section in self._origins or section == "general" else "default", {})
        return table.get(key, "built-in default")

    @property
    def path(self):
        return self.files[0] if self.files else None

    def campaign(self, name):
        """The settings of campaign `name`: its section, or [default]'s for a name without one."""
        validate_campaign_name(name)
        if name in self.campaigns:
            return self.campaigns[name]
        return dataclasses.replace(self.default, name=name)

    def __repr__(self):
        return (f"Config(files={self.files!r}, general={self.general!r}, default={self.default!r}, "
                f"campaigns={self.campaigns!r}, warnings={self.warnings!r})")


def validate_campaign_name(name, where="campaign name"):
    if not names.is_identifier(name):
        raise ConfigError(f"{where} {name!r}: expected {names.IDENTIFIER_EXPECTED}")
    if name.lower() in _RESERVED:
        raise ConfigError(f"{where} {name!r}: expected a name other than general/default")
    return name


def load(path=None, candidate: Optional[Tuple[str, str]] = None) -> Config:
    """Read the main file, then `<its dir>/dialer.d/*.conf` in name order; later files override.

    candidate (dest, file): read `file` in place of `dest` (the main file or one in dialer.d,
    existing or not), as if it were installed there; messages name `dest`. This checks a file
    before it replaces the real one (Ansible's validate:), together with the files it joins."""
    if path is None:
        path = os.environ.get("DIALER_CONFIG") or DEFAULT_PATH
    path = str(path)
    dropins = Path(path).parent / DROPIN_DIR
    names = {p.name: str(p) for p in (dropins.glob("*.conf") if dropins.is_dir() else ()) if p.is_file()}
    texts = {}
    if candidate is not None:
        dest, file = Path(os.path.abspath(candidate[0])), candidate[1]
        if dest == Path(os.path.abspath(path)):
            texts[path] = _read(file)
        elif dest.parent == Path(os.path.abspath(dropins)) and dest.suffix == ".conf":
            names[dest.name] = str(dropins / dest.name)
            texts[names[dest.name]] = _read(file)
        else:
            raise ConfigError(f"{candidate[0]}: not a file of this configuration: expected {path} "
                              f"or {dropins}/NAME.conf")
    files = [path] + [names[n] for n in sorted(names)]
    return _build([_parse(texts[f] if f in texts else _read(f), f) for f in files], files)


def loads(text, source="dialer.conf") -> Config:
    """Parse one file's text (pure: nothing is read but `text`)."""
    return _build([_parse(text, source)], [source])


def loads_many(texts) -> Config:
    """Layer several (text, source) pairs, later ones overriding earlier ones."""
    texts = list(texts)
    return _build([_parse(text, source) for text, source in texts], [s for _, s in texts])


# ---- reading and parsing --------------------------------------------------------------------

def _read(path):
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the configuration: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise ConfigError(f"{path}:{line}: not valid UTF-8 (byte {exc.start}); save the file as UTF-8") from None


def _parser():
    return configparser.ConfigParser(
        delimiters=("=",), comment_prefixes=(";", "#"), inline_comment_prefixes=(";", "#"),
        strict=True, empty_lines_in_values=False, interpolation=None,
        # No implicit [DEFAULT] inheritance: the manual's [default] is our own, explicit layer.
        default_section="\x00none")


_SECTION_LINE = re.compile(r"\s*\[(?P<name>[^\]]+)\]")
_KEY_LINE = re.compile(r"(?P<key>[^=\s;#\[][^=]*?)\s*=")


def _locate(text):
    """{(section, key): first line number} by scanning the text the way configparser reads it."""
    where, section, key_indent = {}, None, None
    for number, line in enumerate(text.splitlines(), 1):
        indent = len(line) - len(line.lstrip())
        if not line.strip():
            key_indent = None               # a blank line ends a value (empty_lines_in_values=False)
            continue
        if line.lstrip()[:1] in (";", "#") or (key_indent is not None and indent > key_indent):
            continue                        # a comment, or the continuation of a value
        match = _SECTION_LINE.match(line)
        if match:
            section, key_indent = match.group("name"), None
            where.setdefault((section, None), number)
            continue
        match = _KEY_LINE.match(line.lstrip())
        if match and section is not None:
            where.setdefault((section, match.group("key").strip().lower()), number)
            key_indent = indent
    return where


def _mask_line(line):
    return re.sub(r"(?i)(password|secret)(.*)", r"\1 ***", line.strip())[:80]


def _parse(text, source):
    """One file -> [(section, [(canonical key, _Raw)], "file:line" of its header)] in file order."""
    parser = _parser()
    try:
        parser.read_string(text, source=source)
    except configparser.DuplicateOptionError as exc:
        raise ConfigError(f"{source}:{exc.lineno}: [{exc.section}] {exc.option}: set twice in the same section; "
                          "expected each key once per section") from None
    except configparser.DuplicateSectionError as exc:
        raise ConfigError(f"{source}:{exc.lineno}: [{exc.section}] appears twice in this file; "
                          "expected each section once per file") from None
    except configparser.MissingSectionHeaderError as exc:
        raise ConfigError(f"{source}:{exc.lineno}: {_mask_line(exc.line)!r} comes before any section; "
                          "expected a [section] header first") from None
    except configparser.ParsingError as exc:
        lineno = exc.errors[0][0]   # its text is a repr(); take the line itself from the file
        line = text.splitlines()[lineno - 1] if 0 < lineno <= len(text.splitlines()) else ""
        raise ConfigError(f"{source}:{lineno}: cannot parse {_mask_line(line)!r}: expected key=value, "
                          "a [section] header or a ; comment") from None
    lines = _locate(text)
    result, seen = [], {}
    for section in parser.sections():
        # [General], [DEFAULT]...: the reserved names in any case are the reserved sections.
        name = section.lower() if section.lower() in _RESERVED else section
        header = f"{source}:{lines[(section, None)]}" if (section, None) in lines else source
        if name in seen:
            raise ConfigError(f"{header}: [{section}] repeats [{seen[name]}]; expected each section once per file")
        seen[name] = section
        if name not in _RESERVED:
            try:
                validate_campaign_name(section, where="campaign section")
            except ConfigError as exc:
                raise ConfigError(f"{header}: {exc}") from None
        keys = [(ALIASES.get(key, key) if name != "general" else key, _Raw(value, source, lines.get((section, key)), key))
                for key, value in parser.items(section, raw=True)]
        result.append((name, keys, header))
    return result


# ---- building the Config --------------------------------------------------------------------

def _error(raw, section, key, setting, exc):
    shown = "'***'" if setting.secret else repr(raw.value)
    return ConfigError(f"{raw.where}: [{section}] {key} = {shown}: expected {exc}")


def _convert(section, keys, table, other_table, other_home, warnings):
    """[(key, _Raw)] of one section -> ({name: value}, {name: _Raw}) for the known keys."""
    values, origins = {}, {}
    for key, raw in keys:
        setting = table.get(key)
        if setting is None:
            warnings.append(_unknown(raw, section, key, table, other_table, other_home))
            continue
        try:
            value = setting.convert(raw.value)
        except ValueError as exc:
            raise _error(raw, section, raw.spelled, setting, exc) from None
        if setting.is_path and value and not os.path.isabs(value):
            value = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(raw.source)), value))
        if setting.inert and value != setting.default_value():
            warnings.append(f"{raw.where}: [{section}] {raw.spelled} = {raw.value!r} has no effect in this dialer "
                            "(accepted for compatibility)")
        if key in origins and values[key] != value:   # an alias and its key, both in this section
            other = origins[key]
            raise ConfigError(f"{raw.where}: [{section}] {raw.spelled} = {raw.value!r} contradicts {other.spelled} = "
                              f"{other.value!r} (line {other.line}): expected one of the two, or the same value")
        values[key], origins[key] = value, raw
    return values, origins


def _unknown(raw, section, key, table, other_table, other_home):
    if key in other_table:
        return f"{raw.where}: [{section}] {key}: this key belongs in {other_home}; ignored here"
    names = [n for n in table] + [a for a, target in ALIASES.items() if target in table]
    close = difflib.get_close_matches(key, names, n=1, cutoff=0.75)
    if close:
        return f"{raw.where}: [{section}] unknown key {key!r} ignored (did you mean {close[0]}?)"
    close = difflib.get_close_matches(key, list(other_table), n=1, cutoff=0.75)
    if close:
        return (f"{raw.where}: [{section}] unknown key {key!r} ignored "
                f"(did you mean {close[0]}? it belongs in {other_home})")
    return f"{raw.where}: [{section}] unknown key {key!r} ignored"


def _defaults(table):
    return {name: s.default_value() for name, s in table.items()}


def _build(parsed, files):
    warnings: List[str] = []
    general_values, general_origins = _defaults(GENERAL_SETTINGS), {}
    default_layers = []                    # [(values, origins)] of every [default] section, in order
    campaign_layers: Dict[str, list] = {}  # name -> [(values, origins)]
    headers: Dict[str, str] = {}           # name -> where its section first appears
    for sections in parsed:
        for name, keys, header in sections:
            if name == "general":
                values, origins = _convert(name, keys, GENERAL_SETTINGS, CAMPAIGN_SETTINGS,
                                           "[default] or a campaign section", warnings)
                general_values.update(values)
                general_origins.update(origins)
            else:
                values, origins = _convert(name, keys, CAMPAIGN_SETTINGS, GENERAL_SETTINGS, "[general]", warnings)
                if name == "default":
                    default_layers.append((values, origins))
                else:
                    campaign_layers.setdefault(name, []).append((values, origins))
                    headers.setdefault(name, header)
    _check_general(general_values, general_origins)
    general = General(**general_values)
    default = _campaign("default", default_layers, [], warnings)
    campaigns = {name: _campaign(name, default_layers, layers, warnings, headers[name])
                 for name, layers in campaign_layers.items()}
    origins = {"general": general_origins, "default": _merge(default_layers)[1]}
    origins.update({name: {**origins["default"], **_merge(layers)[1]} for name, layers in campaign_layers.items()})
    origins = {section: {key: raw.where for key, raw in table.items()} for section, table in origins.items()}
    return Config(general, default, campaigns, list(dict.fromkeys(warnings)), list(files), origins)


def _check_general(values, origins):
    """Keys of [general] that only make sense together."""
    if bool(values["webcertfile"]) != bool(values["webkeyfile"]):
        given, missing = ("webcertfile", "webkeyfile") if values["webcertfile"] else ("webkeyfile", "webcertfile")
        raw = origins[given]
        raise ConfigError(f"{raw.where}: [general] {raw.spelled} = {raw.value!r}: expected {missing} set too "
                          "(both for HTTPS, or neither for plain HTTP)")


def _merge(layers):
    values, origins = {}, {}
    for layer_values, layer_origins in layers:
        values.update(layer_values)
        origins.update(layer_origins)
    return values, origins


def _campaign(name, default_layers, own_layers, warnings, header=None):
    default_values, default_origins = _merge(default_layers)
    own_values, own_origins = _merge(own_layers)
    values = {**_defaults(CAMPAIGN_SETTINGS), **default_values, **own_values}
    origins = {**default_origins, **own_origins}
    # The most specific section that speaks about the window decides it, in either spelling.
    for section, layers in ((name, own_layers), ("default", default_layers)):
        if any(k in layer_values for layer_values, _ in layers for k in _WINDOW_KEYS):
            values["timeslot"], by_hours = _window(section, layers, warnings)
            if not by_hours:   # so that nobody falls back on hours that did not define the window
                values["timestart"] = values["timestop"] = None
            break
    if name != "default":
        _check_campaign(name, values, origins, header, warnings)
    return Campaign(name=name, **values)


def _window(section, layers, warnings):
    """(timeslot, from hours?): timeslot, or timestart/timestop mapped onto it; the spelling of the
    last file that set one wins."""
    values, origins = _merge(layers)
    last = [layer_values for layer_values, _ in layers if any(k in layer_values for k in _WINDOW_KEYS)][-1]
    start, stop = values.get("timestart"), values.get("timestop")
    if "timeslot" in last:
        if "timestart" in last or "timestop" in last:
            raw = origins.get("timestart") or origins.get("timestop")
            warnings.append(f"{raw.where}: [{section}] timestart/timestop ignored: timeslot is set in the same section")
        return last["timeslot"], False
    if start is None and stop is None:
        return None, False
    start = 0 if start is None else start
    stop = 24 if stop is None else stop
    raw = origins.get("timestop") or origins.get("timestart")
    try:
        return types.hours_window(start, stop), True
    except ValueError as exc:
        raise ConfigError(f"{raw.where}: [{section}] timestart = {start}, timestop = {stop}: expected {exc}") from None


# What each mode needs to run an application: warned about at load, shown by --check-config.
MODE_NEEDS = {"voximal": ("uri",), "vxml": ("uri",), "application": ("application",),
               "dialplan": ("context", "extension")}


def _check_campaign(name, values, origins, header, warnings):
    """Settings that load but cannot do what the user expects: warn, naming where they come from."""
    missing = [k for k in MODE_NEEDS[values["mode"]] if not values.get(k)]
    if missing and values["active"]:
        where = origins["mode"].where if "mode" in origins else header
        warnings.append(f"{where}: [{name}] mode = {values['mode']} but {' and '.join(missing)} "
                        f"{'is' if len(missing) == 1 else 'are'} not set: its calls cannot run an application")
    for mode, key in CODE_FILTER_KEYS.items():
        if values[key] and values["f_mode"] != mode:
            warnings.append(f"{origins[key].where}: [{name}] {key} has no effect: "
                            f"f_mode = {values['f_mode'] or 'none'} (set f_mode = {mode} to use it)")


