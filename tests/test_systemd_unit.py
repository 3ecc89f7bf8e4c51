"""systemd/: the units verify cleanly, are hardened, and the sysusers snippet creates the account."""
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
UNIT = ROOT / "systemd" / "dialer.service"
WEB_UNIT = ROOT / "systemd" / "dialer-web.service"
UNITS = {"dialer.service": "/usr/bin/dialer", "dialer-web.service": "/usr/bin/dialer-web"}
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


@pytest.fixture(params=sorted(UNITS))
def verifiable_unit(tmp_path, request):
    """A copy of each unit whose Exec*= binaries exist on this machine.

    systemd-analyze verify rejects an Exec*= path that does not exist, and /usr/bin/dialer
    only exists once the package is installed; everything else in the unit is verified as is.
    """
    name, program = request.param, UNITS[request.param]
    text = (ROOT / "systemd" / name).read_text()
    stand_in = shutil.which("true")
    exec_re = rf"^(Exec\w+)={re.escape(program)}(?= |$)"
    assert re.search(exec_re, text, re.M), f"ExecStart must run {program}"
    copy = tmp_path / name
    copy.write_text(re.sub(exec_re, rf"\1={stand_in}", text, flags=re.M))
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
    m = re.search(rf"Overall exposure level for {re.escape(verifiable_unit.name)}: (\d+(?:\.\d+)?)", proc.stdout)
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


def test_web_service_contract():
    """What dialer-web relies on, and what the package promises about it."""
    s = unit_settings(WEB_UNIT)
    svc = lambda key: s.get(("Service", key), [None])[-1]  # noqa: E731
    assert (svc("Type"), svc("NotifyAccess")) == ("notify", "main")   # gunicorn's master sends READY=1
    assert svc("ExecStart") == "/usr/bin/dialer-web"
    assert (svc("User"), svc("Group")) == ("dialer", "dialer")
    assert svc("StateDirectory") == "dialer"          # where websecretfile is made by default
    assert svc("RestartPreventExitStatus") == "2"
    assert svc("KillMode") == "mixed" and _seconds(svc("TimeoutStopSec")) > 30   # gunicorn's graceful 30 s
    # It listens: no address or network restriction may keep the loopback (or a proxy) out.
    assert svc("RestrictAddressFamilies") == "AF_UNIX AF_INET AF_INET6"
    for key in ("PrivateNetwork", "IPAddressDeny", "IPAddressAllow", "SocketBindDeny", "SocketBindAllow"):
        assert svc(key) is None, key
    # Every hardening setting of dialer.service, with the same value (ProcSubset only here).
    dialer = unit_settings(UNIT)
    hardening = [k for sec, k in dialer if sec == "Service" and re.match(
        r"(Protect|Private|Restrict|NoNew|Capability|Ambient|Lock|MemoryDeny|RemoveIPC|SystemCall|DevicePolicy|UMask)",
        k)]
    assert len(hardening) > 20
    for key in hardening:
        assert s.get(("Service", key), [])[:len(dialer[("Service", key)])] == dialer[("Service", key)], key
    # Installed disabled: the package does not enable it (packaging/debian/rules).
    assert "dh_installsystemd --no-enable" in (ROOT / "packaging" / "debian" / "rules").read_text()


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
