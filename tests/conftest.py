"""Shared fixtures: a throwaway MariaDB database per test, SQLite files, dialer.conf files.

Area-specific fixtures live in tests/plugins/*.py and are loaded automatically.
"""
import os
import secrets
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pymysql
import pytest

ROOT = Path(__file__).resolve().parent.parent
# Copies of the real Asterisk transcripts (tests/captures/README.md); the tests read nothing
# outside the repository, so a fresh clone runs them all.
CAPTURES = ROOT / "tests" / "captures"

pytest_plugins = sorted(
    f"tests.plugins.{p.stem}" for p in (ROOT / "tests" / "plugins").glob("*.py") if p.stem != "__init__"
)


def mysql_server():
    """(host, port, user, password) of the test server, from DIALER_TEST_MYSQL."""
    url = urllib.parse.urlsplit(os.environ.get("DIALER_TEST_MYSQL", "mysql://root@127.0.0.1:3306"))
    return url.hostname or "127.0.0.1", url.port or 3306, url.username or "root", url.password or ""


def mysql_connect(database=None):
    host, port, user, password = mysql_server()
    return pymysql.connect(host=host, port=port, user=user, password=password, database=database,
                           autocommit=True, connect_timeout=5)


@pytest.fixture
def mysql_db():
    """A fresh, empty MariaDB database; dropped afterwards. Never skipped: no server is a failure."""
    host, port, user, password = mysql_server()
    try:
        conn = mysql_connect()
    except pymysql.err.OperationalError as exc:  # make test starts a server; without one we fail loudly
        pytest.fail(f"MariaDB at {host}:{port} is not reachable ({exc}); run `make mariadb` or set DIALER_TEST_MYSQL")
    name = "dialer_t_" + secrets.token_hex(6)
    with conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}`")
    try:
        yield {"host": host, "port": port, "user": user, "password": password, "database": name}
    finally:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        conn.close()


def general_section(backend, tmp_path, mysql=None, ami=None, extra=None):
    """The [general] lines of a dialer.conf for a backend ('sqlite' or 'mysql').

    extra: {key: value} added to, or replacing, the generated keys."""
    keys = {"debug": "false", "log": "false"}
    if backend == "sqlite":
        keys.update(dbengine="sqlite", sqlitepath=str(tmp_path / "dialer.sqlite"))
    else:
        keys.update(dbengine="mysql", mysqlhost=mysql["host"], mysqlport=mysql["port"],
                    mysqluser=mysql["user"], mysqlpassword=mysql["password"],
                    mysqldatabase=mysql["database"])
    if ami:
        keys.update({f"asterisk{k}": v for k, v in ami.items()})
    keys.update(extra or {})
    return "[general]\n" + "".join(f"{k}={v}\n" for k, v in keys.items())


@pytest.fixture(params=["sqlite", "mysql"])
def backend(request):
    return request.param


@pytest.fixture
def dialer_conf(backend, tmp_path, request):
    """Write a dialer.conf for the parametrised backend; returns a writer taking extra text.

    conf = dialer_conf("[default]\\nmaxlines=5\\n")  -> Path of the file
    """
    mysql = request.getfixturevalue("mysql_db") if backend == "mysql" else None

    def write(extra="", ami=None, name="dialer.conf", general=None):
        path = tmp_path / name
        path.write_text(general_section(backend, tmp_path, mysql, ami, general) + extra)
        return path

    write.backend = backend
    write.mysql = mysql
    write.tmp_path = tmp_path
    return write


def run_dialer(*args, config=None, input=None, env=None, timeout=120, check=None):
    """Run the real `dialer` entry point as a user would; returns CompletedProcess (text)."""
    cmd = [sys.executable, "-m", "dialer.cli"]
    if config is not None:
        cmd += ["-C", str(config)]
    cmd += [str(a) for a in args]
    full_env = dict(os.environ)
    full_env.pop("DIALER_CONFIG", None)
    if env:
        full_env.update(env)
    proc = subprocess.run(cmd, input=input, capture_output=True, text=True, env=full_env, timeout=timeout, cwd=ROOT)
    if check is not None:
        assert proc.returncode == check, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc
