"""Loading dialer.conf: the manual's file, layering with dialer.d, comments, errors, warnings, secrets."""
import os

import pytest

from dialer import config

# The manual's example configuration ("Configuration file"), verbatim: its two [default] blocks
# joined, the markdown's trailing double spaces kept.
MANUAL_CONF = """\
;  
; Dialer Configuration  
;  
  
[general]  
debug=true  
log=true  
mysqlhost=localhost  
mysqluser=dialer  
mysqlpassword=dialeri6net  
asteriskuser=dialer  
asteriskpassword=1234  
asteriskhost=localhost  
asteriskport=5038  
mysqldatabase=dialer  
  
[default]  
active=true  
function=voximal  
calltoday=true ;this avoid call attempts same day, caution!  
usednc=false  
maxlines=30  
attemptsdelay=600  
timeout=5000 ; max time in ms before line comes UP  
dspmode=none  
multiplecalls=false  
trunk=SIP  
dialprefix=none  
callerid=9987803065  
filter=0
chanvar=0
chanstr=0
debug=true
skip=0
f_mode=0
f_areacode=0
f_areacode_prefix=0
f_zipcode=0
orderby=attempts_pickups
mode=voximal
timeslot=9h-18h
pause=none
blacklist=none
attempts=1
dialformat=SIP/00%s@voip-out
maxcaps=10
"""

# The original program's dialer.conf.sample (original-implementation.md "Extra keys").
ORIGINAL_SAMPLE = """\
;This file can be overriwten by dialer process

[general]
debug=false
log=false
mysqlhost=localhost
mysqluser=dialer
mysqlpassword=dialeri6net
mysqldatabase=dialer
asteriskhost=localhost
asteriskport=5038
asteriskuser=dialer
asteriskpassword=1234

[default]
active=true
debug=false
function=notify
;timeslot=Fri,
;pause=12h-14h
calltoday=true
blacklist=none
maxlines=1
timeout=10000
multiplecalls=false
dialformat=SIP/%s@test
callerid=0033988998899
url=file:///opt/dialer/web/vxml/default.vxml
filter=none
chanvar=0
chanstr=0
skip=0
orderby=attempts_pickups
mode=voximal
retries=0
attempts=1
attemptsdelay=00
clipping=false
timestart=0
timestop=24
ringonly=false
chanvar1=
chanvar2=
sipheader1=
sipheader2=
unanswered=false
"""


def test_manual_example_loads_with_its_values():
    cfg = config.loads(MANUAL_CONF, source="/etc/dialer.conf")
    g, d = cfg.general, cfg.default
    assert (g.debug, g.log, g.mysqlhost, g.mysqluser, g.mysqlpassword, g.mysqldatabase) == \
        (True, True, "localhost", "dialer", "dialeri6net", "dialer")
    assert (g.asteriskhost, g.asteriskport, g.asteriskuser, g.asteriskpassword) == ("localhost", 5038, "dialer", "1234")
    assert g.dbengine == "mysql" and g.mysqlport == 3306
    assert d.calltoday is True            # the inline ";this avoid ..." comment is not part of the value
    assert d.timeout == 5000              # "; max time in ms ..." neither
    assert (d.active, d.mode, d.usednc, d.maxlines, d.maxcaps, d.attemptsdelay) == (True, "voximal", False, 30, 10, 600)
    assert (d.dspmode, d.multiplecalls, d.trunk, d.dialprefix, d.callerid) == ("none", False, "SIP", None, "9987803065")
    assert (d.filter, d.chanvar, d.chanstr, d.skip, d.f_mode, d.orderby) == (None, None, None, 0, None, "attempts_pickups")
    assert str(d.timeslot) == "9h-18h" and d.pause is None and d.blacklist is None
    assert (d.attempts, d.dialformat, d.debug) == (1, "SIP/00%s@voip-out", True)
    assert cfg.campaigns == {}            # a [default]-only file has no campaigns
    # The per-campaign debug of the manual's example does nothing here: the one warning.
    assert cfg.warnings == ["/etc/dialer.conf:33: [default] debug = 'true' has no effect in this dialer "
                            "(accepted for compatibility)"]


