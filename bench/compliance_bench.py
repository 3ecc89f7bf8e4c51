"""Compliance benchmark (make bench-compliance): calling windows end to end.

    python bench/compliance_bench.py [--sqlite | --mysql] [--leads 100000] [--speed 600]
                                     [--day 2026-03-29] [--profile FILE] [--keep]

100,000 leads over ten time zones (Honolulu, Los Angeles, Chicago, New York, Sao Paulo,
London, Paris, Kolkata, Tokyo, Sydney) in one campaign with `leadtimezone = auto`: half of
them get their zone from the number (the dialer derives it), half carry a zone in the import
file's `timezone` column - on purpose a zone other than their number's, so a dialer that
read the number instead of the column would call them at the wrong hours.
`timeslot = 9h-20h`, `pause = 12h30-14h`; a tenth of the numbers are busy (retried once,
`attemptsdelay = 1800` simulated seconds), the rest answer at once.

The real `dialer --service` dials them against a real dialer-pbxsim (ring 0, talk 0) on a
simulated clock (tests/harness/dialer_at.py, `--speed` times real time) through the local day
`--day` of every zone (34 simulated hours, 2026-03-29 is the European spring-forward day).

Violations are counted by an oracle written here, not through dialer.rules: the lead's
zone from the generator's own table, local time from zoneinfo, the window as minute ranges.
  * table:  every lead's last claim (`datetime`, the engine clock at claim time) - exact;
  * record: every Originate pbxsim received, its real timestamp mapped onto the engine clock
    (calibrated on the claims of the table); the claim happened a little before it reached
    pbxsim (at most the largest delay seen on the table's exact pairs x 1.5, at least --lag
    real seconds), so a call counts as a violation only if the window was closed both at the
    mapped instant and that much earlier.
Sanity check of the oracle: --wrong-oracle reads every lead's window in UTC instead; it must
report violations by the thousand.
"""
import argparse
import datetime as dt
import json
import signal
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))

import engine_bench  # noqa: E402

CAMPAIGN = engine_bench.CAMPAIGN

# zone -> (number prefix, free digits): numbers phonenumbers places in exactly that zone.
ZONES = {
    "Pacific/Honolulu": ("180852", 5), "America/Los_Angeles": ("121355", 5),
    "America/Chicago": ("131255", 5), "America/New_York": ("121255", 5),
    "America/Sao_Paulo": ("551198", 7), "Europe/London": ("4420794", 5),
    "Europe/Paris": ("33142", 6), "Asia/Kolkata": ("9198", 8),
    "Asia/Tokyo": ("8135", 7), "Australia/Sydney": ("6129", 7),
}
WINDOW = [(9 * 60, 20 * 60)]
PAUSE = [(12 * 60 + 30, 14 * 60)]
CAMPAIGN_KEYS = {"timezone": "Europe/Berlin", "leadtimezone": "auto", "timeslot": "9h-20h", "pause": "12h30-14h",
                 "attempts": "2", "attemptsdelay": "1800", "maxlines": "200", "maxcaps": "200", "timeout": "1000"}


# -- the oracle --------------------------------------------------------------------------------

def is_open(t, zone):
    local = dt.datetime.fromtimestamp(t, ZoneInfo(zone))
    m = local.hour * 60 + local.minute
    return any(a <= m < b for a, b in WINDOW) and not any(a <= m < b for a, b in PAUSE)


def make_leads(n):
    """[(phone, timezone column, zone the oracle holds the lead to)], n/10 per zone."""
    names = list(ZONES)
    per_zone = n // len(names)
    out = []
    for zi, zone in enumerate(names):
        for k in range(per_zone):
            explicit = k % 2 == 1
            # An explicit lead's number comes from another zone; its column must win.
            prefix, free = ZONES[names[(zi + 5) % len(names)] if explicit else zone]
            serial = zi * per_zone + k
            out.append((prefix + str(serial).zfill(free)[-free:], zone if explicit else "", zone))
    phones = [p for p, _, _ in out]
    if len(set(phones)) != len(phones):
        raise SystemExit("generator: duplicate numbers; use fewer leads")
    return out


