"""What the Campaigns page and the API say about each campaign, and about the dialer nodes."""
import time

from ..engine.runtime import HEARTBEAT_EVERY
from ..store.control import describe_pause
from . import counts

# A node not seen for three heartbeat periods is shown as stopped.
STALE_AFTER = int(3 * HEARTBEAT_EVERY)


def nodes(st, now=None):
    """The heartbeats, each with `alive` and `age` (seconds since seen), newest first."""
    now = time.time() if now is None else now
    out = []
    for hb in st.heartbeats():
        hb = dict(hb)
        hb["age"] = max(0, int(now - float(hb["seen"])))
        hb["alive"] = hb["age"] <= STALE_AFTER
        out.append(hb)
    return sorted(out, key=lambda h: h["instance"])


def campaign_names(st, cfg):
    """Campaigns of dialer.conf and campaign tables of the database, sorted."""
    return sorted(set(cfg.campaigns) | set(st.campaign_tables()))


def campaign_state(cfg, name, stats, paused, live_nodes, counted=None):
    """One campaign: its state in words, the live calls per node, and the statistics' headline
    with `counted` (when and how long ago those counts were taken: counts.statistics())."""
    camp = cfg.campaigns.get(name)
    live = {n["instance"]: int((n.get("campaigns") or {}).get(name, {}).get("live", 0)) for n in live_nodes
            if name in (n.get("campaigns") or {})}
    reported = [(n.get("campaigns") or {})[name].get("state", "") for n in live_nodes
                if name in (n.get("campaigns") or {})]
    if stats is None:
        state = "no table in the database"
    elif name in paused:
        state = describe_pause(*paused[name])
    elif camp is None:
        state = "not in dialer.conf"
    elif not camp.active:
        state = "inactive (dialer.conf)"
    elif stats["total"] and stats["final"] == stats["total"]:
        state = "finished"
    elif reported and any(reported):
        state = "; ".join(sorted({r for r in reported if r}))
    elif not live_nodes:
        state = "no dialer running"
    else:
        state = "dialling"
    out = {"name": name, "state": state, "paused": name in paused, "live": live,
           "paused_by": paused[name][0] if name in paused else None}
    if stats is not None:
        out.update({k: stats[k] for k in ("total", "final", "dialable_now", "waiting", "in_progress",
                                          "contact_rate")})
        out.update(counted or {})
    return out


def one_campaign(st, cfg, name):
    """(state as campaign_state gives it, the full statistics) of a campaign that has a table:
    the cached counts, the live pause and nodes."""
    stats, counted = counts.statistics(st, cfg, [name])[name]
    return campaign_state(cfg, name, stats, st.paused_campaigns(), [n for n in nodes(st) if n["alive"]],
                          counted), stats


def last_hour(st, now=None):
    """name -> attempts placed in the last hour, from the history (a range of its covering index)."""
    now = int(time.time() if now is None else now)
    if not st.table_exists("dialer_history"):
        return {}
    out = {}
    for name in st.history_campaigns():
        out[name] = sum(n for _s, _c, n, _a, _d in st.history_slots(now - 3600, now + 1, name))
    return out


def campaigns(st, cfg):
    paused = st.paused_campaigns()
    live_nodes = [n for n in nodes(st) if n["alive"]]
    hour = last_hour(st)
    every = campaign_names(st, cfg)
    counted = counts.statistics(st, cfg, [name for name in every if st.exists(name)])
    out = []
    for name in every:
        stats, when = counted.get(name, (None, None))
        out.append(campaign_state(cfg, name, stats, paused, live_nodes, when))
        out[-1]["calls_last_hour"] = hour.get(name, 0)
    return out