def test_original_sample_config_loads():
    cfg = config.loads(ORIGINAL_SAMPLE)
    d = cfg.default
    assert d.mode == "voximal" and d.uri == "file:///opt/dialer/web/vxml/default.vxml"
    assert d.attemptsdelay == 0 and d.chanvar1 is None and d.sipheader1 is None
    assert d.timeslot is not None and d.timeslot.is_open  # timestart=0/timestop=24: all day
    assert cfg.warnings == []


def test_campaign_sections_inherit_default():
    cfg = config.loads(MANUAL_CONF + "\n[sales]\nmaxlines=5\nuri=http://x/a.vxml\n\n[support]\nactive=no\n")
    assert list(cfg.campaigns) == ["sales", "support"]
    sales = cfg.campaigns["sales"]
    assert sales.name == "sales" and sales.maxlines == 5 and sales.maxcaps == 10
    assert sales.dialformat == "SIP/00%s@voip-out" and str(sales.timeslot) == "9h-18h"
    assert cfg.campaigns["support"].active is False
    assert cfg.default.maxlines == 30


def test_campaign_lookup_for_a_name_without_section():
    cfg = config.loads(MANUAL_CONF + "[sales]\nmaxlines=5\nuri=x\n")
    assert cfg.campaign("sales").maxlines == 5
    other = cfg.campaign("newlist")
    assert other.name == "newlist" and other.maxlines == 30 and other.dialformat == "SIP/00%s@voip-out"
    assert "newlist" not in cfg.campaigns


@pytest.mark.parametrize("name", ["x; DROP TABLE y", "1abc", "a-b", "", "a" * 65, "default", "general"])
def test_campaign_lookup_refuses_non_identifiers(name):
    with pytest.raises(config.ConfigError) as err:
        config.loads("").campaign(name)
    assert repr(name) in str(err.value)


@pytest.mark.parametrize("section", ["sales-2024", "1st", "my campaign", "x;y", "a" * 65])
def test_campaign_section_names_must_be_identifiers(section):
    with pytest.raises(config.ConfigError) as err:
        config.loads(f"[general]\n\n[{section}]\nmaxlines=3\n", source="/etc/dialer.conf")
    message = str(err.value)
    assert message.startswith(f"/etc/dialer.conf:3: campaign section {section!r}: expected an identifier"), message


def test_reserved_sections_in_any_case():
    cfg = config.loads("[General]\nmysqlport=3307\n[DEFAULT]\nmaxlines=7\n")
    assert cfg.general.mysqlport == 3307 and cfg.default.maxlines == 7 and cfg.campaigns == {}


def test_hash_and_semicolon_comments():
    cfg = config.loads("# full line\n; another\n[default]\nmaxlines = 12   # twelve\n"
                       "uri=http://h/p.vxml#frag ; the fragment stays\n")
    assert cfg.default.maxlines == 12 and cfg.default.uri == "http://h/p.vxml#frag"


def test_filter_keeps_semicolon_inside_value_but_not_after_blank():
    cfg = config.loads("[default]\ntimeslot=mon-fri 9h-20h; sat 10h-13h ; weekdays and saturday morning\n")
    assert str(cfg.default.timeslot).startswith("mon-fri")
    assert "sat" in str(cfg.default.timeslot)


# ---- errors: one line, file:line, section, key, value, expectation

def test_error_message_format():
    with pytest.raises(config.ConfigError) as err:
        config.loads("[general]\n\n[sales]\n; comment\nmaxlines=abc\n", source="/etc/dialer.conf")
    assert str(err.value) == "/etc/dialer.conf:5: [sales] maxlines = 'abc': expected an integer >= 1"


def test_error_in_default_is_reported_once_against_default():
    with pytest.raises(config.ConfigError) as err:
        config.loads("[default]\norderby=name\n[sales]\n", source="d.conf")
    assert str(err.value) == ("d.conf:2: [default] orderby = 'name': "
                              "expected one of attempts_pickups, id, phone, random")


def test_duplicate_key_in_a_section_is_an_error():
    with pytest.raises(config.ConfigError) as err:
        config.loads("[default]\nmaxlines=3\nmaxcaps=2\nmaxlines=4\n", source="/etc/dialer.conf")
    assert str(err.value).startswith("/etc/dialer.conf:4: [default] maxlines: set twice in the same section")


