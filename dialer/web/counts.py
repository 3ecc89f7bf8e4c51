"""The counts the console shows: the last ones of the statistics cache
(dialer/store/statscache.py) with their age, never a count of a big table in a request but the
first one (docs/web.md, "Counts and their age").

A campaign's counts older than FRESH seconds are recounted in a thread of this worker, by one
worker of one host at a time; the request that noticed shows the old counts, labelled with
their age. Pauses, heartbeats and live calls are not counts: they are read live."""
import logging
import os
import secrets
import socket
import threading
import time

from .. import store

# Older counts are recounted in the background. The Campaigns page refreshes every 10 s, so
# what it shows is at most about 25 s old while someone watches it.
FRESH = 15

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
        if row is None:
            row = {"counts": st.statistics(name), "taken": now, "recount_by": "", "recount_since": 0}
            st.keep_statistics(name, row["counts"], now)
        elif row["taken"] < now - FRESH:
            me = f"{_HOST}:{secrets.token_hex(4)}"
            if st.claim_recount(name, me, now, now - FRESH):
                _recount_in_background(cfg, name, me)
                row.update(recount_by=me, recount_since=now)
        recounting = bool(row["recount_by"]) and row["recount_since"] >= now - store.CLAIM_TIMEOUT
        out[name] = row["counts"], {"counted_at": row["taken"], "counted_age": max(0, now - row["taken"]),
                                    "recounting": recounting}
    return out


def _recount_in_background(cfg, name, me):
    def work():
        st = store.open_store(cfg.general)
        counts = None
        taken = int(time.time())
        try:
            counts = st.statistics(name)
        except Exception:   # the claim is given up below; the next request past FRESH tries again
            log.exception("recount of campaign %s failed", name)
        finally:
            try:
                st.finish_recount(name, me, counts, taken)
            except Exception:   # the claim then times out (CLAIM_TIMEOUT) and is taken over
                log.exception("recount of campaign %s: could not store it", name)
            st.close()
    threading.Thread(target=work, name=f"recount-{name}", daemon=True).start()


def import_and_count(st, name, path, dedupe, progress):
    """Import an uploaded lead file, then recount the campaign in this request: whoever uploads
    sees the new numbers at once (and everybody else's next page too)."""
    report = st.import_file(name, path, dedupe=dedupe, progress=progress)
    taken = int(time.time())
    st.keep_statistics(name, st.statistics(name), taken)
    return report
