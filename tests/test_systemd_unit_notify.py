"""dialer.notify against a real AF_UNIX datagram socket standing in for systemd."""
import os
import socket
import time

import pytest

from dialer.notify import Notifier


@pytest.fixture
def systemd(fake_systemd, monkeypatch):
    monkeypatch.setenv("NOTIFY_SOCKET", fake_systemd.path)
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    return fake_systemd


def test_lifecycle_messages(systemd):
    n = Notifier()
    assert n.enabled
    n.ready("dialing 0/30 lines in 1 campaign")
    n.reloading()
    n.ready()
    n.stopping("draining 3 calls")
    n.extend_timeout(30)
    got = systemd.messages()
    assert got[0] == {"READY": "1", "STATUS": "dialing 0/30 lines in 1 campaign"}
    assert got[1]["RELOADING"] == "1"
    assert got[2] == {"READY": "1"}
    assert got[3] == {"STOPPING": "1", "STATUS": "draining 3 calls"}
    assert got[4] == {"EXTEND_TIMEOUT_USEC": "30000000"}


def test_reloading_carries_the_monotonic_clock(systemd):
    before = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    Notifier().reloading()
    after = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    (msg,) = systemd.messages()
    assert set(msg) == {"RELOADING", "MONOTONIC_USEC"}
    assert before <= int(msg["MONOTONIC_USEC"]) <= after


def test_status_sent_only_when_it_changes(systemd):
    n = Notifier()
    n.status("AMI down, retrying in 8 s")
    n.status("AMI down, retrying in 8 s")
    n.status("dialing 27/30 lines in 3 campaigns")
    n.ready("dialing 27/30 lines in 3 campaigns")
    n.status("dialing 27/30 lines in 3 campaigns")
    assert systemd.messages() == [
        {"STATUS": "AMI down, retrying in 8 s"},
        {"STATUS": "dialing 27/30 lines in 3 campaigns"},
        {"READY": "1", "STATUS": "dialing 27/30 lines in 3 campaigns"},
    ]


def test_status_cannot_inject_other_assignments(systemd):
    n = Notifier()
    n.status("AMI error: bad\nREADY=1\r\nSTOPPING=1 \u263a")
    (msg,) = systemd.messages()
    assert set(msg) == {"STATUS"}
    assert msg["STATUS"].startswith("AMI error: bad READY=1 STOPPING=1")


def test_watchdog_interval_is_half_of_watchdog_usec(systemd, monkeypatch):
    monkeypatch.setenv("WATCHDOG_USEC", "30000000")
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    assert Notifier().watchdog_interval() == 15.0


def test_watchdog_for_another_process_is_ignored(systemd, monkeypatch):
    monkeypatch.setenv("WATCHDOG_USEC", "30000000")
    monkeypatch.setenv("WATCHDOG_PID", "1")
    n = Notifier()
    assert n.watchdog_interval() is None
    n.watchdog()
    assert systemd.messages() == []


def test_no_watchdog_configured(systemd):
    n = Notifier()
    assert n.watchdog_interval() is None
    n.watchdog()
    assert systemd.messages() == []


def test_watchdog_pings_from_the_caller_and_skips_redundant_ones(systemd, monkeypatch):
    monkeypatch.setenv("WATCHDOG_USEC", "20000000")  # interval 10 s, pings >= 2.5 s apart
    now = [1000.0]
    n = Notifier(clock=lambda: now[0])
    n.watchdog()
    now[0] += 1.0
    n.watchdog()  # too soon after the last one
    now[0] += 2.0
    n.watchdog()
    assert systemd.messages() == [{"WATCHDOG": "1"}, {"WATCHDOG": "1"}]


def test_abstract_socket(monkeypatch):
    name = f"dialer-test-{os.getpid()}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    try:
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
        Notifier().ready()
        assert sock.recv(1024) == b"READY=1"
    finally:
        sock.close()


def test_without_systemd_everything_is_a_no_op(monkeypatch):
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    n = Notifier()
    assert not n.enabled
    for call in (n.ready, n.watchdog, n.reloading, n.stopping):
        call()
    n.status("y")
    n.extend_timeout(5)


def test_socket_gone_is_a_no_op(tmp_path, monkeypatch):
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "nobody-listens"))
    n = Notifier()
    assert not n.enabled
    n.ready()


def test_wait_for_returns_everything_up_to_the_awaited_message(systemd):
    n = Notifier()
    n.status("starting")
    n.ready()
    n.status("dialing")
    assert systemd.wait_for("READY", "1", timeout=5) == [{"STATUS": "starting"}, {"READY": "1"}]
    assert systemd.messages() == [{"STATUS": "dialing"}]
