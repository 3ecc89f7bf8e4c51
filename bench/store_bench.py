"""Store benchmarks (make bench-store): import, next-100 claim latency, statistics.

    python bench/store_bench.py import [--lines 1000000] [--runs 3]
    python bench/store_bench.py claim  [--sizes 10000,10000000] [--claims 200]
    python bench/store_bench.py stats  [--rows 1000000] [--runs 5]
    python bench/store_bench.py dump   [--rows 1000000]
    python bench/store_bench.py cycle  [--rows 1000000] [--claims 200]
    python bench/store_bench.py all

Each run uses a throwaway MariaDB database (DIALER_TEST_MYSQL, default root@127.0.0.1:3306)
that is dropped afterwards; `--sqlite` runs the same on a temporary SQLite file. Prints one
result line per measurement (medians) for bench/RESULTS-store.md.
"""
import argparse
import os
import secrets
import statistics
import sys
import tempfile
import time
import types
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from dialer import store as store_mod  # noqa: E402
from dialer.model import Outcome, Selection  # noqa: E402
from dialer.store import schema  # noqa: E402


def mysql_general():
    url = urllib.parse.urlsplit(os.environ.get("DIALER_TEST_MYSQL", "mysql://root@127.0.0.1:3306"))
    return types.SimpleNamespace(dbengine="mysql", mysqlhost=url.hostname or "127.0.0.1", mysqlport=url.port or 3306,
                                 mysqluser=url.username or "root", mysqlpassword=url.password or "",
                                 mysqldatabase="dialer_bench_" + secrets.token_hex(4), mysqlsocket=None,
                                 sqlitepath=None)


class Bench:
    def __init__(self, sqlite):
        self.tmp = tempfile.mkdtemp(prefix="dialer-bench-")
        if sqlite:
            self.g = types.SimpleNamespace(dbengine="sqlite", sqlitepath=os.path.join(self.tmp, "b.sqlite"))
        else:
            self.g = mysql_general()
        self.st = store_mod.open_store(self.g)
        self.st.create_database()

    def close(self):
        import shutil
        try:
            self.st.drop_database()
            self.st.close()
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def fresh(self, name):
        if self.st.exists(name):
            self.st.drop_campaign(name)
        self.st.create_campaign(name)


def median(xs):
    return statistics.median(xs)


def write_list(path, n):
    with open(path, "w") as f:
        step = 100_000
        for i in range(0, n, step):
            f.write("".join(f"06{j:08d},param{j % 1000}\n" for j in range(i, min(n, i + step))))


def bench_import(b, lines, runs):
    path = os.path.join(b.tmp, "list.txt")
    write_list(path, lines)
    ours, raw = [], []
    for _ in range(runs):
        if b.g.dbengine == "mysql":
            b.fresh("rawload")
            conn = b.st.conn()
            t0 = time.perf_counter()
            with conn.cursor() as cur:
                cur.execute("START TRANSACTION")
                cur.execute("LOAD DATA LOCAL INFILE %s INTO TABLE `rawload` FIELDS TERMINATED BY ',' "
                            "LINES TERMINATED BY '\\n' (phone, param)", (path,))
                cur.execute("COMMIT")
            raw.append(lines / (time.perf_counter() - t0))
        b.fresh("imported")
        t0 = time.perf_counter()
        rep = b.st.import_file("imported", path)
        assert rep.imported == lines, rep.summary()
        ours.append(lines / (time.perf_counter() - t0))
    print(f"import {lines} lines ({b.g.dbengine}): dialer -a file median {median(ours):,.0f} rows/s "
          f"(runs: {', '.join(f'{x:,.0f}' for x in ours)})")
    if raw:
        print(f"import {lines} lines ({b.g.dbengine}): raw LOAD DATA LOCAL INFILE median {median(raw):,.0f} rows/s; "
              f"ratio {median(ours) / median(raw):.2f}")


def fill(b, name, n, extra=()):
    """n leads, fast: INSERT ... SELECT from a sequence (MariaDB) or a recursive CTE.

    extra: (column, SQL expression of v, the lead number) pairs.
    """
    cols = "".join(f", {c}" for c, _ in extra)
    st = b.st
    if st.exists(name):
        st.drop_campaign(name)
    # The table first, its indexes after the rows: InnoDB then builds each index by sorting
    # instead of inserting 10 million random keys through a small buffer pool.
    ddl = schema.campaign_ddl(st.d, name)
    st.execute(ddl[0])
    t0 = time.perf_counter()
    step = 1_000_000
    for lo in range(0, n, step):
        hi = min(n, lo + step)
        if b.g.dbengine == "mysql":
            more = "".join(", " + e.replace("v", "seq") for _, e in extra)
            src = f"SELECT CONCAT('06', LPAD(seq, 8, '0')), CONCAT('p', seq){more} FROM seq_{lo + 1}_to_{hi}"
        else:
            src = (f"WITH RECURSIVE s(x) AS (SELECT {lo + 1} UNION ALL SELECT x + 1 FROM s WHERE x < {hi}) "
                   "SELECT '06' || substr('00000000' || x, -8), 'p' || x"
                   + "".join(", " + e.replace("v", "x") for _, e in extra) + " FROM s")
        with st.write_tx():
            st.execute(f"INSERT INTO {st.d.q(name)} (phone, param{cols}) {src}")
    for stmt in ddl[1:]:
        st.execute(stmt)
    st._known.add(name)
    return time.perf_counter() - t0


