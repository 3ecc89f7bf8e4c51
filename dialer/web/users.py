"""Users and the audit trail (admin), and each user's own API tokens."""
import flask
import flask_login

from ..store import StoreError
from .console import get_store
from .security import audit, requires

bp = flask.Blueprint("users", __name__)


@bp.route("/users")
@requires("admin")
def index():
    return flask.render_template("users.html", users=get_store().users())


@bp.route("/users", methods=["POST"])
@requires("admin")
def create():
    f = flask.request.form
    name, role = f.get("username", "").strip(), f.get("role", "")
    get_store().user_add(name, f.get("password", ""), role)
    audit("user-add", detail=f"{name} ({role})")
    flask.flash(f"user {name} created with role {role}")
    return flask.redirect(flask.url_for(".index"))


@bp.route("/users/<name>/<op>", methods=["POST"])
@requires("admin")
def change(name, op):
    st = get_store()
    f = flask.request.form
    me = flask_login.current_user.name
    if st.user(name) is None:
        flask.abort(404, f"no user {name[:64]!r}")
    if name == me and op in ("disable", "role"):
        # The last admin locking themselves out would need a root shell to undo.
        raise StoreError("you cannot disable yourself or change your own role; ask another admin")
    if op == "role":
        st.user_set_role(name, f.get("role", ""))
        detail = f"{name} -> {f.get('role')}"
    elif op in ("disable", "enable"):
        st.user_set_disabled(name, op == "disable")
        detail = name
    elif op == "password":
        st.user_set_password(name, f.get("password", ""))
        detail = name
    else:
        flask.abort(404)
    audit(f"user-{op}", detail=detail)
    flask.flash(f"user {name}: {op} done")
    return flask.redirect(flask.url_for(".index"))


@bp.route("/audit")
@requires("admin")
def audit_page():
    user = flask.request.args.get("user", "").strip() or None
    action = flask.request.args.get("action", "").strip() or None
    return flask.render_template("audit.html", rows=get_store().audit_rows(500, user=user, action=action),
                                 user=user or "", action=action or "")


@bp.route("/tokens")
@requires("viewer")
def tokens():
    return flask.render_template("tokens.html", tokens=get_store().tokens(flask_login.current_user.name),
                                 new=None)


@bp.route("/tokens", methods=["POST"])
@requires("viewer")
def token_create():
    me = flask_login.current_user.name
    label = flask.request.form.get("label", "").strip()[:64]
    st = get_store()
    token = st.token_create(me, label)
    audit("token-create", detail=label)
    # Shown this once: only its sha256 is stored.
    return flask.render_template("tokens.html", tokens=st.tokens(me), new=token)


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
@requires("viewer")
def token_revoke(token_id):
    if not get_store().token_revoke(token_id, flask_login.current_user.name):
        flask.abort(404, "no such live token of yours")
    audit("token-revoke", detail=str(token_id))
    return flask.redirect(flask.url_for(".tokens"))