def test_duplicate_section_in_a_file_is_an_error():
    with pytest.raises(config.ConfigError) as err:
        config.loads("[sales]\nmaxlines=3\n[other]\n[sales]\n", source="c.conf")
    assert str(err.value).startswith("c.conf:4: [sales] appears twice in this file")


def test_key_before_any_section_is_an_error():
    with pytest.raises(config.ConfigError) as err:
        config.loads("maxlines=3\n[default]\n", source="c.conf")
    assert str(err.value).startswith("c.conf:1: 'maxlines=3' comes before any section")


def test_line_without_equals_is_an_error_with_its_line():
    with pytest.raises(config.ConfigError) as err:
        config.loads("[default]\nmaxlines=3\nmaxcaps 4\n", source="c.conf")
    assert str(err.value).startswith("c.conf:3: cannot parse 'maxcaps 4': expected key=value")


def test_continuation_line_is_refused():
    with pytest.raises(config.ConfigError) as err:
        config.loads("[default]\ncallerid=100\n   200\n", source="c.conf")
    assert str(err.value).startswith("c.conf:2: [default] callerid = '100\\n200': expected text on a single line")


def test_missing_file_is_an_error(tmp_path):
    with pytest.raises(config.ConfigError) as err:
        config.load(tmp_path / "nope.conf")
    assert str(err.value) == f"{tmp_path / 'nope.conf'}: cannot read the configuration: No such file or directory"


def test_non_utf8_file_is_an_error_with_its_line(tmp_path):
    conf = tmp_path / "dialer.conf"
    conf.write_bytes(b"[default]\ncallerid=caf\xe9\n")
    with pytest.raises(config.ConfigError) as err:
        config.load(conf)
    assert str(err.value).startswith(f"{conf}:2: not valid UTF-8")


def test_utf8_bom_is_accepted(tmp_path):
    conf = tmp_path / "dialer.conf"
    conf.write_bytes(b"\xef\xbb\xbf[default]\nmaxlines=4\n")
    assert config.load(conf).default.maxlines == 4


# ---- warnings

def test_unknown_key_warns_with_file_line_and_closest_key():
    cfg = config.loads("[general]\n[default]\nmaxline=30\nfrobnicate=1\n", source="/etc/dialer.conf")
    assert cfg.warnings == [
        "/etc/dialer.conf:3: [default] unknown key 'maxline' ignored (did you mean maxlines?)",
        "/etc/dialer.conf:4: [default] unknown key 'frobnicate' ignored",
    ]
    assert cfg.default.maxlines == 30   # the default, not the typo's value


def test_key_in_the_wrong_section_warns():
    cfg = config.loads("[general]\nmaxlines=3\nmaxcap=4\n[default]\nmysqlhost=db\n", source="c.conf")
    assert cfg.warnings == [
        "c.conf:2: [general] maxlines: this key belongs in [default] or a campaign section; ignored here",
        "c.conf:3: [general] unknown key 'maxcap' ignored (did you mean maxcaps? "
        "it belongs in [default] or a campaign section)",
        "c.conf:5: [default] mysqlhost: this key belongs in [general]; ignored here",
    ]


# ---- layering: main file, then <dir>/dialer.d/*.conf in name order

def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_dialer_d_layers_in_name_order(tmp_path):
    main = _write(tmp_path / "dialer.conf", "[general]\nmysqlhost=db1\n[default]\nmaxlines=30\nmaxcaps=10\n")
    _write(tmp_path / "dialer.d" / "20-sales.conf", "[sales]\nmaxlines=8\nuri=http://x\n[default]\nmaxcaps=3\n")
    _write(tmp_path / "dialer.d" / "10-db.conf", "[general]\nmysqlhost=db2\n[sales]\nmaxlines=5\n")
    _write(tmp_path / "dialer.d" / "30-sales.conf", "[sales]\nattempts=4\n")
    _write(tmp_path / "dialer.d" / "README", "not a conf file = ignored\n")
    cfg = config.load(main)
    assert cfg.general.mysqlhost == "db2"
    sales = cfg.campaigns["sales"]
    assert (sales.maxlines, sales.attempts, sales.maxcaps) == (8, 4, 3)   # 20- after 10-; [default] from 20- too
    assert cfg.default.maxlines == 30 and cfg.default.maxcaps == 3
    assert cfg.files == [str(main)] + [str(tmp_path / "dialer.d" / f) for f in
                                       ("10-db.conf", "20-sales.conf", "30-sales.conf")]


