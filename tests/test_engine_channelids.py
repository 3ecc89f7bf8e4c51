"""ChannelIds Asterisk always accepts (issue 11 §6), end to end: the real `dialer`, a real
dialer-pbxsim (which refuses a ChannelId that is a case-insensitive prefix of a live channel's
Uniqueid, as Asterisk 20.20.1 does) and the real database."""
import time

import pytest

from dialer.model import base36
from tests.plugins.pbxsim import msg_get

pytestmark = pytest.mark.slow

TALK = {"seed": 5, "default": {"outcome": "answer", "ring": 0.05, "talk": 1.5, "status": 12},
        "rules": [{"prefix": "999", "outcome": "answer", "ring": 0.01, "talk": 120}]}
LEADS = [f"55{i:02d}" for i in range(5)]


def add_campaign(env, name, prefix):
    """Lead ids 1..5 again, other numbers (a number is called by one campaign at a time)."""
    env.conf.write_text(env.conf.read_text() + f"\n[{name}]\nmaxlines=5\nmaxcaps=5\n")
    env.cli("-c", name, "-a", "create")
    path = env.tmp / f"{name}.txt"
    path.write_text("".join(f"{prefix}{p}\n" for p in LEADS))
    env.cli("-c", name, "-a", "file", "-p", path)


def rows_of(env, name):
    st = env.store()
    try:
        return st.rows(f"SELECT phone, disposition, attempts, owner, reason FROM {st.d.q(name)} ORDER BY id")
    finally:
        st.close()


def done(env, names):
    got = {n: rows_of(env, n) for n in names}
    return got if all(r[2] >= 1 and r[3] is None for rows in got.values() for r in rows) else None


def assert_none_refused(sim):
    recs = sim.records()
    assert not [r for r in recs if r.get("outcome") == "inuse"], [r["channelid"] for r in recs
                                                                   if r.get("outcome") == "inuse"]


@pytest.mark.parametrize("backend", ["mysql"])
def test_campaigns_equal_ignoring_case_dial_at_once_without_refusals(dial, backend):
    """Sales and sales (two tables on MariaDB), a and a_1: the same lead ids, all at once."""
    env = dial(TALK, leads=LEADS, name="Sales", campaign="maxlines=5\nmaxcaps=5\n")
    for k, name in enumerate(("sales", "a", "a_1"), 1):
        add_campaign(env, name, k)
    proc = env.service()
    names = ("Sales", "sales", "a", "a_1")
    got = env.wait_for(lambda: done(env, names), timeout=60, proc=proc, what="every lead attempted")
    assert env.stop(proc) == 0, env.output(proc)
    assert_none_refused(env.sim)
    assert all(r[1:4] == (12, 1, None) for rows in got.values() for r in rows), got
    assert env.sim.max_concurrent() > 5          # the campaigns' calls overlapped
    assert len({r["channelid"].lower() for r in env.sim.records()}) == 4 * len(LEADS)


@pytest.mark.parametrize("backend", ["sqlite"])
def test_two_installations_with_their_own_database_on_one_asterisk(dial, pbxsim, backend):
    sim = pbxsim(TALK)
    envs = []
    for k in range(2):
        env = dial(sim=sim, campaign="maxlines=5\n", tag=f"-{k}", general=f"instance=node{k}\n")
        env.conf.write_text(env.conf.read_text().replace("dialer.sqlite", f"dialer{k}.sqlite"))
        env.cli("-a", "createdatabase")
        env.load([f"{k}{p}" for p in LEADS])
        envs.append(env)
    assert envs[0].store().installation() != envs[1].store().installation()
    procs = [e.service() for e in envs]
    got = [e.wait_for(lambda e=e: done(e, ["camp"]), timeout=60, proc=p, what="every lead attempted")
           for e, p in zip(envs, procs)]
    for e, p in zip(envs, procs):
        assert e.stop(p) == 0, e.output(p)
    assert_none_refused(sim)
    assert all(r[1:4] == (12, 1, None) for g in got for r in g["camp"]), got
    assert sim.max_concurrent() > 5


def test_an_id_in_use_puts_the_lead_back_and_it_is_called_later(dial, ami_client):
    """A foreign live channel whose Uniqueid starts with the id of lead 1's attempt: Asterisk
    refuses it (Reason 0, no channel). Not the lead's fault: put back uncounted, dialled again
    with a new id once the claim time has moved past the foreign ids."""
    env = dial(TALK, leads=LEADS[:2], campaign="maxlines=2\nattempts=1\n")
    st = env.store()
    try:
        inst = st.installation()
        first = st.rows(f"SELECT id FROM {st.d.q(env.name)} ORDER BY id")[0][0]
    finally:
        st.close()
    c = ami_client(env.sim)
    c.login(events="off")
    t0 = int(time.time())
    for t in range(t0, t0 + 10):
        cid = f"d-camp-{first}-1-{inst}-{base36(t)}.x"
        c.action("Originate", Channel="SIP/9990@trunk", Application="Wait", Data="120", Async="true",
                 ChannelId=cid, ActionID=cid)
        assert msg_get(c.read_until(lambda m: msg_get(m, "ActionID") == cid)[-1], "Response") == "Success"
    proc = env.service()
    rows = env.wait_for(lambda: done(env, ["camp"]), timeout=60, proc=proc, what="every lead attempted")["camp"]
    assert env.stop(proc) == 0, env.output(proc)
    out = env.output(proc)
    assert "is in use in Asterisk" in out and "put back, attempt not counted: ChannelId in use" in out, out
    assert [r[1:4] for r in rows] == [(12, 1, None)] * 2, rows
    recs = [r for r in env.sim.records() if r["number"] == LEADS[0]]
    assert any(r.get("outcome") == "inuse" for r in recs), recs
    assert [r["outcome"] for r in recs if r.get("channel")] == ["answer"], recs
