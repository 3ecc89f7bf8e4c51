"""The Debian package end to end (issue 7): build it, lintian, install it on this machine,
use the installed commands as the README shows, then remove and purge and check that
nothing is left behind.

Needs root and apt (make test runs as root on Debian 12). The package is installed for
real; the module fixture purges it again whatever happens.
"""
import contextlib
import grp
import json
import os
import pwd
import re
import socket
import stat
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, general_section
from tests.plugins.webops import console_login

# A fresh machine installs the build tools and the package's dependencies in the fixtures.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

VERSION = re.search(r'__version__ = "([^"]+)"', (ROOT / "dialer" / "__init__.py").read_text()).group(1)
DEB = ROOT / "dist" / f"dialer_{VERSION}_all.deb"
# What an admin's shell has: Debian's python3, nothing of the repository or its virtualenv.
SYSTEM_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8",
              "DEBIAN_FRONTEND": "noninteractive"}
APT = ["apt-get", "-y", "-q", "-o", "DPkg::Lock::Timeout=600"]
# Where a package's traces can stay; the database server's data and apt's caches are not ours.
SCAN_ROOTS = ["/etc", "/usr", "/var", "/opt", "/srv", "/home", "/run"]
SCAN_SKIP = {"/var/lib/mysql", "/var/cache/apt", "/var/lib/apt/lists", "/var/tmp", "/usr/src"}

if os.geteuid() != 0 or not Path("/usr/bin/dpkg").exists():
    pytest.skip("the package test installs a .deb: it needs root on Debian", allow_module_level=True)


def sh(cmd, check=True, timeout=900, **kw):
    """Run a command as an admin would (system PATH, Debian's python3), text output."""
    proc = subprocess.run(cmd, capture_output=True, text=True, env=kw.pop("env", SYSTEM_ENV), cwd=kw.pop("cwd", "/"),
                          timeout=timeout, **kw)
    if check:
        assert proc.returncode == 0, f"{cmd} -> exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc


def installed_status():
    proc = sh(["dpkg-query", "-W", "-f=${Status}", "dialer"], check=False)
    return proc.stdout.strip() if proc.returncode == 0 else ""


def purge():
    if installed_status() and "not-installed" not in installed_status():
        sh(APT + ["purge", "dialer"])


def dialer_paths():
    """Every path on the system named like the package (its traces after a purge)."""
    found = set()
    for top in SCAN_ROOTS:
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames[:] = [d for d in dirnames if os.path.join(dirpath, d) not in SCAN_SKIP]
            found.update(os.path.join(dirpath, n) for n in dirnames + filenames if "dialer" in n.lower())
    return found


def account_exists():
    try:
        pwd.getpwnam("dialer")
        return True
    except KeyError:
        pass
    try:
        grp.getgrnam("dialer")
        return True
    except KeyError:
        return False


@pytest.fixture(scope="module")
def deb(dialer_package_lock):
    proc = subprocess.run(["make", "--no-print-directory", "deb"], cwd=ROOT, capture_output=True, text=True,
                          timeout=1800)
    assert proc.returncode == 0, f"make deb failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    assert DEB.is_file(), f"make deb did not produce {DEB}"
    return DEB


@pytest.fixture(scope="module")
def installed(deb):
    """Installs the .deb with apt-get as the README says; yields what existed before."""
    purge()  # a leftover of an interrupted run would hide what this one leaves behind
    subprocess.run(["make", "--no-print-directory", "apt-update"], cwd=ROOT, capture_output=True, timeout=900)
    before = {"paths": dialer_paths(), "account": account_exists()}
    try:
        sh(APT + ["install", str(deb)])
        yield before
    finally:
        purge()


def test_lintian_has_no_errors_or_warnings(deb):
    proc = sh(["lintian", "--tag-display-limit", "0", str(deb)], check=False)
    complaints = [line for line in proc.stdout.splitlines() if line[:2] in ("E:", "W:")]
    assert not complaints, "lintian:\n" + proc.stdout + proc.stderr
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_package_installs_without_systemd_running(installed):
    # This machine has no systemd as PID 1: the maintainer scripts must still succeed.
    assert installed_status() == "install ok installed"
    assert sh(["dpkg", "--audit"]).stdout == ""


