"""The console in a real browser: Debian's headless Chromium through chromedriver (Selenium),
against the real app under gunicorn on MariaDB. Screenshots of the pages go to the test's tmp
dir; with DIALER_UPDATE_SCREENSHOT=1, the campaign page of a dialling campaign also to
docs/web-campaign.png (the README shows it), so a plain test run leaves the tree unchanged."""
import os
import shutil
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from tests.plugins.web import PASSWORD

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


@pytest.fixture
def browser(tmp_path):
    if not (Path(CHROMIUM).exists() and Path(DRIVER).exists()):
        pytest.fail("Debian's chromium and chromium-driver are needed: make deps-web")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                 f"--user-data-dir={tmp_path / 'chromium-profile'}", "--window-size=1280,1000"):
        opts.add_argument(flag)
    drv = webdriver.Chrome(service=Service(DRIVER), options=opts)
    drv.implicitly_wait(10)
    yield drv
    drv.quit()


def act(drv, by, value, do):
    """do(element) on the element found. ChromeDriver now and then loses an element it has just
    found on a freshly loaded page ("Node with given id does not belong to the document"): find
    it again, a few times."""
    for tries_left in (2, 1, 0):
        try:
            return do(drv.find_element(by, value))
        except (StaleElementReferenceException, WebDriverException) as exc:
            if not tries_left or not (isinstance(exc, StaleElementReferenceException)
                                      or "does not belong to the document" in str(exc)):
                raise


def type_in(drv, by, value, text):
    act(drv, by, value, lambda element: element.send_keys(text))


def click(drv, by, value):
    """Click what submits a form or follows a link, and wait for the next page to replace this one."""
    page = drv.find_element(By.TAG_NAME, "html")
    act(drv, by, value, lambda element: element.click())
    WebDriverWait(drv, 30).until(expected_conditions.staleness_of(page))


