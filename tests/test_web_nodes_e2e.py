"""Two dialer nodes on one MariaDB database and one dialer-pbxsim: a pause through the console's
API stops both (pbxsim records no new call), the Nodes page shows both, a resume restarts both."""
import pytest

from tests.test_web_api import call, new_token

LEADS = [f"+3361300{i:04d}" for i in range(80)]


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["mysql"])
def test_a_console_pause_stops_every_node(dial, pbxsim, web, tmp_path):
    sim = pbxsim()
    general = f"websecretfile={tmp_path / 'web-secret'}\n"
    envs = [dial(sim=sim, campaign="maxlines=2\n", tag=f"-{k}", general=f"instance=node{k}\n" + general)
            for k in range(2)]
    envs[0].load(LEADS)
    site = web(conf=envs[0].conf)
    token = new_token(site, "oper")
    procs = [e.service() for e in envs]
    st = envs[0].store()

    def beats():
        return {b["instance"]: b for b in st.heartbeats()}

    def camp_of(node):
        return (beats().get(node, {}).get("campaigns") or {}).get("camp") or {}

    def callers():
        return {i for (i,) in st.rows("SELECT DISTINCT instance FROM dialer_history WHERE campaign = 'camp'")}

    try:
        envs[0].wait_for(lambda: callers() == {"node0", "node1"}, proc=procs[0], what="calls from both nodes")
        assert call(site, "POST", "/campaigns/camp/pause", token)[1]["changed"] is True
        for node, proc in zip(("node0", "node1"), procs):
            envs[0].wait_for(lambda node=node: camp_of(node).get("state", "").startswith("paused by oper")
                             and camp_of(node).get("live") == 0, proc=proc, what=f"{node} to apply the pause")
        calls = len(sim.records())
        seen = {n: b["seen"] for n, b in beats().items()}
        for node, proc in zip(("node0", "node1"), procs):
            envs[0].wait_for(lambda node=node: beats()[node]["seen"] > seen[node] + 1, proc=proc,
                             what=f"two more heartbeats of {node}")
        assert len(sim.records()) == calls
        status, body = call(site, "GET", "/campaigns/camp", token)
        assert body["campaign"]["paused_by"] == "oper" and 0 < body["statistics"]["dialable_now"] < len(LEADS)
        (camp,) = call(site, "GET", "/campaigns", token)[1]["campaigns"]
        assert camp["calls_last_hour"] == calls and set(camp["live"]) == {"node0", "node1"}
        page = site.login("view").get("/nodes").text
        assert page.count('class="alive"') == 2 and 'class="stopped"' not in page

        assert call(site, "POST", "/campaigns/camp/resume", token)[1]["changed"] is True
        envs[0].wait_for(lambda: len(sim.records()) > calls + 2, proc=procs[0], what="calls after the resume")
    finally:
        st.close()
        for e, p in zip(envs, procs):
            e.stop(p)
