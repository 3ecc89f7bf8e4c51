"""Operator pauses and heartbeats in the engine, on a manual clock in this process
(tests/harness/engine.py): real dialer-pbxsim over TCP, real SQLite/MariaDB. "No new call" is
a plain assertion after the steps that would have placed it."""
import pytest

from dialer import codes


def originated(env):
    return [r for r in env.sim.records() if r.get("channelid")]


def answered(talk):
    return {"default": {"outcome": "answer", "ring": 0.05, "talk": talk, "status": 12}}


def control(env, op, user="alice"):
    st = env.store()
    try:
        return getattr(st, f"{op}_campaign")(env.name, user)
    finally:
        st.close()


def test_a_pause_stops_new_calls_at_the_next_iteration_and_live_calls_finish(dial, engine_rig):
    leads = [f"40{i:02d}" for i in range(6)]
    env = dial(answered(talk=1.0), leads=leads, campaign="maxlines=2\nmaxcaps=2\n")
    rig = engine_rig(env)
    rig.start()
    rig.run_until(lambda: rig.engine.campaigns["camp"].live == 2, what="two calls up")
    assert control(env, "pause") is True
    rig.step(advance=1.0)                     # the next iteration reads the pause
    assert "camp paused by alice" in rig.engine.last_status
    rig.run_until(lambda: rig.engine.stats.finished == 2, advance=0.1, what="the live calls end")
    for _ in range(30):
        rig.step(advance=0.5)                 # 15 s of engine time, lines free, leads dialable
    assert len(originated(env)) == 2 and rig.engine.stats.started == 2
    done = [r for r in env.leads().values() if r["attempts"]]
    assert [(r["disposition"], r["owner"]) for r in done] == [(codes.SALE, None)] * 2    # finished normally
    (beat,) = env.store().heartbeats()
    assert beat["instance"] == rig.engine.owner and beat["ami"] == "synced" and beat["db"] == "up"
    assert beat["campaigns"]["camp"]["state"].startswith("paused by alice since ")
    assert beat["campaigns"]["camp"]["live"] == 0 and "camp paused by alice" in beat["status"]
    assert control(env, "resume") is True
    rig.run_until(lambda: rig.engine.stats.finished == 6, advance=0.2, what="the campaign finishes")
    assert sorted(r["number"] for r in originated(env)) == leads
    assert "paused" not in rig.engine.last_status


def test_the_pause_of_one_campaign_leaves_the_others_dialling(dial, engine_rig):
    env = dial(answered(talk=0.1), leads=["4101", "4102"], campaign="maxlines=1\n")
    other = "camp2"
    env.cli("-c", other, "-a", "create")
    env.cli("-c", other, "-a", "insert", "-p", "4201")
    env.conf.write_text(env.conf.read_text() + f"\n[{other}]\nmaxlines=1\n")
    st = env.store()
    st.pause_campaign(env.name, "bob")
    rig = engine_rig(env)
    rig.start()
    rig.run_until(lambda: rig.engine.stats.finished == 1, advance=0.2, what="the other campaign's call")
    for _ in range(10):
        rig.step(advance=0.5)
    assert [r["number"] for r in originated(env)] == ["4201"]
    st.resume_campaign(env.name, "bob")
    st.close()
    rig.run_until(lambda: rig.engine.stats.finished == 3, advance=0.2, what="the paused campaign's calls")


@pytest.mark.parametrize("backend", ["mysql"])
def test_a_database_outage_keeps_the_pause_in_force(dial, engine_rig, tcpproxy, mysql_db, backend):
    proxy = tcpproxy(mysql_db["host"], mysql_db["port"])
    env = dial(answered(talk=0.1), leads=["4301", "4302"], general=f"mysqlport={proxy.port}\n")
    control(env, "pause")
    rig = engine_rig(env)
    rig.start()
    rig.step(advance=1.0)
    proxy.cut()
    for _ in range(5):
        rig.step(advance=1.0)
    assert rig.engine.db.down and "camp paused by alice" in rig.engine.last_status
    proxy.restore()
    rig.run_until(lambda: not rig.engine.db.down, advance=1.0, what="the database back")
    for _ in range(5):
        rig.step(advance=1.0)
    assert originated(env) == [] and "camp paused by alice" in rig.engine.last_status
    control(env, "resume")
    rig.run_until(lambda: rig.engine.stats.finished == 2, advance=0.2, what="the calls after the resume")
    assert all(r["disposition"] == codes.SALE for r in env.leads().values())
