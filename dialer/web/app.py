"""The Flask application: configuration, security, the page and API blueprints.

    application = create_app(config.load(path))
"""
import time

import flask

from . import api, auth, campaigns, lists, nodes, secretkey, security, upload, users
from .console import Console


def create_app(cfg, secret_key=None):
    """The WSGI application for a loaded dialer.conf (config.Config)."""
    g = cfg.general
    app = flask.Flask(__name__)
    app.config.update(
        SECRET_KEY=secret_key or secretkey.ensure(g.websecretfile),
        MAX_CONTENT_LENGTH=g.webmaxupload * 1024 * 1024,
        SESSION_COOKIE_NAME="dialer_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        # gunicorn serves TLS itself when both files are set; behind a TLS proxy see docs/web.md.
        SESSION_COOKIE_SECURE=bool(g.webcertfile and g.webkeyfile),
        PERMANENT_SESSION_LIFETIME=12 * 3600,
        WTF_CSRF_TIME_LIMIT=None,   # the token lives as long as the session, which expires itself
        JSON_SORT_KEYS=False,
    )
    app.extensions["dialer"] = Console(cfg)
    app.jinja_env.filters["localtime"] = lambda e: time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(int(e)))
    security.init(app)
    for bp in (auth.bp, campaigns.bp, upload.bp, lists.bp, nodes.bp, users.bp, api.bp):
        app.register_blueprint(bp)
    security.csrf.exempt(api.bp)    # bearer tokens only: a browser's cookie never authenticates there
    return app
