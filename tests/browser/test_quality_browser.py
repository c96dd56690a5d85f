"""质量 Quality page in headless Chromium: the trend chart is drawn, the figures are the store's, and a
figure leads to the records behind it."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select
from test_console_browser import shot, sign_in

from creditsync.store import open_store
from creditsync.store.models import Record

pytestmark = [pytest.mark.browser, pytest.mark.integration]
DEPARTMENT = "market_supervision"


def decided_in(console: dict[str, Any], year: int) -> int:
    store = open_store(console["gateway_url"], migrate=False)
    try:
        with store.reader() as session:
            return int(session.scalar(select(func.count()).select_from(Record).where(
                Record.department == DEPARTMENT, Record.state != "replaced",
                Record.decision_date.between(date(year, 1, 1), date(year, 12, 31)))) or 0)
    finally:
        store.dispose()


def test_auditor_sees_the_quality_chart_and_follows_a_figure_to_its_records(console: dict[str, Any],
                                                                            browser: Any) -> None:
    from selenium.webdriver.common.by import By

    year = date.today().year
    sign_in(browser, console, "auditor")
    browser.get(console["base"] + f"/creditsync/quality?period={year}")
    canvas = browser.find_elements(By.CSS_SELECTOR, "#quality-trend canvas")  # drawn by the vendored ECharts
    shot(browser, "auditor-quality")
    assert canvas and canvas[0].size["width"] > 300 and canvas[0].size["height"] > 200
    row = browser.find_element(By.ID, f"score-{DEPARTMENT}")
    cells = row.find_elements(By.TAG_NAME, "td")
    assert int(cells[1].text) == decided_in(console, year) > 0
    assert cells[2].text.split("%")[0].replace(".", "").isdigit()  # 及时率 as a percentage
    assert "质量" in browser.find_element(By.CSS_SELECTOR, "nav a.here").text
    late, waiting = int(cells[3].text), int(cells[4].text)

    browser.get(console["base"] + f"/creditsync/quality/records?department={DEPARTMENT}&period={year}")
    listed = browser.find_elements(By.CSS_SELECTOR, "#quality-records tr")
    assert len(listed) - 1 == (late + waiting if late + waiting else 1)  # the header, and a row each
