"""The `dialer` command as a user types it, on SQLite and MariaDB."""
import json
import subprocess
import sys

import pytest

from tests.conftest import run_dialer


def one_line_error(proc, status, *words):
    assert proc.returncode == status, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dialer: "), proc.stderr
    assert "Traceback" not in proc.stderr
    for w in words:
        assert w in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def conf(dialer_conf):
    path = dialer_conf()
    run_dialer("-c", "sales", "-a", "create", config=path, check=0)
    return path


def test_manual_session(conf, tmp_path):
    """The manual's "Dialer commands" sequence, with its spellings."""
    lst = tmp_path / "list.txt"
    lst.write_text("0123456789,alice\n0987654321\n")
    run_dialer("-c", "sales", "-a", "drop", config=conf, check=0)
    run_dialer("-c", "sales", "-a", "create", config=conf, check=0)
    out = run_dialer("-c", "sales", "-a", "file", "-p", lst, config=conf, check=0).stdout
    assert "imported 2, rejected 0" in out
    run_dialer("-c", "sales", "-a", "insert", "-p", "12345678", config=conf, check=0)
    run_dialer("-c", "sales", "-a", "insert", "-p", "12345678", "param", config=conf, check=0)
    run_dialer("-campaign", "sales", "-action", "insert", "-paramater", "55 12-34.(56)", config=conf, check=0)
    assert run_dialer("-a", "count", "-c", "sales", config=conf, check=0).stdout == "5\n"
    dump = run_dialer("-a", "fulldump", "-c", "sales", config=conf, check=0).stdout
    rows = dump.splitlines()
    assert rows[0].startswith("id,phone,datetime,attempts,pickups,disposition,reason")
    assert rows[1].split(",")[1:2] == ["0123456789"] and ",alice," in rows[1]
    assert "55123456" in dump and ",param," in dump
    plain = run_dialer("-a", "dump", "--campaign", "sales", config=conf, check=0).stdout
    assert plain.splitlines() == rows[1:]
    # RFC 4180: CRLF line ends (run_dialer's text mode would hide them).
    raw = subprocess.run([sys.executable, "-m", "dialer.cli", "-C", str(conf), "-a", "dump", "-c", "sales"],
                         capture_output=True, check=True).stdout
    assert raw.count(b"\r\n") == 5 and raw.endswith(b"\r\n")


def test_statistics_table_and_json(conf):
    run_dialer("-c", "sales", "-a", "insert", "-p", "0611111111", config=conf, check=0)
    table = run_dialer("-c", "sales", "-a", "statistics", config=conf, check=0).stdout
    assert "total             1" in table and "dialable now      1" in table
    assert "Not Yet Called" in table
    same = run_dialer("-c", "sales", "-a", "statitics", config=conf, check=0).stdout
    assert same == table
    data = json.loads(run_dialer("-c", "sales", "-a", "statistics", "--format", "json", config=conf, check=0).stdout)
    assert data["total"] == 1 and data["dialable_now"] == 1 and data["contact_rate"] == 0.0
    assert data["by_code"] == [{"code": 1, "name": "Not Yet Called - Get called back", "count": 1}]
    # A format it cannot print is said, not silently replaced by the table.
    one_line_error(run_dialer("-c", "sales", "-a", "statistics", "--format", "csv", config=conf), 2,
                   "--format csv", "table or json", "statistics")
    one_line_error(run_dialer("-a", "nodes", "--format", "csv", config=conf), 2, "--format csv", "nodes")


def test_delete_truncate_repare(conf):
    for p in ("0611111111", "0622222222", "0611111111"):
        run_dialer("-c", "sales", "-a", "insert", "-p", p, config=conf, check=0)
    assert "deleted 2 lead(s)" in run_dialer("-c", "sales", "-a", "delete", "-p", "0611111111",
                                             config=conf, check=0).stdout
    assert "1 lead(s) removed" in run_dialer("-c", "sales", "-a", "truncate", config=conf, check=0).stdout
    assert run_dialer("-c", "sales", "-a", "count", config=conf, check=0).stdout == "0\n"
    assert "0 lead(s) released" in run_dialer("-c", "sales", "-a", "repare", config=conf, check=0).stdout
    assert "0 lead(s) released" in run_dialer("-c", "sales", "-a", "repair", "--all", config=conf, check=0).stdout


