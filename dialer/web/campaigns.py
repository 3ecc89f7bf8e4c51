"""Campaigns: the list, one campaign (statistics, charts, pause/resume, downloads, a number's
explanation and history)."""
import io
import tempfile
import time

import flask
import flask_login

from .. import codes, names
from ..lookup import explain_phone
from ..rules import explain
from ..store import StoreError, StoreUnavailable
from .console import current, get_store
from .overview import campaigns as overview, one_campaign
from .security import audit, requires

bp = flask.Blueprint("campaigns", __name__)


def checked_name(name):
    """A campaign name from a URL: an identifier, else 404 (never near SQL otherwise)."""
    if not names.is_identifier(name):
        flask.abort(404, f"no campaign {name[:80]!r}")
    return name


def hourly(st, name, hours=24, now=None):
    """[(hour start, attempts, answered)] of the last `hours` hours, from the attempt history."""
    now = int(time.time() if now is None else now)
    end = now - now % 3600 + 3600
    start = end - hours * 3600
    buckets = {start + i * 3600: [0, 0] for i in range(hours)}
    if st.table_exists("dialer_history"):
        for slot, _code, n, answered, _dur in st.history_slots(start, end, name):
            b = buckets[slot - slot % 3600]
            b[0] += n
            b[1] += answered
    return [(h, a, b) for h, (a, b) in sorted(buckets.items())]


@bp.route("/campaigns")
@requires("viewer")
def index():
    st = get_store()
    return flask.render_template("campaigns.html", campaigns=overview(st, current().cfg))


@bp.route("/campaigns/<name>")
@requires("viewer")
def show(name):
    name = checked_name(name)
    st = get_store()
    cfg = current().cfg
    if not st.exists(name):
        flask.abort(404, f"campaign {name!r} has no table in the database")
    info, stats = one_campaign(st, cfg, name)
    phone = flask.request.args.get("phone", "").strip()
    lookup = lookup_error = None
    if phone:
        try:
            lookup = lookup_phone(st, cfg, name, phone)
        except StoreError as exc:
            if isinstance(exc, StoreUnavailable):
                raise
            lookup_error = str(exc)
    hours = hourly(st, name)
    return flask.render_template(
        "campaign.html", name=name, stats=stats, info=info, phone=phone, lookup=lookup, lookup_error=lookup_error,
        hours=hours,
        code_bars=[(f"{c['code']} {c['name']}", c["count"]) for c in stats["by_code"]],
        hour_bars=[(f"{time.strftime('%d %H:00', time.localtime(h))} ({b} answered)", a) for h, a, b in hours if a],
        can_write=flask_login.current_user.can("operator"))


def lookup_phone(st, cfg, name, phone):
    """explain's verdict for every lead with this number, and the number's attempts here."""
    leads, notes = explain_phone(st, cfg, name, phone)
    history = st.history(phone, name) if st.table_exists("dialer_history") else []
    for h in history:
        h["disposition_name"] = codes.code_name(int(h["disposition"]))
    return {"leads": [{"id": row["id"], "phone": row["phone"], "attempts": row.get("attempts"),
                       "disposition": row.get("disposition"), "dialable": explain.dialable(reasons),
                       "reasons": [{"ok": ok, "rule": rule, "text": text} for ok, rule, text in reasons]}
                      for row, reasons in leads],
            "notes": notes, "history": history}


def set_paused(name, pause, user, via=""):
    """Pause or resume for `user`; True when that changed something. Audited either way."""
    st = get_store()
    if not st.exists(name):
        flask.abort(404, f"campaign {name!r} has no table in the database")
    changed = st.pause_campaign(name, user) if pause else st.resume_campaign(name, user)
    note = "" if changed else "already " + ("paused" if pause else "running")
    audit("pause" if pause else "resume", name, ", ".join(x for x in (via, note) if x), user=user)
    return changed


@bp.route("/campaigns/<name>/pause", methods=["POST"])
@requires("operator")
def pause(name):
    set_paused(checked_name(name), True, flask_login.current_user.name)
    return flask.redirect(flask.url_for(".show", name=name))


@bp.route("/campaigns/<name>/resume", methods=["POST"])
@requires("operator")
def resume(name):
    set_paused(checked_name(name), False, flask_login.current_user.name)
    return flask.redirect(flask.url_for(".show", name=name))


def csv_download(filename, write):
    """A CSV built by write(text stream) in a temporary file (constant memory), sent as a download."""
    raw = tempfile.TemporaryFile()
    text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
    write(text)
    text.flush()
    text.detach()
    raw.seek(0)
    return flask.send_file(raw, mimetype="text/csv", as_attachment=True, download_name=filename)


@bp.route("/campaigns/<name>/<kind>.csv")
@requires("viewer")
def dump(name, kind):
    name = checked_name(name)
    if kind not in ("dump", "fulldump"):
        flask.abort(404)
    st = get_store()
    return csv_download(f"{name}-{kind}.csv", lambda out: st.dump(name, out, header=(kind == "fulldump")))
