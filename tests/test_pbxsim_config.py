"""dialer-pbxsim: manager.conf (Asterisk syntax) and scenario files, as a user writes them."""
import subprocess
import sys

import pytest

from dialer.pbxsim import managerconf, scenario
from tests.plugins.pbxsim import msg_get


def test_manager_conf_include_and_manager_d_glob(tmp_path):
    (tmp_path / "manager.d").mkdir()
    (tmp_path / "manager.conf").write_text(
        "; written by the Ansible role\n"
        "[general]\n"
        "enabled = yes\n"
        "port = 5039\n"
        "bindaddr = 127.0.0.1\n"
        "channelvars = DIALER_ID,DIALER_CAMPAIGN,DIALER_STATUS\n"
        "#include \"manager.d/*.conf\"\n")
    (tmp_path / "manager.d" / "dialer.conf").write_text(
        "[dialer]\n"
        "secret = s3cret ; trailing comment\n"
        "deny = 0.0.0.0/0.0.0.0\n"
        "permit = 127.0.0.1/255.255.255.255\n"
        "read = call,system,user\n"
        "write = originate,call,reporting\n"
        "writetimeout = 5000\n")
    (tmp_path / "manager.d" / "admin.conf").write_text(
        ";-- a block\ncomment --;\n[admin]\nsecret=x\nread=all\nwrite=system\n")
    conf = managerconf.load(str(tmp_path / "manager.conf"))
    assert (conf.port, conf.bindaddr) == (5039, "127.0.0.1")
    assert conf.channelvars == ["DIALER_ID", "DIALER_CAMPAIGN", "DIALER_STATUS"]
    u = conf.users["dialer"]
    assert u.secret == "s3cret" and u.writetimeout == 5000
    assert managerconf.classes_to_str(u.read) == "system,call,user"
    assert managerconf.classes_to_str(u.write) == "call,reporting,originate"
    assert u.permitted("127.0.0.1") and not u.permitted("10.1.2.3")
    assert conf.users["admin"].read == managerconf.ALL_CLASSES


def test_manager_conf_templates_and_append(tmp_path):
    (tmp_path / "manager.conf").write_text(
        "[dialer-tpl](!)\nread = call\nwrite = originate\n"
        "[dialer](dialer-tpl)\nsecret = a\n"
        "[dialer](+)\nwrite = call\n")
    conf = managerconf.load(str(tmp_path / "manager.conf"))
    assert list(conf.users) == ["dialer"]
    u = conf.users["dialer"]
    assert (u.secret, managerconf.classes_to_str(u.read)) == ("a", "call")
    assert managerconf.classes_to_str(u.write) == "call"        # the last line counts


@pytest.mark.parametrize("text,expected", [
    ("[general]\nport = http\n", "manager.conf:2: port = 'http': expected an integer 0..65535"),
    ("[u]\nread = call,everything\n", "manager.conf:2: read = 'call,everything': unknown permission class 'everything'"),
    ("[u]\npermit = 10.0.0.300/8\n", "manager.conf:2: permit = '10.0.0.300/8': expected ADDRESS[/MASK]"),
    ("[general]\n#include nothere.conf\n", "manager.conf:2: #include 'nothere.conf': no such file"),
    ("[general\n", "manager.conf:1: section header '[general' has no closing ']'"),
    ("port = 1\n", "manager.conf:1: 'port = 1' before any [section]"),
])
def test_manager_conf_errors_name_file_line_key_value(tmp_path, text, expected):
    (tmp_path / "manager.conf").write_text(text)
    with pytest.raises(managerconf.ConfigError) as e:
        managerconf.load(str(tmp_path / "manager.conf"))
    assert str(e.value).startswith(str(tmp_path / expected.split(":", 1)[0]) + ":" + expected.split(":", 1)[1])