def bench_claim(b, sizes, claims):
    for n in sizes:
        secs = fill(b, "claims", n)
        print(f"claim: built {n:,} rows in {secs:.1f} s ({n / secs:,.0f} rows/s)")
        for order in schema.ORDERS:
            sel = Selection(attempts=3, orderby=order)
            pick, lat = [], []
            now = time.time()
            for i in range(claims):
                t0 = time.perf_counter()
                picked = b.st.pick("claims", 100, now, sel)
                pick.append((time.perf_counter() - t0) * 1000)
                t0 = time.perf_counter()
                leads = b.st.claim("claims", 100, "bench", 60, now, sel)
                lat.append((time.perf_counter() - t0) * 1000)
                assert len(leads) == 100 and len(picked) == 100
                # Give them back as fresh so a small table never runs dry (not timed).
                with b.st.write_tx():
                    ids = [lead.id for lead in leads]
                    b.st.execute(f"UPDATE {b.st.d.q('claims')} SET state = 0, attempts = 0, owner = NULL, "
                                 f"lease = NULL WHERE id IN ({', '.join('?' * len(ids))})", ids)
                    b.st.execute("DELETE FROM dialer_inflight")
            print(f"next 100 of {n:,} rows ({b.g.dbengine}, orderby={order}): pick median {median(pick):.2f} ms "
                  f"(p90 {p90(pick):.2f}); claim median {median(lat):.2f} ms (p90 {p90(lat):.2f}); {claims} rounds")


def p90(xs):
    return sorted(xs)[int(len(xs) * 0.9)]


def bench_stats(b, rows, runs):
    # A realistic mix: a third attempted once and waiting, one in seven final (sale), the rest fresh.
    fill(b, "stats", rows, extra=(
        ("state", "CASE WHEN v % 7 = 0 THEN 3 WHEN v % 3 = 0 THEN 1 ELSE 0 END"),
        ("attempts", "CASE WHEN v % 7 = 0 THEN 2 WHEN v % 3 = 0 THEN 1 ELSE 0 END"),
        ("pickups", "CASE WHEN v % 7 = 0 THEN 1 ELSE 0 END"),
        ("disposition", "CASE WHEN v % 7 = 0 THEN 12 WHEN v % 3 = 0 THEN -2 ELSE 1 END"),
        ("nextcall", "CASE WHEN v % 3 = 0 THEN 2000000000 + v ELSE 0 END"),
    ))
    st = b.st
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        s = st.statistics("stats")
        times.append(time.perf_counter() - t0)
        assert s["total"] == rows
    print(f"statistics on {rows:,} rows ({b.g.dbengine}): median {median(times) * 1000:.0f} ms over {runs} runs "
          f"(runs: {', '.join(f'{t * 1000:.0f}' for t in times)} ms)")


def bench_cycle(b, rows, rounds):
    """The engine's pattern: claim 10 (multiplecalls=false), record each as retryable."""
    fill(b, "cycle", rows)
    claim_ms, record_ms = [], []
    for _ in range(rounds):
        now = time.time()
        t0 = time.perf_counter()
        leads = b.st.claim("cycle", 10, "bench", 60, now, Selection(attempts=3, multiplecalls=False))
        claim_ms.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        for lead in leads:
            b.st.record("cycle", lead.id, "bench", Outcome(-2, reason="No answer"), now, 600)
        record_ms.append((time.perf_counter() - t0) * 1000 / len(leads))
    print(f"engine cycle on {rows:,} rows ({b.g.dbengine}): claim 10 median {median(claim_ms):.2f} ms, "
          f"record median {median(record_ms):.2f} ms per lead ({1000 / median(record_ms):,.0f} results/s "
          f"on one connection); {rounds} rounds")


def bench_dump(b, rows):
    """`dialer -a fulldump` of a large campaign through the real command: time and peak memory."""
    import resource
    import subprocess
    fill(b, "dumped", rows)
    conf = os.path.join(b.tmp, "dialer.conf")
    g = b.g
    with open(conf, "w") as f:
        if g.dbengine == "mysql":
            f.write(f"[general]\ndbengine=mysql\nmysqlhost={g.mysqlhost}\nmysqlport={g.mysqlport}\n"
                    f"mysqluser={g.mysqluser}\nmysqlpassword={g.mysqlpassword}\nmysqldatabase={g.mysqldatabase}\n")
        else:
            f.write(f"[general]\ndbengine=sqlite\nsqlitepath={g.sqlitepath}\n")
    t0 = time.perf_counter()
    with open(os.devnull, "wb") as out:
        subprocess.run([sys.executable, "-m", "dialer.cli", "-C", conf, "-a", "fulldump", "-c", "dumped"],
                       stdout=out, check=True)
    secs = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"fulldump of {rows:,} rows ({g.dbengine}): {secs:.1f} s ({rows / secs:,.0f} rows/s), "
          f"peak RSS {rss:.0f} MB")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=("import", "claim", "stats", "dump", "cycle", "all"))
    ap.add_argument("--sqlite", action="store_true")
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--sizes", default="10000,10000000")
    ap.add_argument("--claims", type=int, default=200)
    ap.add_argument("--rows", type=int, default=1_000_000)
    a = ap.parse_args()
    b = Bench(a.sqlite)
    try:
        if a.what in ("import", "all"):
            bench_import(b, a.lines, a.runs)
        if a.what in ("claim", "all"):
            bench_claim(b, [int(x) for x in a.sizes.split(",")], a.claims)
        if a.what in ("stats", "all"):
            bench_stats(b, a.rows, max(a.runs, 5))
        if a.what in ("dump", "all"):
            bench_dump(b, a.rows)
        if a.what in ("cycle", "all"):
            bench_cycle(b, a.rows, a.claims)
    finally:
        b.close()


if __name__ == "__main__":
    main()
