"""The HTTP API, /api/v1: JSON in and out, a per-user bearer token (never the session cookie,
so it needs no CSRF token), the same roles and the same audit as the pages (docs/web.md)."""
import functools
import shutil

import flask

from .campaigns import checked_name, lookup_phone, set_paused
from .console import current, get_store
from .counts import import_and_count
from .overview import campaigns as overview, one_campaign
from .security import User, audit, RANK
from .upload import ImportJob

bp = flask.Blueprint("api", __name__, url_prefix="/api/v1")


def token_user():
    auth = flask.request.headers.get("Authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    row = get_store().token_user(token.strip())
    return User(row) if row else None


def api(role):
    def wrap(view):
        @functools.wraps(view)
        def inner(*a, **kw):
            user = token_user()
            if user is None:
                return (flask.jsonify(error="a valid API token is needed: Authorization: Bearer <token>"), 401,
                        {"WWW-Authenticate": 'Bearer realm="dialer"'})
            if RANK[user.role] < RANK[role]:
                return flask.jsonify(error=f"this needs the {role} role (the token's user is {user.role})"), 403
            flask.g.api_user = user
            return view(*a, **kw)
        return inner
    return wrap


def _audit(action, campaign="", detail=""):
    audit(action, campaign, detail, user=flask.g.api_user.name)


def _existing(name):
    name = checked_name(name)
    if not get_store().exists(name):
        flask.abort(404, f"campaign {name!r} has no table in the database")
    return name


@bp.route("/campaigns")
@api("viewer")
def campaigns():
    return flask.jsonify(campaigns=overview(get_store(), current().cfg))


@bp.route("/campaigns/<name>")
@api("viewer")
def campaign(name):
    name = _existing(name)
    st = get_store()
    info, stats = one_campaign(st, current().cfg, name)
    return flask.jsonify(campaign=info, statistics=stats)


def _pause(name, pause):
    name = checked_name(name)
    changed = set_paused(name, pause, flask.g.api_user.name, via="api")
    return flask.jsonify(campaign=name, paused=pause, changed=changed)


@bp.route("/campaigns/<name>/pause", methods=["POST"])
@api("operator")
def pause(name):
    return _pause(name, True)


@bp.route("/campaigns/<name>/resume", methods=["POST"])
@api("operator")
def resume(name):
    return _pause(name, False)


def _save_body(path):
    """The lead file: a multipart `file` field, else the request body itself (curl --data-binary)."""
    f = flask.request.files.get("file")
    if f is not None:
        f.save(path)
        return
    with open(path, "wb") as out:
        shutil.copyfileobj(flask.request.stream, out, 1 << 20)


@bp.route("/campaigns/<name>/leads", methods=["POST"])
@api("operator")
def upload(name):
    name = _existing(name)
    st = get_store()
    dedupe = flask.request.args.get("dedupe", "") in ("1", "true", "yes")
    job = ImportJob(lambda p, progress: import_and_count(st, name, p, dedupe, progress), _save_body)
    report = job.run()
    _audit("upload", name, f"api: imported {report.imported}, rejected {report.rejected}, "
           f"duplicates {report.duplicates}")
    return flask.jsonify(job.result()), (422 if report.status == 2 else 200)


@bp.route("/campaigns/<name>/leads/<phone>")
@api("viewer")
def lead(name, phone):
    name = _existing(name)
    found = lookup_phone(get_store(), current().cfg, name, phone)
    if not found["leads"] and not found["history"]:
        return flask.jsonify(error=f"no lead with phone {phone!r} in campaign {name}", **found), 404
    return flask.jsonify(found)


@bp.route("/dnc", methods=["POST"])
@api("operator")
def dnc_add():
    body = flask.request.get_json(silent=True)
    phones = body.get("phones") if isinstance(body, dict) else None
    if isinstance(body, dict) and "phone" in body:
        phones = [body["phone"]]
    if not isinstance(phones, list) or not phones or not all(isinstance(p, str) for p in phones):
        return flask.jsonify(error='expected a JSON body {"phone": "..."} or {"phones": ["...", ...]}'), 400
    st = get_store()
    added = sum(st.list_add(p) for p in phones)
    _audit("dnc-add", detail="api: " + " ".join(phones)[:200])
    return flask.jsonify(added=added, already=len(phones) - added)


@bp.route("/dnc/<phone>", methods=["DELETE"])
@api("operator")
def dnc_delete(phone):
    n = get_store().list_delete(phone)
    _audit("dnc-delete", detail=f"api: {phone}")
    if not n:
        return flask.jsonify(error=f"{phone} is not in the do-not-call list", deleted=0), 404
    return flask.jsonify(deleted=n)
