"""A partial run as IT staff and auditors see it in Airflow's own UI: the run's last task,
``all_published``, is skipped (not green) in the grid, while pull, push and report succeeded."""

from __future__ import annotations

from typing import Any

import pytest
from test_console_browser import shot, sign_in

from creditsync.store import open_store
from creditsync.store.models import SyncRun

pytestmark = [pytest.mark.browser, pytest.mark.integration]
TASKS = ("pull", "push", "report", "all_published")


def test_auditor_sees_a_partial_run_in_airflows_grid(console: dict[str, Any], browser: Any) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as shown
    from selenium.webdriver.support.ui import WebDriverWait

    run_id = console["run"]["run_id"]
    store = open_store(console["gateway_url"], migrate=False)
    with store.reader() as session:
        run = session.get(SyncRun, f"sync__market_supervision/{run_id}")
        assert run is not None and run.status == "partial" and run.counts["quarantined"] > 0
    store.dispose()
    sign_in(browser, console, "auditor")
    browser.get(console["base"] + "/dags/sync__market_supervision")
    badges = {task: WebDriverWait(browser, 60).until(shown.visibility_of_element_located(
        (By.CSS_SELECTOR, f"a[id='grid-{run_id}-{task}'] [data-testid='task-state-badge']")))
        for task in TASKS}
    colours = {task: badge.value_of_css_property("background-color") for task, badge in badges.items()}
    ActionChains(browser).move_to_element(badges["all_published"]).perform()
    tooltip = WebDriverWait(browser, 20).until(shown.visibility_of_element_located(
        (By.CSS_SELECTOR, "[data-part='content'][data-state='open']"))).text
    shot(browser, "auditor-airflow-grid")
    assert colours["pull"] == colours["push"] == colours["report"]  # green: they succeeded
    assert colours["all_published"] != colours["report"], colours
    assert "状态: 已跳过" in tooltip and run_id in tooltip  # Airflow's own words: skipped
