"""The HTTP API /api/v1 with per-user bearer tokens, under gunicorn, on both backends."""
import json
import re

from dialer.store.console import TOKENS_TABLE
from tests.test_web import HOSTILE


def new_token(site, user, label="test"):
    s = site.login(user)
    s.get("/tokens")
    r = s.post("/tokens", {"label": label})
    assert r.status == 200
    return re.search(r'<pre id="new-token">([^<]+)</pre>', r.text).group(1)


def call(site, method, path, token=None, body=None, headers=None, session=None):
    h = dict(headers or {})
    if token:
        h["Authorization"] = f"Bearer {token}"
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
        h["Content-Type"] = "application/json"
    r = (session or site.session()).request(method, "/api/v1" + path, data=body, headers=h)
    assert r.headers["Content-Type"] == "application/json", (r.status, r.text[:300])
    return r.status, r.json()


def test_tokens_roles_and_errors(web):
    site = web()
    status, body = call(site, "GET", "/campaigns")
    assert status == 401 and "Bearer" in body["error"]
    assert call(site, "GET", "/campaigns", token="dlr_forged")[0] == 401
    viewer = new_token(site, "view")
    status, body = call(site, "GET", "/campaigns", viewer)
    assert status == 200 and [c["name"] for c in body["campaigns"]] == ["camp", "other"]
    assert body["campaigns"][1]["state"] == "no table in the database"
    assert call(site, "POST", "/campaigns/camp/pause", viewer)[0] == 403
    assert call(site, "POST", "/dnc", viewer, {"phone": "+33612345678"})[0] == 403
    assert call(site, "GET", "/campaigns/nope", viewer) == (404, {"error": "campaign 'nope' has no table in the database"})
    assert call(site, "GET", "/nothing", viewer)[0] == 404

    # A logged-in browser's cookie does not authenticate the API (it needs no CSRF token for that reason).
    oper_browser = site.login("oper")
    assert call(site, "POST", "/campaigns/camp/pause", session=oper_browser)[0] == 401

    oper = new_token(site, "oper", "cron job")
    assert call(site, "POST", "/campaigns/camp/pause", oper) == (200, {"campaign": "camp", "paused": True,
                                                                       "changed": True})
    assert call(site, "POST", "/campaigns/camp/pause", oper)[1]["changed"] is False
    status, body = call(site, "GET", "/campaigns/camp", viewer)
    assert status == 200 and body["campaign"]["paused_by"] == "oper" and body["statistics"]["total"] == 0
    assert call(site, "POST", "/campaigns/camp/resume", oper)[1] == {"campaign": "camp", "paused": False,
                                                                     "changed": True}

    st = site.store()
    try:
        assert st.scalar(f"SELECT COUNT(*) FROM {st.d.q(TOKENS_TABLE)} WHERE sha256 = ?", (oper,)) == 0
        (tok,) = st.tokens("oper")
        assert tok["label"] == "cron job" and tok["last_used"]
        api_rows = [(r["user"], r["action"], r["address"]) for r in st.audit_rows() if r["detail"].startswith("api")]
        assert api_rows == [("oper", "resume", "127.0.0.1"), ("oper", "pause", "127.0.0.1"),
                            ("oper", "pause", "127.0.0.1")]
        assert st.audit_rows(action="pause")[0]["detail"] == "api, already paused"
    finally:
        st.close()

    # Revoked in the console: refused at once.
    s = site.login("oper")
    s.get("/tokens")
    assert s.post(f"/tokens/{tok['id']}/revoke").status == 302
    assert call(site, "GET", "/campaigns", oper)[0] == 401


def test_upload_lookup_and_dnc(web):
    site = web()
    oper = new_token(site, "oper")
    status, body = call(site, "POST", "/campaigns/camp/leads", oper, HOSTILE, {"Content-Type": "text/csv"})
    assert status == 200, body
    assert (body["imported"], body["rejected"], body["status"]) == (3, 4, 1)
    assert body["rejected_lines"][0].startswith("line 3:")
    assert call(site, "POST", "/campaigns/camp/leads", oper, b"junk\n")[0] == 422
    status, body = call(site, "GET", "/campaigns/camp/leads/+33612345678", oper)
    assert status == 200 and body["leads"][0]["dialable"] is True and body["history"] == []
    assert call(site, "GET", "/campaigns/camp/leads/+33699999999", oper)[0] == 404
    assert call(site, "GET", "/campaigns/camp/leads/abc", oper)[0] == 400

    assert call(site, "POST", "/dnc", oper, {"phones": ["+33612345678", "+33612345679"]}) == \
        (200, {"added": 2, "already": 0})
    status, body = call(site, "GET", "/campaigns/camp/leads/+33612345678", oper)
    assert body["leads"][0]["dialable"] is False
    assert [r["rule"] for r in body["leads"][0]["reasons"] if not r["ok"]] == ["dnc"]
    assert call(site, "POST", "/dnc", oper, {"phone": 5})[0] == 400
    assert call(site, "DELETE", "/dnc/+33612345679", oper) == (200, {"deleted": 1})
    assert call(site, "DELETE", "/dnc/+33612345679", oper)[0] == 404
    st = site.store()
    try:
        assert st.count("camp") == 3 and st.list_count() == 1
    finally:
        st.close()
