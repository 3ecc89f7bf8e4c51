"""Who may be called, end to end: do-not-call list, blacklists, multiplecalls = false,
`filter` and the f_* code filters, `explain`, SIGHUP. The real `dialer` command and
`dialer --service`, a real dialer-pbxsim, SQLite and MariaDB; assertions come from pbxsim's
record of what was dialled and from the campaign table."""
import collections
import datetime as dt
import signal

import pytest

from dialer import codes, config, store

pytestmark = pytest.mark.slow

ANSWER = {"seed": 9, "default": {"outcome": "answer", "ring": 0.01, "talk": 0.05, "status": 12}}
BUSY = {"seed": 9, "default": {"outcome": "busy", "ring": 0.01}}


def dialled(sim, campaign=None):
    """Numbers the PBX was asked to call (by `campaign`, from the ChannelId d-<campaign>-...)."""
    return collections.Counter(r["number"] for r in sim.records() if r.get("channelid")
                               and (campaign is None or r["channelid"].startswith(f"d-{campaign}-")))


def settled(env, phones, n=1):
    """The leads `phones` have each been attempted n times and none is in progress."""
    rows = env.leads()
    ok = all(p in rows and rows[p]["attempts"] >= n and rows[p]["owner"] is None for p in phones)
    return rows if ok and env.sim.stats()["live_calls"] == 0 else None


def dial_until(env, phones, n=1, timeout=60):
    proc = env.service()
    rows = env.wait_for(lambda: settled(env, phones, n), timeout=timeout, proc=proc, what=f"{phones} attempted")
    assert env.stop(proc) == 0, env.output(proc)
    return rows


def add_campaign(env, name, leads):
    """Create and fill campaign `name` (its section must be in env's dialer.conf)."""
    env.cli("-c", name, "-a", "create", check=0)
    path = env.tmp / f"{name}-leads.txt"
    path.write_text("".join(p + "\n" for p in leads))
    env.cli("-c", name, "-a", "file", "-p", path, check=0)


# -- do-not-call and blacklists ----------------------------------------------------------------

def test_dnc_and_blacklisted_numbers_are_never_dialled(dial):
    leads = [f"3319000{i:04d}" for i in range(12)]
    dnc_cli, dnc_file, bl_file, bl_cli, marks8 = leads[0:2], leads[2:4], leads[4:6], leads[6:7], leads[7]
    scenario = dict(ANSWER, rules=[{"number": f"^{marks8}$", "outcome": "answer", "status": 8}])
    env = dial(scenario, leads=leads, campaign="usednc=true\nblacklist=optout\n")
    env.cli("-a", "dnc-add", "-p", *dnc_cli, check=0)
    (env.tmp / "dnc.txt").write_text("\n".join(dnc_file + [dnc_cli[0]]) + "\n")
    out = env.cli("-a", "dnc-import", "-p", env.tmp / "dnc.txt", check=0).stdout
    assert "imported 2" in out and "duplicates skipped 1" in out, out
    (env.tmp / "optout.txt").write_text("\n".join(bl_file) + "\n")
    env.cli("-a", "blacklist-import", "-c", "optout", "-p", env.tmp / "optout.txt", check=0)
    env.cli("-a", "blacklist-add", "-c", "optout", "-p", *bl_cli, check=0)
    barred = set(dnc_cli + dnc_file + bl_file + bl_cli)
    allowed = [p for p in leads if p not in barred]

    rows = dial_until(env, allowed)
    assert dialled(env.sim) == collections.Counter(allowed)
    for p in barred:
        assert (rows[p]["attempts"], rows[p]["disposition"]) == (0, codes.NOT_YET_CALLED), rows[p]
    # The application said "do not call": the number joined the do-not-call list...
    assert rows[marks8]["disposition"] == codes.DO_NOT_CALL
    assert env.cli("-a", "dnc-count", check=0).stdout.split() == ["5"]
    assert marks8 in env.cli("-a", "dnc-dump", check=0).stdout.split()

    # ...so another campaign with usednc = true never calls it; one without the list still may.
    with env.conf.open("a") as fh:
        fh.write("\n[other]\nusednc=true\n\n[nodnc]\nusednc=false\n")
    add_campaign(env, "other", [marks8, "3319999999"])
    add_campaign(env, "nodnc", [dnc_cli[1]])
    proc = env.service()
    env.wait_for(lambda: dialled(env.sim, "other")["3319999999"] and dialled(env.sim, "nodnc")[dnc_cli[1]]
                 and env.sim.stats()["live_calls"] == 0, proc=proc, what="the new campaigns dialled")
    assert env.stop(proc) == 0, env.output(proc)
    assert dialled(env.sim, "other") == collections.Counter(["3319999999"])
    assert dialled(env.sim)[marks8] == 1
    assert dialled(env.sim, "nodnc") == collections.Counter([dnc_cli[1]])


