"""dialer-web, the launcher (dialer/web/serve.py): gunicorn with the web keys of dialer.conf.

The launcher runs for real in a subprocess, on a free port, with a stand-in for systemd's
notification socket. Most tests hand serve.main() a small WSGI callable, so that they are about
the launcher; the last ones run the `dialer-web` command with the real console (whose pages are
tested in tests/test_web_*.py).
"""
import os
import pwd
import shutil
import signal
import socket
import ssl
import stat
import subprocess
import tempfile
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest

from dialer.web import serve
from tests.conftest import ROOT, run_dialer
from tests.plugins.ops import free_port
from tests.plugins.webops import console_login

ECHO_APP = textwrap.dedent("""\
    import os, sys
    from dialer.web import serve

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [f"echo {environ['PATH_INFO']} from {os.getpid()}".encode()]

    sys.exit(serve.main(sys.argv[1:], factory=lambda: app))
""")


def write_conf(tmp_path, port, extra=""):
    """A dialer.conf listening on port; `extra` lines add keys or replace these."""
    keys = {"dbengine": "sqlite", "sqlitepath": tmp_path / "d.sqlite", "metricsport": 0,
            "weblisten": f"127.0.0.1:{port}", "websecretfile": tmp_path / "web-secret"}
    keys.update(line.split("=", 1) for line in extra.splitlines())
    conf = tmp_path / "dialer.conf"
    conf.write_text("[general]\n" + "".join(f"{k}={v}\n" for k, v in keys.items()))
    return conf


def launch(conf, env=None, real=False):
    program = ["-m", "dialer.web.serve"] if real else ["-c", ECHO_APP]
    return subprocess.Popen([sys.executable, *program, "-f", str(conf)], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, **(env or {})})


def get(url, context=None):
    with urllib.request.urlopen(url, timeout=30, context=context) as resp:
        return resp.status, resp.read().decode()


def children(pid):
    """Processes whose parent is pid (gunicorn's workers)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry))
    return found


def wait_until(predicate, what, timeout=60):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} after {timeout} s")
        time.sleep(0.1)


def stop(proc):
    """SIGTERM, as systemctl stop sends it; returns (exit status, its logs: stdout and stderr)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        out, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    return proc.returncode, out + err


@pytest.fixture
def served(tmp_path, fake_systemd):
    """start(extra, real): the launcher on a free port with `extra` config lines, serving the echo
    application or the real console; returns (proc, port, messages to systemd) once READY=1."""
    procs = []

    def start(extra="", real=False):
        port = free_port()
        proc = launch(write_conf(tmp_path, port, extra), env=fake_systemd.env(), real=real)
        procs.append(proc)
        got = fake_systemd.wait_for("READY", "1", timeout=60)
        return proc, port, got

    yield start
    for proc in procs:
        stop(proc)   # SIGTERM: a killed master leaves its workers holding the pipes for minutes


def test_serves_on_weblisten_tells_systemd_ready_and_stops_on_sigterm(served, tmp_path):
    proc, port, _ = served("webworkers=3\n")
    status, body = get(f"http://127.0.0.1:{port}/campaigns")
    assert status == 200 and body.startswith("echo /campaigns from ")
    wait_until(lambda: len(children(proc.pid)) == 3, "3 workers")
    worker = int(body.rsplit(" ", 1)[1])
    assert worker in children(proc.pid)      # the application runs in a worker, not in the master
    code, err = stop(proc)
    assert code == 0, err
    assert "Traceback" not in err
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()


def test_creates_the_secret_file_0600_once_and_keeps_it(served, tmp_path):
    proc, _, _ = served()
    secret = tmp_path / "web-secret"
    key = secret.read_text()
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert len(key.strip()) == 64 and int(key, 16)
    assert stop(proc)[0] == 0
    proc, _, _ = served()
    assert secret.read_text() == key
    assert stop(proc)[0] == 0


def test_a_secret_file_others_can_read_is_used_with_a_warning(served, tmp_path):
    secret = tmp_path / "web-secret"
    secret.write_text("ab" * 32 + "\n")
    secret.chmod(0o644)
    proc, port, _ = served()
    assert get(f"http://127.0.0.1:{port}/")[0] == 200
    code, logs = stop(proc)
    assert code == 0 and f"dialer-web: warning: websecretfile {secret} is readable by every user" in logs
    assert secret.read_text() == "ab" * 32 + "\n"


def test_access_log_has_no_query_string(served):
    proc, port, _ = served()
    get(f"http://127.0.0.1:{port}/api/v1/campaigns?token=s3cret-in-the-url")
    code, err = stop(proc)
    assert '"GET /api/v1/campaigns HTTP/1.1" 200' in err, err
    assert "s3cret" not in err


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "web.pem", folder / "web.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
                    "-days", "2", "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


def test_serves_https_with_webcertfile_and_webkeyfile(served, certificate):
    cert, key = certificate
    proc, port, _ = served(f"webcertfile={cert}\nwebkeyfile={key}\n")
    context = ssl.create_default_context(cafile=str(cert))
    context.check_hostname = False
    assert get(f"https://127.0.0.1:{port}/x", context=context)[0] == 200
    with pytest.raises(OSError):     # no plain HTTP on that port
        get(f"http://127.0.0.1:{port}/x")
    assert stop(proc)[0] == 0


