"""The do-not-call list and the blacklist tables: count, add, delete, import, export."""
import flask

from .. import names
from ..store import StoreError
from .campaigns import csv_download
from .console import current, get_store
from .security import audit, requires
from .upload import ImportJob, streamed, uploaded_file

bp = flask.Blueprint("lists", __name__)


def blacklist_names(cfg):
    return sorted({c.blacklist for c in cfg.campaigns.values() if c.blacklist})


def _table(kind, table):
    """(store table argument, label, audit campaign field) of a URL's list."""
    if kind == "dnc":
        return None, "the do-not-call list", ""
    if not names.is_identifier(table or ""):
        flask.abort(404)
    return table, f"blacklist {table}", table


def _back():
    return flask.redirect(flask.url_for(".index"))


@bp.route("/lists")
@requires("viewer")
def index():
    st = get_store()
    rows = [{"kind": "dnc", "table": "", "label": "Do-not-call list", "count": st.list_count(None)}]
    for t in blacklist_names(current().cfg):
        try:
            n = st.list_count(t)
        except StoreError as exc:
            n = str(exc) if "does not exist" not in str(exc) else "no table yet"
        rows.append({"kind": "blacklist", "table": t, "label": f"Blacklist {t}", "count": n})
    return flask.render_template("lists.html", lists=rows)


def _phones():
    phones = flask.request.form.get("phones", "").replace(",", " ").split()
    if not phones:
        flask.abort(400, "no number given: type one or more numbers, separated by spaces")
    return phones


@bp.route("/lists/<kind>/<op>", methods=["POST"], defaults={"table": None})
@bp.route("/lists/<kind>/<table>/<op>", methods=["POST"])
@requires("operator")
def change(kind, op, table):
    if kind not in ("dnc", "blacklist") or op not in ("add", "delete", "import"):
        flask.abort(404)
    t, label, camp = _table(kind, table)
    st = get_store()
    if op == "import":
        f = uploaded_file()
        job = ImportJob(lambda p, progress: st.list_import(p, t, progress=progress), f.save)
        return streamed(job, label, f.filename, flask.url_for(".index"), f"{kind}-import", camp)
    phones = _phones()
    if op == "add":
        n = sum(st.list_add(p, t) for p in phones)
        flask.flash(f"added {n} number(s) to {label} ({len(phones) - n} already there)")
    else:
        n = sum(st.list_delete(p, t) for p in phones)
        flask.flash(f"deleted {n} number(s) from {label}")
    audit(f"{kind}-{op}", camp, " ".join(phones)[:200])
    return _back()


@bp.route("/lists/<kind>.csv", defaults={"table": None})
@bp.route("/lists/<kind>/<table>.csv")
@requires("viewer")
def export(kind, table):
    if kind not in ("dnc", "blacklist"):
        flask.abort(404)
    t, _label, _ = _table(kind, table)
    st = get_store()
    return csv_download(f"{t or 'dnc'}.csv", lambda out: st.list_dump(out, t, header=True))
