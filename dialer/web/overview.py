"""What the Campaigns page and the API say about each campaign, and about the dialer nodes."""
import time

# A dialer writes its heartbeat every HEARTBEAT seconds (dialer/store/control.py); one not seen
# for three periods is shown as stopped.
HEARTBEAT = 5
STALE_AFTER = 3 * HEARTBEAT


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


def campaign_state(st, cfg, name, stats, paused, live_nodes):
    """One campaign: its state in words, the live calls per node, and the statistics' headline."""
    camp = cfg.campaigns.get(name)
    live = {n["instance"]: int((n.get("campaigns") or {}).get(name, {}).get("live", 0)) for n in live_nodes
            if name in (n.get("campaigns") or {})}
    reported = [(n.get("campaigns") or {})[name].get("state", "") for n in live_nodes
                if name in (n.get("campaigns") or {})]
    if stats is None:
        state = "no table in the database"
    elif name in paused:
        user, since = paused[name]
        state = f"paused by {user} since {time.strftime('%Y-%m-%d %H:%M', time.localtime(since))}"
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
    return out


def campaigns(st, cfg):
    paused = st.paused_campaigns()
    live_nodes = [n for n in nodes(st) if n["alive"]]
    out = []
    for name in campaign_names(st, cfg):
        stats = st.statistics(name) if st.exists(name) else None
        out.append(campaign_state(st, cfg, name, stats, paused, live_nodes))
    return out
