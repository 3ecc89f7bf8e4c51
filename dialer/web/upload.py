"""Lead list and DNC/blacklist uploads: the file goes through the same importer as
`dialer -a file` / `-a dnc-import` (dialer/store/importer.py), line by line, and the rejected
lines are shown and kept for download."""
import os
import re
import secrets
import tempfile
import time

import flask
import flask_login

from .campaigns import checked_name
from .console import get_store
from .security import audit, requires

bp = flask.Blueprint("upload", __name__)

KEEP = 24 * 3600        # rejected-line files are kept this long for download
SHOWN = 50              # rejected lines shown on the page
_ID_RE = re.compile(r"[A-Za-z0-9_-]{16,64}\Z")


def upload_dir():
    # Shared by the workers of one host (PrivateTmp under systemd); the owner's only.
    d = os.path.join(tempfile.gettempdir(), f"dialer-web-{os.getuid()}")
    os.makedirs(d, mode=0o700, exist_ok=True)
    return d


def _expire(d, now):
    for f in os.listdir(d):
        p = os.path.join(d, f)
        try:
            if os.stat(p).st_mtime < now - KEEP:
                os.unlink(p)
        except OSError:
            pass


def run_import(load, save):
    """save(path) the upload, run load(path) -> ImportReport, keep only the rejected lines.
    Returns (report, upload id or None, the first rejected lines)."""
    d = upload_dir()
    _expire(d, time.time())
    uid = secrets.token_urlsafe(18)
    path = os.path.join(d, uid)
    save(path)
    try:
        report = load(path)
    finally:
        os.unlink(path)
    lines = []
    if report.rejected:
        with open(report.rejected_path, encoding="utf-8", errors="replace") as f:
            for line in f:
                if len(lines) == SHOWN:
                    break
                lines.append(line.rstrip("\n"))
    return report, (uid if report.rejected else None), lines


def report_dict(report, uid, lines):
    return {"imported": report.imported, "rejected": report.rejected, "duplicates": report.duplicates,
            "status": report.status, "rejected_lines": lines,
            "rejected_url": flask.url_for("upload.rejected", uid=uid) if uid else None}


def uploaded_file():
    f = flask.request.files.get("file")
    if f is None or not f.filename:
        flask.abort(400, "no file chosen: pick a file to upload")
    return f


@bp.route("/campaigns/<name>/upload", methods=["POST"])
@requires("operator")
def campaign(name):
    name = checked_name(name)
    st = get_store()
    dedupe = flask.request.form.get("dedupe") == "on"
    f = uploaded_file()
    report, uid, lines = run_import(lambda p: st.import_file(name, p, dedupe=dedupe), f.save)
    audit("upload", name, f"{f.filename[:100]}: imported {report.imported}, rejected {report.rejected}, "
          f"duplicates {report.duplicates}")
    return flask.render_template("upload.html", name=name, target=f"campaign {name}", filename=f.filename,
                                 r=report_dict(report, uid, lines), back=flask.url_for("campaigns.show", name=name))


@bp.route("/uploads/<uid>/rejected.txt")
@flask_login.login_required
def rejected(uid):
    if not _ID_RE.match(uid):
        flask.abort(404)
    path = os.path.join(upload_dir(), uid + ".rejected")
    if not os.path.exists(path):
        flask.abort(404, "these rejected lines are no longer kept (24 hours)")
    return flask.send_file(path, mimetype="text/plain", as_attachment=True, download_name="rejected.txt")