def test_repare_releases_leads_of_a_crashed_dialer(conf, dialer_conf):
    """A lead claimed by a dialer that died is released by `repare --all` and counted (-1)."""
    from dialer import config, store
    from dialer.model import Selection
    conf = dialer_conf("[default]\nattempts=3\n")   # one attempt used, two left: -1, not burned
    run_dialer("-c", "sales", "-a", "insert", "-p", "0633333333", config=conf, check=0)
    st = store.open_store(config.load(str(conf)).general)
    st.claim("sales", 1, "crashed", 3600, 1_800_000_000, Selection(attempts=3))
    st.close()
    assert "0 lead(s) released" in run_dialer("-c", "sales", "-a", "repare", config=conf, check=0).stdout
    assert "1 lead(s) released" in run_dialer("-c", "sales", "-a", "repare", "--all", config=conf, check=0).stdout
    row = run_dialer("-c", "sales", "-a", "dump", config=conf, check=0).stdout.split(",")
    assert row[3:6] == ["1", "0", "-1"]   # attempts counted, disposition Undefined


def test_database_lifecycle(dialer_conf):
    conf = dialer_conf()
    run_dialer("-a", "createdatabase", config=conf, check=0)
    run_dialer("-a", "createdatabase", config=conf, check=0)   # idempotent
    run_dialer("-c", "c1", "-a", "create", config=conf, check=0)
    run_dialer("-a", "dropdatabase", config=conf, check=0)
    one_line_error(run_dialer("-c", "c1", "-a", "count", config=conf), 2, "does not exist")


@pytest.mark.parametrize("name", ["x; DROP TABLE y", "a`b", "1abc", "a b", "dialer_dnc", "x" * 65])
def test_bad_campaign_names_are_refused(conf, name):
    one_line_error(run_dialer("-c", name, "-a", "create", config=conf), 2, "campaign name")
    assert run_dialer("-c", "sales", "-a", "count", config=conf, check=0).stdout == "0\n"


def test_user_errors_are_one_line(conf, tmp_path):
    one_line_error(run_dialer("-c", "sales", "-a", "create", config=conf), 2, "already exists")
    one_line_error(run_dialer("-c", "nope", "-a", "count", config=conf), 2, "'nope' does not exist")
    one_line_error(run_dialer("-a", "count", config=conf), 2, "-c NAME")
    one_line_error(run_dialer("-c", "sales", "-a", "frobnicate", config=conf), 2, "unknown action")
    one_line_error(run_dialer("-c", "sales", "-a", "insert", "-p", "12ab", config=conf), 2, "'12ab'")
    one_line_error(run_dialer("-c", "sales", "-a", "insert", config=conf), 2, "-p PHONE")
    one_line_error(run_dialer("--bogus", config=conf), 2, "--bogus")
    one_line_error(run_dialer("-c", "sales", "-a", "file", "-p", tmp_path / "missing.txt", config=conf), 2,
                   "missing.txt")
    one_line_error(run_dialer("-c", "sales", "-a", "count", config=tmp_path / "nope.conf"), 2, "nope.conf")


def test_config_from_environment(conf):
    proc = run_dialer("-c", "sales", "-a", "count", env={"DIALER_CONFIG": str(conf)}, check=0)
    assert proc.stdout == "0\n"


def test_help_and_version():
    out = run_dialer("-help", check=0).stdout
    for word in ("-campaign", "-paramater", "createdatabase", "statistics", "repare", "dnc-add", "exit status"):
        assert word in out
    assert run_dialer("-V", check=0).stdout.startswith("dialer ")


def test_k_is_accepted_and_said_to_have_no_effect(conf):
    proc = run_dialer("-k", "-c", "sales", "-a", "count", config=conf, check=0)
    assert proc.stdout == "0\n"
    assert proc.stderr == "dialer: warning: -k (clipping) has no effect in this dialer (accepted for compatibility)\n"


@pytest.mark.parametrize("flag,key,debug", [(False, "false", False), (True, "false", True), (False, "true", True)])
def test_debug_flag_and_debug_key_are_one_mode(dialer_conf, flag, key, debug):
    """--debug is [general] debug=true for one run: both turn on verbose logs and tracebacks."""
    from dialer import cli
    conf = dialer_conf(general={"debug": key})
    args = cli.build_parser().parse_args(["-C", str(conf)] + (["--debug"] if flag else []))
    cfg = cli._load_config(args)
    assert (cfg.general.debug, args.debug) == (debug, debug)


