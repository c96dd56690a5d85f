"""The record as an auditor reads it: found by a 文书号 typed another way, its versions as the fields
published under their standard names with the corrected field marked, and audit details as labelled
fields with the JSON one click away."""

from __future__ import annotations

from typing import Any

import pytest
from test_console_browser import page_load, shot, sign_in

from creditsync.schema import field_titles

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def test_auditor_finds_a_document_number_typed_with_square_brackets(console: dict[str, Any],
                                                                     browser: Any) -> None:
    from selenium.webdriver.common.by import By

    sign_in(browser, console, "auditor")
    browser.get(console["base"] + "/creditsync/record")
    box = browser.find_element(By.NAME, "q")
    box.send_keys("长市监处罚[2026]101号")
    with page_load(browser):
        box.submit()
    shot(browser, "auditor-search-brackets")
    assert "长市监处罚〔2026〕101号" in browser.find_element(By.TAG_NAME, "h1").text  # the one record


def test_auditor_reads_the_published_fields_and_the_field_a_correction_changed(console: dict[str, Any],
                                                                                browser: Any) -> None:
    from selenium.webdriver.common.by import By

    key = console["corrected"]  # the department corrected its 事实 (CF_SY) between two runs
    titles = field_titles("penalty")
    sign_in(browser, console, "auditor")
    browser.get(console["base"] + "/creditsync/record")
    box = browser.find_element(By.NAME, "q")
    box.send_keys(key)
    with page_load(browser):
        box.submit()
    latest = browser.find_element(By.ID, "version-2")
    changed = latest.find_elements(By.CSS_SELECTOR, "table.fields tr.changed")
    shot(browser, "auditor-record-versions")
    assert [row.get_attribute("data-code") for row in changed] == ["CF_SY"]
    assert titles["CF_SY"] in changed[0].text and "（更正）" in changed[0].text
    names = [row.find_element(By.TAG_NAME, "td").text
             for row in latest.find_elements(By.CSS_SELECTOR, "table.fields tr[data-code]")]
    assert titles["CF_WSH"] in names and titles["CF_XDR_MC"] in names  # the standard's names
    id_row = latest.find_element(By.CSS_SELECTOR, "tr[data-code='CF_FR_ZJHM']").text
    assert "********" in id_row  # masked
    assert "推送内容哈希" in latest.find_element(By.TAG_NAME, "summary").text
    assert titles["CF_SY"] in browser.find_element(By.ID, "versions").text  # listed as changed in v2
    entry = browser.find_element(By.CSS_SELECTOR, "#timeline li dl.details")
    assert entry.find_elements(By.TAG_NAME, "dt")  # labelled fields
    json_box = browser.find_element(By.CSS_SELECTOR, "#timeline li details.json")
    assert not json_box.find_element(By.TAG_NAME, "pre").is_displayed()
    json_box.find_element(By.TAG_NAME, "summary").click()
    assert json_box.find_element(By.TAG_NAME, "pre").text.startswith("{")
