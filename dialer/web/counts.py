"""The counts the console shows: the last ones of the statistics cache
(dialer/store/statscache.py) with their age, never a count of a big table in a request but the
first one (docs/web.md, "Counts and their age").

A campaign's counts older than max_age() are recounted in a thread of this worker, by one
worker of one host at a time; the request that noticed shows the old counts, labelled with
their age. Pauses, heartbeats and live calls are not counts: they are read live."""
import contextlib
import logging
import os
import secrets
import socket
import threading
import time

from .. import store

# Older counts are recounted in the background. The Campaigns page refreshes every 10 s, so
# what it shows is at most about 25 s old while someone watches it...
FRESH = 15
# ...unless counting takes long (seconds at ten million leads): then counts are kept 20 times
# as long as their count took, so recounts use at most 5% of one database core per campaign.
COST_RATIO = 20

# Longest wait for another request's first count of a campaign; then this one counts too.
WAIT_FIRST = 20

log = logging.getLogger("dialer.web")
_HOST = f"{socket.gethostname()[:40]}:{os.getpid()}"


def statistics(st, cfg, names, now=None):
    """name -> (statistics, {counted_at, counted_age, recounting}) for campaigns that have a table.

    A campaign never counted yet is counted here, in the request (once: then it is cached)."""
    now = int(time.time() if now is None else now)
    cache = st.cached_statistics()
    out = {}
    for name in names:
        row = cache.get(name)
        if row is None or row["counts"] is None:
            row = _first_count(st, name, row, now)
        elif row["taken"] < now - max_age(row):
            me = _claimer()
            if st.claim_recount(name, me, now, now - max_age(row)):
                _recount_in_background(cfg, name, me)
                row.update(recount_by=me, recount_since=now)
        recounting = bool(row["recount_by"]) and row["recount_since"] >= now - store.CLAIM_TIMEOUT
        out[name] = row["counts"], {"counted_at": row["taken"], "counted_age": max(0, now - row["taken"]),
                                    "recounting": recounting}
    return out


def max_age(row):
    """Seconds a cache row's counts are shown before they are recounted."""
    return max(FRESH, COST_RATIO * row["took_ms"] / 1000)


def _count(st, name):
    """(statistics, milliseconds they took)."""
    t = time.monotonic()
    counts = st.statistics(name)
    return counts, int((time.monotonic() - t) * 1000)


def _claimer():
    return f"{_HOST}:{secrets.token_hex(4)}"


def _first_count(st, name, row, now):
    """A campaign never counted is counted in the request. Requests that come while another one
    counts it wait for those counts (up to WAIT_FIRST s) instead of counting it too."""
    me = _claimer()
    # A row without counts: its first count is claimed; a claim of a count that died is taken over.
    mine = st.claim_first_count(name, me, now) if row is None else st.claim_recount(name, me, now, now + 1)
    if not mine:
        deadline = time.monotonic() + WAIT_FIRST
        while time.monotonic() < deadline:
            time.sleep(0.2)
            row = st.cached_statistics().get(name)
            if row is not None and row["counts"] is not None:
                return row
    try:
        counts, took = _count(st, name)
    except Exception:
        if mine:    # given up at once: the next request counts, nobody waits for this one
            with contextlib.suppress(Exception):
                st.finish_recount(name, me, None, now)
        raise
    st.keep_statistics(name, counts, now, took)
    return {"counts": counts, "taken": now, "took_ms": took, "recount_by": "", "recount_since": 0}


def _recount_in_background(cfg, name, me):
    def work():
        st = store.open_store(cfg.general)
        counts, took = None, 0
        taken = int(time.time())
        try:
            counts, took = _count(st, name)
        except Exception:   # the claim is given up below; the next request past max_age() tries again
            log.exception("recount of campaign %s failed", name)
        finally:
            try:
                st.finish_recount(name, me, counts, taken, took)
            except Exception:   # the claim then times out (CLAIM_TIMEOUT) and is taken over
                log.exception("recount of campaign %s: could not store it", name)
            st.close()
    threading.Thread(target=work, name=f"recount-{name}", daemon=True).start()


def import_and_count(st, name, path, dedupe, progress):
    """Import an uploaded lead file, then recount the campaign in this request: whoever uploads
    sees the new numbers at once (and everybody else's next page too)."""
    report = st.import_file(name, path, dedupe=dedupe, progress=progress)
    taken = int(time.time())
    counts, took = _count(st, name)
    st.keep_statistics(name, counts, taken, took)
    return report