# ---- dialer --check-config ----------------------------------------------------------------

def _conf_files(tmp_path, main, **dropins):
    (tmp_path / "dialer.d").mkdir(exist_ok=True)
    for name, text in dropins.items():
        (tmp_path / "dialer.d" / f"{name}.conf").write_text(text)
    path = tmp_path / "dialer.conf"
    path.write_text(main)
    return path


def test_check_config_ok_lists_the_campaigns(tmp_path):
    conf = _conf_files(tmp_path, "[default]\nuri=http://x/\n[sales]\nmaxlines=4\n",
                       survey="[survey]\nmode=dialplan\ncontext=c\nextension=s\nactive=false\ntimeslot=9h-12h\n")
    proc = run_dialer("--check-config", config=conf, check=0)
    assert proc.stderr == ""
    lines = proc.stdout.splitlines()
    assert lines[0] == f"{conf}: ok: 2 file(s), 2 campaign(s), 0 warning(s)"
    assert lines[1].startswith("[sales] mode=voximal, uri=http://x/, dialformat=SIP/%s, maxlines=4, maxcaps=10,")
    assert lines[2].startswith("[survey] (paused: active=false) mode=dialplan, context=c, extension=s,")
    assert "timeslot=9h-12h" in lines[2]
    assert run_dialer("-t", env={"DIALER_CONFIG": str(conf)}, check=0).stdout == proc.stdout


def test_check_config_warnings_go_to_stderr_and_exit_0(tmp_path):
    conf = _conf_files(tmp_path, "[default]\nuri=x\nmaxline=3\nclipping=true\n")
    proc = run_dialer("--check-config", config=conf, check=0)
    assert proc.stdout.splitlines() == [f"{conf}: ok: 1 file(s), 0 campaign(s), 2 warning(s)",
                                        "no campaign section: nothing would be dialled"]
    assert proc.stderr.splitlines() == [
        f"dialer: warning: {conf}:3: [default] unknown key 'maxline' ignored (did you mean maxlines?)",
        f"dialer: warning: {conf}:4: [default] clipping = 'true' has no effect in this dialer "
        "(accepted for compatibility)"]


@pytest.mark.parametrize("main,dropin,where", [
    ("[sales]\nmaxlines=0\n", None, "dialer.conf:2: [sales] maxlines = '0': expected an integer >= 1"),
    ("[default]\nuri=x\n", "[sales]\ntimeslot=25h-26h\n", "dialer.d/sales.conf:2: [sales] timeslot = '25h-26h'"),
    ("[general\n", None, "dialer.conf:1: '[general' comes before any section"),
])
def test_check_config_bad_config_is_one_line_and_exit_2(tmp_path, main, dropin, where):
    conf = _conf_files(tmp_path, main, **({"sales": dropin} if dropin else {}))
    proc = run_dialer("--check-config", config=conf)
    one_line_error(proc, 2, f"{tmp_path}/{where}")
    assert proc.stdout == ""


def test_check_config_reads_nothing_else(tmp_path):
    """No database, no AMI: a configuration whose servers are unreachable checks fine."""
    conf = _conf_files(tmp_path, "[general]\nmysqlhost=192.0.2.1\nasteriskhost=192.0.2.1\n")
    assert run_dialer("--check-config", config=conf, check=0).stdout.startswith(f"{conf}: ok")


def test_check_config_as_checks_a_candidate_with_the_files_it_joins(tmp_path):
    """Ansible's validate: the candidate is a temporary file; it is checked in place of its
    destination, with the main file and the other campaign files, and errors name the destination."""
    conf = _conf_files(tmp_path, "[default]\nuri=x\nmaxlines=5\n", sales="[sales]\nmaxcaps=2\n")
    candidate = tmp_path / "tmp123"
    candidate.write_text("[survey]\nmaxcaps=3\n")
    dest = tmp_path / "dialer.d" / "survey.conf"
    out = run_dialer("--check-config", "--as", dest, candidate, config=conf, check=0).stdout
    assert out.startswith(f"{conf}: ok: 3 file(s), 2 campaign(s)") and "[survey] " in out and "[sales] " in out
    assert not dest.exists()
    candidate.write_text("[survey]\nmaxcaps=0\n")
    one_line_error(run_dialer("--check-config", "--as", dest, candidate, config=conf), 2,
                   f"{dest}:2: [survey] maxcaps = '0'")
    # The main file replaced: the campaign files still join it.
    candidate.write_text("[default]\nuri=y\nmaxlines=0\n")
    one_line_error(run_dialer("--check-config", "--as", conf, candidate, config=conf), 2, f"{conf}:3:")
    candidate.write_text("[default]\nuri=y\n")
    out = run_dialer("--check-config", "--as", conf, candidate, config=conf, check=0).stdout
    assert "[sales] mode=voximal, uri=y," in out
    one_line_error(run_dialer("--check-config", "--as", tmp_path / "elsewhere.conf", candidate, config=conf), 2,
                   "not a file of this configuration")
    one_line_error(run_dialer("--check-config", "--as", dest, config=conf), 2, "takes one file")
    one_line_error(run_dialer("--check-config", "-a", "count", config=conf), 2, "cannot be combined")