def test_missing_dialer_d_is_fine(tmp_path):
    main = _write(tmp_path / "dialer.conf", "[default]\nmaxlines=2\n")
    cfg = config.load(main)
    assert cfg.default.maxlines == 2 and cfg.files == [str(main)]


def test_error_in_a_dropin_names_the_dropin(tmp_path):
    main = _write(tmp_path / "dialer.conf", "[default]\n")
    bad = _write(tmp_path / "dialer.d" / "50-x.conf", "[sales]\n\nattempts=zero\n")
    with pytest.raises(config.ConfigError) as err:
        config.load(main)
    assert str(err.value) == f"{bad}:3: [sales] attempts = 'zero': expected an integer >= 1"


def test_a_key_may_be_overridden_in_a_later_file(tmp_path):
    """Duplicates are errors only inside one file; across files the later one wins."""
    main = _write(tmp_path / "dialer.conf", "[default]\nmaxlines=3\n")
    _write(tmp_path / "dialer.d" / "a.conf", "[default]\nmaxlines=4\n")
    assert config.load(main).default.maxlines == 4


def test_path_from_environment(tmp_path, monkeypatch):
    main = _write(tmp_path / "other.conf", "[default]\nmaxlines=9\n")
    monkeypatch.setenv("DIALER_CONFIG", str(main))
    assert config.load().default.maxlines == 9


def test_default_path_is_etc_dialer_conf(monkeypatch):
    monkeypatch.delenv("DIALER_CONFIG", raising=False)
    assert config.DEFAULT_PATH == "/etc/dialer.conf"
    if not os.path.exists("/etc/dialer.conf"):
        with pytest.raises(config.ConfigError, match="^/etc/dialer.conf: cannot read"):
            config.load()


def test_loads_many_layers_texts():
    cfg = config.loads_many([("[default]\nmaxlines=3\n", "a.conf"), ("[default]\nmaxlines=5\n", "b.conf")])
    assert cfg.default.maxlines == 5 and cfg.files == ["a.conf", "b.conf"]


# ---- secrets

SECRET_CONF = "[general]\nmysqlpassword=Hunter2pw\nasteriskpassword=AmiS3cret\n"


def test_secrets_are_masked_in_repr():
    cfg = config.loads(SECRET_CONF)
    assert cfg.general.mysqlpassword == "Hunter2pw" and cfg.general.asteriskpassword == "AmiS3cret"
    for text in (repr(cfg), repr(cfg.general), str(cfg.general)):
        assert "Hunter2pw" not in text and "AmiS3cret" not in text
        assert "mysqlpassword='***'" in text and "asteriskpassword='***'" in text


def test_secrets_are_masked_in_errors():
    with pytest.raises(config.ConfigError) as err:
        config.loads("[general]\nmysqlpassword=Hunter2\x01pw\n", source="c.conf")
    assert str(err.value) == "c.conf:2: [general] mysqlpassword = '***': expected a secret without control characters"
    with pytest.raises(config.ConfigError) as err:
        config.loads("[general]\nasteriskpassword AmiS3cret\n", source="c.conf")
    assert "AmiS3cret" not in str(err.value)


def test_empty_secret_is_shown_as_empty():
    assert "mysqlpassword=''" in repr(config.loads("").general)


# ---- the shipped example, installed as /etc/dialer.conf by the package

SHIPPED = os.path.join(os.path.dirname(config.__file__), "..", "data", "dialer.conf")


def test_shipped_dialer_conf_loads_cleanly_with_safe_defaults():
    cfg = config.load(SHIPPED)
    assert cfg.warnings == []
    assert cfg.campaigns == {}
    assert cfg.general.dbengine == "mysql"
    assert cfg.general.metricsaddress == "127.0.0.1"
    assert cfg.default.multiplecalls is False and cfg.default.timeslot is not None


