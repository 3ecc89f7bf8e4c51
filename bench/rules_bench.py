"""Compliance benchmark of the campaign rules (make bench-rules), numbers in bench/RESULTS-rules.md.

    python bench/rules_bench.py [--leads 100000] [--days 2026-03-08,2026-03-29,...] [--mysql]

100,000 leads spread over ten time zones (one tenth without a zone of their own, read in
the leadtimezone zone) go through simulated days minute by minute: at each minute the
rules build the Selection, the real store claims up to `--rate` leads with it, and every
claim is recorded at once (a mix of answered, busy and no answer, so retries happen).
Every claimed lead is checked against an oracle that reads the lead's local time straight
from zoneinfo and the window spelled out as minutes, not through dialer.rules: a claim
outside the lead's window is a violation. The default days are the four 2026 DST days
(US and EU, spring forward and fall back). Prints one line per day; exit 1 on any violation.
"""
import argparse
import datetime as dt
import os
import random
import secrets
import sys
import tempfile
import time
import types
import urllib.parse
from zoneinfo import ZoneInfo

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from dialer import codes, config, store as store_mod  # noqa: E402
from dialer.model import Outcome  # noqa: E402
from dialer.rules import selection as rsel  # noqa: E402

ZONES = ["Pacific/Honolulu", "America/Los_Angeles", "America/Chicago", "America/New_York",
         "America/Sao_Paulo", "Europe/London", "Europe/Paris", "Asia/Kolkata", "Asia/Tokyo", ""]
DEFAULT_ZONE = "Europe/Berlin"        # leadtimezone: the zone of leads without one
TIMESLOT, PAUSE = "mon-fri 9h-20h; sat 10h-13h; sun 10h-12h", "12h30-14h"
# The same window by hand, for the oracle: weekday -> [start, end) minutes, minus the pause.
OPEN = {d: [(540, 1200)] for d in range(5)}
OPEN[5], OPEN[6] = [(600, 780)], [(600, 720)]
PAUSED = (750, 840)


def oracle_open(zone, instant):
    local = instant.astimezone(ZoneInfo(zone or DEFAULT_ZONE))
    m = local.hour * 60 + local.minute
    if PAUSED[0] <= m < PAUSED[1]:
        return False
    return any(a <= m < b for a, b in OPEN[local.weekday()])


def general(use_mysql, tmp):
    if not use_mysql:
        return types.SimpleNamespace(dbengine="sqlite", sqlitepath=os.path.join(tmp, "rules.sqlite"))
    url = urllib.parse.urlsplit(os.environ.get("DIALER_TEST_MYSQL", "mysql://root@127.0.0.1:3306"))
    return types.SimpleNamespace(dbengine="mysql", mysqlhost=url.hostname or "127.0.0.1", mysqlport=url.port or 3306,
                                 mysqluser=url.username or "root", mysqlpassword=url.password or "",
                                 mysqldatabase="dialer_bench_" + secrets.token_hex(4), mysqlsocket=None,
                                 sqlitepath=None)


def campaign():
    return config.loads(f"[bench]\nuri=http://x/\ntimeslot={TIMESLOT}\npause={PAUSE}\ntimezone=UTC\n"
                        f"leadtimezone={DEFAULT_ZONE}\nmultiplecalls=true\nattempts=3\nattemptsdelay=1800\n",
                        source="rules_bench").campaigns["bench"]


def run_day(st, tmp, name, leads, day, rate, rng):
    c = campaign()
    zone_of = {}
    path = os.path.join(tmp, f"{name}.csv")
    with open(path, "w") as f:
        f.write("phone,param,timezone\n")
        for i in range(leads):
            phone = f"99{i:09d}"
            zone = ZONES[i % len(ZONES)]
            zone_of[phone] = zone
            f.write(f"{phone},p{i},{zone}\n")
    st.create_campaign(name)
    report = st.import_file(name, path)
    os.unlink(path)
    assert report.imported == leads, report.summary()
    lead_zones = st.zones(name)
    start = dt.datetime(*day, tzinfo=dt.timezone.utc) - dt.timedelta(hours=12)   # the day in every zone
    calls = violations = 0
    rules_s = store_s = 0.0
    t0 = time.perf_counter()
    for minute in range(48 * 60):
        now = start + dt.timedelta(minutes=minute)
        epoch = now.timestamp()
        a = time.perf_counter()
        sel = rsel.build_selection(c, now, lead_zones)
        b = time.perf_counter()
        claimed = st.claim(name, rate, "bench", 300, epoch, sel)
        for lead in claimed:
            calls += 1
            if not oracle_open(zone_of[lead.phone], now):
                violations += 1
            code = rng.choice((12, 12, -2, -4))
            code = codes.final_code(code, lead.attempts, c.attempts)
            st.record(name, lead.id, "bench", Outcome(disposition=code, picked_up=code == 12), epoch + 30,
                      c.attemptsdelay)
        rules_s += b - a
        store_s += time.perf_counter() - b
    total = time.perf_counter() - t0
    return calls, violations, total, rules_s


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--leads", type=int, default=100_000)
    ap.add_argument("--days", default="2026-03-08,2026-03-29,2026-10-25,2026-11-01")
    ap.add_argument("--rate", type=int, default=100, help="claims per simulated minute")
    ap.add_argument("--mysql", action="store_true", help="MariaDB (DIALER_TEST_MYSQL) instead of SQLite")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="dialer-rules-bench-")
    st = store_mod.open_store(general(args.mysql, tmp))
    st.create_database()
    rng = random.Random(5)
    failed = False
    try:
        for n, text in enumerate(args.days.split(",")):
            day = tuple(int(x) for x in text.split("-"))
            calls, violations, total, rules_s = run_day(st, tmp, f"bench{n}", args.leads, day, args.rate, rng)
            print(f"{'mariadb' if args.mysql else 'sqlite'} {text}: {args.leads} leads in {len(ZONES)} zones, "
                  f"48 simulated hours around the day, {calls} calls, {violations} violations, "
                  f"{total:.1f} s ({rules_s:.2f} s building selections)")
            failed |= violations > 0
    finally:
        st.drop_database()
        st.close()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
