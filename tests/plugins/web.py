"""Fixture `web`: the real console under real gunicorn on a free 127.0.0.1 port, on the
parametrised backend (a throwaway MariaDB database or an SQLite file).

    def test_x(web):
        site = web()                      # database, campaign `camp`, users, gunicorn started
        s = site.login("oper")            # a Session logged in as oper (role operator)
        r = s.get("/campaigns/camp")      # -> Reply: status, headers, text, json()
        r = s.post("/campaigns/camp/pause", {})      # the page's CSRF token added for you

Users (password = PASSWORD): `admin` (admin), `oper` (operator), `view` (viewer).
site.store() is a Store on the same database; site.conf the dialer.conf; site.log() gunicorn's
stderr. Every gunicorn started is stopped at teardown.
"""
import http.cookiejar
import os
import re
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid

import pytest

from dialer import config, store as store_mod
from tests.plugins.pbxsim import free_port

PASSWORD = "correct-horse-9"
USERS = {"admin": "admin", "oper": "operator", "view": "viewer"}
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
CONF = """
[default]
blacklist=blk
usednc=true
[camp]
[other]
"""


class Reply:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def json(self):
        import json
        return json.loads(self.body)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **kw):
        return None


class Session:
    """A browser-like HTTP client: cookies, no automatic redirects, the last page's CSRF token."""

    def __init__(self, base):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect)
        self.csrf = None

    def request(self, method, path, data=None, headers=None, files=None):
        body = None
        headers = dict(headers or {})
        if files is not None:
            body, ctype = multipart(data or {}, files)
            headers["Content-Type"] = ctype
        elif isinstance(data, dict):
            body = urllib.parse.urlencode(data).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif data is not None:
            body = data if isinstance(data, bytes) else data.encode()
        req = urllib.request.Request(self.base + path, data=body, method=method, headers=headers)
        try:
            with self.opener.open(req, timeout=60) as resp:
                reply = Reply(resp.status, resp.headers, resp.read())
        except urllib.error.HTTPError as err:
            reply = Reply(err.code, err.headers, err.read())
        m = CSRF_RE.search(reply.text) if reply.headers.get("Content-Type", "").startswith("text/html") else None
        if m:
            self.csrf = m.group(1)
        return reply

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, data=None, csrf=True, **kw):
        data = dict(data or {})
        if csrf:
            if self.csrf is None:
                self.get("/campaigns")
            data.setdefault("csrf_token", self.csrf)
        return self.request("POST", path, data=data, **kw)


def multipart(fields, files):
    """(body, content type) of a multipart/form-data request; files: {field: (filename, bytes)}."""
    boundary = uuid.uuid4().hex
    out = []
    for k, v in fields.items():
        out.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode())
    for k, (name, content) in files.items():
        out.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"; filename="{name}"\r\n'
                   'Content-Type: text/csv\r\n\r\n'.encode() + content + b"\r\n")
    out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out), f"multipart/form-data; boundary={boundary}"


class Site:
    def __init__(self, conf, tmp_path):
        self.conf = conf
        self.tmp_path = tmp_path
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc = None
        self.errlog = tmp_path / "gunicorn.log"

    def store(self):
        return store_mod.open_store(config.load(str(self.conf)).general)

    def start(self, workers=2):
        env = dict(os.environ, DIALER_CONF=str(self.conf))
        env.pop("DIALER_CONFIG", None)
        gunicorn = os.path.join(os.path.dirname(sys.executable), "gunicorn")
        self.proc = subprocess.Popen(
            [gunicorn, "--bind", f"127.0.0.1:{self.port}", "--workers", str(workers), "--log-level", "warning",
             "dialer.web.wsgi:application"], env=env, stdout=subprocess.DEVNULL, stderr=open(self.errlog, "w"))
        self.wait_up()

    def wait_up(self):
        import socket
        import time
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"gunicorn exited {self.proc.returncode}:\n{self.log()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                if self.session().get("/login").status == 200:
                    return
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"gunicorn did not answer on port {self.port}:\n{self.log()}")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def log(self):
        return self.errlog.read_text() if self.errlog.exists() else ""

    def session(self):
        return Session(self.base)

    def login(self, user, password=PASSWORD):
        s = self.session()
        s.get("/login")
        r = s.post("/login", {"username": user, "password": password})
        assert r.status == 302, (r.status, r.text[:500])
        s.csrf = None    # the login starts a new session: the next post takes its token first
        return s


def have_campaign(st):
    try:
        return st.exists("camp")
    except store_mod.StoreError:    # an SQLite file not made yet
        return False


@pytest.fixture
def web(dialer_conf, tmp_path):
    """web(extra=CONF, workers=2, general=None, conf=None) -> Site. With `conf` (a dialer.conf
    whose database exists, e.g. a `dial` environment's), only the users are added to it."""
    started = []

    def make(extra=CONF, workers=2, general=None, conf=None):
        if conf is None:
            gen = {"websecretfile": str(tmp_path / "web-secret"), "statedir": str(tmp_path)}
            gen.update(general or {})
            conf = dialer_conf(extra, general=gen)
        site = Site(conf, tmp_path)
        st = site.store()
        try:
            if not have_campaign(st):
                st.create_database()
                st.create_campaign("camp")
            st.ensure_console()
            for name, role in USERS.items():
                st.user_add(name, PASSWORD, role)
        finally:
            st.close()
        site.start(workers)
        started.append(site)
        return site

    yield make
    for s in started:
        s.stop()