# -- multiplecalls = false ------------------------------------------------------------------------

def overlaps(*sims):
    """Numbers that had two calls up at once, across every simulator's record (real time)."""
    spans = collections.defaultdict(list)
    for sim in sims:
        for r in sim.records():
            if r.get("channel") is not None:
                spans[r["number"]].append((r["start"], r["end"] if r["end"] is not None else float("inf")))
    bad = []
    for number, s in spans.items():
        s.sort()
        bad += [number for a, b in zip(s, s[1:]) if b[0] < a[1]]
    return bad


TWO_CAMPAIGNS = "maxlines=8\nmaxcaps=8\nmultiplecalls={mc}\n\n[campb]\nmaxlines=8\nmaxcaps=8\nmultiplecalls={mc}\n"


@pytest.mark.parametrize("multiplecalls", ["false", "true"])
def test_multiplecalls_false_never_rings_a_number_twice_at_once(dial, multiplecalls):
    leads = [f"4420{i:06d}" for i in range(16)]
    env = dial({"seed": 1, "default": {"outcome": "answer", "ring": 0.05, "talk": 0.4}}, leads=leads,
               campaign=TWO_CAMPAIGNS.format(mc=multiplecalls))
    add_campaign(env, "campb", leads)
    env.run(timeout=120, check=0)
    # Each number once per campaign...
    assert dialled(env.sim) == collections.Counter(leads * 2)
    if multiplecalls == "false":
        # ...and never twice at the same moment.
        assert not overlaps(env.sim)
    else:
        # The control: the same campaigns do ring numbers twice at once without the rule.
        assert overlaps(env.sim)


@pytest.mark.parametrize("backend", ["mysql"])
def test_multiplecalls_false_across_two_dialers_sharing_mariadb(dial, backend):
    leads = [f"4421{i:06d}" for i in range(24)]
    scenario = {"seed": 2, "default": {"outcome": "answer", "ring": 0.05, "talk": 0.3}}
    envs = [dial(scenario, campaign=TWO_CAMPAIGNS.format(mc="false"), general=f"instance=node{k}\n", tag=f"-{k}")
            for k in range(2)]
    add_campaign(envs[0], envs[0].name, leads)
    add_campaign(envs[0], "campb", leads)
    procs = [e.service() for e in envs]

    def done():
        return (sum(dialled(e.sim).total() for e in envs) >= 2 * len(leads)
                and all(e.sim.stats()["live_calls"] == 0 for e in envs))
    envs[0].wait_for(done, timeout=90, what="every lead of both campaigns dialled")
    for e, p in zip(envs, procs):
        assert e.stop(p) == 0, e.output(p)
    total = dialled(envs[0].sim) + dialled(envs[1].sim)
    assert total == collections.Counter(leads * 2)
    assert dialled(envs[0].sim) and dialled(envs[1].sim)       # both dialers took part
    assert not overlaps(envs[0].sim, envs[1].sim)


# -- filter and f_* --------------------------------------------------------------------------------

VIP = {"3350000001": "vip-gold", "3350000002": "vip", "3350000004": "vip_x"}
NOT_VIP = {"3350000005": "regular", "3350000006": "a vip", "3350000007": "", "3350000008": "vi"}
FILTER = "filter=param LIKE 'vip%' AND attempts < 2\nattempts=5\nattemptsdelay=0\n"


def test_filter_selects_exactly_the_matching_leads(dial):
    # Busy every time with 5 attempts allowed: the filter alone stops the VIPs after 2.
    env = dial(BUSY, leads=list({**VIP, **NOT_VIP}.items()), campaign=FILTER)
    rows = dial_until(env, list(VIP), n=2)
    assert dialled(env.sim) == collections.Counter(list(VIP) * 2)
    assert all(rows[p]["attempts"] == 0 for p in NOT_VIP)


@pytest.mark.parametrize("backend", ["sqlite", "mysql"])
def test_filter_like_ignores_case_on_every_backend_as_explain_says(dial, backend):
    leads = {"3351000001": "vip-lower", "3351000002": "VIP-upper", "3351000003": "other"}
    env = dial(BUSY, leads=list(leads.items()), campaign=FILTER)
    explained = env.cli("-a", "explain", "-c", env.name, "-p", "3351000002", check=0).stdout
    assert "ok  filter" in explained, explained
    rows = dial_until(env, ["3351000001"], n=2)
    assert dialled(env.sim) == collections.Counter(["3351000001", "3351000002"] * 2), rows


