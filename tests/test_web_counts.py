"""The console's statistics cache (dialer/web/counts.py, dialer/store/statscache.py) under real
gunicorn, on both backends: counts come from the cache with their age, a stale one is
recounted in the background by one worker at a time, a pause shows at once."""
import re
import threading
import time

from dialer.store import CLAIM_TIMEOUT
from dialer.store.statscache import STATS_CACHE_TABLE
from dialer.web.counts import COST_RATIO, FRESH
from tests.test_web_api import call, new_token

T = STATS_CACHE_TABLE


def dialable(page):
    return int(re.search(r'<dd id="dialable">(\d+)</dd>', page).group(1))


def wait_for(predicate, what, timeout=60):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def add_leads(site, n, start):
    st = site.store()
    try:
        for i in range(start, start + n):
            st.insert("camp", f"+336124500{i:02d}")
    finally:
        st.close()


def sql(site, statement, params=()):
    st = site.store()
    try:
        if statement.startswith("SELECT"):
            return [tuple(r) for r in st.rows(statement, params)]
        st.execute(statement, params)
    finally:
        st.close()


def test_cached_counts_with_their_age_refreshed_in_the_background(web):
    site = web()
    add_leads(site, 3, 0)
    view = site.login("view")
    page = view.get("/campaigns/camp").text     # never counted: counted in the request, then cached
    assert dialable(page) == 3 and re.search(r'id="counted">counted \d+ s ago<', page)
    ((counts, by),) = sql(site, f"SELECT counts, recount_by FROM {T} WHERE campaign = 'camp'")
    assert '"total": 3' in counts and by == ""

    add_leads(site, 2, 3)          # as `dialer -a file` or the dialer would: the cache does not know
    assert dialable(view.get("/campaigns/camp").text) == 3
    token = new_token(site, "view")
    body = call(site, "GET", "/campaigns/camp", token)[1]
    assert body["statistics"]["total"] == 3 and body["campaign"]["counted_age"] >= 0
    assert body["campaign"]["counted_at"] <= time.time()
    assert "counted" in view.get("/campaigns").text

    # Older than FRESH: that request still shows the cached counts and starts one recount.
    sql(site, f"UPDATE {T} SET taken = taken - ?", (FRESH + 60,))
    page = view.get("/campaigns/camp").text
    assert dialable(page) == 3 and re.search(r'counted \d+ s ago, recounting<', page)
    wait_for(lambda: dialable(view.get("/campaigns/camp").text) == 5, "the recount")
    assert call(site, "GET", "/campaigns", token)[1]["campaigns"][0]["total"] == 5
    assert sql(site, f"SELECT recount_by FROM {T}") == [("",)]

    # A count that took long is kept COST_RATIO times as long before it is recounted.
    add_leads(site, 1, 7)
    sql(site, f"UPDATE {T} SET took_ms = 60000, taken = ?", (int(time.time()) - FRESH - 30,))
    for _ in range(3):
        assert dialable(page := view.get("/campaigns/camp").text) == 5 and ", recounting" not in page
    sql(site, f"UPDATE {T} SET taken = ?", (int(time.time()) - COST_RATIO * 60 - 5,))
    assert ", recounting<" in view.get("/campaigns/camp").text
    wait_for(lambda: dialable(view.get("/campaigns/camp").text) == 6, "the recount of a slow count")

    # A pause shows at once (it is read live); the counts stay the cached ones until refreshed.
    add_leads(site, 1, 8)
    oper = site.login("oper")
    oper.post("/campaigns/camp/pause")
    page = view.get("/campaigns/camp").text
    assert "paused by oper" in page and dialable(page) == 6
    assert call(site, "GET", "/campaigns/camp", token)[1]["campaign"]["paused_by"] == "oper"


def test_one_recount_at_a_time_and_a_dead_one_taken_over(web):
    site = web()
    add_leads(site, 2, 0)
    view = site.login("view")
    assert dialable(view.get("/campaigns/camp").text) == 2
    add_leads(site, 1, 2)
    now = int(time.time())

    # Another worker (or host) is recounting: nobody else starts one.
    sql(site, f"UPDATE {T} SET taken = taken - ?, recount_by = 'other-host:1:ab', recount_since = ?",
        (FRESH + 60, now))
    for _ in range(5):
        assert re.search(r", recounting<", page := view.get("/campaigns/camp").text) and dialable(page) == 2
    assert sql(site, f"SELECT recount_by FROM {T}") == [("other-host:1:ab",)]

    # Its claim is older than CLAIM_TIMEOUT: it died; the next request takes the recount over.
    sql(site, f"UPDATE {T} SET recount_since = ?", (now - CLAIM_TIMEOUT - 1,))
    assert dialable(view.get("/campaigns/camp").text) == 2
    wait_for(lambda: dialable(view.get("/campaigns/camp").text) == 3, "the recount taken over")
    assert sql(site, f"SELECT recount_by FROM {T}") == [("",)]

    # Two claims at once, as two workers would: one wins; a dead claim's late result is dropped.
    a, b = site.store(), site.store()
    try:
        sql(site, f"UPDATE {T} SET taken = taken - ?", (FRESH + 60,))
        now = int(time.time())
        assert a.claim_recount("camp", "a", now, now - FRESH) is True
        assert b.claim_recount("camp", "b", now, now - FRESH) is False
        assert b.claim_recount("camp", "b", now + CLAIM_TIMEOUT + 1, now - FRESH) is True
        a.finish_recount("camp", "a", {"total": 99}, now)
        assert a.cached_statistics()["camp"]["recount_by"] == "b"
        b.finish_recount("camp", "b", b.statistics("camp"), now)
        row = a.cached_statistics()["camp"]
        assert (row["counts"]["total"], row["taken"], row["recount_by"]) == (3, now, "")
    finally:
        a.close()
        b.close()


def test_an_upload_shows_its_counts_at_once(web):
    site = web()
    view = site.login("view")
    assert dialable(view.get("/campaigns/camp").text) == 0
    token = new_token(site, "oper")
    status, body = call(site, "POST", "/campaigns/camp/leads", token, "+33612460001\n+33612460002\n",
                        {"Content-Type": "text/csv"})
    assert status == 200 and body["imported"] == 2
    assert dialable(view.get("/campaigns/camp").text) == 2


def test_a_first_count_under_way_is_waited_for_not_repeated(web):
    site = web()
    add_leads(site, 2, 0)
    a, b = site.store(), site.store()
    try:
        now = int(time.time())
        assert a.claim_first_count("camp", "a", now) is True      # a request is counting it
        assert b.claim_first_count("camp", "b", now) is False
        assert a.cached_statistics()["camp"]["counts"] is None
        counts = a.statistics("camp")
        counts["dialable_now"] = 42     # not what a count of the table says (2): a's counts, not its own
        threading.Timer(1.0, a.finish_recount, ("camp", "a", counts, now)).start()
        assert dialable(site.login("view").get("/campaigns/camp").text) == 42

        # A first count that died (its claim older than CLAIM_TIMEOUT) is taken over at once.
        sql(site, f"DELETE FROM {T}")
        assert b.claim_first_count("camp", "b", now - CLAIM_TIMEOUT - 1) is True
        assert dialable(site.login("view").get("/campaigns/camp").text) == 2
        assert sql(site, f"SELECT recount_by FROM {T}") == [("",)]
    finally:
        a.close()
        b.close()
