"""WSGI entry point for gunicorn: `dialer.web.wsgi:application`.

The configuration is $DIALER_CONF, else $DIALER_CONFIG, else /etc/dialer.conf (and its dialer.d).
"""
import os

from .. import config
from .app import create_app

application = create_app(config.load(os.environ.get("DIALER_CONF") or None))
