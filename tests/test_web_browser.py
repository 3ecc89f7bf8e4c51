"""The console in a real browser: Debian's headless Chromium through chromedriver (Selenium),
against the real app under gunicorn on MariaDB. Screenshots of the pages go to the test's tmp
dir; the campaign page's also to docs/web-campaign.png (the README shows it)."""
import shutil
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

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
    b.find_element(By.ID, "username").send_keys("oper")
    b.find_element(By.ID, "password").send_keys(PASSWORD)
    b.find_element(By.ID, "login").click()
    assert b.current_url.endswith("/campaigns")
    assert b.find_element(By.ID, "campaigns").text.count("camp") >= 1
    shot(b, tmp_path, "campaigns")

    b.find_element(By.LINK_TEXT, "camp").click()
    assert b.find_element(By.ID, "dialable").text == "40"
    b.find_element(By.ID, "pause").click()
    assert b.find_element(By.ID, "state").text.startswith("paused by oper")
    assert b.find_elements(By.ID, "resume")

    lead_file = tmp_path / "leads.csv"
    lead_file.write_text("phone,param\n+33612349901,alice\n+33612349902,bob\nnot-a-number,eve\n")
    b.find_element(By.ID, "file").send_keys(str(lead_file))
    b.find_element(By.ID, "upload").click()
    assert "imported 2, rejected 1" in b.find_element(By.ID, "summary").text
    assert "line 4:" in b.find_element(By.ID, "rejected").text
    shot(b, tmp_path, "upload")
    b.find_element(By.LINK_TEXT, "Back").click()
    assert b.find_element(By.ID, "dialable").text == "42"

    b.find_element(By.ID, "phone").send_keys("+33612349901")
    b.find_element(By.ID, "lookup").click()
    assert "dialable now" in b.page_source
    campaign_png = shot(b, tmp_path, "campaign")
    shutil.copyfile(campaign_png, ROOT / "docs" / "web-campaign.png")

    b.set_window_size(390, 844)     # a phone
    b.get(site.base + "/campaigns")
    shot(b, tmp_path, "campaigns-phone")
    b.set_window_size(1280, 1000)

    b.get(site.base + "/campaigns/camp")
    b.find_element(By.ID, "resume").click()
    assert b.find_elements(By.ID, "pause")
    b.find_element(By.ID, "logout").click()
    assert "/login" in b.current_url
    st = site.store()
    try:
        assert st.paused_campaigns() == {}
        assert [r["action"] for r in reversed(st.audit_rows(user="oper"))] == \
            ["login", "pause", "upload", "resume", "logout"]
    finally:
        st.close()

    # The admin's pages.
    b.find_element(By.ID, "username").send_keys("admin")
    b.find_element(By.ID, "password").send_keys(PASSWORD)
    b.find_element(By.ID, "login").click()
    for page in ("nodes", "lists", "users", "audit", "tokens"):
        b.get(f"{site.base}/{page}")
        assert b.find_element(By.TAG_NAME, "h1").text
        shot(b, tmp_path, page)
    b.get(site.base + "/nodes")
    assert "pbx1" in b.find_element(By.ID, "nodes").text
