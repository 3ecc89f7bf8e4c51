"""The daemon as systemd sees it: sd_notify messages through start, work, reload, a hung
engine and stop, and its Prometheus endpoint with real values after a campaign.

No systemd here: the test binds the notification socket itself (fake_systemd) and runs the real
`dialer --service` process against dialer-pbxsim and MariaDB."""
import signal
import time

import pytest

from tests.plugins.ops import free_port, missing_metrics, promtool_check_metrics, sample_value, scrape

pytestmark = pytest.mark.slow

N_LEADS = 8


@pytest.mark.parametrize("backend", ["mysql"])
def test_notify_lifecycle_and_metrics(dial, fake_systemd, promtool, backend):
    port = free_port()
    env = dial({"default": {"outcome": "answer", "ring": 0.05, "talk": 0.2, "status": 12},
                "rules": [{"prefix": "9", "outcome": "busy"}]},
               leads=[f"500{i}" for i in range(N_LEADS)] + ["9001"],
               general=f"metricsport={port}\nmetricsaddress=127.0.0.1\n", campaign="maxlines=3\n")
    proc_env = env.env()
    proc_env.update(fake_systemd.env(watchdog_usec=1_000_000))
    proc = env.service(env=proc_env)
    try:
        got = fake_systemd.wait_for("READY", "1")
        assert all("STOPPING" not in m for m in got)
        # The engine loop pings the watchdog at half of WATCHDOG_USEC.
        fake_systemd.wait_for("WATCHDOG", "1", timeout=5)
        fake_systemd.wait_for("WATCHDOG", "1", timeout=5)
        got = fake_systemd.wait_for("STATUS", timeout=10)
        env.wait_for(lambda: all(r["owner"] is None and r["attempts"] == 1 for r in env.leads().values()),
                     proc=proc, what="every lead called")
        statuses = [m["STATUS"] for m in got + fake_systemd.messages() if "STATUS" in m]
        assert any(s.startswith("dialing ") for s in statuses), statuses

        # Metrics: real values, valid exposition, everything the dashboard and alerts use.
        def final_counted():
            text = scrape("127.0.0.1", port)[1]
            return text if sample_value(text, "dialer_leads", campaign="camp", state="final") == N_LEADS + 1 else None
        text = env.wait_for(final_counted, timeout=40, proc=proc, what="lead counts in the metrics")
        assert sample_value(text, "dialer_attempts_started_total", campaign="camp") == N_LEADS + 1
        assert sample_value(text, "dialer_attempt_results_total", campaign="camp", code="12") == N_LEADS
        assert sample_value(text, "dialer_attempt_results_total", campaign="camp", code="-8") == 1
        assert sample_value(text, "dialer_attempts_finished_total", campaign="camp", outcome="busy") == 1
        assert sample_value(text, "dialer_calls_live", campaign="camp") == 0
        assert sample_value(text, "dialer_lines_max", campaign="camp") == 3
        assert sample_value(text, "dialer_ami_connected") == 1
        assert sample_value(text, "dialer_window_open", campaign="camp") == 1
        assert not missing_metrics(text)
        assert promtool_check_metrics(promtool, text) == ""

        # Reload with a broken file: RELOADING then READY, old config kept, failure visible.
        good = env.conf.read_text()
        env.conf.write_text(good + "\n[camp2]\nmaxlines=abc\n")
        fake_systemd.messages()   # systemd reads continuously; the kernel queue holds only ~10
        proc.send_signal(signal.SIGHUP)
        got = fake_systemd.wait_for("RELOADING", "1")
        assert "MONOTONIC_USEC" in got[-1]
        fake_systemd.wait_for("READY", "1")
        text = scrape("127.0.0.1", port)[1]
        assert sample_value(text, "dialer_config_last_reload_successful") == 0
        assert sample_value(text, "dialer_config_reloads_total", result="failure") == 1
        assert sample_value(text, "dialer_lines_max", campaign="camp") == 3
        # A good reload applies the change.
        env.conf.write_text(good.replace("[camp]\nmaxlines=3\n", "[camp]\nmaxlines=4\n"))
        fake_systemd.messages()   # systemd reads continuously; the kernel queue holds only ~10
        proc.send_signal(signal.SIGHUP)
        fake_systemd.wait_for("RELOADING", "1")
        fake_systemd.wait_for("READY", "1")
        text = scrape("127.0.0.1", port)[1]
        assert sample_value(text, "dialer_config_last_reload_successful") == 1
        assert sample_value(text, "dialer_lines_max", campaign="camp") == 4

        # A hung engine stops pinging the watchdog, so systemd would kill it.
        proc.send_signal(signal.SIGUSR2)
        time.sleep(1.0)
        fake_systemd.messages()
        time.sleep(2.5)
        assert not [m for m in fake_systemd.messages() if m.get("WATCHDOG") == "1"]
    finally:
        code = env.stop(proc)
    assert code == 0, env.output(proc)
    assert any(m.get("STOPPING") == "1" for m in fake_systemd.messages())


@pytest.mark.parametrize("backend", ["sqlite"])
def test_ami_down_at_start_is_ready_but_says_so(dial, fake_systemd, pbxsim, backend):
    sim = pbxsim()
    env = dial(sim=sim, leads=["6001"])
    sim.stop()       # nothing listens on the AMI port now
    proc_env = env.env()
    proc_env.update(fake_systemd.env())
    proc = env.service(env=proc_env)
    try:
        fake_systemd.wait_for("READY", "1")
        got = fake_systemd.wait_for("STATUS", timeout=15)
        while "AMI down" not in got[-1].get("STATUS", ""):
            got = fake_systemd.wait_for("STATUS", timeout=15)
    finally:
        assert env.stop(proc) == 0, env.output(proc)
