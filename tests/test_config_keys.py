"""One test per dialer.conf key: accepted spellings give the typed value, bad ones a one-line error.

Every key goes through `config.loads()` as a user would write it in a file, so the tests see
what the dialer sees: the typed attribute, or the ConfigError naming file, line, section, key,
value and what was expected.
"""
import dataclasses

import pytest

from dialer import config
from dialer.config import CodeFilter
from dialer.config.settings import CAMPAIGN_SETTINGS, GENERAL_SETTINGS

G, C = "general", "campaign"

# key: (scope, [(text, expected value)], [bad texts])
# An expected value that is a callable is a predicate on the loaded value.
CASES = {
    # ---- [general]
    ("debug", G): ([("true", True), ("yes", True), ("On", True), ("1", True), ("false", False), ("no", False),
                    ("OFF", False), ("0", False)], ["maybe", "2", "truee"]),
    ("log", G): ([("true", True), ("0", False)], ["enabled"]),
    ("calllog", G): ([("/var/log/x.log", "/var/log/x.log")], ["", "/tmp/a\x07b"]),
    ("dbengine", G): ([("mysql", "mysql"), ("SQLite", "sqlite"), ("mariadb", "mysql")], ["postgres", ""]),
    ("sqlitepath", G): ([("/srv/d.sqlite", "/srv/d.sqlite")], [""]),
    ("mysqlhost", G): ([("db.example.com", "db.example.com"), ("10.0.0.5", "10.0.0.5"), ("::1", "::1")],
                       ["db host", "-x", "a/b"]),
    ("mysqlport", G): ([("3307", 3307), ("1", 1), ("65535", 65535)], ["0", "65536", "abc", "33.06"]),
    ("mysqlsocket", G): ([("/run/mysqld/mysqld.sock", "/run/mysqld/mysqld.sock"), ("none", None)], ["/a\x01"]),
    ("mysqluser", G): ([("dialer", "dialer"), ("root", "root")], ["ro\x00ot"]),
    ("mysqlpassword", G): ([("s3cr;et", "s3cr;et"), ("", "")], ["pa\x1bss"]),
    ("mysqldatabase", G): ([("dialer", "dialer"), ("dialer_t_01", "dialer_t_01")],
                           ["1dialer", "dia-ler", "x; DROP DATABASE y", "a" * 65]),
    ("asteriskhost", G): ([("pbx1", "pbx1"), ("127.0.0.1", "127.0.0.1")], ["pbx 1", ""]),
    ("asteriskport", G): ([("5038", 5038)], ["0", "70000", "five"]),
    ("asteriskuser", G): ([("dialer", "dialer")], ["dia\x7fler"]),
    ("asteriskpassword", G): ([("1234", "1234")], ["12\x0034"]),
    ("amiping", G): ([("10", 10.0), ("2.5", 2.5), ("1m", 60.0), ("500ms", 0.5)], ["0", "-1", "soon", "5x"]),
    ("amitimeout", G): ([("5", 5.0), ("1.5s", 1.5)], ["0", "abc"]),
    ("metricsaddress", G): ([("127.0.0.1", "127.0.0.1"), ("0.0.0.0", "0.0.0.0"), ("localhost", "localhost")],
                            ["local host", ""]),
    ("metricsport", G): ([("9317", 9317), ("0", 0)], ["-1", "65536", "http"]),
    ("pidfile", G): ([("/run/dialer/d.pid", "/run/dialer/d.pid")], [""]),
    ("statedir", G): ([("/var/lib/dialer", "/var/lib/dialer")], [""]),
    ("drainseconds", G): ([("60", 60.0), ("0", 0.0), ("2m", 120.0)], ["-5", "forever"]),
    ("instance", G): ([("dialer-2", "dialer-2"), ("pbx1.example.com", "pbx1.example.com")],
                      ["two words", "", "x" * 65, "a;b"]),
    ("leaseseconds", G): ([("300", 300), ("5m", 300)], ["0", "0.2", "long"]),
    ("loopms", G): ([("1000", 1000), ("50", 50), ("1s", 1000)], ["0", "fast"]),
    ("historydays", G): ([("400", 400), ("0", 0), ("30", 30)], ["-1", "1.5", "year", ""]),
    ("trunkbreaker", G): ([("true", True), ("off", False)], ["auto", ""]),
    ("trunkfailures", G): ([("20", 20), ("1", 1)], ["0", "-2", "many"]),
    ("trunkfailpercent", G): ([("90", 90), ("0", 0), ("100", 100)], ["101", "-1", "90%"]),
    ("trunkwindow", G): ([("50", 50), ("1", 1)], ["0", "all"]),
    ("trunkbackoff", G): ([("30", 30.0), ("1m", 60.0), ("2.5", 2.5)], ["0", "-1", "later"]),
    ("trunkbackoffmax", G): ([("600", 600.0), ("1h", 3600.0)], ["0", "forever"]),
    ("trunkprobes", G): ([("2", 2), ("1", 1)], ["0", "some"]),
    ("weblisten", G): ([("127.0.0.1:8080", "127.0.0.1:8080"), ("0.0.0.0:443", "0.0.0.0:443"),
                        ("[::1]:8080", "[::1]:8080"), ("[0:0::1]:80", "[::1]:80"), ("web.example.com:8443", "web.example.com:8443"),
                        (" localhost:8080 ", "localhost:8080")],
                       ["8080", "127.0.0.1", "127.0.0.1:0", "127.0.0.1:65536", "::1:8080", "[localhost]:80",
                        "[127.0.0.1]:80", "local host:80", "127.0.0.1:http", ":8080", ""]),
    ("websecretfile", G): ([("/var/lib/dialer/web-secret", "/var/lib/dialer/web-secret")], ["", "/a\x01b"]),
    ("webcertfile", G): ([("none", None)], ["/etc/ssl/a\x07.pem"]),
    ("webkeyfile", G): ([("", None)], ["/etc/ssl/a\x1bb"]),
    ("webworkers", G): ([("2", 2), ("1", 1), ("64", 64)], ["0", "65", "-1", "auto", "1.5"]),
    ("webmaxupload", G): ([("50", 50), ("1", 1), ("4096", 4096)], ["0", "4097", "50MB", ""]),

    # ---- campaign keys
    ("active", C): ([("true", True), ("off", False)], ["paused"]),
    ("mode", C): ([("voximal", "voximal"), ("VXML", "vxml"), ("application", "application"),
                   ("dialplan", "dialplan"), ("notify", "voximal")], ["predictive", ""]),
    ("debug", C): ([("true", True), ("no", False)], ["verbose"]),
    ("calltoday", C): ([("true", True), ("false", False)], ["today"]),
    ("usednc", C): ([("yes", True), ("0", False)], ["dnc"]),
    ("maxlines", C): ([("30", 30), ("1", 1)], ["0", "-3", "abc", "3.5", ""]),
    ("maxcaps", C): ([("10", 10), ("1", 1)], ["0", "ten"]),
    ("trunk", C): ([("SIP", "SIP"), ("pjsip-out", "pjsip-out")], ["SI\x0bP"]),
    ("trunkmaxlines", C): ([("0", 0), ("60", 60)], ["-1", "all"]),
    ("attempts", C): ([("1", 1), ("5", 5)], ["0", "many"]),
    ("attemptsdelay", C): ([("600", 600), ("0", 0), ("00", 0), ("10m", 600), ("1h", 3600), ("1d", 86400)],
                           ["-1", "soon", "10 minutes"]),
    ("retry", C): ([("none", None), ("busy:5m noanswer:1h", {-4: 300, -2: 3600}),
                    ("congestion:2m,voicemail:4h , undefined:10m", {-5: 120, -3: 14400, -1: 600}),
                    ("-4:30 3:1d NoAnswer:0", {-4: 30, 3: 86400, -2: 0})],
                   ["busy", "busy:1m -4:2m", "bsy:5m", "busy:soon", "12:5m", "-8:1m", "busy:1m busy:2m", "sale:1h", ":5m"]),
    ("maxretries", C): ([("", None), ("busy:5 noanswer:3", {-4: 5, -2: 3}), ("fastbusy:1,-1:2", {5: 1, -1: 2})],
                        ["busy:0", "busy:-1", "busy:many", "nobody:3", "6:2", "busy"]),
    ("timeout", C): ([("5000", 5000), ("30s", 30000), ("250ms", 250)], ["0", "-100", "long"]),
    ("dialformat", C): ([("SIP/00%s@voip-out", "SIP/00%s@voip-out"), ("PJSIP/%s@trunk", "PJSIP/%s@trunk"),
                         ("Local/%s@out", "Local/%s@out")],
                        ["SIP/voip-out", "SIP/%s/%s", "SIP/%d@x", "SIP/%s 100%", "SIP/%s@a\x07"]),
    ("dialprefix", C): ([("none", None), ("", None), ("0", "0"), ("+33", "+33"), ("9", "9")],
                        ["9 9", "0/1", "x" * 33]),
    ("callerid", C): ([("9987803065", "9987803065"), ('"Sales" <100>', '"Sales" <100>'), ("none", None)], ["99\x0887"]),
    ("uri", C): ([("http://some/index.vxml", "http://some/index.vxml"), ("none", None)], ["http://x/\x00"]),
    ("application", C): ([("Playback", "Playback"), ("none", None)], ["Play back", "App(1)"]),
    ("data", C): ([("hello-world", "hello-world"), ("", None), ("none", None)], ["a\x05b"]),
    ("context", C): ([("from-dialer", "from-dialer"), ("none", None)], ["from dialer", "ctx;x"]),
    ("extension", C): ([("s", "s"), ("1000", "1000"), ("*98#", "*98#")], ["10 00", "a/b"]),
    ("priority", C): ([("1", 1), ("7", 7), ("start", "start")], ["0", "-1", "two words"]),
    ("dspmode", C): ([("none", "none"), ("amd", "amd"), ("FAX", "fax"), ("both", "both")], ["vad", "1"]),
    ("dspcontext", C): ([("dialer-dsp", "dialer-dsp")], ["dialer dsp", ""]),
    ("answeredcode", C): ([("12", 12), ("10", 10), ("-1", -1)], ["13", "-9", "sale"]),
    ("multiplecalls", C): ([("false", False), ("true", True)], ["twice"]),
    ("timeslot", C): ([("9h-18h", lambda v: str(v) == "9h-18h"),
                       ("9h30-12h,14h-18h", lambda v: v is not None),
                       ("mon-fri 9h-20h; sat 10h-13h", lambda v: v is not None),
                       ("none", None)],
                      ["9-", "25h-26h", "someday 9h-18h"]),
    ("pause", C): ([("none", None), ("12h-14h", lambda v: str(v) == "12h-14h")], ["noon", "12h-"]),
    ("timestart", C): ([("8", 8), ("0", 0), ("none", None)], ["25", "-1", "8h"]),
    ("timestop", C): ([("20", 20), ("24", 24)], ["25", "eight"]),
    ("timezone", C): ([("Europe/Paris", "Europe/Paris"), ("UTC", "UTC"), ("none", None)],
                      ["Mars/Olympus", "../../etc/passwd", "/usr/share/zoneinfo/UTC", "Europe/Paris "+"x"]),
    ("defaultregion", C): ([("FR", "FR"), ("us", "US"), ("none", None)], ["XX", "France", "1"]),
    ("leadtimezone", C): ([("auto", "auto"), ("AUTO", "auto"), ("none", None), ("America/New_York", "America/New_York")],
                          ["automatic", "Nowhere/City"]),
    ("orderby", C): ([("attempts_pickups", "attempts_pickups"), ("id", "id"), ("phone", "phone"),
                      ("random", "random")], ["rand()", "name", "id; DROP TABLE x"]),
    ("skip", C): ([("0", 0), ("100", 100)], ["-1", "some"]),
    ("filter", C): ([("0", None), ("none", None), ("", None),
                     ("attempts < 3 AND phone LIKE '33%'", lambda v: v is not None)],
                    ["1=1; DROP TABLE x", "sleep(5) > 0", "nosuchcolumn = 1", "phone = '1' -- x"]),
    ("blacklist", C): ([("none", None), ("0", None), ("dnc_list", "dnc_list")],
                       ["dnc-list", "x; DROP TABLE y", "1abc"]),
    ("f_mode", C): ([("0", None), ("none", None), ("areacode", "areacode"), ("acprefix", "acprefix"),
                     ("zipcode", "zipcode")], ["city", "1"]),
    ("f_areacode", C): ([("0", CodeFilter()), ("408", CodeFilter(("408",))),
                         ("408, 415,!900", CodeFilter(("408", "415"), ("900",)))], ["40a", "408,,415", "!"]),
    ("f_areacode_prefix", C): ([("408376", CodeFilter(("408376",))), ("none", CodeFilter())], ["408-376"]),
    ("f_zipcode", C): ([("75001,!75002", CodeFilter(("75001",), ("75002",))), ("SW1A 1AA", CodeFilter(("SW1A 1AA",)))],
                       ["750;01", "@home"]),
    ("chanvar", C): ([("0", None), ("LEADPARAM", "LEADPARAM"), ("FOO=bar", "FOO=bar"), ("__INHERIT=1", "__INHERIT=1")],
                     ["1FOO=bar", "FOO BAR=1", "=x"]),
    ("chanstr", C): ([("0", None), ("GREETING=hello", "GREETING=hello")], ["GREETING", "G R=1"]),
    ("chanvar1", C): ([("", None), ("A=1", "A=1"), ("B = two words", "B=two words")], ["A", "A-B=1"]),
    ("chanvar2", C): ([("", None), ("B=2", "B=2")], ["=2"]),
    ("sipheader1", C): ([("", None), ("X-Campaign: sales", "X-Campaign: sales"), ("X-Campaign=sales", "X-Campaign: sales")],
                        ["no header", "X Campaign: sales", "X-A: b\x01"]),
    ("sipheader2", C): ([("0", None), ("P-Asserted-Identity: <sip:100@x>", "P-Asserted-Identity: <sip:100@x>")],
                        ["Bad Header: x"]),
    ("clipping", C): ([("true", True), ("false", False)], ["clip"]),
    ("retries", C): ([("0", 0), ("3", 3)], ["-1", "x"]),
    ("ringonly", C): ([("false", False), ("true", True)], ["ring"]),
    ("unanswered", C): ([("false", False), ("yes", True)], ["n/a"]),
}