def shot(drv, tmp_path, name):
    path = tmp_path / f"{name}.png"
    # The whole page, not only the first screen.
    height = drv.execute_script("return document.documentElement.scrollHeight")
    drv.set_window_size(drv.get_window_size()["width"], max(600, min(int(height) + 140, 4000)))
    assert drv.save_screenshot(str(path))
    return path


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["mysql"])
def test_operator_session_in_chromium(web, browser, tmp_path):
    site = web()
    st = site.store()
    try:
        for i in range(40):
            st.insert("camp", f"+336123450{i:02d}")
        st.write_heartbeat("dialer-1", {"host": "pbx1", "version": "1.0", "lines": 30, "ami": "synced", "db": "up",
                                        "status": "running", "campaigns": {"camp": {"live": 4, "state": "dialling"}}})
    finally:
        st.close()
    b = browser
    b.get(site.base + "/campaigns")
    assert "/login" in b.current_url
    shot(b, tmp_path, "login")
    type_in(b, By.ID, "username", "oper")
    type_in(b, By.ID, "password", PASSWORD)
    click(b, By.ID, "login")
    assert b.current_url.endswith("/campaigns")
    assert b.find_element(By.ID, "campaigns").text.count("camp") >= 1
    shot(b, tmp_path, "campaigns")

    click(b, By.LINK_TEXT, "camp")
    assert b.find_element(By.ID, "dialable").text == "40"
    click(b, By.ID, "pause")
    assert b.find_element(By.ID, "state").text.startswith("paused by oper")
    assert b.find_elements(By.ID, "resume")

    lead_file = tmp_path / "leads.csv"
    lead_file.write_text("phone,param\n+33612349901,alice\n+33612349902,bob\nnot-a-number,eve\n")
    type_in(b, By.ID, "file", str(lead_file))
    click(b, By.ID, "upload")
    assert "imported 2, rejected 1" in b.find_element(By.ID, "summary").text
    assert "line 4:" in b.find_element(By.ID, "rejected").text
    shot(b, tmp_path, "upload")
    click(b, By.LINK_TEXT, "Back")
    assert b.find_element(By.ID, "dialable").text == "42"

    type_in(b, By.ID, "phone", "+33612349901")
    click(b, By.ID, "lookup")
    assert "dialable now" in b.page_source
    shot(b, tmp_path, "campaign")

    b.set_window_size(390, 844)     # a phone
    b.get(site.base + "/campaigns")
    shot(b, tmp_path, "campaigns-phone")
    b.set_window_size(1280, 1000)

    b.get(site.base + "/campaigns/camp")
    click(b, By.ID, "resume")
    assert b.find_elements(By.ID, "pause")
    click(b, By.ID, "logout")
    assert "/login" in b.current_url
    st = site.store()
    try:
        assert st.paused_campaigns() == {}
        assert [r["action"] for r in reversed(st.audit_rows(user="oper"))] == \
            ["login", "pause", "upload", "resume", "logout"]
    finally:
        st.close()

    # The admin's pages.
    type_in(b, By.ID, "username", "admin")
    type_in(b, By.ID, "password", PASSWORD)
    click(b, By.ID, "login")
    for page in ("nodes", "lists", "users", "audit", "tokens"):
        b.get(f"{site.base}/{page}")
        assert b.find_element(By.TAG_NAME, "h1").text
        shot(b, tmp_path, page)
    b.get(site.base + "/nodes")
    assert "pbx1" in b.find_element(By.ID, "nodes").text


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["mysql"])
def test_pause_in_the_browser_stops_a_running_dialer(dial, web, browser, tmp_path):
    """A real dialer calls dialer-pbxsim; the console uploads its leads, shows the numbers move,
    pauses it (pbxsim records no new call while the dialer keeps running) and resumes it."""
    env = dial(campaign="maxlines=2\n", general=f"websecretfile={tmp_path / 'web-secret'}\n")
    env.cli("-c", "camp", "-a", "create")
    site = web(conf=env.conf)
    proc = env.service()
    st = env.store()

    def node_camp():
        beats = st.heartbeats()
        return beats[0].get("campaigns", {}).get("camp") if beats else None

    try:
        b = browser
        b.get(site.base + "/login")
        type_in(b, By.ID, "username", "oper")
        type_in(b, By.ID, "password", PASSWORD)
        click(b, By.ID, "login")
        b.get(site.base + "/campaigns/camp")
        leads = tmp_path / "leads.txt"
        leads.write_text("".join(f"+3361200{i:04d}\n" for i in range(30)) + "12ab\n")
        type_in(b, By.ID, "file", str(leads))
        click(b, By.ID, "upload")
        assert "imported 30, rejected 1" in b.find_element(By.ID, "summary").text

        env.wait_for(lambda: sum(1 for r in env.sim.records() if r.get("end")) >= 2, proc=proc,
                     what="the dialer's first finished calls")

        def final_on_page():
            b.get(site.base + "/campaigns/camp")
            return int(b.find_element(By.TAG_NAME, "progress").get_attribute("value"))
        env.wait_for(lambda: final_on_page() > 0, proc=proc, what="the progress bar to move")
        campaign_shot = shot(b, tmp_path, "campaign-dialling")
        if os.environ.get("DIALER_UPDATE_SCREENSHOT") == "1":
            shutil.copyfile(campaign_shot, ROOT / "docs" / "web-campaign.png")

        click(b, By.ID, "pause")
        assert b.find_element(By.ID, "state").text.startswith("paused by oper")
        # The node says it applied the pause and its live calls are over: from now on, nothing new.
        env.wait_for(lambda: (node_camp() or {}).get("state", "").startswith("paused by oper")
                     and node_camp().get("live") == 0, proc=proc, what="the node to report the pause")
        calls = len(env.sim.records())
        seen = st.heartbeats()[0]["seen"]
        env.wait_for(lambda: st.heartbeats()[0]["seen"] > seen + 1, proc=proc, what="two more heartbeats")
        assert len(env.sim.records()) == calls
        left = st.statistics("camp")["dialable_now"]
        assert 0 < left < 30
        b.get(site.base + "/campaigns")
        assert "paused by oper" in b.find_element(By.ID, "campaigns").text
        shot(b, tmp_path, "campaigns-paused")

        b.get(site.base + "/campaigns/camp")
        click(b, By.ID, "resume")
        env.wait_for(lambda: len(env.sim.records()) > calls, proc=proc, what="calls after the resume")

        called = env.sim.records()[0]["number"]
        b.get(site.base + "/campaigns/camp")
        type_in(b, By.ID, "phone", called)
        click(b, By.ID, "lookup")
        env.wait_for(lambda: "No attempt in the history" not in b.find_element(By.ID, "history").text
                     or b.refresh(), proc=proc, what="the number's attempt in the history")
        click(b, By.ID, "logout")
        assert "/login" in b.current_url
    finally:
        st.close()
        env.stop(proc)