def test_installed_dialer_runs_on_debian_python(installed):
    proc = sh(["/usr/bin/python3", "/usr/bin/dialer", "--version"])
    assert VERSION in proc.stdout + proc.stderr
    assert "--campaign" in sh(["/usr/bin/dialer", "--help"]).stdout
    # The modules and the bundled pyst2 are private to the commands: other programs
    # importing "dialer" or "asterisk" do not get them.
    for module in ("dialer", "asterisk"):
        assert sh(["/usr/bin/python3", "-c", f"import {module}"], check=False).returncode != 0, module


def test_depends_on_debian_packages_of_the_web_console(deb):
    depends = {d.strip().split()[0] for d in sh(["dpkg-deb", "-f", str(deb), "Depends"]).stdout.split(",")}
    assert {"python3-flask", "python3-flask-login", "python3-flaskext.wtf", "python3-argon2",
            "python3-gunicorn"} <= depends, depends


def test_shipped_config_loads_without_error_or_warning(installed):
    # --stop reads the configuration and then only looks for a pid: exit 1 "not running"
    # means /etc/dialer.conf as installed is valid, 2 would be a configuration error.
    proc = sh(["dialer", "--stop"], check=False)
    assert proc.returncode == 1, proc.stderr
    assert "not running" in proc.stderr and "warning" not in proc.stderr, proc.stderr


def test_upgrade_never_stops_or_restarts_the_service(deb, tmp_path):
    # dh_installsystemd's snippets: a stop in prerm or a (re)start in postinst would cut a
    # running campaign when the package is upgraded.
    sh(["dpkg-deb", "-e", str(deb), str(tmp_path / "ctl")])
    scripts = {p.name: p.read_text() for p in (tmp_path / "ctl").iterdir() if p.name in ("preinst", "prerm", "postinst")}
    assert "postinst" in scripts
    for name, text in scripts.items():
        invoked = [line for line in text.splitlines() if "deb-systemd-invoke" in line]
        assert not [line for line in invoked if "dialer.service" in line], name
    assert "deb-systemd-helper enable 'dialer.service'" in scripts["postinst"]
    # The web console holds no call: an upgrade restarts it, when the admin has enabled it.
    assert "deb-systemd-invoke $_dh_action 'dialer-web.service'" in scripts["postinst"]


def test_reinstall_keeps_user_modes_and_admin_choices(installed, deb):
    with open("/etc/dialer.d/site.conf", "w") as f:
        f.write("[general]\n")
    sh(["dpkg", "-i", str(deb)])
    assert installed_status() == "install ok installed"
    assert Path("/etc/dialer.d/site.conf").exists()
    st = os.stat("/etc/dialer.conf")
    assert (stat.S_IMODE(st.st_mode), st.st_gid) == (0o640, grp.getgrnam("dialer").gr_gid)


def test_config_is_a_conffile_readable_only_by_root_and_dialer(installed):
    st = os.stat("/etc/dialer.conf")
    assert stat.S_IMODE(st.st_mode) == 0o640
    assert st.st_uid == 0
    assert st.st_gid == grp.getgrnam("dialer").gr_gid
    assert "/etc/dialer.conf" in sh(["dpkg-query", "-W", "-f=${Conffiles}", "dialer"]).stdout
    d = os.stat("/etc/dialer.d")
    assert stat.S_ISDIR(d.st_mode) and stat.S_IMODE(d.st_mode) == 0o750
    assert (d.st_uid, d.st_gid) == (0, grp.getgrnam("dialer").gr_gid)


def test_system_user_and_state_directories(installed):
    user = pwd.getpwnam("dialer")
    assert user.pw_uid < 1000 and user.pw_shell in ("/usr/sbin/nologin", "/sbin/nologin", "/bin/false")
    assert user.pw_gid == grp.getgrnam("dialer").gr_gid
    for path in ("/var/lib/dialer", "/var/log/dialer"):
        st = os.stat(path)
        assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (user.pw_uid, user.pw_gid, 0o750), path


