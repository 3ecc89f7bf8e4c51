"""The web console as people use it: the real app under gunicorn on both backends, driven over
HTTP (login, roles, CSRF, headers, pages, upload, lists, nodes, users, audit)."""
import re
import time

import pytest

from dialer.store.control_schema import HEARTBEAT_TABLE
from tests.conftest import run_dialer
from tests.plugins.web import PASSWORD


def actions(st, **kw):
    return [(r["user"], r["action"], r["address"], r["campaign"]) for r in reversed(st.audit_rows(**kw))]


def test_login_roles_csrf_and_headers(web):
    site = web()
    anon = site.session()
    r = anon.get("/campaigns")
    assert r.status == 302 and r.headers["Location"].startswith("/login")
    r = anon.get("/login")
    csp = r.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "unsafe-inline" not in csp and "script-src" not in csp
    assert r.headers["X-Frame-Options"] == "DENY" and "<script" not in r.text and "style=" not in r.text
    assert anon.post("/login", {"username": "oper", "password": "wrong-password"}).status == 401
    # A form without its CSRF token is refused, even the login form.
    assert anon.post("/login", {"username": "oper", "password": PASSWORD}, csrf=False).status == 400

    view = site.login("view")
    cookie = [c for c in view.jar if c.name == "dialer_session"][0]
    assert cookie.has_nonstandard_attr("HttpOnly") and cookie._rest.get("SameSite") == "Lax" and not cookie.secure
    r = view.get("/campaigns")
    assert r.status == 200 and "/campaigns/camp" in r.text and "<script" not in r.text
    assert 'http-equiv="refresh"' in r.text
    assert view.post("/campaigns/camp/pause").status == 403
    assert view.get("/users").status == 403 and view.get("/audit").status == 403

    oper = site.login("oper")
    assert oper.post("/campaigns/camp/pause", csrf=False).status == 400
    assert oper.post("/campaigns/camp/pause", {"csrf_token": "forged"}, csrf=False).status == 400
    st = site.store()
    try:
        assert st.paused_campaigns() == {}
        assert oper.post("/campaigns/camp/pause").status == 302
        assert st.paused_campaigns()["camp"][0] == "oper"
        assert "paused by oper" in oper.get("/campaigns").text
        page = oper.get("/campaigns/camp").text
        assert 'id="resume"' in page and 'id="pause"' not in page
        assert oper.post("/campaigns/camp/resume").status == 302
        assert st.paused_campaigns() == {}
        assert oper.post("/users", {"username": "eve", "password": "x" * 10, "role": "admin"}).status == 403
        assert oper.post("/logout").status == 302
        assert oper.get("/campaigns").status == 302
        assert actions(st) == [("oper", "login-failed", "127.0.0.1", ""), ("view", "login", "127.0.0.1", ""),
                               ("oper", "login", "127.0.0.1", ""), ("oper", "pause", "127.0.0.1", "camp"),
                               ("oper", "resume", "127.0.0.1", "camp"), ("oper", "logout", "127.0.0.1", "")]
    finally:
        st.close()


def test_failed_logins_are_rate_limited_across_workers(web):
    site = web(workers=3)
    s = site.session()
    s.get("/login")
    for _ in range(5):
        assert s.post("/login", {"username": "admin", "password": "guess-guess"}).status == 401
    # The right password no longer helps for a while; another user is not locked out.
    r = s.post("/login", {"username": "admin", "password": PASSWORD})
    assert r.status == 429 and "Too many failed logins" in r.text
    site.login("oper")
    st = site.store()
    try:
        assert st.failures_since("admin", "127.0.0.1", time.time() - 60) == (5, 5)
    finally:
        st.close()


HOSTILE = ("+33612345678\n"
           "0612345679,vip\n"
           "not a number\n"
           "+3361234'; DROP TABLE camp; --\n"
           "\"unbalanced,quote\n"
           "+33612345680\n").encode() + b"\xff\xfe broken utf-8\n"