def check_generator(leads):
    """The derived half must map to the zone the oracle expects (phonenumbers itself)."""
    import phonenumbers
    from phonenumbers import timezone as pn_tz
    bad = 0
    for phone, column, zone in leads:
        if not column:
            zones = pn_tz.time_zones_for_number(phonenumbers.parse("+" + phone))
            ok = {ZoneInfo(z).key if z != "Asia/Calcutta" else "Asia/Kolkata" for z in zones} == {zone}
            bad += not ok
    if bad:
        raise SystemExit(f"generator: {bad} numbers do not map to their zone")


# -- the rig: engine_bench's (throwaway database, pbxsim and dialer processes, cleanup) ----------

def start_rig(sqlite, keep):
    rig = engine_bench.Rig(sqlite=sqlite, keep=keep)
    try:
        rig.start_pbxsim({"seed": 1, "default": {"outcome": "answer", "ring": 0, "talk": 0, "status": 12},
                          "rules": [{"number": "7$", "outcome": "busy", "ring": 0}]}, max_channels=100000)
        rig.write_conf(CAMPAIGN_KEYS, {"loopms": "100", "leaseseconds": "100000000", "drainseconds": "10"})
    except BaseException:
        rig.close()
        raise
    return rig


def claimed_at(value):
    if not isinstance(value, dt.datetime):
        value = dt.datetime.fromisoformat(str(value))
    return value.timestamp()        # naive: the server's local time, as the store writes it


def run(args):
    day = dt.date.fromisoformat(args.day)
    # From 08:00 in Sydney (UTC+11) to 20:00 in Honolulu (UTC-10) on that local day.
    start = dt.datetime(day.year, day.month, day.day, 21, tzinfo=dt.timezone.utc).timestamp() - 86400
    until = start + 34 * 3600
    leads = make_leads(args.leads)
    check_generator(leads)
    zone_of = {p: z for p, _, z in leads}
    rig = start_rig(args.sqlite, args.keep)
    timings = {}
    try:
        rig.cli("-c", CAMPAIGN, "-a", "create")
        listing = rig.tmp / "leads.csv"
        listing.write_text("phone,param,timezone\n" + "".join(f"{p},x,{c}\n" for p, c, _ in leads))
        t = time.monotonic()
        rig.cli("-c", CAMPAIGN, "-a", "file", "-p", listing)
        timings["import"] = time.monotonic() - t

        wall0 = time.monotonic()
        dialer = rig.dialer("--service", wrap=engine_bench.test_clock_wrap(f"{start}:{args.speed}"))
        # The engine's clock starts when the dialer logs it (after its imports): run from there.
        while "test clock" not in rig.log("dialer.log"):
            if dialer.poll() is not None:
                raise RuntimeError("dialer exited:\n" + rig.log("dialer.log"))
            time.sleep(0.01)
        deadline = time.monotonic() + (until - start) / args.speed
        spy = None
        if args.profile:
            # Attached rather than wrapping: SIGTERM must reach the dialer itself.
            spy = rig._spawn([str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(dialer.pid),
                              "-r", "100", "-f", "raw", "--threads", "--idle", "-o", str(Path(args.profile).resolve()),
                              "-d", str(int(deadline - time.monotonic()))], "py-spy.log")
        while time.monotonic() < deadline:
            if dialer.poll() is not None:
                raise RuntimeError("dialer exited:\n" + rig.log("dialer.log"))
            time.sleep(0.2)
        dialer.send_signal(signal.SIGTERM)
        if dialer.wait(60) != 0:
            raise RuntimeError(f"dialer exit {dialer.returncode}:\n" + rig.log("dialer.log"))
        timings["run"] = time.monotonic() - wall0
        if spy is not None:
            spy.wait(60)
        rig.stop_pbxsim()

        t = time.monotonic()
        rows = rig.query(f"SELECT phone, attempts, disposition, datetime, timezone FROM `{CAMPAIGN}`")
        records = [r for r in rig.calls() if r.get("channelid")]
        report = check(rows, records, zone_of, start, args)
        timings["check"] = time.monotonic() - t
    finally:
        rig.close()
    report.update({f"{k}_s": round(v, 1) for k, v in timings.items()})
    report.update(backend="sqlite" if args.sqlite else "mariadb", leads=len(leads), speed=args.speed,
                  day=args.day, simulated_hours=34)
    return report


