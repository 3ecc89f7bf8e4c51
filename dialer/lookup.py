"""One number in one campaign: every lead with it and why each is (not) dialable now, as
`dialer -a explain` prints it and the web console shows it."""
import datetime as dt

from . import leadstate, trunkstate
from .rules import explain


def trunk_reasons(cfg, camp):
    """A trunk a running dialer holds back (trunkstate.py) stops the lead too."""
    return [(not e["alive"], "trunk", trunkstate.describe(e))
            for e in trunkstate.load(cfg.general.statedir) if e["trunk"] == camp.trunk]


def explain_phone(st, cfg, name, phone):
    """([(lead row, reasons)], notes) for the leads of campaign `name` with this phone."""
    from .store import StoreUnavailable
    camp = cfg.campaign(name)
    rows = st.find(name, phone)
    notes = []
    if not rows:
        return [], notes
    in_bl = False
    if camp.blacklist:
        try:
            in_bl = st.in_blacklist(camp.blacklist, phone)
        except Exception as exc:  # a missing table is reported, not fatal, for explain
            if isinstance(exc, StoreUnavailable):
                raise
            notes.append(f"note: blacklist {camp.blacklist}: {exc}")
    in_dnc = st.in_dnc(phone)
    flights = st.in_flight(phone)
    now = dt.datetime.now(dt.timezone.utc)
    out = []
    for row in rows:
        others = [f for f in flights if (f[0], int(f[1])) != (name, int(row["id"]))]
        reasons = explain.explain(camp, row, now, in_dnc=in_dnc, in_blacklist=in_bl,
                                  in_progress=row.get("state") == leadstate.ACTIVE, phone_in_progress=bool(others))
        out.append((row, reasons + trunk_reasons(cfg, camp)))
    return out, notes