def test_cli_reports_bad_config_in_one_line_exit_2(tmp_path):
    (tmp_path / "s.yaml").write_text("rules:\n  - prefix: '06'\n    outcome: bussy\n")
    r = subprocess.run([sys.executable, "-m", "dialer.pbxsim", "--scenario", str(tmp_path / "s.yaml")],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0
    assert "s.yaml:2: outcome = 'bussy': expected one of answer" in r.stderr


def test_users_and_permissions_from_manager_conf(pbxsim, ami_client):
    sim = pbxsim(manager_conf="[general]\nchannelvars = LEAD\n"
                              "[ops]\nsecret = pw\nread = call\nwrite = originate\n")
    c = ami_client(sim)
    c.action("Login", Username="ops", Secret="pw", ActionID="l")
    assert msg_get(c.read(), "Message") == "Authentication accepted"
    c.action("CoreShowChannels", ActionID="c")      # needs write=reporting or system
    assert c.read() == [("Response", "Error"), ("ActionID", "c"), ("Message", "Permission denied")]
    c.action("Originate", Channel="SIP/1@x", Application="System", Data="id", ActionID="o")
    assert msg_get(c.read(), "Message") == "Originate Access Forbidden: app or data blacklisted"
    c.action("Originate", Channel="SIP/1@x", Application="Wait", Data="1", ActionID="o2",
             Variable="LEAD=7", Async="true")
    c.read()
    ev = c.read()                                   # no FullyBooted: read lacks system
    assert msg_get(ev, "Event") == "Newchannel" and ("ChanVariable", "LEAD=") in ev


def test_deny_permit_refuses_login_from_other_addresses(pbxsim, ami_client):
    sim = pbxsim(manager_conf="[dialer]\nsecret = 1234\ndeny = 0.0.0.0/0.0.0.0\n"
                              "permit = 10.0.0.0/8\nread = all\nwrite = all\n",
                 auth_fail_delay=0.05)
    c = ami_client(sim)
    c.action("Login", Username="dialer", Secret="1234", ActionID="l")
    assert c.read() == [("Response", "Error"), ("ActionID", "l"), ("Message", "Authentication failed")]
    with pytest.raises(EOFError):
        c.read()


def test_scenario_rules_prefix_regex_peer_and_weighted_seeded():
    sc = scenario.load(text="""
seed: 7
default: {outcome: answer, talk: 1}
rules:
  - prefix: "0033"
    outcome: busy
  - number: "^06(12|34)"
    outcome: noanswer
  - peer: congest
    outcome: congestion
  - prefix: "07"
    outcomes:
      - {outcome: answer, weight: 3, talk: [1, 2]}
      - {outcome: unallocated, weight: 1}
""")
    assert sc.pick("0033123", "t", "SIP")["outcome"] == "busy"
    assert sc.pick("0612000", "t", "SIP")["outcome"] == "noanswer"
    assert sc.pick("0699000", "congest", "SIP")["outcome"] == "congestion"
    assert sc.pick("0699000", "t", "SIP")["outcome"] == "answer"
    first = [sc.pick("07", "t", "SIP")["outcome"] for _ in range(200)]
    again = scenario.load(text="seed: 7\nrules:\n  - prefix: '07'\n    outcomes:\n"
                               "      - {outcome: answer, weight: 3, talk: [1, 2]}\n"
                               "      - {outcome: unallocated, weight: 1}\n")
    assert first == [again.pick("07", "t", "SIP")["outcome"] for _ in range(200)]
    assert 100 < first.count("answer") < 190
    talks = {sc.pick("07", "t", "SIP")["talk"] for _ in range(50)}
    assert all(1 <= t <= 2 for t in talks if t != 1.0) and len(talks) > 5


@pytest.mark.parametrize("text,expected", [
    ("default: {ring: -1}\n", "<scenario>:1: ring = -1: expected seconds >= 0 or [min, max]"),
    ("rules:\n  - number: '('\n", "<scenario>:2: number = '(': bad regular expression"),
    ("faults:\n  - {at: 1, fault: explode}\n", "<scenario>:2: fault = 'explode': expected one of drop"),
    ("colour: red\n", "<scenario>:1: colour: unknown key"),
    ("rules: [\n", "<scenario>:2: invalid YAML"),
])
def test_scenario_errors_are_one_line(text, expected):
    with pytest.raises(scenario.ScenarioError) as e:
        scenario.load(text=text)
    assert str(e.value).startswith(expected) and "\n" not in str(e.value)


def test_timestampevents_adds_timestamp_after_privilege(pbxsim, ami_client):
    sim = pbxsim(manager_conf="[general]\ntimestampevents = yes\n"
                              "[dialer]\nsecret = 1234\nread = system\nwrite = call\n")
    c = ami_client(sim)
    c.login()
    ev = c.read()
    assert [k for k, _ in ev][:3] == ["Event", "Privilege", "Timestamp"]


def test_documented_example_scenario_is_valid_and_shipped():
    import re
    from pathlib import Path
    root = Path(__file__).resolve().parent.parent
    doc = (root / "docs" / "pbxsim.md").read_text()
    block = re.search(r"### Scenario file\n\n```yaml\n(.*?)```", doc, re.S).group(1)
    shipped = (root / "dialer" / "pbxsim" / "data" / "example-scenario.yaml").read_text()
    assert block in shipped
    sc = scenario.load(text=block)
    assert sc.pick("0033999", "voip-out", "SIP")["outcome"] == "busy"
    assert sc.pick("5", "carrier-b", "SIP")["code"] == 404
    assert sc.max_channels == 100 and sc.faults[1] == (120.0, "restart", {"seconds": 5})


def test_rule_time_window_counts_from_the_first_originate():
    import time
    sc = scenario.load(text="rules:\n  - {until: 30, outcome: congestion}\n"
                            "  - {from: 60, until: 90, outcome: nochannel}\n  - {peer: nope, outcome: nochannel}\n")
    assert sc.started is None
    assert sc.pick("1", "voip-out", "SIP")["outcome"] == "congestion"
    assert sc.started is not None
    sc.started = time.monotonic() - 30          # the window's end
    assert sc.pick("1", "voip-out", "SIP")["outcome"] == "answer"
    assert sc.pick("1", "nope", "SIP")["outcome"] == "nochannel"
    sc.started = time.monotonic() - 61
    assert sc.pick("1", "voip-out", "SIP")["outcome"] == "nochannel"
    sc.started = time.monotonic() - 90
    assert sc.pick("1", "voip-out", "SIP")["outcome"] == "answer"


@pytest.mark.parametrize("text", ["rules:\n  - {until: [1, 2], outcome: busy}\n",
                                  "rules:\n  - {from: -1, outcome: busy}\n",
                                  "rules:\n  - {until: soon, outcome: busy}\n"])
def test_rule_time_window_must_be_seconds(text):
    with pytest.raises(scenario.ScenarioError) as err:
        scenario.load(path="s.yaml", text=text)
    assert str(err.value).startswith("s.yaml:2: ") and "\n" not in str(err.value)