def test_shipped_dialer_conf_mentions_every_key():
    text = open(SHIPPED, encoding="utf-8").read()
    for setting in config.SETTINGS:
        assert f"\n{setting.name}=" in text or f"\n;{setting.name}=" in text, setting.name


def _manual():
    """The user manual: docs/*.md (README.md only indexes it)."""
    docs = os.path.join(os.path.dirname(__file__), "..", "docs")
    return "\n".join(open(os.path.join(docs, f), encoding="utf-8").read()
                     for f in sorted(os.listdir(docs)) if f.endswith(".md") and f != "DESIGN.md")


def test_docs_describe_every_key():
    doc = _manual()
    for setting in config.SETTINGS:
        assert f"`{setting.name}`" in doc, setting.name


def test_docs_example_loads_without_warnings():
    import re
    doc = open(os.path.join(os.path.dirname(__file__), "..", "docs", "config.md"), encoding="utf-8").read()
    example = re.search(r"```ini\n(.*?)```", doc, re.S).group(1)
    cfg = config.loads(example)
    assert cfg.warnings == [] and list(cfg.campaigns) == ["sales", "survey"]
    assert cfg.campaigns["survey"].mode == "dialplan" and cfg.campaigns["sales"].maxlines == 10


# ---- through the real `dialer` command, as a user meets it

def test_cli_invalid_value_exits_2_with_one_line(tmp_path):
    from tests.conftest import run_dialer
    conf = tmp_path / "dialer.conf"
    conf.write_text(f"[general]\ndbengine=sqlite\nsqlitepath={tmp_path / 'd.sqlite'}\n[sales]\nmaxlines=abc\n")
    proc = run_dialer("-c", "sales", "-a", "count", config=conf)
    assert proc.returncode == 2
    assert f"{conf}:5: [sales] maxlines = 'abc': expected an integer >= 1" in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_cli_unknown_key_is_a_visible_warning(tmp_path):
    from tests.conftest import run_dialer
    conf = tmp_path / "dialer.conf"
    conf.write_text(f"[general]\ndbengine=sqlite\nsqlitepath={tmp_path / 'd.sqlite'}\n[default]\nmaxline=30\n")
    proc = run_dialer("-c", "sales", "-a", "create", config=conf)
    assert proc.returncode == 0, proc.stderr
    assert f"{conf}:5: [default] unknown key 'maxline' ignored (did you mean maxlines?)" in proc.stderr


# ---- origins (shown by `dialer --check-config --all`)

def test_origin_names_file_and_line_of_each_value(tmp_path):
    main = _write(tmp_path / "dialer.conf", "[general]\nmysqlhost=db\n[default]\nmaxlines=3\n[sales]\nuri=x\n")
    drop = _write(tmp_path / "dialer.d" / "10.conf", "[sales]\nmaxcaps=2\n")
    cfg = config.load(main)
    assert cfg.origin("general", "mysqlhost") == f"{main}:2"
    assert cfg.origin("general", "mysqlport") == "built-in default"
    assert cfg.origin("sales", "maxlines") == f"{main}:4"      # inherited from [default]
    assert cfg.origin("sales", "maxcaps") == f"{drop}:2"
    assert cfg.origin("nosection", "maxlines") == f"{main}:4"


@pytest.mark.parametrize("text,line", [
    ("[default]\n  maxlines=abc\n", 2),                       # indented key right after a header
    ("[default]\ncallerid=1\n\n  maxlines=abc\n", 4),         # indented key after a blank line
    ("  [default]\n; maxlines=1\n# maxlines=2\nmaxlines=abc\n", 4),
    ("[sales]\nmaxlines=1\n[default]\nMaxLines = abc ; upper case key\n", 4),
    ("[default]\nuri=http://a/b=c\nmaxlines=abc\n", 3),
])
def test_error_line_numbers_follow_the_file_layout(text, line):
    with pytest.raises(config.ConfigError) as err:
        config.loads(text, source="f.conf")
    assert str(err.value).startswith(f"f.conf:{line}: [default] "), str(err.value)
