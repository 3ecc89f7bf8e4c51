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