def check(rows, records, zone_of, start, args):
    oracle_zone = (lambda p: "UTC") if args.wrong_oracle else zone_of.get
    ids = {}
    # Each lead's last claim, exactly (engine time) - and its Originate, to calibrate the mapping.
    table_bad, called, offsets = [], 0, []
    for phone, attempts, disposition, when, tz in rows:
        if not attempts:
            continue
        called += 1
        t = claimed_at(when)
        if not is_open(t, oracle_zone(phone)):
            table_bad.append((phone, oracle_zone(phone), dt.datetime.fromtimestamp(t, dt.timezone.utc).isoformat()))
        ids[phone] = (attempts, t)
    # Calibration: the channel id carries the attempt (d-<campaign>-<lead>-<attempt>-<installation>-<time>.);
    # match the last one.
    per_phone = {}
    for r in records:
        per_phone.setdefault(r["number"], []).append(r)
    for phone, (attempts, t) in ids.items():
        recs = [r for r in per_phone.get(phone, ()) if r["channelid"].rsplit("-", 2)[0].endswith(f"-{attempts}")]
        if recs:
            offsets.append(recs[0]["start"] - (t - start) / args.speed)
    t0 = min(offsets)
    lags = sorted(o - t0 for o in offsets)
    # The claim of a call preceded its Originate by at most the largest lag seen on the
    # exactly known pairs (with a margin), and never less than --lag.
    tolerance = max(args.lag, 1.5 * lags[-1])
    record_bad = []
    for r in records:
        late = start + (r["start"] - t0) * args.speed
        early = late - tolerance * args.speed
        zone = oracle_zone(r["number"])
        if not is_open(late, zone) and not is_open(early, zone):
            record_bad.append((r["number"], zone, dt.datetime.fromtimestamp(late, dt.timezone.utc).isoformat()))
    counts = Counter(r["number"] for r in records)
    never = Counter(zone_of[p] for p in zone_of if p not in counts)
    column = {phone: tz for phone, _, _, _, tz in rows}
    never_how = Counter(f"{zone_of[p]} column={column.get(p)!r}" for p in zone_of if p not in counts)
    spans = {}
    for r in records:
        t = start + (r["start"] - t0) * args.speed
        a, b = spans.get(zone_of[r["number"]], (t, t))
        spans[zone_of[r["number"]]] = (min(a, t), max(b, t))
    per_second = Counter(int(r["start"]) for r in records)
    return {
        "calls": len(records), "peak_calls_per_real_s": max(per_second.values(), default=0), "leads_called": len(counts), "leads_never_called": sum(never.values()),
        "never_called_by_zone": dict(never), "never_called_how": dict(never_how.most_common(10)),
        "calls_utc_span_by_zone": {z: [dt.datetime.fromtimestamp(x, dt.timezone.utc).strftime("%d %H:%M")
                                       for x in ab] for z, ab in sorted(spans.items())}, "max_calls_per_lead": max(counts.values(), default=0),
        "violations_table": len(table_bad), "violations_record": len(record_bad),
        "examples": (table_bad + record_bad)[:5],
        "claim_to_pbx_lag_ms": {"median": round(1000 * statistics.median(lags), 1),
                                "p99": round(1000 * lags[int(0.99 * (len(lags) - 1))], 1),
                                "max": round(1000 * lags[-1], 1)},
        "record_tolerance_simulated_s": round(tolerance * args.speed),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--sqlite", action="store_true", default=True)
    g.add_argument("--mysql", dest="sqlite", action="store_false")
    ap.add_argument("--leads", type=int, default=100000)
    ap.add_argument("--speed", type=float, default=600.0, help="simulated seconds per real second")
    ap.add_argument("--day", default="2026-03-29")
    ap.add_argument("--lag", type=float, default=0.5, help="real seconds at least allowed from claim to pbxsim")
    ap.add_argument("--wrong-oracle", action="store_true", help="sanity check: read every window in UTC")
    ap.add_argument("--profile", metavar="FILE", help="py-spy record of the dialer (raw; read it with "
                    "bench/engine_profile.py FILE --thread MainThread)")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda s, f: sys.exit(128 + s))
    report = run(args)
    print(json.dumps(report, indent=1))
    ok = (report["violations_table"] == 0 and report["violations_record"] == 0) != args.wrong_oracle
    print(("PASS" if ok else "FAIL") + f": {report['backend']} {report['leads']} leads, {report['calls']} calls, "
          f"{report['violations_table']}+{report['violations_record']} violations (table+record), "
          f"run {report['run_s']} s wall for 34 simulated hours")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
