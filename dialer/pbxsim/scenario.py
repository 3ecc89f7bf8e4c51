"""YAML scenarios: which outcome each originated call gets.

A call is matched against `rules` in order (by number prefix, number regex, peer, technology);
the first matching rule applies, else `default`. A rule gives one outcome or weighted
`outcomes`; parameters missing from a weighted choice are taken from its rule, then from
`default`. Times are seconds (floats); a two-element list [lo, hi] means uniform random.
"""
import random
import re
import time

import yaml

from .faults import NAMES as FAULTS

OUTCOMES = {
    # name: (sip response code or None, answered)
    "answer": (200, True),
    "machine": (200, True),
    "fax": (200, True),
    "busy": (486, False),
    "noanswer": (None, False),
    "congestion": (503, False),
    "unallocated": (404, False),
    "unavailable": (480, False),
    "rejected": (403, False),
    "nochannel": (None, False),
    "sip": (None, False),
}
ANSWERED = ("answer", "machine", "fax")
RULE_MATCH_KEYS = ("prefix", "number", "peer", "tech", "from", "until")
PARAM_KEYS = ("outcome", "ring", "talk", "status", "userevents", "result", "code", "hangup",
              "ringing", "amd", "amdcause", "amdtime", "weight")
TOP_KEYS = ("seed", "driver", "banner", "context", "timescale", "default", "rules", "capacity",
            "faults", "dialplan")
DEFAULTS = {"outcome": "answer", "ring": 0.3, "talk": 2.0, "status": None, "userevents": False,
            "result": None, "code": None, "hangup": "remote", "ringing": None, "amd": None,
            "amdcause": None, "amdtime": 2.5}
REJECT_RING = 0.2      # a rejection arrives ~200 ms after the INVITE in the captures


class ScenarioError(Exception):
    """One line: file, line, key, value, expectation."""


class _LineDict(dict):
    line = 0


class _Loader(yaml.SafeLoader):
    pass


def _construct_mapping(loader, node):
    d = _LineDict(loader.construct_mapping(node, deep=True))
    d.line = node.start_mark.line + 1
    return d


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _where(src, d, key=None):
    line = getattr(d, "line", 0)
    loc = f"{src}:{line}" if line else src
    return f"{loc}: {key}" if key else loc


def _time(src, d, key):
    v = d[key]
    if isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0:
        return float(v)
    if (isinstance(v, list) and len(v) == 2 and all(isinstance(x, (int, float))
                                                    and not isinstance(x, bool) for x in v)
            and 0 <= v[0] <= v[1]):
        return (float(v[0]), float(v[1]))
    raise ScenarioError(f"{_where(src, d, key)} = {v!r}: expected seconds >= 0 or [min, max]")


def _seconds(src, d, key):
    v = _time(src, d, key)
    if isinstance(v, tuple):
        raise ScenarioError(f"{_where(src, d, key)}: expected a single number of seconds")
    return v


def _params(src, d, allow_match):
    out = {}
    for k, v in d.items():
        if k in PARAM_KEYS:
            if k in ("ring", "talk", "amdtime"):
                out[k] = _time(src, d, k)
            elif k == "outcome":
                if v not in OUTCOMES:
                    raise ScenarioError(f"{_where(src, d, k)} = {v!r}: expected one of "
                                        f"{', '.join(OUTCOMES)}")
                out[k] = v
            elif k == "code":
                if not isinstance(v, int) or not 400 <= v <= 699:
                    raise ScenarioError(f"{_where(src, d, k)} = {v!r}: expected a SIP code 400..699")
                out[k] = v
            elif k == "weight":
                if not isinstance(v, (int, float)) or isinstance(v, bool) or v < 0:
                    raise ScenarioError(f"{_where(src, d, k)} = {v!r}: expected a number >= 0")
                out[k] = float(v)
            elif k in ("userevents", "ringing"):
                if not isinstance(v, bool):
                    raise ScenarioError(f"{_where(src, d, k)} = {v!r}: expected true or false")
                out[k] = v
            elif k == "hangup":
                if v not in ("remote", "local"):
                    raise ScenarioError(f"{_where(src, d, k)} = {v!r}: expected remote or local")
                out[k] = v
            else:
                out[k] = None if v is None else str(v)
        elif allow_match and k in RULE_MATCH_KEYS + ("outcomes",):
            continue
        else:
            raise ScenarioError(f"{_where(src, d, k)}: unknown key (expected "
                                f"{', '.join((RULE_MATCH_KEYS + ('outcomes',) if allow_match else ()) + PARAM_KEYS)})")
    if out.get("outcome") == "sip" and "code" not in out:
        raise ScenarioError(f"{_where(src, d, 'outcome')} = 'sip' needs a code: (SIP response 400..699)")
    return out


