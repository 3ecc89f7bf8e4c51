"""Login and logout. Failed logins are audited and, counted from the audit, rate-limited per
user name and per client address (the same count for every worker and every host)."""
import time

import flask
import flask_login

from .console import get_store
from .security import User, address, audit

bp = flask.Blueprint("auth", __name__)

WINDOW = 15 * 60        # seconds over which failures count
MAX_PER_USER = 5        # failures of one user name in WINDOW before its logins are refused
MAX_PER_ADDRESS = 20    # failures from one address in WINDOW (guessing many names)


@bp.route("/")
def index():
    return flask.redirect(flask.url_for("campaigns.index"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    if flask.request.method == "GET":
        return flask.render_template("login.html")
    name = flask.request.form.get("username", "").strip()[:64]
    password = flask.request.form.get("password", "")
    st = get_store()
    by_user, by_addr = st.failures_since(name, address(), time.time() - WINDOW)
    if by_user >= MAX_PER_USER or by_addr >= MAX_PER_ADDRESS:
        return flask.render_template("login.html", error="Too many failed logins: wait a few minutes and try "
                                     "again."), 429
    row = st.authenticate(name, password)
    if row is None:
        audit("login-failed", user=name or "-")
        return flask.render_template("login.html", error="Wrong user name or password."), 401
    flask.session.clear()
    flask.session.permanent = True
    flask_login.login_user(User(row))
    audit("login")
    nxt = flask.request.args.get("next", "")
    # Only a path of this site: never an absolute or scheme-relative URL (open redirect).
    if not nxt.startswith("/") or nxt.startswith("//") or "\\" in nxt:
        nxt = flask.url_for("campaigns.index")
    return flask.redirect(nxt)


@bp.route("/logout", methods=["POST"])
@flask_login.login_required
def logout():
    audit("logout")
    flask_login.logout_user()
    flask.session.clear()
    return flask.redirect(flask.url_for("auth.login"))