def test_check_config_all_prints_every_setting_that_loads_back(tmp_path):
    import dataclasses

    from dialer import config
    text = ("[general]\nmysqlpassword=Hunter2pw\nmysqlport=3307\n[default]\ntimeslot=mon-fri 9h-18h\n"
            "filter=attempts < 3\nf_mode=areacode\nf_areacode=408,!900\nchanvar=LEADPARAM\n"
            "sipheader1=X-A=b\n[sales]\nuri=http://x/y.vxml\nmaxlines=4\n")
    conf = _conf_files(tmp_path, text)
    out = run_dialer("--check-config", "--all", config=conf, check=0).stdout
    assert "Hunter2pw" not in out and "mysqlpassword=***" in out
    assert f"maxlines=4    ; {conf}:13" in out
    again = config.loads(out.replace("mysqlpassword=***", "mysqlpassword=Hunter2pw"), source="shown.conf")
    original = config.load(conf)
    assert again.general == original.general
    for a, b in ((again.default, original.default), (again.campaigns["sales"], original.campaigns["sales"])):
        assert a.filter.text == b.filter.text
        assert dataclasses.replace(a, filter=None) == dataclasses.replace(b, filter=None)


def test_database_down_exits_3(tmp_path):
    conf = tmp_path / "d.conf"
    conf.write_text("[general]\ndbengine=mysql\nmysqlhost=127.0.0.1\nmysqlport=1\nmysqldatabase=x\n")
    one_line_error(run_dialer("-c", "sales", "-a", "count", config=conf), 3, "unavailable")


def test_wrong_password_exits_3(tmp_path):
    conf = tmp_path / "d.conf"
    conf.write_text("[general]\ndbengine=mysql\nmysqlhost=127.0.0.1\nmysqluser=nosuchuser\n"
                    "mysqlpassword=wrong\nmysqldatabase=x\n")
    one_line_error(run_dialer("-c", "sales", "-a", "count", config=conf), 3, "Access denied")


def test_sqlite_in_missing_directory_is_one_line(tmp_path):
    conf = tmp_path / "d.conf"
    conf.write_text(f"[general]\ndbengine=sqlite\nsqlitepath={tmp_path}/no/such/dir/x.sqlite\n")
    one_line_error(run_dialer("-a", "createdatabase", config=conf), 2, "does not exist")


def test_dnc_actions(conf, tmp_path):
    assert "added 2" in run_dialer("-a", "dnc-add", "-p", "0611111111", "06 22 22 22 22", config=conf,
                                   check=0).stdout
    assert "added 0" in run_dialer("-a", "dnc-add", "-p", "0611111111", config=conf, check=0).stdout
    assert run_dialer("-a", "dnc-count", config=conf, check=0).stdout == "2\n"
    assert run_dialer("-a", "dnc-dump", config=conf, check=0).stdout == "0611111111\n0622222222\n"
    lst = tmp_path / "dnc.txt"
    lst.write_text("0633333333\n0611111111\nnot-a-number\n")
    proc = run_dialer("-a", "dnc-import", "-p", lst, config=conf)
    assert proc.returncode == 1 and "imported 1, rejected 1, duplicates skipped 1" in proc.stdout
    assert "line 3" in (tmp_path / "dnc.txt.rejected").read_text()
    assert "deleted 1" in run_dialer("-a", "dnc-delete", "-p", "0611111111", config=conf, check=0).stdout
    assert run_dialer("-a", "dnc-count", config=conf, check=0).stdout == "2\n"