def run_once(tmp_path, extra="", env=None):
    """The launcher with a configuration it must refuse: (exit status, stderr) without a wait."""
    proc = launch(write_conf(tmp_path, free_port(), extra), env=env)
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail("the launcher started instead of refusing the configuration")
    return proc.returncode, err


@pytest.mark.parametrize("extra,expected", [
    ("webcertfile={tmp}/missing.pem\nwebkeyfile={tmp}/missing.key\n",
     "dialer-web: webcertfile {tmp}/missing.pem: cannot read it (No such file or directory); expected a PEM file"),
    ("webkeyfile={tmp}/k.pem\n", "webkeyfile = '{tmp}/k.pem': expected webcertfile set too"),
    ("webworkers=0\n", "[general] webworkers = '0': expected an integer from 1 to 64"),
    ("weblisten=8080\n", "[general] weblisten = '8080': expected host:port"),
    ("websecretfile={tmp}/no/such/dir/secret\n",
     "dialer-web: websecretfile {tmp}/no/such/dir/secret: cannot create it (No such file or directory)"),
])
def test_bad_configuration_is_one_line_and_exit_2(tmp_path, extra, expected):
    code, err = run_once(tmp_path, extra.format(tmp=tmp_path))
    assert code == 2, err
    assert expected.format(tmp=tmp_path) in err and len(err.strip().splitlines()) == 1, err


def test_a_short_secret_is_refused(tmp_path):
    (tmp_path / "web-secret").write_text("short\n")
    code, err = run_once(tmp_path)
    assert (code, err.strip()) == (2, f"dialer-web: websecretfile {tmp_path}/web-secret: expected a key of at least "
                                      "32 characters; delete the file and dialer-web makes a new one")


def test_port_in_use_fails_without_traceback(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        proc = launch(write_conf(tmp_path, busy.getsockname()[1]))
        _, err = proc.communicate(timeout=120)
    assert proc.returncode != 0 and "Connection in use" in err and "Traceback" not in err


def test_options_follow_the_configuration(tmp_path, certificate):
    from dialer import config
    cert, key = certificate
    general = config.loads(f"[general]\nweblisten=[::1]:9443\nwebworkers=5\nwebcertfile={cert}\n"
                           f"webkeyfile={key}\n").general
    options = serve.gunicorn_options(general)
    assert (options["bind"], options["workers"]) == (["[::1]:9443"], 5)
    assert (options["certfile"], options["keyfile"]) == (str(cert), str(key))
    plain = serve.gunicorn_options(config.loads("[general]\n").general)
    assert plain["bind"] == ["127.0.0.1:8080"] and "certfile" not in plain and plain["workers"] == 2
    assert "user" not in plain
    nobody = pwd.getpwnam("nobody")
    switched = serve.gunicorn_options(general, nobody)
    assert (switched["user"], switched["group"]) == (nobody.pw_uid, nobody.pw_gid)


def test_root_runs_workers_as_the_service_user_only_on_a_configuration_it_can_read(tmp_path, monkeypatch):
    """As root with the service's account (here `nobody` stands in for `dialer`): a configuration
    that account can read is served by workers running as it; a private one by the caller."""
    from dialer import config, serviceuser
    nobody = pwd.getpwnam("nobody")
    monkeypatch.setattr(serviceuser, "account", lambda: nobody)
    private = write_conf(tmp_path, 8080)
    private.chmod(0o600)
    assert serve.worker_account(config.load(private)) is None
    shared = Path(tempfile.mkdtemp(prefix="dialer-web-"))
    try:
        shared.chmod(0o755)
        conf = shared / "dialer.conf"
        conf.write_text(private.read_text())
        conf.chmod(0o644)
        assert serve.worker_account(config.load(conf)) == nobody
    finally:
        shutil.rmtree(shared)


def test_help_and_version():
    out = subprocess.run([sys.executable, "-m", "dialer.web.serve", "--help"], capture_output=True, text=True,
                         cwd=ROOT, timeout=60)
    assert out.returncode == 0 and "-f FILE, --config FILE" in out.stdout


@pytest.mark.parametrize("tls", [False, True], ids=["http", "https"])
def test_dialer_web_serves_the_console_a_cli_admin_logs_in(served, tmp_path, certificate, tls):
    """The real command with the real console: the first admin made with `dialer -a user-add`
    (password on stdin) logs in; behind its own TLS the session cookie is Secure."""
    extra = f"webcertfile={certificate[0]}\nwebkeyfile={certificate[1]}\n" if tls else ""
    conf = write_conf(tmp_path, 1, extra)   # the same database as the console's below
    run_dialer("-a", "createdatabase", config=conf, check=0)
    run_dialer("-a", "user-add", "-p", "boss", "--role", "admin", config=conf, input="c0rrect horse\n", check=0)
    proc, port, _ = served(extra, real=True)
    context = ssl.create_default_context(cafile=str(certificate[0]))
    context.check_hostname = False
    base = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    _, cookie, token = console_login(base, "boss", "c0rrect horse", context)
    assert ("; Secure" in cookie) == tls and "HttpOnly" in cookie, cookie
    code, logs = stop(proc)
    assert code == 0 and "Traceback" not in logs, logs
    assert "c0rrect" not in logs and token not in logs