def test_commands_unit_and_shared_files_are_installed(installed):
    for cmd in ("/usr/bin/dialer", "/usr/bin/dialer-pbxsim"):
        assert os.access(cmd, os.X_OK), cmd
    assert Path("/usr/share/man/man8/dialer.8.gz").is_file()
    assert Path("/usr/share/man/man1/dialer-pbxsim.1.gz").is_file()
    assert Path("/usr/share/dialer/vendor/asterisk/manager.py").is_file()
    assert Path("/lib/systemd/system/dialer.service").is_file()
    # Enabled by deb-systemd-helper even without a running systemd.
    assert Path("/etc/systemd/system/multi-user.target.wants/dialer.service").is_symlink()
    # The web console's unit is installed but left disabled until the admin enables it.
    assert Path("/lib/systemd/system/dialer-web.service").is_file()
    assert not Path("/etc/systemd/system/multi-user.target.wants/dialer-web.service").exists()
    assert os.access("/usr/bin/dialer-web", os.X_OK)
    assert Path("/usr/share/man/man8/dialer-web.8.gz").is_file()
    assert Path("/usr/share/dialer/extensions-dialer.conf").is_file()
    # The README indexes the manual in docs/: both are installed, so its links lead somewhere.
    doc = Path("/usr/share/doc/dialer")
    assert list(doc.glob("README.md*"))
    for page in (ROOT / "docs").glob("*.md"):
        assert list((doc / "docs").glob(page.name + "*")), f"{page.name} not installed under {doc}/docs"
    shipped = [src for src in (ROOT / "monitoring").rglob("*") if src.is_file()]
    assert shipped
    for src in shipped:
        assert (Path("/usr/share/dialer") / src.relative_to(ROOT)).is_file(), src


def test_only_root_and_the_dialer_user_can_use_the_config(installed):
    """The service's user reads /etc/dialer.conf and dialer.d and writes its state; others
    are refused with one clear line (the file holds the passwords)."""
    original = Path("/etc/dialer.conf").read_text()
    try:
        Path("/etc/dialer.conf").write_text("[general]\ndbengine=sqlite\nsqlitepath=/var/lib/dialer/perm.sqlite\n"
                                            "metricsport=0\nmysqlpassword=s3cret-not-for-you\n")
        Path("/etc/dialer.d/perm.conf").write_text("[permdemo]\nmaxlines=2\n")
        sh(["runuser", "-u", "dialer", "--", "dialer", "-c", "permdemo", "-a", "create"])
        sh(["runuser", "-u", "dialer", "--", "dialer", "-c", "permdemo", "-a", "insert", "-p", "33123456789"])
        assert sh(["runuser", "-u", "dialer", "--", "dialer", "-c", "permdemo", "-a", "count"]).stdout.strip() == "1"
        other = sh(["runuser", "-u", "nobody", "--", "dialer", "-c", "permdemo", "-a", "count"], check=False)
        assert other.returncode == 2, other
        assert "/etc/dialer.conf" in other.stderr and len(other.stderr.strip().splitlines()) == 1, other.stderr
        assert "s3cret" not in other.stdout + other.stderr
    finally:
        Path("/etc/dialer.conf").write_text(original)
        Path("/etc/dialer.d/perm.conf").unlink(missing_ok=True)
        Path("/var/lib/dialer/perm.sqlite").unlink(missing_ok=True)


def test_every_module_and_data_file_of_the_tree_is_installed(installed):
    # A subpackage setup.py's find_packages() misses would only fail at import, in production.
    private = Path("/usr/share/dialer/python")
    missing = [str(src.relative_to(ROOT)) for src in (ROOT / "dialer").rglob("*")
               if src.is_file() and "__pycache__" not in src.parts and src.suffix != ".pyc"
               and not (private / src.relative_to(ROOT)).is_file()]
    assert not missing, "not in the package: " + ", ".join(sorted(missing))


def test_logrotate_rotates_the_call_log(installed):
    assert Path("/etc/logrotate.d/dialer").is_file()
    if not Path("/usr/sbin/logrotate").exists():
        pytest.fail("logrotate is not installed: `make deps-deb` (part of make test) installs it")
    Path("/var/log/dialer/calls.log").write_text("2026-01-01 00:00:00 demo 1 12\n")
    proc = sh(["/usr/sbin/logrotate", "-d", "/etc/logrotate.d/dialer"])
    assert "error" not in proc.stdout + proc.stderr
    assert "/var/log/dialer/calls.log" in proc.stdout + proc.stderr


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, what, deadline_s=120):
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.2)
    pytest.fail(f"gave up waiting for {what}")


