"""The console as its users meet it: headless Chromium against a real api-server with demo data.

An auditor (role viewer) finds a record by its 文书号 and reads its timeline, downloads the audit trail
as CSV, sees no operator buttons and gets 403 when posting an action anyway; an operator (role op)
re-drives a quarantined record and the audit trail names them. Screenshots land in each test's tmp dir.
"""

from __future__ import annotations

import csv
import io
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select

from creditsync.pipeline.push import note_progress
from creditsync.store import open_store
from creditsync.store.models import AuditEntry, QuarantineItem, Record, RunStream, SyncRun
from creditsync.store.states import RecordState

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def sign_in(driver: Any, console: dict[str, Any], user: str) -> None:
    """The Airflow UI keeps its session in the ``_token`` cookie; the console reads the same cookie."""
    driver.get(console["base"] + "/api/v2/monitor/health")
    driver.add_cookie({"name": "_token", "value": console["tokens"][user], "path": "/"})


def shot(driver: Any, name: str) -> Path:
    path = Path(driver.screenshots) / f"{name}.png"
    driver.set_window_size(1400, max(1000, driver.execute_script("return document.body.scrollHeight")))
    driver.save_screenshot(str(path))
    return path


@contextmanager
def page_load(driver: Any, seconds: float = 30) -> Iterator[None]:
    """After the block, wait for the page it loads: a click or submit returns before the browser navigates."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as shown
    from selenium.webdriver.support.ui import WebDriverWait

    page = driver.find_element(By.TAG_NAME, "html")
    yield
    WebDriverWait(driver, seconds).until(shown.staleness_of(page))
    WebDriverWait(driver, seconds).until(
        lambda d: d.execute_script("return document.readyState") == "complete")


def click_through(driver: Any, element: Any) -> None:
    """Click a link or button that loads a new page, and wait for that page."""
    with page_load(driver):
        element.click()


def _store_rows(console: dict[str, Any], query: Any) -> list[Any]:
    store = open_store(console["gateway_url"], migrate=False)
    try:
        with store.reader() as session:
            return list(session.scalars(query))
    finally:
        store.dispose()


def _wait_for_file(folder: Path, suffix: str, seconds: float = 30) -> Path:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        done = [p for p in folder.iterdir() if p.name.endswith(suffix)]
        if done:
            return done[0]
        time.sleep(0.2)  # the browser writes the download
    pytest.fail(f"no {suffix} download in {folder}: {list(folder.iterdir())}")


def test_auditor_finds_a_record_by_document_number_and_reads_its_timeline(console: dict[str, Any],
                                                                         browser: Any) -> None:
    from selenium.webdriver.common.by import By

    record = _store_rows(console, select(Record).where(Record.state == RecordState.PUBLISHED)
                         .order_by(Record.document_no).limit(1))[0]
    sign_in(browser, console, "auditor")
    browser.get(console["base"] + "/creditsync/record")
    box = browser.find_element(By.NAME, "q")
    box.send_keys(record.document_no)
    with page_load(browser):
        box.submit()
    timeline = browser.find_element(By.ID, "timeline").text
    shot(browser, "auditor-record")
    assert record.document_no in browser.find_element(By.TAG_NAME, "h1").text
    assert "已公示" in browser.find_element(By.ID, "state").text
    assert "记录新版本" in timeline and "推送回执" in timeline  # its version and the platform's receipt
    assert browser.find_elements(By.CSS_SELECTOR, "form.action") == []  # a viewer sees no buttons


def test_auditor_sees_the_overview_with_its_chart_and_linked_figures(console: dict[str, Any],
                                                                     browser: Any) -> None:
    from selenium.webdriver.common.by import By

    sign_in(browser, console, "auditor")
    browser.get(console["base"] + "/creditsync/")
    canvas = browser.find_elements(By.CSS_SELECTOR, "#trend canvas")  # drawn by the vendored ECharts
    shot(browser, "auditor-overview")
    assert canvas and canvas[0].size["width"] > 300
    open_entries = _store_rows(console, select(QuarantineItem.id).where(QuarantineItem.resolved_at.is_(None)))
    link = browser.find_element(By.CSS_SELECTOR, "#dept-market_supervision + table tr.total a.warn")
    assert int(link.text) == len(open_entries)
    click_through(browser, link)
    assert len(browser.find_elements(By.CSS_SELECTOR, "#quarantine tr")) == len(open_entries) + 1


def test_auditor_downloads_the_audit_trail_as_csv_with_chinese_intact(console: dict[str, Any],
                                                                       browser: Any) -> None:
    from selenium.webdriver.common.by import By

    sign_in(browser, console, "auditor")
    browser.get(console["base"] + "/creditsync/audit?event=receipts_stored")
    shot(browser, "auditor-audit")
    browser.find_element(By.ID, "export-csv").click()
    raw = _wait_for_file(browser.downloads, ".csv").read_bytes()
    assert raw.startswith("\ufeff".encode())  # spreadsheet programs then read UTF-8
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    expected = _store_rows(console, select(AuditEntry.id).where(AuditEntry.event == "receipts_stored"))
    assert rows[0][0] == "序号 id" and "北京时间" in rows[0][1]
    assert [int(r[0]) for r in rows[1:]] == sorted(expected) and {r[4] for r in rows[1:]} == {"推送回执"}


def test_auditor_gets_403_posting_an_operator_action(console: dict[str, Any], browser: Any) -> None:
    sign_in(browser, console, "auditor")
    entry = _store_rows(console, select(QuarantineItem).where(QuarantineItem.resolved_at.is_(None)))[0]
    browser.get(console["base"] + "/creditsync/quarantine")
    status = browser.execute_async_script("""
        const done = arguments[arguments.length - 1], form = new FormData();
        form.append("entry_id", arguments[0]); form.append("reason", "audit test");
        form.append("csrf_token", "forged");
        fetch(arguments[1], {method: "POST", body: form, credentials: "same-origin"})
          .then(r => done(r.status), e => done(String(e)));""",
        entry.id, console["base"] + "/creditsync/actions/quarantine/redrive")
    shot(browser, "auditor-quarantine")
    assert status == 403
    (after,) = _store_rows(console, select(QuarantineItem).where(QuarantineItem.id == entry.id))
    assert after.resolved_at is None


def test_operator_redrives_a_quarantined_record_and_the_trail_names_them(console: dict[str, Any],
                                                                          browser: Any) -> None:
    from selenium.webdriver.common.by import By

    sign_in(browser, console, "operator")
    browser.get(console["base"] + "/creditsync/quarantine?department=market_supervision")
    shot(browser, "operator-quarantine")
    row = browser.find_element(By.CSS_SELECTOR, "#quarantine tr:nth-child(2)")
    entry_id = int(row.find_element(By.CSS_SELECTOR, "td").text)
    row.find_element(By.NAME, "reason").send_keys("部门已更正 fixed at source")
    click_through(browser, row.find_element(By.CSS_SELECTOR, "button[data-action='redrive']"))
    notice = browser.find_element(By.ID, "notice").text
    shot(browser, "operator-after-redrive")
    assert "已安排重推" in notice
    entry = _store_rows(console, select(QuarantineItem).where(QuarantineItem.id == entry_id))[0]
    redrives = _store_rows(console, select(AuditEntry).where(AuditEntry.event == "manual_redrive",
                                                             AuditEntry.category == entry.category))
    assert redrives and {e.actor for e in redrives} == {"operator"}
    assert redrives[-1].details["reason"] == "部门已更正 fixed at source"
    browser.get(console["base"] + "/creditsync/audit?event=manual_redrive")
    assert "operator" in browser.find_element(By.ID, "audit").text


def test_auditor_watches_a_running_run_read_and_push_on_the_overview(console: dict[str, Any],
                                                                     browser: Any) -> None:
    """While a run runs, the overview shows what it has read and pushed so far and reloads itself; once
    it ends, the figures are the report's and the reloading stops (so the other tests meet a still page)."""
    from selenium.webdriver.common.by import By

    store = open_store(console["gateway_url"], migrate=False)
    try:
        with store.transaction() as session:
            session.add(SyncRun(id="live-run", department="market_supervision", trigger="cli",
                                status="running", started_at=datetime.now(UTC), counts={}))
            session.flush()
            session.add(RunStream(run_id="live-run", category="penalty", counts={"read": 1500, "new": 1490}))
        live = SimpleNamespace(store=store, run_id="live-run")
        note_progress(live, "push", Counter(batches=2, acked=1000))  # the push beside the pull
        note_progress(live, "push", Counter(batches=1, acked=200))   # and the one after it
        sign_in(browser, console, "auditor")
        browser.get(console["base"] + "/creditsync/")
        row = browser.find_element(By.XPATH, "//table[@class='runs']//tr[contains(., 'live-run')]")
        browser.execute_script("arguments[0].scrollIntoView()", row)
        shot(browser, "auditor-overview-running")
        progress = row.find_element(By.CLASS_NAME, "progress").text
        assert "已读 1500 read · 已推送 1200 pushed (3 批 batches)" in progress
        assert browser.find_elements(By.CSS_SELECTOR, "meta[http-equiv='refresh']")
    finally:
        with store.transaction() as session:
            run = session.get(SyncRun, "live-run")
            if run is not None:
                run.status, run.finished_at = "success", datetime.now(UTC)
        store.dispose()
    browser.get(console["base"] + "/creditsync/")
    assert not browser.find_elements(By.CSS_SELECTOR, "meta[http-equiv='refresh']")
    row = browser.find_element(By.XPATH, "//table[@class='runs']//tr[contains(., 'live-run')]")
    assert not row.find_elements(By.CLASS_NAME, "progress") and "成功" in row.text
