"""JSON-lines record of every originate, and a query helper for tests.

The simulator writes two lines per call: {"event": "originate", ...} when the Originate is
accepted and {"event": "end", ...} when the call is over (same "id"). `load()` merges them
into one dict per call; a call without an end line (still up, or the simulator was killed)
has "end": None.
"""
import json


class Recorder:
    def __init__(self, path):
        self.fh = open(path, "a", encoding="utf-8", buffering=1 << 16) if path else None

    def write(self, obj):
        if self.fh:
            self.fh.write(json.dumps(obj, separators=(",", ":")) + "\n")

    def flush(self):
        if self.fh:
            self.fh.flush()

    def close(self):
        if self.fh:
            self.fh.close()
            self.fh = None


def load(path):
    calls = {}
    order = []
    try:
        fh = open(path, encoding="utf-8")
    except FileNotFoundError:
        return []
    with fh:
        for line in fh:
            if not line.endswith("\n"):
                break                      # a line still being written
            rec = json.loads(line)
            cid = rec["id"]
            if cid not in calls:
                calls[cid] = {"end": None, "answer": None}
                order.append(cid)
            calls[cid].update({k: v for k, v in rec.items() if k != "event"})
    return [calls[c] for c in order]


def _interval(c):
    end = c.get("end")
    return c["start"], (float("inf") if end is None else end)


def timeline(calls):
    """-> [(time, calls up after that moment)] at every start/end."""
    edges = []
    for c in calls:
        if c.get("channel") is None:
            continue                      # no channel was ever created
        s, e = _interval(c)
        edges.append((s, 1))
        if e != float("inf"):
            edges.append((e, -1))
    edges.sort(key=lambda x: (x[0], x[1]))
    out, n = [], 0
    for t, d in edges:
        n += d
        out.append((t, n))
    return out


def max_concurrent(calls) -> int:
    return max((n for _, n in timeline(calls)), default=0)


def concurrent_at(calls, t) -> int:
    return sum(1 for c in calls if c.get("channel") is not None
               and _interval(c)[0] <= t < _interval(c)[1])


def overlapping_numbers(calls):
    """Numbers that had two calls up at the same moment: -> {number: [(call, call), ...]}."""
    by_number = {}
    for c in calls:
        if c.get("channel") is not None:
            by_number.setdefault(c["number"], []).append(c)
    out = {}
    for number, cs in by_number.items():
        cs.sort(key=lambda c: c["start"])
        longest = cs[0]
        for b in cs[1:]:
            if b["start"] < _interval(longest)[1]:
                out.setdefault(number, []).append((longest, b))
            if _interval(b)[1] > _interval(longest)[1]:
                longest = b
    return out
