"""`dialer -a pause / resume / nodes` and the pause in `statistics`, as a user types them, on
SQLite and MariaDB."""
import json
import re

import pytest

from dialer import config, store as store_mod
from dialer.store.control_schema import HEARTBEAT_TABLE
from tests.conftest import run_dialer
from tests.test_cli import one_line_error

STAMP = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"


@pytest.fixture
def conf(dialer_conf):
    # `sales` has a table, `night` a section of dialer.conf and no table yet.
    path = dialer_conf("[night]\nmaxlines=1\nmode=application\napplication=Playback\ndata=hello\n")
    run_dialer("-c", "sales", "-a", "create", config=path, check=0)
    return path


def dialer(conf, *args, user="alice", check=0):
    return run_dialer(*args, config=conf, env={"SUDO_USER": "", "USER": user, "LOGNAME": user}, check=check)


def test_pause_and_resume_say_what_they_did_in_one_line(conf):
    out = dialer(conf, "-c", "sales", "-a", "pause").stdout
    assert out == "campaign sales paused by alice: no new calls on any dialer, live calls finish\n"
    out = dialer(conf, "-c", "sales", "-a", "pause", user="bob").stdout
    assert re.fullmatch(f"campaign sales was already paused by alice since {STAMP}\n", out), out
    out = dialer(conf, "-c", "sales", "-a", "resume", user="bob").stdout
    assert re.fullmatch(f"campaign sales resumed by bob \\(was paused by alice since {STAMP}\\)\n", out), out
    assert dialer(conf, "-c", "sales", "-a", "resume").stdout == "campaign sales was not paused\n"
    # A campaign of the configuration may be paused before its table exists.
    assert "campaign night paused by alice" in dialer(conf, "-c", "night", "-a", "pause").stdout


def test_the_sudo_caller_is_named_rather_than_root(conf):
    proc = run_dialer("-c", "sales", "-a", "pause", config=conf, env={"SUDO_USER": "carol", "USER": "root"}, check=0)
    assert "paused by carol" in proc.stdout


def test_statistics_show_the_pause(conf):
    assert "paused" not in dialer(conf, "-c", "sales", "-a", "statistics").stdout
    assert json.loads(dialer(conf, "-c", "sales", "-a", "statistics", "--format", "json").stdout)["paused"] is None
    dialer(conf, "-c", "sales", "-a", "pause")
    table = dialer(conf, "-c", "sales", "-a", "statistics").stdout
    assert re.search(f"^state +paused by alice since {STAMP}$", table, re.M), table
    data = json.loads(dialer(conf, "-c", "sales", "-a", "statistics", "--format", "json").stdout)
    assert data["paused"]["by"] == "alice" and data["paused"]["since"] > 1.7e9 and data["total"] == 0


def test_unknown_or_missing_campaign_is_a_one_line_usage_error(conf):
    one_line_error(dialer(conf, "-c", "nosuch", "-a", "pause", check=None), 2, "unknown campaign 'nosuch'")
    one_line_error(dialer(conf, "-c", "nosuch", "-a", "resume", check=None), 2, "unknown campaign 'nosuch'")
    one_line_error(dialer(conf, "-a", "pause", check=None), 2, "-a pause needs a campaign")
    one_line_error(dialer(conf, "-c", "bad-name", "-a", "pause", check=None), 2, "bad-name")
    assert "paused" not in dialer(conf, "-c", "sales", "-a", "statistics").stdout


def test_a_paused_campaign_dropped_since_can_still_be_resumed(conf):
    dialer(conf, "-c", "sales", "-a", "pause")
    dialer(conf, "-c", "sales", "-a", "drop")
    assert "campaign sales resumed by alice" in dialer(conf, "-c", "sales", "-a", "resume").stdout


def test_nodes_lists_the_heartbeats(conf):
    assert dialer(conf, "-a", "nodes").stdout == "no dialer has reported to this database\n"
    st = store_mod.open_store(config.load(str(conf)).general)
    st.write_heartbeat("node1", {"host": "pbx1", "version": "9.9", "status": "dialing 2/10 lines in 1 campaign(s)"})
    st.close()
    out = dialer(conf, "-a", "nodes").stdout
    assert re.fullmatch(r"node1 +pbx1 +9\.9 +\d+s ago +dialing 2/10 lines in 1 campaign\(s\)\n", out), out
    (beat,) = json.loads(dialer(conf, "-a", "nodes", "--format", "json").stdout)
    assert beat["instance"] == "node1" and beat["host"] == "pbx1"
    st = store_mod.open_store(config.load(str(conf)).general)
    st.execute(f"UPDATE {st.d.q(HEARTBEAT_TABLE)} SET seen = seen - 60")     # it stopped a minute ago
    st.close()
    assert re.search(r" NOT REPORTING for 6\ds ", dialer(conf, "-a", "nodes").stdout)


def test_help_lists_the_actions():
    out = run_dialer("--help", check=0).stdout
    assert "pause / resume" in out and "nodes" in out