def test_upload_goes_through_the_cli_importer(web, tmp_path):
    site = web()
    oper = site.login("oper")
    oper.get("/campaigns/camp")
    r = oper.request("POST", "/campaigns/camp/upload", data={"csrf_token": oper.csrf},
                     files={"file": ("leads.csv", HOSTILE)})
    assert r.status == 200, r.text
    assert "imported 3, rejected 4" in r.text
    assert "line 3:" in r.text and "line 7: not valid UTF-8" in r.text
    url = r.text.split('id="rejected-download" href="')[1].split('"')[0]
    rej = oper.get(url)
    assert rej.status == 200 and rej.text.count("\n") == 4 and "DROP TABLE" in rej.text
    # The same file through `dialer -a file` gives the same verdicts, line for line.
    path = tmp_path / "leads.csv"
    path.write_bytes(HOSTILE)
    run_dialer("-c", "other", "-a", "create", config=site.conf, check=0)
    cli = run_dialer("-c", "other", "-a", "file", "-p", path, config=site.conf)
    assert cli.returncode == 1 and "imported 3, rejected 4" in cli.stdout
    assert (tmp_path / "leads.csv.rejected").read_text() == rej.text
    st = site.store()
    try:
        assert st.count("camp") == 3
        assert actions(st, action="upload") == [("oper", "upload", "127.0.0.1", "camp")]
    finally:
        st.close()
    view = site.login("view")
    view.get("/campaigns/camp")
    assert view.request("POST", "/campaigns/camp/upload", data={"csrf_token": view.csrf},
                        files={"file": ("leads.csv", HOSTILE)}).status == 403


def test_campaign_page_lookup_and_downloads(web):
    site = web()
    st = site.store()
    try:
        st.insert("camp", "+33612345678", "p1")
        st.insert("camp", "+33612345679")
        st.list_add("+33612345679")
        import io
        out = io.StringIO()
        st.dump("camp", out, header=True)
    finally:
        st.close()
    view = site.login("view")
    page = view.get("/campaigns/camp").text
    assert 'id="upload"' not in page and 'id="pause"' not in page    # a viewer sees no write button
    assert "<svg" in page and "Not Yet Called" in page
    r = view.get("/campaigns/camp?phone=%2B33612345679")
    assert r.status == 200 and "not dialable now" in r.text and "do-not-call" in r.text.lower()
    assert "dialable now" in view.get("/campaigns/camp?phone=%2B33612345678").text
    assert "expected" in view.get("/campaigns/camp?phone=abc").text
    full = view.get("/campaigns/camp/fulldump.csv")
    assert full.status == 200 and full.headers["Content-Type"].startswith("text/csv")
    assert full.text == out.getvalue()
    assert view.get("/campaigns/camp/dump.csv").text == out.getvalue().split("\r\n", 1)[1]
    assert view.get("/campaigns/nope").status == 404
    assert view.get("/campaigns/x%27y").status == 404


def test_lists_count_add_delete_import_export(web):
    site = web()
    oper = site.login("oper")
    assert oper.get("/lists").status == 200
    assert oper.post("/lists/dnc/add", {"phones": "+33612345678 +33612345679"}).status == 302
    assert oper.post("/lists/blacklist/blk/add", {"phones": "+33700000001"}).status == 302
    assert oper.post("/lists/dnc/delete", {"phones": "+33612345679"}).status == 302
    page = oper.get("/lists").text
    assert "Blacklist blk" in page
    oper.get("/lists")
    r = oper.request("POST", "/lists/dnc/import", data={"csrf_token": oper.csrf},
                     files={"file": ("dnc.txt", b"+33612340000\nbogus\n")})
    assert "imported 1, rejected 1" in r.text
    assert oper.get("/lists/dnc.csv").text == "phone\r\n+33612340000\r\n+33612345678\r\n"
    assert oper.get("/lists/blacklist/blk.csv").text == "phone\r\n+33700000001\r\n"
    view = site.login("view")
    assert view.post("/lists/dnc/add", {"phones": "+33612345670"}).status == 403
    st = site.store()
    try:
        assert st.list_count() == 2
        assert [a for _, a, _, _ in actions(st) if a.startswith(("dnc", "blacklist"))] == \
            ["dnc-add", "blacklist-add", "dnc-delete", "dnc-import"]
    finally:
        st.close()


def test_nodes_show_stopped_ones(web):
    site = web()
    st = site.store()
    try:
        st.write_heartbeat("node-a", {"host": "a", "version": "1", "campaigns": {"camp": {"live": 3, "state": "dialling"}},
                                      "lines": 10, "ami": "synced", "db": "up", "status": "running"})
        st.write_heartbeat("node-b", {"host": "b", "version": "1", "campaigns": {}, "lines": 5, "ami": "down",
                                      "db": "up", "status": "running"})
        st.execute(f"UPDATE {st.d.q(HEARTBEAT_TABLE)} SET seen = seen - 3600 WHERE instance = 'node-b'")
    finally:
        st.close()
    view = site.login("view")
    page = view.get("/nodes").text
    a, b = page.split("node-a")[1], page.split("node-b")[1]
    assert "stopped" not in a.split("</tr>")[0] and "stopped (no heartbeat for" in b.split("</tr>")[0]
    camps = view.get("/campaigns").text
    assert "dialling" in camps and ">3<" in camps.replace(" ", "")