CODE_CASES = {
    # France, but no mobiles (336/337); a '+' form matches too; New York is not included.
    "areacode": ("f_mode=areacode\nf_areacode=33,!336,!337\n",
                 ["33142685300", "+33142685301", "33612345678", "33712345678", "12125551234"],
                 ["33142685300", "+33142685301"]),
    "acprefix": ("f_mode=acprefix\nf_areacode_prefix=1212555,1646\n",
                 ["12125551234", "12125561234", "16465551234", "13105551234"],
                 ["12125551234", "16465551234"]),
    "zipcode": ("f_mode=zipcode\nf_zipcode=75001,!13001,sw1a 1aa\n",
                [("33100000001", "75001"), ("33100000002", "75002"), ("33100000003", "13001"),
                 ("33100000004", ""), ("44200000005", "SW1A 1AA")],
                ["33100000001", "44200000005"]),
}


@pytest.mark.parametrize("case", sorted(CODE_CASES))
def test_area_and_zip_code_filters(dial, case):
    keys, leads, expected = CODE_CASES[case]
    env = dial(ANSWER, campaign=keys)
    env.cli("-c", env.name, "-a", "create", check=0)
    path = env.tmp / "leads.csv"
    path.write_text("phone,param,zipcode\n" + "".join(
        f"{p[0]},x,{p[1]}\n" if isinstance(p, tuple) else f"{p},x,\n" for p in leads))
    env.cli("-c", env.name, "-a", "file", "-p", path, check=0)
    rows = dial_until(env, expected)
    # pbxsim sees the number as dialled (a stored '+' stays in the dial string).
    assert dialled(env.sim) == collections.Counter(expected)
    assert sorted(p for p, r in rows.items() if r["attempts"]) == sorted(expected)


MALICIOUS = [
    "1=1; DROP TABLE x",
    "phone = '1' OR 1=1 --",
    "id IN (SELECT id FROM x)",
    "sleep(5)",
    "phone = '1' UNION SELECT phone FROM x",
    "phone = '1' /* */ OR 1=1",
    "password = 'x'",
    "phone = `x`",
]


@pytest.mark.parametrize("value", MALICIOUS)
def test_malicious_filter_is_refused_at_load_and_touches_nothing(dial, value):
    env = dial(ANSWER, leads=["3360000001", "3360000002"])
    add_campaign(env, "x", ["3360000009"])
    clean = env.tmp / "clean.conf"
    clean.write_text(env.conf.read_text())
    before = {name: _table(clean, name) for name in (env.name, "x")}
    with env.conf.open("a") as fh:
        fh.write(f"filter={value}\n")            # the last section of the file is the campaign's
    for args in ((), ("--service",), ("-a", "statistics", "-c", env.name)):
        proc = env.cli(*args, timeout=30, check=None)
        assert proc.returncode == 2, (args, proc.returncode, proc.stdout, proc.stderr)
        err = proc.stderr.strip()
        assert len(err.splitlines()) == 1 and "Traceback" not in err, err
        assert "filter" in err and env.conf.name in err, err
    assert {name: _table(clean, name) for name in (env.name, "x")} == before
    assert not env.sim.records()


def _table(conf, name):
    st = store.open_store(config.load(str(conf)).general)
    try:
        return st.rows(f"SELECT id, phone, attempts, disposition FROM {st.d.q(name)} ORDER BY id")
    finally:
        st.close()


# -- explain -------------------------------------------------------------------------------------

def refused_rules(text):
    """The rules an `explain` output says NO to (its lines: 'NO  <rule, 13 wide> <why>')."""
    return {line[4:17].strip() for line in text.splitlines() if line.startswith("NO ")}


