"""The operator's dangerous actions with their safety net: 终止公示 is refused until the record's 文书号 is
typed to confirm, on the console's own page; then done and on the record's timeline."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from test_console_browser import _store_rows, click_through, page_load, shot, sign_in

from creditsync.store.models import QuarantineItem, Record
from creditsync.store.states import RecordState

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def _record(console: dict[str, Any], key: str) -> Record:
    (record,) = _store_rows(console, select(Record).where(Record.business_key == key))
    return record


def test_operator_withdraws_only_after_typing_the_document_number(console: dict[str, Any],
                                                                  browser: Any) -> None:
    from selenium.webdriver.common.by import By

    record = _store_rows(console, select(Record).where(Record.state == RecordState.PUBLISHED)
                         .order_by(Record.document_no.desc()).limit(1))[0]
    sign_in(browser, console, "operator")
    browser.get(console["base"] + "/creditsync/record")
    box = browser.find_element(By.NAME, "q")
    box.send_keys(record.business_key)
    with page_load(browser):
        box.submit()

    def fill(confirmation: str) -> None:
        panel = browser.find_element(By.ID, "withdraw")
        if not panel.get_attribute("open"):
            panel.find_element(By.TAG_NAME, "summary").click()
        panel.find_element(By.NAME, "confirm_document_no").send_keys(confirmation)
        panel.find_element(By.NAME, "reason").send_keys("法院判决撤销 annulled by a court")
        click_through(browser, panel.find_element(By.CSS_SELECTOR, "button[data-action='withdraw']"))

    fill("")  # no confirmation typed
    refused = browser.find_element(By.TAG_NAME, "body").text
    shot(browser, "operator-withdraw-refused")
    assert "请求有误" in refused and "须输入该记录的文书号" in refused  # the console's page, status 400
    assert _record(console, record.business_key).state == RecordState.PUBLISHED
    browser.back()
    browser.refresh()
    fill(record.document_no.replace("〔", "(").replace("〕", ")"))  # typed as people type it
    shot(browser, "operator-withdraw-done")
    assert "已安排终止公示" in browser.find_element(By.ID, "notice").text
    assert _record(console, record.business_key).state == RecordState.WITHDRAWING
    timeline = browser.find_element(By.ID, "timeline").text
    assert "operator" in timeline and "法院判决撤销" in timeline


def test_operator_redrives_from_the_record_and_sees_it_on_its_timeline(console: dict[str, Any],
                                                                       browser: Any) -> None:
    from selenium.webdriver.common.by import By

    entry = _store_rows(console, select(QuarantineItem).where(
        QuarantineItem.resolved_at.is_(None), QuarantineItem.source_key.is_not(None),
        QuarantineItem.stage == "validation").order_by(QuarantineItem.id.desc()).limit(1))[0]
    sign_in(browser, console, "operator")
    browser.get(console["base"] + "/creditsync/quarantine?department=market_supervision")
    row = next(r for r in browser.find_elements(By.CSS_SELECTOR, "#quarantine tr")[1:]
               if r.find_element(By.TAG_NAME, "td").text == str(entry.id))
    click_through(browser, row.find_element(By.CSS_SELECTOR, "td a"))  # its 文书号: the record's page
    quarantined = browser.find_element(By.ID, "quarantine")
    form = quarantined.find_element(By.CSS_SELECTOR, "form.action")
    form.find_element(By.NAME, "reason").send_keys("部门已更正 fixed at source")
    click_through(browser, form.find_element(By.CSS_SELECTOR, "button[data-action='redrive']"))
    assert "已安排重推" in browser.find_element(By.ID, "notice").text
    browser.get(console["base"] + f"/creditsync/record/view?key={entry.source_key}")
    timeline = browser.find_element(By.ID, "timeline").text
    shot(browser, "operator-redrive-timeline")
    assert "人工重推" in timeline and "部门已更正 fixed at source" in timeline
    assert "operator" in timeline
    assert "等待重读" in browser.find_element(By.ID, "quarantine").text  # retried, waiting for the sync