class Rule:
    def __init__(self, src, d):
        if not isinstance(d, dict):
            raise ScenarioError(f"{src}: rules: each rule must be a mapping, got {d!r}")
        self.prefix = d.get("prefix")
        self.peer = d.get("peer")
        self.tech = d.get("tech")
        self.regex = None
        if "number" in d:
            try:
                self.regex = re.compile(str(d["number"]))
            except re.error as e:
                raise ScenarioError(f"{_where(src, d, 'number')} = {d['number']!r}: "
                                    f"bad regular expression ({e})") from None
        if self.prefix is not None:
            self.prefix = str(self.prefix)
        # A time window, in seconds since the first Originate (so it does not depend on how long
        # the dialer took to start): e.g. a trunk that is down for a while, then recovers.
        self.since = _seconds(src, d, "from") if "from" in d else None
        self.until = _seconds(src, d, "until") if "until" in d else None
        self.params = _params(src, d, True)
        self.choices = None
        if "outcomes" in d:
            ch = d["outcomes"]
            if not isinstance(ch, list) or not ch:
                raise ScenarioError(f"{_where(src, d, 'outcomes')}: expected a non-empty list")
            self.choices = [_params(src, c, False) if isinstance(c, dict) else
                            _bad(src, d, c) for c in ch]
            self.weights = [c.get("weight", 1.0) for c in self.choices]
            if sum(self.weights) <= 0:
                raise ScenarioError(f"{_where(src, d, 'outcomes')}: weights add up to 0")

    def matches(self, number, peer, tech, elapsed=0.0):
        if self.since is not None and elapsed < self.since:
            return False
        if self.until is not None and elapsed >= self.until:
            return False
        if self.prefix is not None and not number.startswith(self.prefix):
            return False
        if self.regex is not None and not self.regex.search(number):
            return False
        if self.peer is not None and peer != str(self.peer):
            return False
        if self.tech is not None and tech.lower() != str(self.tech).lower():
            return False
        return True


def _bad(src, d, c):
    raise ScenarioError(f"{_where(src, d, 'outcomes')}: each choice must be a mapping, got {c!r}")


