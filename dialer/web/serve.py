"""The `dialer-web` command: the web console (dialer.web.app) served by gunicorn.

    dialer-web [-f /etc/dialer.conf]

It reads the web keys of dialer.conf's [general] (weblisten, webworkers, webcertfile,
webkeyfile, websecretfile), makes the session key file on the first start, and runs gunicorn
in this process: the master binds the address, tells systemd READY=1 (gunicorn does it
itself when NOTIFY_SOCKET is set) and forks the workers, each of which builds the Flask
application from the configuration loaded here. SIGTERM stops it gracefully.

Errors are one line `dialer-web: <message>`; exit status 2 for the configuration or its
files, gunicorn's own (1, 3) when it cannot bind or a worker cannot boot.
"""
import argparse
import sys

from dialer import __version__, serviceuser
from dialer.web import secretkey

EXIT_USAGE = 2
# The request line without its query string, nor the Referer (which may carry one): a token or
# a password put in a URL by mistake must not end up in the journal. Headers are never logged.
ACCESS_LOG_FORMAT = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(L)ss'
# Seconds a worker may spend on one request: a big lead list upload is checked line by line.
REQUEST_TIMEOUT = 300


class WebError(Exception):
    """A file named by the configuration cannot serve; str() is the one-line message."""


def build_parser():
    p = argparse.ArgumentParser(prog="dialer-web", description="The dialer's web console and HTTP API, "
                                "served by gunicorn with the web keys of dialer.conf's [general] section.",
                                epilog="exit status: 0 stopped, 2 configuration error, 1 or 3 gunicorn could not "
                                "bind or boot a worker.")
    p.add_argument("-f", "--config", metavar="FILE", help="configuration file (default $DIALER_CONFIG or "
                   "/etc/dialer.conf, then its dialer.d/*.conf)")
    p.add_argument("-V", "--version", action="version", version=f"dialer-web {__version__}")
    return p


def check_tls(general):
    for key in ("webcertfile", "webkeyfile"):
        path = getattr(general, key)
        if not path:
            continue
        try:
            with open(path, "rb"):
                pass
        except OSError as exc:
            raise WebError(f"{key} {path}: cannot read it ({exc.strerror}); expected a PEM file readable by "
                           "the user dialer-web runs as") from None


def worker_account(cfg):
    """The account the workers switch to: the service's, when root starts dialer-web outside
    systemd on a configuration that account can read (else nothing changes)."""
    acct = serviceuser.account()
    if acct is not None and all(serviceuser.readable_by(acct, f) for f in cfg.files):
        return acct
    return None


def gunicorn_options(general, account=None):
    """gunicorn's settings from [general]; `account`: the user the workers run as."""
    options = {
        "bind": [general.weblisten],
        "workers": general.webworkers,
        "proc_name": "dialer-web",
        "accesslog": "-",
        "access_log_format": ACCESS_LOG_FORMAT,
        "errorlog": "-",
        "timeout": REQUEST_TIMEOUT,
    }
    if general.webcertfile:
        options.update(certfile=general.webcertfile, keyfile=general.webkeyfile)
    if account is not None:
        options.update(user=account.pw_uid, group=account.pw_gid)
    return options


def _server(options, factory):
    from gunicorn.app.base import BaseApplication

    class Server(BaseApplication):
        def load_config(self):
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self):
            return factory()

    return Server(prog="dialer-web")


def main(argv=None, factory=None):
    """Run the console until SIGTERM. `factory` builds the WSGI application in each worker
    (default: dialer.web.app.create_app with the loaded configuration)."""
    from dialer.config import ConfigError, load
    args = build_parser().parse_args(argv)
    try:
        cfg = load(args.config)
        for warning in cfg.warnings:
            print(f"dialer-web: warning: {warning}", file=sys.stderr)
        check_tls(cfg.general)
        secretkey.ensure(cfg.general.websecretfile)
    except (ConfigError, WebError, secretkey.SecretKeyError) as exc:
        print(f"dialer-web: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if factory is None:
        def factory():
            from dialer.web.app import create_app
            return create_app(cfg)
    _server(gunicorn_options(cfg.general, worker_account(cfg)), factory).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
