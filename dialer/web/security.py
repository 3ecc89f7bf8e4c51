"""Sessions, roles, CSRF, the security headers, errors, and the audit of what people do."""
import functools
import ipaddress

import flask
import flask_login
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFError, CSRFProtect

from ..store import StoreError, StoreUnavailable
from ..store.console import ROLES
from .console import get_store

csrf = CSRFProtect()
login_manager = flask_login.LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = None

RANK = {r: i for i, r in enumerate(ROLES)}
# No inline script or style anywhere: pages are HTML + one CSS file + inline SVG attributes.
CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


class User(flask_login.UserMixin):
    def __init__(self, row):
        self.name = row["name"]
        self.role = row["role"]

    def get_id(self):
        return self.name

    def can(self, role):
        return RANK[self.role] >= RANK[role]


@login_manager.user_loader
def _load_user(name):
    # Read on every request: a disabled user or a changed role takes effect at once.
    row = get_store().user(name)
    return User(row) if row and not int(row["disabled"]) else None


def address():
    """The client's address. Behind a reverse proxy on this host (nginx of the dialer_web role)
    the peer is loopback and the client is the last X-Forwarded-For entry, the one the proxy
    added; from any other peer the header is ignored, so a client cannot choose its address
    (the audit's, the login rate limit's)."""
    peer = flask.request.remote_addr or ""
    fwd = flask.request.headers.get("X-Forwarded-For", "")
    if fwd and peer in ("127.0.0.1", "::1"):
        last = fwd.split(",")[-1].strip()
        try:
            return str(ipaddress.ip_address(last))
        except ValueError:
            pass
    return peer


class SessionInterface(SecureCookieSessionInterface):
    """Secure session cookies under TLS: gunicorn's own (SESSION_COOKIE_SECURE) or a proxy's
    (gunicorn marks the request https from X-Forwarded-Proto of forwarded_allow_ips only)."""

    def get_cookie_secure(self, app):
        return super().get_cookie_secure(app) or flask.request.is_secure


def audit(action, campaign="", detail="", user=None):
    if user is None:
        user = flask_login.current_user.name
    get_store().audit(user, address(), action, campaign, detail)


def requires(role):
    """A page for signed-in users of `role` or above; others get 403."""
    def wrap(view):
        @functools.wraps(view)
        @flask_login.login_required
        def inner(*a, **kw):
            if not flask_login.current_user.can(role):
                flask.abort(403, f"this needs the {role} role (you are {flask_login.current_user.role})")
            return view(*a, **kw)
        return inner
    return wrap


def _headers(resp):
    for k, v in HEADERS.items():
        resp.headers.setdefault(k, v)
    if resp.mimetype == "text/html":
        resp.headers.setdefault("Cache-Control", "no-store")
    return resp


def _error(code, message):
    if flask.request.path.startswith("/api/"):
        return flask.jsonify(error=message), code
    return flask.render_template("error.html", code=code, message=message), code


def init(app):
    app.session_interface = SessionInterface()
    csrf.init_app(app)
    login_manager.init_app(app)
    app.after_request(_headers)
    app.jinja_env.globals["ROLES"] = ROLES

    @app.errorhandler(CSRFError)
    def _csrf(e):
        return _error(400, f"form refused: {e.description} (reload the page and try again)")

    @app.errorhandler(StoreUnavailable)
    def _down(e):
        return _error(503, f"the database is unavailable: {e}")

    @app.errorhandler(StoreError)
    def _store(e):
        return _error(400, str(e))

    for code in (400, 401, 403, 404, 405, 413, 429):
        app.register_error_handler(code, lambda e: _error(e.code, e.description))
    # A bug: the traceback goes to the log (Flask logs it before this runs), one line to the client.
    app.register_error_handler(500, lambda e: _error(500, "internal error (see the dialer-web log)"))
