"""The trunks a running dialer holds back, where `dialer -a statistics` and `explain` find them.

A breaker lives in its dialer's memory (trunkhealth.py). So that another process can say why
nothing is being dialled, the engine writes its trunks that are not closed to
`statedir/trunks-<instance>.json` at every state change (atomically; the file is removed when
every trunk is closed again, at start and at a clean stop). A file left by a dialer that died
is shown as such (its pid is gone), never as a live state.
"""
import datetime as _dt
import glob
import json
import os
from typing import Dict, Iterable, List, Optional

PREFIX, SUFFIX = "trunks-", ".json"


def path(statedir: str, instance: str) -> str:
    return os.path.join(str(statedir), f"{PREFIX}{instance}{SUFFIX}")


def save(statedir: Optional[str], instance: str, breakers: Iterable, now: float, pid: Optional[int] = None) -> None:
    """Write the not-closed breakers of this dialer (trunkhealth.Breaker), or remove the file."""
    if not statedir:
        return
    target = path(statedir, instance)
    trunks = {b.trunk: {"state": b.state, "since": b.since, "why": b.why, "retry_at": b.retry_at,
                        "last_failure": b.last_failure}
              for b in breakers if b.state != "closed"}
    if not trunks:
        clear(statedir, instance)
        return
    data = {"instance": instance, "pid": os.getpid() if pid is None else pid, "updated": now, "trunks": trunks}
    tmp = f"{target}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh)
    os.replace(tmp, target)


def clear(statedir: Optional[str], instance: str) -> None:
    if statedir:
        try:
            os.unlink(path(statedir, instance))
        except FileNotFoundError:
            pass


def _alive(pid) -> bool:
    try:
        os.kill(int(pid), 0)
    except PermissionError:       # another user's process (the service's): it exists
        return True
    except (OSError, ValueError, TypeError):
        return False
    return True


def load(statedir: Optional[str]) -> List[Dict]:
    """Every held-back trunk of every dialer that wrote into `statedir`: one dict per trunk with
    instance, trunk, state, since, why, retry_at, last_failure, alive. Unreadable files are skipped."""
    out = []
    if not statedir:
        return out
    for name in sorted(glob.glob(os.path.join(glob.escape(str(statedir)), f"{PREFIX}*{SUFFIX}"))):
        try:
            with open(name, encoding="utf-8") as fh:
                data = json.load(fh)
            alive = _alive(data.get("pid"))
            for trunk, t in sorted(data.get("trunks", {}).items()):
                out.append(dict(t, instance=str(data.get("instance", "")), trunk=trunk, alive=alive))
        except (OSError, ValueError, AttributeError, TypeError):
            continue
    return out


def _time(epoch) -> str:
    return _dt.datetime.fromtimestamp(float(epoch), _dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def describe(entry: Dict) -> str:
    """One line: which dialer holds back which trunk, since when, why, and what comes next."""
    text = f"trunk {entry['trunk']} is {entry['state']} on dialer {entry['instance']} since {_time(entry['since'])}"
    if entry.get("why"):
        text += f" ({entry['why']})"
    if not entry.get("alive"):
        return text + "; that dialer is not running any more (state as it left it)"
    if entry["state"] == "open":
        next_probe = f" at {_time(entry['retry_at'])}" if entry.get("retry_at") else ""
        return text + f": no new calls on it; probe calls{next_probe}"
    return text + ": only probe calls go out"


def for_trunk(statedir: Optional[str], trunk: str) -> List[str]:
    """The lines about one trunk (a campaign's), for statistics and explain."""
    return [describe(e) for e in load(statedir) if e["trunk"] == trunk]
