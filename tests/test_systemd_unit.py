"""systemd/: the unit verifies cleanly, is hardened, and its sysusers snippet creates the account."""
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
UNIT = ROOT / "systemd" / "dialer.service"
SYSUSERS = ROOT / "systemd" / "dialer.sysusers"
MAX_EXPOSURE = 2.0


def unit_settings(path=UNIT):
    """{(section, key): [values]} of a unit file, in order (keys may repeat)."""
    settings, section = {}, None
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        settings.setdefault((section, key.strip()), []).append(value.strip())
    return settings


@pytest.fixture
def verifiable_unit(tmp_path):
    """A copy of the unit whose Exec*= binaries exist on this machine.

    systemd-analyze verify rejects an Exec*= path that does not exist, and /usr/bin/dialer
    only exists once the package is installed; everything else in the unit is verified as is.
    """
    text = UNIT.read_text()
    stand_in = shutil.which("true")
    assert re.search(r"^ExecStart=/usr/bin/dialer ", text, re.M), "ExecStart must run /usr/bin/dialer"
    copy = tmp_path / "dialer.service"
    copy.write_text(re.sub(r"^(Exec\w+)=/usr/bin/dialer ", rf"\1={stand_in} ", text, flags=re.M))
    return copy


def test_verify_prints_nothing(systemd_analyze, verifiable_unit):
    # verify exits 0 on most warnings: any output at all is a failure.
    proc = subprocess.run([systemd_analyze, "verify", str(verifiable_unit)], capture_output=True,
                          text=True, env={**os.environ, "SYSTEMD_LOG_COLOR": "0"})
    assert (proc.returncode, proc.stdout + proc.stderr) == (0, "")


def test_verify_would_catch_a_mistake(systemd_analyze, verifiable_unit):
    """Guards the check above: a typo in the unit must produce output."""
    verifiable_unit.write_text(verifiable_unit.read_text().replace("KillMode=", "KilMode="))
    proc = subprocess.run([systemd_analyze, "verify", str(verifiable_unit)], capture_output=True, text=True)
    assert "KilMode" in proc.stdout + proc.stderr


def test_security_exposure_at_most_2(systemd_analyze, verifiable_unit):
    proc = subprocess.run([systemd_analyze, "security", "--offline=yes", "--no-pager",
                           str(verifiable_unit)], capture_output=True, text=True,
                          env={**os.environ, "SYSTEMD_COLORS": "0"})
    m = re.search(r"Overall exposure level for dialer\.service: (\d+(?:\.\d+)?)", proc.stdout)
    assert m, proc.stdout + proc.stderr
    assert float(m.group(1)) <= MAX_EXPOSURE, proc.stdout


def test_service_contract():
    """What service.py relies on: notify with main-only access, SIGHUP reload, drain on stop."""
    s = unit_settings()
    svc = lambda key: s.get(("Service", key), [None])[-1]  # noqa: E731
    assert svc("Type") == "notify"
    assert svc("NotifyAccess") == "main"
    assert svc("ExecStart") == "/usr/bin/dialer --service"
    # A bad configuration fails `systemctl reload` before the signal is sent.
    assert s[("Service", "ExecReload")] == ["/usr/bin/dialer --check-config", "/bin/kill -HUP $MAINPID"]
    assert svc("KillMode") == "mixed"
    assert svc("Restart") == "on-failure"
    assert svc("RestartPreventExitStatus") == "2"  # config errors are not retried
    assert (svc("User"), svc("Group")) == ("dialer", "dialer")
    for key in ("StateDirectory", "RuntimeDirectory", "LogsDirectory"):
        assert svc(key) == "dialer"
    assert svc("CapabilityBoundingSet") == ""
    assert svc("RestrictAddressFamilies") == "AF_UNIX AF_INET AF_INET6"
    assert "@system-service" in s[("Service", "SystemCallFilter")]
    assert _seconds(svc("WatchdogSec")) >= 10
    assert _seconds(svc("TimeoutStopSec")) >= 60


def _seconds(value):
    m = re.fullmatch(r"(\d+)\s*(s|min)?", value)
    assert m, value
    return int(m.group(1)) * (60 if m.group(2) == "min" else 1)


def create_account(root):
    """Run the sysusers snippet against an empty system image in root (what the package does)."""
    sysusers = shutil.which("systemd-sysusers") or pytest.fail("systemd-sysusers not found; install systemd")
    (root / "etc").mkdir(exist_ok=True)
    proc = subprocess.run([sysusers, f"--root={root}", str(SYSUSERS)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_sysusers_creates_a_locked_system_account(tmp_path):
    create_account(tmp_path)
    passwd = {l.split(":")[0]: l.split(":") for l in (tmp_path / "etc/passwd").read_text().splitlines()}
    user = passwd["dialer"]
    assert int(user[2]) < 1000  # a system account
    assert user[5:] == ["/var/lib/dialer", "/usr/sbin/nologin"]
    groups = {l.split(":")[0]: l.split(":") for l in (tmp_path / "etc/group").read_text().splitlines()}
    assert groups["dialer"][2] == user[3]
