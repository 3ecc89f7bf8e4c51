"""Lead list and DNC/blacklist uploads: the file goes through the same importer as
`dialer -a file` / `-a dnc-import` (dialer/store/importer.py), line by line, and the rejected
lines are shown and kept for download."""
import os
import queue
import re
import secrets
import tempfile
import threading
import time

import flask
import flask_login

from ..store import StoreError
from .campaigns import checked_name
from .console import get_store
from .counts import import_and_count
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


class ImportJob:
    """One uploaded file through the importer. run() imports it here; steps() imports it in a
    thread and yields its progress (percent of the file read) as it goes, for a page that shows
    it while the rest of the page waits."""

    def __init__(self, load, save):
        """save(path) stores the upload; load(path, progress) -> ImportReport imports it."""
        d = upload_dir()
        _expire(d, time.time())
        self.uid = secrets.token_urlsafe(18)
        self.path = os.path.join(d, self.uid)
        save(self.path)
        self.load = load
        self.report = self.error = None
        self.lines = []

    def run(self, progress=None):
        try:
            self.report = self.load(self.path, progress)
        finally:
            os.unlink(self.path)
        if self.report.rejected:
            with open(self.report.rejected_path, encoding="utf-8", errors="replace") as f:
                for line in f:
                    if len(self.lines) == SHOWN:
                        break
                    self.lines.append(line.rstrip("\n"))
        return self.report

    def steps(self):
        q = queue.Queue()

        def work():
            try:
                self.run(lambda done, total: q.put(int(done * 100 / total) if total else 100))
            except StoreError as exc:      # a bad header, the database gone: said on the page
                self.error = str(exc)
            except Exception as exc:       # the page is already half sent: say it there, log the rest
                flask.current_app.logger.exception("import of an upload failed")
                self.error = f"internal error: {' '.join(str(exc).split()) or type(exc).__name__}"
            finally:
                q.put(None)
        app = flask.current_app._get_current_object()

        def in_app():
            with app.app_context():
                work()
        threading.Thread(target=in_app, name="import", daemon=True).start()
        while True:
            pct = q.get()
            if pct is None:
                return
            yield pct

    def result(self):
        r = self.report
        return {"imported": r.imported, "rejected": r.rejected, "duplicates": r.duplicates, "status": r.status,
                "rejected_lines": self.lines,
                "rejected_url": flask.url_for("upload.rejected", uid=self.uid) if r.rejected else None}


def streamed(job, target, filename, back, audit_action, campaign=""):
    """The upload page, sent as the import goes: a progress bar, then the report; audited at the end."""
    def steps():
        yield from job.steps()
        r = job.report
        audit(audit_action, campaign, f"{filename[:100]}: " + (
            job.error[:120] if r is None else
            f"imported {r.imported}, rejected {r.rejected}, duplicates {r.duplicates}"))
    return flask.Response(flask.stream_template("upload.html", job=job, steps=steps(), target=target,
                                                filename=filename, back=back))


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
    job = ImportJob(lambda p, progress: import_and_count(st, name, p, dedupe, progress), f.save)
    return streamed(job, f"campaign {name}", f.filename, flask.url_for("campaigns.show", name=name), "upload", name)


@bp.route("/uploads/<uid>/rejected.txt")
@flask_login.login_required
def rejected(uid):
    if not _ID_RE.match(uid):
        flask.abort(404)
    path = os.path.join(upload_dir(), uid + ".rejected")
    if not os.path.exists(path):
        flask.abort(404, "these rejected lines are no longer kept (24 hours)")
    return flask.send_file(path, mimetype="text/plain", as_attachment=True, download_name="rejected.txt")
