"""The 信用核查 page as an auditor meets it: headless Chromium against a real api-server. A subject the
platform listed (pulled by the feed) and checked by a department system: the auditor types its number
(sent in the form, never in the address), sees the list entry with its measures, the grade and the
check with the list version it saw, then the department's page of draws and checks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests

from creditsync.audit import AuditTrail
from creditsync.credit.check import CheckRequest, check
from creditsync.credit.feed import CreditFeedClient, pull_all
from creditsync.credit.measures import load_catalogue
from creditsync.simulators.platform import PlatformSimulator
from creditsync.store import open_store

pytestmark = [pytest.mark.browser, pytest.mark.integration]
REPO = Path(__file__).resolve().parents[2]
USCC = "91370112MA3C00001X"


def _listed_and_checked(gateway_url: str) -> dict[str, Any]:
    simulator = PlatformSimulator(app_key="k-credit", validator=lambda _c, _d: [])
    store = open_store(gateway_url, migrate=False)
    try:
        with simulator.start_in_thread() as platform:
            requests.post(f"{platform.url}/_sim/credit/lists", timeout=10, json={
                "subject_id": USCC, "subject_name": "济南某某建材有限公司", "cause": "拒不履行法院判决",
                "authority": "济南市中级人民法院", "start_date": "2026-01-01",
                "measures": ["CJ01", "CJ05", "CJ06"]}).raise_for_status()
            requests.post(f"{platform.url}/_sim/credit/grades", timeout=10,
                          json={"subject_id": USCC, "grade": "D"}).raise_for_status()
            pull_all(store, CreditFeedClient(platform.url, "k-credit"), AuditTrail("scheduler"))
        return check(store, load_catalogue(REPO), CheckRequest(USCC, "SC-ZTB-001", "market_supervision"),
                     AuditTrail("svc_market"))
    finally:
        store.dispose()
        simulator.close()


def test_auditor_looks_up_a_listed_subject_on_the_credit_page(console: dict[str, Any], browser: Any) -> None:
    from selenium.webdriver.common.by import By
    from test_console_browser import click_through, page_load, shot, sign_in

    answer = _listed_and_checked(console["gateway_url"])
    sign_in(browser, console, "auditor")
    browser.get(console["base"] + "/creditsync/credit")
    box = browser.find_element(By.NAME, "subject")
    box.send_keys(USCC)
    with page_load(browser):
        box.submit()
    entries = browser.find_element(By.ID, "entries").text
    checks = browser.find_element(By.ID, "checks").text
    shot(browser, "auditor-credit")
    assert USCC not in browser.current_url  # the number travelled in the form's body
    assert "失信联合惩戒对象名单" in entries and "CJ01, CJ05, CJ06" in entries and "listed" in entries
    assert browser.find_element(By.ID, "grade").text.startswith("D")
    assert answer["check_id"] in checks and "svc_market" in checks and "SC-ZTB-001" in checks
    assert str(answer["list_versions"][0]) in checks

    click_through(browser, browser.find_element(By.LINK_TEXT, "长清区市场监督管理局 (market_supervision)"))
    shot(browser, "auditor-credit-department")
    assert answer["check_id"] in browser.find_element(By.ID, "checks").text
    assert browser.find_element(By.ID, "draws").text  # the table is there, even without draws yet