def listening(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def stop(proc):
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextlib.contextmanager
def installed_pbxsim(tmp_path):
    """The installed dialer-pbxsim on a free port (default user dialer/1234); yields (port, record)."""
    port, record = free_port(), tmp_path / "pbxsim.jsonl"
    pbx = subprocess.Popen(["dialer-pbxsim", "--port", str(port), "--record", str(record), "--quiet"],
                           env=SYSTEM_ENV, cwd="/", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: pbx.poll() is not None or listening(port), f"dialer-pbxsim on port {port}")
        assert pbx.poll() is None, f"dialer-pbxsim exited with {pbx.returncode}"
        yield port, record
    finally:
        stop(pbx)


def new_campaign(tmp_path, backend, mysql, port, name, settings, phones):
    """A dialer.conf for one campaign, created and loaded with the installed `dialer`."""
    conf = tmp_path / "dialer.conf"
    ami = {"host": "127.0.0.1", "port": port, "user": "dialer", "password": "1234"}
    conf.write_text(general_section(backend, tmp_path, mysql, ami=ami) + "metricsport=0\nloopms=100\n\n"
                    + f"[{name}]\nmode=application\napplication=Playback\ndialformat=PJSIP/%s\n" + settings)
    (tmp_path / "list.txt").write_text("".join(f"{p},lead{i}\n" for i, p in enumerate(phones)))
    sh(["dialer", "-C", conf, "-c", name, "-a", "create"])
    sh(["dialer", "-C", conf, "-c", name, "-a", "file", "-p", tmp_path / "list.txt"])
    return conf


def originates(record):
    lines = record.read_text().splitlines() if record.exists() else []
    return [r["number"] for r in map(json.loads, filter(str.strip, lines)) if r["event"] == "originate"]


@pytest.mark.parametrize("backend", ["sqlite", "mysql"])
def test_installed_dialer_runs_a_campaign_against_installed_pbxsim(installed, backend, tmp_path, request):
    """The README's commands, with the installed programs only."""
    mysql = request.getfixturevalue("mysql_db") if backend == "mysql" else None
    phones = [f"3360000{i:04d}" for i in range(20)]
    with installed_pbxsim(tmp_path) as (port, record):
        conf = new_campaign(tmp_path, backend, mysql, port, "demo", "maxlines=5\nmaxcaps=5\nattempts=1\n", phones)
        sh(["dialer", "-C", conf], timeout=300)  # foreground: returns when the campaign is done

    stats = json.loads(sh(["dialer", "-C", conf, "-c", "demo", "-a", "statistics", "--format", "json"]).stdout)
    assert stats["total"] == len(phones)
    assert (stats["dialable_now"], stats["waiting"], stats["in_progress"]) == (0, 0, 0)
    # dialer-pbxsim's default scenario answers every call: each lead got the answered code.
    assert {r["code"]: r["count"] for r in stats["final_by_code"]} == {12: len(phones)}
    assert sorted(originates(record)) == sorted(phones), "each lead dialled exactly once"


def owner_of(path):
    st = os.stat(path)
    return pwd.getpwuid(st.st_uid).pw_name, grp.getgrgid(st.st_gid).gr_name


def test_root_quick_start_leaves_files_the_service_user_can_write(installed, tmp_path):
    """issue 11 §2: the README's quick start run as root (create, file, dial in the foreground)
    on the shipped paths, then the service's user (the unit's User=dialer; runuser here, with
    no systemd as PID 1) writes to the same database, journal directory and call log."""
    original = Path("/etc/dialer.conf").read_text()
    state = [Path("/var/lib/dialer/dialer.sqlite"), Path("/var/log/dialer/calls.log")]
    phones = [f"3362000{i:04d}" for i in range(6)]
    lists = tmp_path / "lists"
    lists.mkdir()
    (lists / "list.txt").write_text("".join(f"{p}\n" for p in phones[:4]))
    state[1].write_text("an earlier line, written by root\n")   # root's file: handed over too
    try:
        with installed_pbxsim(tmp_path) as (port, record):
            Path("/etc/dialer.conf").write_text(
                "[general]\ndbengine=sqlite\nlog=true\nmetricsport=0\nloopms=100\nasteriskhost=127.0.0.1\n"
                f"asteriskport={port}\nasteriskuser=dialer\nasteriskpassword=1234\n")
            Path("/etc/dialer.d/demo.conf").write_text(
                "[demo]\nmode=application\napplication=Playback\ndialformat=PJSIP/%s\nmaxlines=2\n")
            sh(["dialer", "-c", "demo", "-a", "create"])
            sh(["dialer", "-c", "demo", "-a", "file", "-p", lists / "list.txt"])
            for path in Path("/var/lib/dialer").glob("dialer.sqlite*"):
                assert owner_of(path) == ("dialer", "dialer"), path
            # The service's user writes what root made ...
            sh(["runuser", "-u", "dialer", "--", "dialer", "-c", "demo", "-a", "insert", "-p", phones[4]])
            # ... root dials in the foreground as the service's user ...
            sh(["dialer"], timeout=300)
            assert sorted(originates(record)) == sorted(phones[:5])
            for path in state:
                assert owner_of(path) == ("dialer", "dialer"), path
            # ... and the service's user goes on writing and dialling after root's run.
            sh(["runuser", "-u", "dialer", "--", "dialer", "-c", "demo", "-a", "insert", "-p", phones[5]])
            sh(["runuser", "-u", "dialer", "--", "dialer"], timeout=300)
            assert sorted(originates(record)) == sorted(phones)
        stats = json.loads(sh(["runuser", "-u", "dialer", "--", "dialer", "-c", "demo", "-a", "statistics",
                               "--format", "json"]).stdout)
        assert {r["code"]: r["count"] for r in stats["final_by_code"]} == {12: len(phones)}
        assert len(state[1].read_text().splitlines()) == 1 + len(phones)
        # `dialer --check-config`, what systemctl reload runs first, as the service's user.
        out = sh(["runuser", "-u", "dialer", "--", "dialer", "--check-config"]).stdout
        assert re.match(r"/etc/dialer.conf: ok: \d+ file\(s\), 1 campaign\(s\)", out) and "\n[demo] mode=application" in out
    finally:
        Path("/etc/dialer.conf").write_text(original)
        Path("/etc/dialer.d/demo.conf").unlink(missing_ok=True)
        for path in list(Path("/var/lib/dialer").glob("dialer.sqlite*")) + state[1:]:
            path.unlink(missing_ok=True)


def worker_uids(pid):
    """Real uids of the processes whose parent is pid (gunicorn's workers)."""
    uids = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
        except OSError:
            continue
        if int(fields["PPid"]) == pid:
            uids.append(int(fields["Uid"].split()[0]))
    return uids


# setpriv execs dialer-web as the user, as the unit does (runuser would stay in between, and
# its own exit status would hide dialer-web's); root's run hands the workers to that user.
@pytest.mark.parametrize("command", [["setpriv", "--reuid=dialer", "--regid=dialer", "--init-groups", "dialer-web"],
                                     ["dialer-web"]], ids=["as-dialer", "as-root"])
def test_installed_dialer_web_serves_the_console(installed, tmp_path, command):
    """The installed dialer-web on Debian's Flask and gunicorn on the shipped paths: the first
    admin from the CLI logs in, the session key is the service user's, SIGTERM stops it."""
    original = Path("/etc/dialer.conf").read_text()
    port = free_port()
    secret = Path("/var/lib/dialer/web-secret")
    web = None
    try:
        Path("/etc/dialer.conf").write_text(f"[general]\ndbengine=sqlite\nmetricsport=0\nweblisten=127.0.0.1:{port}\n")
        sh(["dialer", "-a", "createdatabase"])
        sh(["dialer", "-a", "user-add", "-p", "admin", "--role", "admin"], input="deb-t3st pass\n")
        with open(tmp_path / "web.log", "w") as log:
            web = subprocess.Popen(command, env=SYSTEM_ENV, cwd="/", stdout=log, stderr=log)
            wait_for(lambda: web.poll() is not None or listening(port), f"dialer-web on port {port}")
            assert web.poll() is None, (tmp_path / "web.log").read_text()
            console_login(f"http://127.0.0.1:{port}", "admin", "deb-t3st pass")
            assert owner_of(secret) == ("dialer", "dialer") and stat.S_IMODE(secret.stat().st_mode) == 0o600
            assert set(worker_uids(web.pid)) == {pwd.getpwnam("dialer").pw_uid}
            web.terminate()
            assert web.wait(timeout=120) == 0
        logs = (tmp_path / "web.log").read_text()
        assert "Traceback" not in logs and "deb-t3st" not in logs, logs
    finally:
        stop(web)
        Path("/etc/dialer.conf").write_text(original)
        for path in list(Path("/var/lib/dialer").glob("dialer.sqlite*")) + [secret]:
            path.unlink(missing_ok=True)


def test_upgrade_keeps_a_running_campaign_config_and_state(installed, tmp_path):
    """apt-get install of a newer .deb while `dialer --service` is mid-campaign."""
    newer = f"{VERSION}+upgradetest1"
    new_deb = tmp_path / f"dialer_{newer}_all.deb"  # not in dist/, where other tests look for the .deb
    proc = subprocess.run(["make", "--no-print-directory", "deb", f"DEB_VERSION={newer}", f"DEB_DIST={tmp_path}"],
                          cwd=ROOT, capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    with open("/etc/dialer.conf", "a") as f:
        f.write("; edited by the admin\n")
    Path("/etc/dialer.d/site.conf").write_text("[general]\n")
    Path("/var/lib/dialer/keep.sqlite").write_text("state")
    daemon = None
    try:
        with installed_pbxsim(tmp_path) as (port, record), open(tmp_path / "dialer.log", "w") as log:
            conf = new_campaign(tmp_path, "sqlite", None, port, "slow", "maxlines=2\nmaxcaps=2\n",
                                [f"3361000{i:04d}" for i in range(500)])
            daemon = subprocess.Popen(["dialer", "-C", str(conf), "--service"], env=SYSTEM_ENV, cwd="/",
                                      stdout=log, stderr=log)
            wait_for(lambda: len(originates(record)) >= 2, "the first calls")

            # As docs/packaging.md says for unattended upgrades: keep the admin's dialer.conf
            # without asking, even when the new package ships a changed one.
            sh(APT + ["-o", "Dpkg::Options::=--force-confold", "install", str(new_deb)])

            assert sh(["dpkg-query", "-W", "-f=${Version}", "dialer"]).stdout == newer
            assert daemon.poll() is None, "the upgrade stopped the running dialer"
            at_upgrade = len(originates(record))
            wait_for(lambda: len(originates(record)) > at_upgrade + 2, "calls placed after the upgrade")
            assert daemon.poll() is None
            stop(daemon)
    finally:
        stop(daemon)
        new_deb.unlink(missing_ok=True)
    assert Path("/etc/dialer.conf").read_text().endswith("; edited by the admin\n")
    st = os.stat("/etc/dialer.conf")
    assert (stat.S_IMODE(st.st_mode), st.st_gid) == (0o640, grp.getgrnam("dialer").gr_gid)
    assert Path("/etc/dialer.d/site.conf").exists() and Path("/var/lib/dialer/keep.sqlite").exists()
    assert Path("/etc/systemd/system/multi-user.target.wants/dialer.service").is_symlink()
    # The web console's unit is installed but left disabled until the admin enables it.
    assert Path("/lib/systemd/system/dialer-web.service").is_file()
    assert not Path("/etc/systemd/system/multi-user.target.wants/dialer-web.service").exists()
    assert os.access("/usr/bin/dialer-web", os.X_OK)
    assert Path("/usr/share/man/man8/dialer-web.8.gz").is_file()


def test_remove_keeps_config_and_purge_leaves_nothing(installed):
    sh(APT + ["remove", "dialer"])
    assert Path("/etc/dialer.conf").exists(), "remove must keep the conffile"
    assert not Path("/usr/bin/dialer").exists()
    sh(APT + ["purge", "dialer"])
    assert installed_status() in ("", "unknown ok not-installed")
    assert not Path("/etc/dialer.conf").exists()
    assert account_exists() == installed["account"], "the dialer user/group must go with the purge"
    assert "dialer" not in sh(["dpkg-statoverride", "--list"]).stdout
    left = sorted(dialer_paths() - installed["paths"])
    assert not left, "left behind by the purge:\n" + "\n".join(left)