def _text(scope, key, value):
    if scope == G:
        return f"; dialer.conf\n[default]\n[general]\n{key}={value}\n"
    return f"[general]\n[default]\n[sales]\n{key}={value}\n"


def _get(cfg, scope, key):
    return getattr(cfg.general if scope == G else cfg.campaigns["sales"], key)


def test_every_key_has_cases():
    declared = {(k, G) for k in GENERAL_SETTINGS} | {(k, C) for k in CAMPAIGN_SETTINGS}
    assert declared == set(CASES)


@pytest.mark.parametrize("key,scope", sorted(CASES), ids=lambda v: v)
def test_key(key, scope):
    good, bad = CASES[(key, scope)]
    for text, expected in good:
        cfg = config.loads(_text(scope, key, text), source="/etc/dialer.conf")
        value = _get(cfg, scope, key)
        if callable(expected):
            assert expected(value), f"{key}={text!r} gave {value!r}"
        else:
            assert value == expected, f"{key}={text!r} gave {value!r}"
        assert not [w for w in cfg.warnings if "unknown" in w or "belongs" in w], cfg.warnings
    for text in bad:
        with pytest.raises(config.ConfigError) as err:
            config.loads(_text(scope, key, text), source="/etc/dialer.conf")
        message = str(err.value)
        section = "general" if scope == G else "sales"
        assert message.startswith(f"/etc/dialer.conf:4: [{section}] {key} = "), message
        assert ": expected " in message and "\n" not in message, message
        if not GENERAL_SETTINGS.get(key, CAMPAIGN_SETTINGS.get(key)).secret:
            assert repr(text.strip()) in message, message


