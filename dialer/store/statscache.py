"""The web console's statistics cache (docs/web.md, "Counts and their age").

`statistics` is one grouped pass over a campaign table: 0.4 s at a million leads, seconds at
ten million. The console shows the last counts kept here instead, with their age, and has them
refreshed by one recount at a time across every gunicorn worker and every host: a recount is
claimed with a conditional UPDATE of the campaign's row, and a claim older than CLAIM_TIMEOUT
(its recount died with its process) may be taken over. The CLI's `statistics` never reads it.
Times are epoch seconds, as in the history.
"""
import json

STATS_CACHE_TABLE = "dialer_stats_cache"
# A recount claimed longer ago than this is taken to have died with its process.
CLAIM_TIMEOUT = 120


def stats_cache_ddl(d):
    """CREATE statement (IF NOT EXISTS), run with the global tables and by ensure_console()."""
    # counts: statistics() as JSON; taken: when that count started; took_ms: how long it took;
    # recount_by/recount_since: who is recounting it now ('' = nobody) and since when.
    return [f"CREATE TABLE IF NOT EXISTS {d.q(STATS_CACHE_TABLE)} (campaign VARCHAR(64) NOT NULL PRIMARY KEY, "
            f"counts TEXT NOT NULL, taken BIGINT NOT NULL, took_ms BIGINT NOT NULL DEFAULT 0, "
            f"recount_by VARCHAR(64) NOT NULL DEFAULT '', recount_since BIGINT NOT NULL DEFAULT 0){d.table_options}"]


class StatsCacheMixin:
    def cached_statistics(self):
        """campaign -> {counts, taken, took_ms, recount_by, recount_since}: the whole (small) table.
        counts is None while a campaign's first count runs."""
        out = {}
        for name, counts, taken, took, by, since in self.rows(
                f"SELECT campaign, counts, taken, took_ms, recount_by, recount_since "
                f"FROM {self.d.q(STATS_CACHE_TABLE)}"):
            out[name] = {"counts": json.loads(counts), "taken": int(taken), "took_ms": int(took), "recount_by": by,
                         "recount_since": int(since)}
        return out

    def keep_statistics(self, name, counts, taken, took_ms):
        """Store fresh counts (taken at `taken`, in took_ms), whoever was recounting: these are newer."""
        self.execute(self.d.upsert(STATS_CACHE_TABLE, ("campaign", "counts", "taken", "took_ms", "recount_by",
                                                       "recount_since"), "campaign"),
                     (name, json.dumps(counts), int(taken), int(took_ms), "", 0))

    def claim_first_count(self, name, me, now):
        """True when `me` is to count a campaign never counted yet: a row without counts is
        inserted for it; False when another request already did (and is counting)."""
        return self.execute(
            f"{self.d.insert_ignore} INTO {self.d.q(STATS_CACHE_TABLE)} (campaign, counts, taken, recount_by, "
            "recount_since) VALUES (?, 'null', 0, ?, ?)", (name, me, int(now))).rowcount == 1

    def claim_recount(self, name, me, now, stale_before):
        """True when `me` now owns the recount of `name`: its counts were taken before
        `stale_before` and nobody is recounting it (or their claim is older than CLAIM_TIMEOUT).
        One conditional UPDATE, so of several workers or hosts asking at once, one wins."""
        return self.execute(
            f"UPDATE {self.d.q(STATS_CACHE_TABLE)} SET recount_by = ?, recount_since = ? WHERE campaign = ? "
            "AND taken < ? AND (recount_by = '' OR recount_since < ?)",
            (me, int(now), name, int(stale_before), int(now) - CLAIM_TIMEOUT)).rowcount == 1

    def finish_recount(self, name, me, counts, taken, took_ms=0):
        """Store a claimed recount's counts (counts None: give the claim up); dropped when the
        claim was taken over meanwhile, or newer counts were stored (an upload's)."""
        t = self.d.q(STATS_CACHE_TABLE)
        if counts is None:
            self.execute(f"UPDATE {t} SET recount_by = '' WHERE campaign = ? AND recount_by = ?", (name, me))
        else:
            self.execute(f"UPDATE {t} SET counts = ?, taken = ?, took_ms = ?, recount_by = '' WHERE campaign = ? "
                         "AND recount_by = ?", (json.dumps(counts), int(taken), int(took_ms), name, me))
