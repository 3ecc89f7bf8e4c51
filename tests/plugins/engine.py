"""Fixture `dial`: a campaign on the parametrised backend, dialled by the real `dialer`
process against a real dialer-pbxsim, with helpers to read the leads back.

    env = dial(scenario={...}, campaign="maxlines=5\\n...", leads=["100", ("200", "p")])
    env.run()                  # `dialer` in the foreground until done -> CompletedProcess
    proc = env.service()       # `dialer --service` in the background (Popen); env.stop(proc)
                               # (through tests.harness.dialer_at: clock="START:SPEED", SIGUSR2 hangs)
    env.leads()                # {phone: row dict} from the campaign table
"""
import os
import signal
import subprocess
import sys
import time

import pytest

from dialer import config, store
from tests.conftest import ROOT, run_dialer

CAMPAIGN = "camp"

BASE_CAMPAIGN = """\
maxlines=10
maxcaps=10
attempts=1
attemptsdelay=0
timeout=1000
dialformat=SIP/%s@trunk
mode=application
application=Playback
data=hello
"""


class DialEnv:
    def __init__(self, dialer_conf, sim, campaign, extra_general, name, tag=""):
        self.sim = sim
        self.name = name
        ami = {"host": sim.host, "port": sim.port, "user": sim.user, "password": sim.secret}
        self.tmp = dialer_conf.tmp_path
        keys = {"metricsport": "0", "loopms": "100", "leaseseconds": "30", "drainseconds": "10",
                "statedir": str(self.tmp), "calllog": str(self.tmp / "calls.log")}
        keys.update(line.split("=", 1) for line in extra_general.splitlines() if "=" in line)
        text = "\n[default]\n" + BASE_CAMPAIGN + f"\n[{name}]\n" + campaign
        self.conf = dialer_conf(text, ami=ami, name=f"dialer-{name}{tag}.conf", general=keys)
        self.backend = dialer_conf.backend
        self.procs = []

    def cli(self, *args, check=0, **kw):
        return run_dialer(*args, config=self.conf, check=check, **kw)

    def load(self, leads):
        self.cli("-c", self.name, "-a", "create")
        path = self.tmp / f"{self.name}-list.txt"
        path.write_text("".join((f"{p[0]},{p[1]}" if isinstance(p, tuple) else p) + "\n" for p in leads))
        self.cli("-c", self.name, "-a", "file", "-p", path)

    def store(self):
        return store.open_store(config.load(str(self.conf)).general)

    def leads(self):
        st = self.store()
        try:
            cols = ["id", "phone", "attempts", "pickups", "disposition", "reason", "cause", "duration",
                    "result", "owner", "channelid", "state", "datetime"]
            rows = st.rows(f"SELECT {', '.join(cols)} FROM {st.d.q(self.name)} ORDER BY id")
            return {r[1]: dict(zip(cols, r)) for r in rows}
        finally:
            st.close()

    def env(self):
        e = dict(os.environ)
        e.pop("DIALER_CONFIG", None)
        return e

    def run(self, *args, timeout=120, check=0):
        return self.cli(*args, check=check, timeout=timeout)

    def service(self, *args, env=None, clock="real"):
        cmd = [sys.executable, "-m", "tests.harness.dialer_at", clock, "--", "-C", str(self.conf), "--service", *args]
        log = open(self.tmp / f"service-{time.monotonic_ns()}.log", "w+")
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env or self.env())
        proc.logfile = log
        self.procs.append(proc)
        return proc

    def cleanup(self):
        """Kill what a failed test left running (a passing test has stopped it already)."""
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.logfile.close()

    @staticmethod
    def output(proc):
        proc.logfile.flush()
        proc.logfile.seek(0)
        return proc.logfile.read()

    def stop(self, proc, sig=signal.SIGTERM, timeout=60):
        if proc.poll() is None:
            proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise AssertionError("dialer did not stop:\n" + self.output(proc))
        return proc.returncode

    def wait_for(self, predicate, timeout=60, proc=None, what="condition"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            if proc is not None and proc.poll() is not None:
                raise AssertionError(f"dialer exited ({proc.returncode}) before {what}:\n" + self.output(proc))
            time.sleep(0.1)
        extra = ("\n" + self.output(proc)) if proc is not None else ""
        raise AssertionError(f"timed out waiting for {what}{extra}")


@pytest.fixture
def dial(dialer_conf, pbxsim):
    def make(scenario=None, campaign="", leads=(), general="", name="camp", driver="sip", sim=None, tag="",
             **simopts):
        sim = sim or pbxsim(scenario=scenario, driver=driver, **simopts)
        env = DialEnv(dialer_conf, sim, campaign, general, name, tag)
        envs.append(env)
        if leads:
            env.load(leads)
        return env
    envs = []
    yield make
    for env in envs:
        env.cleanup()


@pytest.fixture
def engine_rig():
    """EngineRig(env) factories (tests/harness/engine.py): the engine in this process on a
    manual clock; stopped at the end of the test."""
    from tests.harness.engine import EngineRig
    rigs = []

    def make(env, **kw):
        rig = EngineRig(env, **kw)
        rigs.append(rig)
        return rig
    yield make
    for rig in rigs:
        rig.stop()