@pytest.mark.parametrize("setting", list(GENERAL_SETTINGS.values()) + list(CAMPAIGN_SETTINGS.values()),
                         ids=lambda s: f"{s.name}-{s.scope}")
def test_default_is_a_valid_value(setting):
    """The built-in default of every key is what an empty file gives, and is itself valid."""
    cfg = config.loads("[general]\n[default]\n[sales]\nuri=http://x\n")
    obj = cfg.general if setting.scope == G else cfg.campaigns["sales"]
    if setting.name == "uri":
        return
    assert getattr(obj, setting.name) == setting.default_value()


def test_aliases_function_and_url():
    cfg = config.loads("[default]\nfunction=vxml\nurl=http://a/b.vxml\n")
    assert cfg.default.mode == "vxml" and cfg.default.uri == "http://a/b.vxml"


def test_alias_and_key_contradicting_in_one_section_is_an_error():
    with pytest.raises(config.ConfigError, match=r"dialer.conf:3: \[default\] mode = 'dialplan' contradicts function"):
        config.loads("[default]\nfunction=voximal\nmode=dialplan\n")


def test_alias_and_key_agreeing_is_fine():
    cfg = config.loads("[default]\nfunction=notify\nmode=voximal\n")   # the original's sample config
    assert cfg.default.mode == "voximal" and not cfg.warnings