class Scenario:
    def __init__(self, data=None, src="<scenario>"):
        data = data if data is not None else {}
        if not isinstance(data, dict):
            raise ScenarioError(f"{src}: expected a mapping at the top level")
        for k in data:
            if k not in TOP_KEYS:
                raise ScenarioError(f"{_where(src, data, k)}: unknown key (expected "
                                    f"{', '.join(TOP_KEYS)})")
        self.src = src
        self.started = None               # the first Originate: rules' from/until count from it
        self.seed = data.get("seed")
        self.rng = random.Random(self.seed)
        self.driver = data.get("driver")
        if self.driver is not None and self.driver not in ("sip", "pjsip"):
            raise ScenarioError(f"{_where(src, data, 'driver')} = {self.driver!r}: expected sip or pjsip")
        self.banner = data.get("banner")
        self.context = str(data.get("context") or "")
        ts = data.get("timescale", 1.0)
        if not isinstance(ts, (int, float)) or isinstance(ts, bool) or ts <= 0:
            raise ScenarioError(f"{_where(src, data, 'timescale')} = {ts!r}: expected a number > 0")
        self.timescale = float(ts)
        dflt = data.get("default") or {}
        if not isinstance(dflt, dict):
            raise ScenarioError(f"{_where(src, data, 'default')}: expected a mapping")
        self.default = dict(DEFAULTS)
        given = _params(src, dflt, False)
        self.default.update(given)
        self.default_given = set(given)
        rules = data.get("rules") or []
        if not isinstance(rules, list):
            raise ScenarioError(f"{_where(src, data, 'rules')}: expected a list of rules")
        self.rules = [Rule(src, r) for r in rules]
        cap = data.get("capacity") or {}
        if not isinstance(cap, dict) or set(cap) - {"channels", "cps"}:
            raise ScenarioError(f"{_where(src, data, 'capacity')}: expected a mapping with "
                                "channels and/or cps")
        for k in ("channels", "cps"):
            v = cap.get(k)
            if v is not None and (not isinstance(v, (int, float)) or isinstance(v, bool) or v <= 0):
                raise ScenarioError(f"{_where(src, cap, k)} = {v!r}: expected a number > 0")
        self.max_channels = cap.get("channels")
        self.cps = cap.get("cps")
        self.faults = []
        for f in data.get("faults") or []:
            if not isinstance(f, dict) or "at" not in f or "fault" not in f:
                raise ScenarioError(f"{src}: faults: each entry needs at: SECONDS and fault: NAME, got {f!r}")
            if f["fault"] not in FAULTS:
                raise ScenarioError(f"{_where(src, f, 'fault')} = {f['fault']!r}: expected one of "
                                    f"{', '.join(FAULTS)}")
            at = _seconds(src, f, "at")
            extra = {k: v for k, v in f.items() if k not in ("at", "fault")}
            for k, v in extra.items():
                if k not in ("seconds", "ms") or not isinstance(v, (int, float)) or v < 0:
                    raise ScenarioError(f"{_where(src, f, k)} = {v!r}: expected seconds: N or ms: N")
            self.faults.append((at, f["fault"], extra))
        dp = data.get("dialplan") or {}
        if not isinstance(dp, dict):
            raise ScenarioError(f"{_where(src, data, 'dialplan')}: expected context: {{exten: [apps]}}")
        self.dialplan = {}
        for ctx, extens in dp.items():
            if not isinstance(extens, dict):
                raise ScenarioError(f"{_where(src, dp, ctx)}: expected exten: [Application(args), ...]")
            for ext, apps in extens.items():
                if not isinstance(apps, list):
                    raise ScenarioError(f"{_where(src, extens, ext)}: expected a list of Application(args)")
                steps = []
                for a in apps:
                    m = re.fullmatch(r"\s*(\w+)\s*(?:\((.*)\))?\s*", str(a))
                    if not m:
                        raise ScenarioError(f"{_where(src, extens, ext)}: {a!r}: expected Application(args)")
                    steps.append((m.group(1), m.group(2) or ""))
                self.dialplan[(str(ctx), str(ext))] = steps

    def _draw(self, v):
        if isinstance(v, tuple):
            return self.rng.uniform(v[0], v[1])
        return v

    def pick(self, number, peer, tech) -> dict:
        """-> concrete parameters for one call (random draws done here, in call order)."""
        p = dict(self.default)
        given = set(self.default_given)
        if self.started is None:
            self.started = time.monotonic()
        elapsed = time.monotonic() - self.started
        for rule in self.rules:
            if rule.matches(number, peer, tech, elapsed):
                p.update(rule.params)
                given |= set(rule.params)
                if rule.choices:
                    choice = self.rng.choices(rule.choices, rule.weights)[0]
                    p.update(choice)
                    given |= set(choice)
                break
        p.pop("weight", None)
        if p["outcome"] not in ANSWERED + ("noanswer",) and "ring" not in given:
            p["ring"] = REJECT_RING
        ts = self.timescale
        p["ring"] = self._draw(p["ring"]) * ts
        p["talk"] = self._draw(p["talk"]) * ts
        p["amdtime"] = self._draw(p["amdtime"]) * ts
        if p["ringing"] is None:
            # a far end that answers or never answers sends 180 first; rejections do not
            p["ringing"] = p["outcome"] in ANSWERED + ("noanswer",)
        return p


def load(path=None, text=None) -> Scenario:
    src = path or "<scenario>"
    if text is None and path is not None:
        try:
            with open(path, encoding="utf-8") as fh:
                text = fh.read()
        except OSError as e:
            raise ScenarioError(f"{path}: cannot read: {e.strerror}") from None
    if text is None:
        return Scenario({}, src)
    try:
        data = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{src}:{mark.line + 1}" if mark else src
        raise ScenarioError(f"{where}: invalid YAML ({getattr(e, 'problem', None) or e})") from None
    return Scenario(data, src)
