"""The audit trail as an auditor pages through it: a total, page 2, and back to page 1."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from test_console_browser import _store_rows, click_through, shot, sign_in

from creditsync.store.models import AuditEntry

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def test_auditor_pages_to_page_2_and_back_with_a_total(console: dict[str, Any], browser: Any) -> None:
    from selenium.webdriver.common.by import By

    (total,) = _store_rows(console, select(func.count()).select_from(AuditEntry))
    assert total > 10
    sign_in(browser, console, "auditor")
    browser.get(console["base"] + "/creditsync/audit?size=10")

    def ids() -> list[int]:
        return [int(row.find_element(By.TAG_NAME, "td").text)
                for row in browser.find_elements(By.CSS_SELECTOR, "#audit tr")[1:]]

    first = ids()
    assert browser.find_element(By.ID, "total").text == str(total)
    assert "第 1 页" in browser.find_element(By.ID, "page-position").text
    assert browser.find_elements(By.ID, "prev-page") == []
    click_through(browser, browser.find_element(By.ID, "next-page"))
    second = ids()
    shot(browser, "auditor-audit-page-2")
    assert "第 2 页" in browser.find_element(By.ID, "page-position").text
    assert len(first) == 10 and second and max(second) < min(first)  # older entries, none twice
    assert browser.find_element(By.ID, "total").text == str(total)
    click_through(browser, browser.find_element(By.ID, "prev-page"))
    assert ids() == first and "第 1 页" in browser.find_element(By.ID, "page-position").text