def test_timestart_timestop_map_onto_timeslot():
    cfg = config.loads("[default]\ntimestart=8\ntimestop=20\n")
    assert str(cfg.default.timeslot) == "8h-20h"
    assert (cfg.default.timestart, cfg.default.timestop) == (8, 20)


def test_timeslot_wins_over_timestart_in_the_same_section_with_a_warning():
    cfg = config.loads("[default]\ntimeslot=9h-18h\ntimestart=8\ntimestop=20\n")
    assert str(cfg.default.timeslot) == "9h-18h"
    assert any("timestart/timestop ignored" in w and "dialer.conf:3:" in w for w in cfg.warnings), cfg.warnings


def test_campaign_timestart_overrides_default_timeslot():
    cfg = config.loads("[default]\ntimeslot=9h-18h\n[sales]\ntimestart=10\ntimestop=12\nuri=x\n")
    assert str(cfg.campaigns["sales"].timeslot) == "10h-12h"
    assert str(cfg.default.timeslot) == "9h-18h"


def test_campaign_timeslot_overrides_default_timestart():
    cfg = config.loads("[default]\ntimestart=8\ntimestop=20\n[sales]\ntimeslot=10h-12h\nuri=x\n")
    assert str(cfg.campaigns["sales"].timeslot) == "10h-12h"