def test_blacklist_actions(conf, tmp_path):
    one_line_error(run_dialer("-a", "blacklist-count", config=conf), 2, "-c TABLE")
    one_line_error(run_dialer("-a", "blacklist-count", "-c", "bl", config=conf), 2, "does not exist")
    one_line_error(run_dialer("-a", "blacklist-add", "-c", "sales", "-p", "0611111111", config=conf), 2,
                   "is a campaign")
    one_line_error(run_dialer("-a", "blacklist-add", "-c", "bl; DROP TABLE sales", "-p", "0611111111",
                              config=conf), 2, "invalid blacklist table name")
    run_dialer("-a", "blacklist-add", "-c", "bl", "-p", "0611111111", config=conf, check=0)
    lst = tmp_path / "bl.txt"
    lst.write_text("phone\n0644444444\n0655555555\n")
    assert "imported 2" in run_dialer("-a", "blacklist-import", "-c", "bl", "-p", lst, config=conf, check=0).stdout
    assert run_dialer("-a", "blacklist-count", "-c", "bl", config=conf, check=0).stdout == "3\n"
    assert "0655555555" in run_dialer("-a", "blacklist-dump", "-c", "bl", config=conf, check=0).stdout
    run_dialer("-a", "blacklist-delete", "-c", "bl", "-p", "0655555555", config=conf, check=0)
    assert run_dialer("-a", "blacklist-count", "-c", "bl", config=conf, check=0).stdout == "2\n"
    # The campaign was untouched by the injection attempt.
    assert run_dialer("-c", "sales", "-a", "count", config=conf, check=0).stdout == "0\n"


def test_action_with_dialing_mode_is_refused(conf):
    one_line_error(run_dialer("-c", "sales", "-a", "count", "--start", config=conf), 2, "--start")


def test_explain_says_why(dialer_conf):
    conf = dialer_conf("[default]\nattempts=3\nusednc=true\n")
    run_dialer("-c", "sales", "-a", "create", config=conf, check=0)
    run_dialer("-c", "sales", "-a", "insert", "-p", "0612345678", config=conf, check=0)
    out = run_dialer("-c", "sales", "-a", "explain", "-p", "0612345678", config=conf, check=0).stdout
    assert "=> dialable now" in out
    run_dialer("-a", "dnc-add", "-p", "0612345678", config=conf, check=0)
    out = run_dialer("-c", "sales", "-a", "explain", "-p", "06 12 34 56 78", config=conf, check=0).stdout
    assert "do-not-call" in out and "=> not dialable now" in out
    proc = run_dialer("-c", "sales", "-a", "explain", "-p", "0699999999", config=conf)
    assert proc.returncode == 1 and "no lead with phone" in proc.stdout


def test_upgrade_a_table_of_the_original_dialer(mysql_db, tmp_path):
    """A campaign table created by the original dialer is refused until `upgrade` converts it."""
    from tests.conftest import general_section, mysql_connect
    conf = tmp_path / "dialer.conf"
    conf.write_text(general_section("mysql", tmp_path, mysql_db))
    conn = mysql_connect(mysql_db["database"])
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE `old` (id int NOT NULL AUTO_INCREMENT PRIMARY KEY, phone varchar(64), "
                    "datetime timestamp NULL, attempts int DEFAULT 0, pickups int DEFAULT 0, "
                    "disposition int DEFAULT 0, reason varchar(255) DEFAULT 'Unknow', duration int, "
                    "param varchar(255), result varchar(255), cause varchar(255), "
                    "lastupdated timestamp DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP, "
                    "KEY(datetime), KEY(lastupdated))")
        cur.execute("INSERT INTO `old` (phone, attempts, disposition) VALUES ('0611111111', 0, 1), "
                    "('0622222222', 1, 12), ('0633333333', 1, -2)")
    conn.close()
    one_line_error(run_dialer("-c", "old", "-a", "statistics", config=conf), 2, "upgrade")
    assert "added state" in run_dialer("-c", "old", "-a", "upgrade", config=conf, check=0).stdout
    assert "up to date" in run_dialer("-c", "old", "-a", "upgrade", config=conf, check=0).stdout
    data = json.loads(run_dialer("-c", "old", "-a", "statistics", "--format", "json", config=conf, check=0).stdout)
    assert (data["total"], data["dialable_now"], data["final"]) == (3, 2, 1)
    assert "0611111111" in run_dialer("-c", "old", "-a", "dump", config=conf, check=0).stdout
