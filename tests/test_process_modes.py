"""The manual's process modes: --start / --stop (daemon + pidfile), -safe (restart the engine
when it dies), a second SIGTERM (hang live calls up), the call log, and no secret in any log."""
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def answered(talk):
    return {"default": {"outcome": "answer", "ring": 0.05, "talk": talk, "status": 12}}


def pid_of(path):
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize("backend", ["sqlite"])
def test_start_runs_a_daemon_and_stop_stops_it(dial, backend, tmp_path):
    leads = [f"110{i}" for i in range(6)]
    pidfile = tmp_path / "run" / "dialer.pid"
    env = dial(answered(0.2), leads=leads, general=f"pidfile={pidfile}\n")
    out = env.cli("--start")
    pid = pid_of(pidfile)
    assert pid and alive(pid) and f"pid {pid}" in out.stdout
    # A second --start refuses while the first one runs.
    again = env.cli("--start", check=1)
    assert "already running" in again.stderr
    env.wait_for(lambda: all(r["attempts"] == 1 and r["owner"] is None for r in env.leads().values()),
                 what="the daemon dialled every lead")
    stop = env.cli("--stop")
    assert "stopped" in stop.stdout
    deadline = time.monotonic() + 10
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(pid) and not pidfile.exists()
    assert env.cli("--stop", check=1).stderr.startswith("dialer: not running")
    # The daemon logged next to the call log.
    assert "dialer finished" in (env.tmp / "dialer.log").read_text()


@pytest.mark.parametrize("backend", ["sqlite"])
def test_safe_mode_restarts_a_killed_engine(dial, backend):
    leads = [f"120{i:02d}" for i in range(6)]
    env = dial(answered(4.0), leads=leads, campaign="maxlines=3\nmaxcaps=3\n")
    proc = subprocess.Popen([sys.executable, "-m", "dialer.cli", "-C", str(env.conf), "-safe"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env.env())
    try:
        env.wait_for(lambda: env.sim.stats()["live_calls"] == 3, proc=None, what="calls up")
        children = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
        assert len(children) == 1
        os.kill(int(children[0]), signal.SIGKILL)
        env.wait_for(lambda: all(r["attempts"] == 1 and r["owner"] is None for r in env.leads().values()),
                     timeout=60, what="every lead dialled after the restart")
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    assert "restarting in" in out
    assert proc.returncode == 0, out
    # The restarted engine re-adopted the calls the killed one left up: all answered.
    assert all(r["disposition"] == 12 for r in env.leads().values()), out


@pytest.mark.parametrize("backend", ["sqlite"])
def test_second_sigterm_hangs_up_live_calls(dial, backend):
    env = dial(answered(30.0), leads=["1301", "1302"], general="drainseconds=60\n")
    proc = env.service()
    env.wait_for(lambda: env.sim.stats()["live_calls"] == 2, proc=proc, what="calls up")
    proc.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    assert proc.poll() is None               # draining: the calls are still up
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(15) == 0, env.output(proc)
    assert env.sim.stats()["live_calls"] == 0
    rows = env.leads()
    assert all(r["owner"] is None and r["attempts"] == 1 for r in rows.values()), rows
    assert "hanging up 2 live call(s)" in env.output(proc)


@pytest.mark.parametrize("backend", ["mysql"])
def test_a_stop_during_the_database_wait_at_start_acts_at_once(dial, tcpproxy, mysql_db, backend):
    proxy = tcpproxy(mysql_db["host"], mysql_db["port"])
    env = dial(answered(0.1), leads=["1401"], general=f"mysqlport={proxy.port}\n")
    proxy.cut()
    proc = env.service()
    env.wait_for(lambda: "retrying in 8 s" in env.output(proc), timeout=30, proc=proc, what="the database wait")
    proc.send_signal(signal.SIGTERM)
    # Stopped within the 8 s wait, not after it.
    assert proc.wait(5) == 0, env.output(proc)
    assert "stopped while waiting for the database" in env.output(proc)
    assert env.output(proc).count("database unavailable") == 4


MANAGER_CONF = """\
[general]
enabled = yes
channelvars = DIALER_ID,DIALER_CAMPAIGN,DIALER_STATUS

[dialer]
secret = s3cr3t-Pa55
read = call,system,user
write = originate,call,reporting
"""


def test_call_log_and_no_secret_in_any_log(dial, pbxsim, backend):
    sim = pbxsim(scenario=answered(0.1), manager_conf=MANAGER_CONF)
    env = dial(sim=sim, leads=["1401", "1402"], general="log=true\ndebug=true\n")
    out = env.run()
    calllog = (env.tmp / "calls.log").read_text().splitlines()
    assert len(calllog) == 2 and all("campaign=camp" in line and "code=12" in line for line in calllog)
    # debug=true logs every step; the AMI secret appears nowhere (nor in the process title).
    assert "s3cr3t-Pa55" not in out.stdout + out.stderr
    assert "Remote end has answered" in "\n".join(calllog)