def test_only_timestop_means_from_midnight():
    cfg = config.loads("[default]\ntimestop=12\n")
    assert str(cfg.default.timeslot) == "0h-12h"


def test_equal_timestart_timestop_is_an_error():
    with pytest.raises(config.ConfigError) as err:
        config.loads("[default]\ntimestart=9\ntimestop=9\n", source="x.conf")
    assert str(err.value).startswith("x.conf:3: [default] timestart = 9, timestop = 9: expected ")


def test_chanvar_pairs_keep_name_and_value():
    cfg = config.loads("[default]\nchanvar=LEADPARAM\nchanvar1=A = 1\nsipheader1=X-Campaign=sales\n")
    d = cfg.default
    assert (d.chanvar.name, d.chanvar.value) == ("LEADPARAM", None)
    assert (d.chanvar1.name, d.chanvar1.value) == ("A", "1")
    assert (d.sipheader1.name, d.sipheader1.value) == ("X-Campaign", "sales")
    assert d.chanvars == ["LEADPARAM", "A=1"] and d.sipheaders == ["X-Campaign: sales"]


def test_code_filter_selected_by_f_mode():
    cfg = config.loads("[default]\nf_mode=zipcode\nf_zipcode=75001,!75002\n")
    assert cfg.default.code_filter == CodeFilter(("75001",), ("75002",))
    assert config.loads("[default]\n").default.code_filter == CodeFilter()


def test_code_list_without_matching_f_mode_warns():
    cfg = config.loads("[default]\n[sales]\nuri=x\nf_areacode=408\n")
    assert any("dialer.conf:4: [sales] f_areacode has no effect" in w for w in cfg.warnings), cfg.warnings


@pytest.mark.parametrize("key", ["retries", "ringonly", "unanswered", "clipping", "debug"])
def test_inert_compatibility_keys_warn_only_when_changed(key):
    default = CAMPAIGN_SETTINGS[key].default
    assert not config.loads(f"[default]\n{key}={str(default).lower()}\n").warnings
    cfg = config.loads(f"[default]\n{key}={'true' if default is False else '3'}\n")
    assert cfg.warnings == [f"dialer.conf:2: [default] {key} = {'true' if default is False else '3'!r} has no effect "
                            "in this dialer (accepted for compatibility)"]


@pytest.mark.parametrize("mode,missing", [("voximal", "uri"), ("vxml", "uri"), ("application", "application"),
                                          ("dialplan", "context and extension")])
def test_active_campaign_missing_what_its_mode_needs_warns(mode, missing):
    cfg = config.loads(f"[default]\nmode={mode}\n[sales]\nmaxlines=3\n")
    assert any(f"[sales] mode = {mode} but {missing} " in w for w in cfg.warnings), cfg.warnings
    assert not config.loads(f"[default]\nmode={mode}\n").warnings   # [default] alone is only defaults