def test_users_page_for_admins_only(web):
    site = web()
    admin = site.login("admin")
    assert admin.post("/users", {"username": "carol", "password": "carol-pass-1", "role": "viewer"}).status == 302
    assert admin.post("/users", {"username": "bad name", "password": "carol-pass-1", "role": "viewer"}).status == 400
    assert admin.post("/users/carol/role", {"role": "operator"}).status == 302
    assert site.login("carol", "carol-pass-1").post("/campaigns/camp/pause").status == 302
    assert admin.post("/users/carol/password", {"password": "carol-pass-2"}).status == 302
    site.login("carol", "carol-pass-2")
    assert admin.post("/users/carol/disable").status == 302
    s = site.session()
    s.get("/login")
    assert s.post("/login", {"username": "carol", "password": "carol-pass-2"}).status == 401
    assert admin.post("/users/admin/disable").status == 400     # no locking yourself out
    assert "carol" in admin.get("/users").text
    audit = admin.get("/audit?action=user-role").text
    assert "carol -&gt; operator" in audit
    st = site.store()
    try:
        assert [a for _, a, _, _ in actions(st, user="admin") if a.startswith("user")] == \
            ["user-add", "user-role", "user-password", "user-disable"]
    finally:
        st.close()


def test_behind_a_local_tls_proxy(web):
    """nginx on this host (the dialer_web role) adds X-Forwarded-For and X-Forwarded-Proto: the
    audit gets the client's address and the cookie is Secure. From the client itself (here also
    127.0.0.1, but with a forged header that is not an address) nothing is taken."""
    site = web()
    s = site.session()
    proxied = {"X-Forwarded-For": "198.51.100.9, 203.0.113.7", "X-Forwarded-Proto": "https",
               "Referer": f"https://127.0.0.1:{site.port}/login"}    # Flask-WTF checks it under https
    r = s.get("/login", headers=proxied)
    assert "Secure" in r.headers["Set-Cookie"]
    # The test's cookie jar keeps a Secure cookie off plain http, as it should: sent by hand.
    proxied["Cookie"] = r.headers["Set-Cookie"].split(";")[0]
    r = s.post("/login", {"username": "oper", "password": PASSWORD}, headers=proxied)
    assert r.status == 302 and "Secure" in r.headers["Set-Cookie"] and "HttpOnly" in r.headers["Set-Cookie"]
    s2 = site.session()
    s2.get("/login")
    assert s2.post("/login", {"username": "oper", "password": "nope-nope"},
                   headers={"X-Forwarded-For": "not-an-ip"}).status == 401
    st = site.store()
    try:
        assert [(u, a, addr) for u, a, addr, _ in actions(st)] == [("oper", "login", "203.0.113.7"),
                                                                   ("oper", "login-failed", "127.0.0.1")]
    finally:
        st.close()


def test_uploads_are_size_limited(web):
    site = web(general={"webmaxupload": "1"})
    oper = site.login("oper")
    oper.get("/campaigns/camp")
    big = b"".join(b"+3361%07d\n" % i for i in range(120000))     # 1.4 MB
    r = oper.request("POST", "/campaigns/camp/upload", data={"csrf_token": oper.csrf}, files={"file": ("big.csv", big)})
    assert r.status == 413
    st = site.store()
    try:
        assert st.count("camp") == 0 and not actions(st, action="upload")
    finally:
        st.close()


@pytest.mark.slow
def test_a_big_upload_shows_its_progress_as_it_goes(web):
    site = web()
    oper = site.login("oper")
    oper.get("/campaigns/camp")
    # 9 MB: the importer reads 4 MB at a time and reports the read position every 20,000 rows.
    lines = b"".join(b"+3361%07d\n" % i for i in range(700000)) + b"bad line\n"
    r = oper.request("POST", "/campaigns/camp/upload", data={"csrf_token": oper.csrf},
                     files={"file": ("big.csv", lines)})
    assert r.status == 200 and "imported 700000, rejected 1" in r.text
    values = [int(v) for v in re.findall(r'<progress max="100" value="(\d+)">', r.text)]
    assert len(values) >= 30 and values == sorted(values) and values[-1] == 100 and 0 < values[0] < 50
    assert r.text.index('<progress max="100"') < r.text.index('id="summary"')
    oper.get("/campaigns/camp")
    r = oper.request("POST", "/campaigns/camp/upload", data={"csrf_token": oper.csrf},
                     files={"file": ("bad.csv", b"phone,param,colour\n+33612345678,x,red\n")})
    assert r.status == 200 and "unknown column &#39;colour&#39;" in r.text
    st = site.store()
    try:
        assert st.count("camp") == 700000
        assert [a for _, a, _, c in actions(st, action="upload")] == ["upload", "upload"]
        assert "unknown column" in st.audit_rows(action="upload")[0]["detail"]
    finally:
        st.close()