def test_explain_gives_the_reason_a_lead_is_not_dialled(dial):
    h = dt.datetime.now(dt.timezone.utc).hour
    # Open now in UTC (an hour either side), never in Tokyo (UTC+9).
    window = f"{(h - 1) % 24}h-{(h + 2) % 24}h"
    env = dial(BUSY, general="loopms=100\n", campaign=(
        f"timezone=UTC\nleadtimezone=UTC\ntimeslot={window}\nusednc=true\nblacklist=optout\nattempts=1\n"))
    env.cli("-c", env.name, "-a", "create", check=0)
    (env.tmp / "leads.csv").write_text("phone,param,timezone\n3370000001,dnc,\n3370000002,bl,\n"
                                       "3370000003,tokyo,Asia/Tokyo\n3370000004,burn,\n")
    env.cli("-c", env.name, "-a", "file", "-p", env.tmp / "leads.csv", check=0)
    env.cli("-a", "dnc-add", "-p", "3370000001", check=0)
    env.cli("-a", "blacklist-add", "-c", "optout", "-p", "3370000002", check=0)
    dial_until(env, ["3370000004"])              # busy with attempts = 1: -8, attempts exhausted
    env.cli("-c", env.name, "-a", "insert", "-p", "3370000005", "fresh", check=0)
    assert dialled(env.sim) == collections.Counter(["3370000004"])

    def explain(phone):
        return env.cli("-a", "explain", "-c", env.name, "-p", phone, check=0).stdout

    expected = {"3370000001": {"dnc"}, "3370000002": {"blacklist"}, "3370000003": {"timeslot", "next window"},
                "3370000004": {"disposition", "attempts"}, "3370000005": set()}
    for phone, rules in expected.items():
        out = explain(phone)
        assert refused_rules(out) == rules, (phone, out)
        assert out.rstrip().endswith("=> dialable now" if not rules else "=> not dialable now"), out
    assert "outside" in explain("3370000003") and "Asia/Tokyo" in explain("3370000003")
    assert "do-not-call" in explain("3370000001") and "optout" in explain("3370000002")
    assert "-8 (Burned)" in explain("3370000004") or "is final" in explain("3370000004")
    # An unknown number: exit 1 and says so.
    proc = env.cli("-a", "explain", "-c", env.name, "-p", "3379999999", check=1)
    assert "no lead" in proc.stdout


# -- SIGHUP ------------------------------------------------------------------------------------------

def test_sighup_applies_active_and_timeslot_without_a_restart(dial):
    h = dt.datetime.now(dt.timezone.utc).hour
    closed = f"{(h + 3) % 24}h-{(h + 5) % 24}h"
    # Both campaigns redial busy numbers without pause; campb is the witness that the dialer
    # keeps working while camp is held back by its new rules.
    keys = "attempts=1000000\nattemptsdelay=0\nmaxlines=2\nmaxcaps=2\n"
    env = dial(BUSY, leads=["3380000001", "3380000002", "3380000003"], general="loopms=100\n",
               campaign=f"active=true\ntimezone=UTC\ntimeslot=always\n{keys}\n[campb]\n{keys}")
    add_campaign(env, "campb", ["3381000001", "3381000002"])
    proc = env.service()

    def count(campaign):
        return dialled(env.sim, campaign).total()

    def reload_with(old, new, n):
        env.conf.write_text(env.conf.read_text().replace(old, new, 1))
        proc.send_signal(signal.SIGHUP)
        env.wait_for(lambda: env.output(proc).count("configuration reloaded") == n, proc=proc, what="reload")

    def held_back():
        """camp places no call while campb places 20 more (after camp's last call ended)."""
        env.wait_for(lambda: all(r["end"] for r in env.sim.records() if r["channelid"].startswith("d-camp-")),
                     proc=proc, what="camp's calls ended")
        before, witness = count("camp"), count("campb")
        env.wait_for(lambda: count("campb") >= witness + 20, proc=proc, what="campb dialling")
        assert count("camp") == before

    env.wait_for(lambda: count("camp") >= 5, proc=proc, what="camp dialling")
    reload_with("active=true", "active=false", 1)
    held_back()
    reload_with("active=false\ntimezone=UTC\ntimeslot=always", f"active=true\ntimezone=UTC\ntimeslot={closed}", 2)
    held_back()
    assert "camp: calling window closed" in env.output(proc)
    resumed = count("camp")
    reload_with(f"timeslot={closed}", "timeslot=always", 3)
    env.wait_for(lambda: count("camp") >= resumed + 5, proc=proc, what="camp dialling again")
    assert env.stop(proc) == 0
    assert env.output(proc).count("starting") == 1, env.output(proc)


# -- the foreground dialer and leads the rules bar for good -----------------------------------------

def test_foreground_dialer_returns_when_only_barred_leads_are_left(dial):
    env = dial(ANSWER, leads=["3390000001", "3390000002", "3390000003"],
               campaign="usednc=true\nfilter=param <> 'skip'\n")
    env.cli("-a", "dnc-add", "-p", "3390000002", check=0)
    env.cli("-c", env.name, "-a", "insert", "-p", "3390000004", "skip", check=0)
    # `dialer` in the foreground returns once nothing can be dialled any more.
    env.run(timeout=60, check=0)
    assert dialled(env.sim) == collections.Counter(["3390000001", "3390000003"])