def test_relative_paths_are_relative_to_the_file(tmp_path):
    conf = tmp_path / "dialer.conf"
    conf.write_text("[general]\nsqlitepath=data/dialer.sqlite\nstatedir=state\n")
    cfg = config.load(conf)
    assert cfg.general.sqlitepath == str(tmp_path / "data" / "dialer.sqlite")
    assert cfg.general.statedir == str(tmp_path / "state")


def test_instance_defaults_to_the_host_name():
    import socket
    assert config.loads("").general.instance == socket.gethostname().split(".")[0]


def test_window_spelling_of_the_last_file_wins(tmp_path):
    (tmp_path / "dialer.d").mkdir()
    (tmp_path / "dialer.conf").write_text("[default]\ntimeslot=9h-18h\n")
    (tmp_path / "dialer.d" / "10-hours.conf").write_text("[default]\ntimestart=7\ntimestop=21\n")
    cfg = config.load(tmp_path / "dialer.conf")
    assert str(cfg.default.timeslot) == "7h-21h" and cfg.warnings == []


def test_settings_survive_copy_and_pickle():
    import copy
    import pickle
    cfg = config.loads("[default]\nchanvar=A=1\nsipheader1=X-A: b\ntimeslot=9h-18h\nfilter=attempts < 2\n")
    for clone in (copy.deepcopy(cfg.default), pickle.loads(pickle.dumps(cfg.default))):
        # Filter (dialer.rules) has no __eq__ of its own: compare its text, and the rest as a whole.
        assert clone.filter.text == cfg.default.filter.text
        assert dataclasses.replace(clone, filter=None) == dataclasses.replace(cfg.default, filter=None)
        assert clone.chanvar.name == "A" and clone.sipheader1.value == "b"


def test_explicit_timeslot_none_in_a_campaign_beats_default_hours():
    """`timeslot=none` in [sales] means any time, even though [default] says 9 to 18 in hours;
    timestart/timestop are then cleared so that no reader falls back on them."""
    cfg = config.loads("[default]\ntimestart=9\ntimestop=18\n[sales]\nuri=x\ntimeslot=none\n")
    sales = cfg.campaigns["sales"]
    assert sales.timeslot is None and (sales.timestart, sales.timestop) == (None, None)
    assert str(cfg.default.timeslot) == "9h-18h" and (cfg.default.timestart, cfg.default.timestop) == (9, 18)
    from dialer.rules import selection
    assert selection.campaign_window(sales).text == "always"


# ---- [general] keys that go together

def test_webcertfile_and_webkeyfile_together_serve_https(tmp_path):
    cfg = config.loads("[general]\nwebcertfile=/etc/ssl/web.pem\nwebkeyfile=/etc/ssl/web.key\n")
    assert (cfg.general.webcertfile, cfg.general.webkeyfile) == ("/etc/ssl/web.pem", "/etc/ssl/web.key")


def test_relative_web_files_are_relative_to_the_file_that_sets_them(tmp_path):
    conf = tmp_path / "dialer.conf"
    conf.write_text("[general]\nwebcertfile=tls/c.pem\nwebkeyfile=tls/k.pem\nwebsecretfile=secret\n")
    general = config.load(conf).general
    assert general.webcertfile == str(tmp_path / "tls" / "c.pem") and general.websecretfile == str(tmp_path / "secret")


@pytest.mark.parametrize("key,other", [("webcertfile", "webkeyfile"), ("webkeyfile", "webcertfile")])
def test_webcertfile_without_webkeyfile_is_a_one_line_error(key, other):
    with pytest.raises(config.ConfigError) as err:
        config.loads(f"[general]\nwebworkers=3\n{key}=/etc/ssl/x.pem\n", source="/etc/dialer.conf")
    assert str(err.value) == (f"/etc/dialer.conf:3: [general] {key} = '/etc/ssl/x.pem': expected {other} set too "
                               "(both for HTTPS, or neither for plain HTTP)")


def test_the_web_key_pair_may_come_from_two_files(tmp_path):
    main = tmp_path / "dialer.conf"
    main.write_text("[general]\nwebcertfile=/etc/ssl/web.pem\n")
    (tmp_path / "dialer.d").mkdir()
    (tmp_path / "dialer.d" / "10-web.conf").write_text("[general]\nwebkeyfile=/etc/ssl/web.key\n")
    assert config.load(main).general.webkeyfile == "/etc/ssl/web.key"
