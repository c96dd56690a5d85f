"""A real ``airflow api-server`` with the CreditSync plugin on a free port, over a gateway store that one
Airflow run of sync__market_supervision (``dag.test()``, in the api-server's metadata database) filled
from the market-supervision simulator, and headless Debian Chromium in Beijing time driven by Selenium
(never a browser download of the test tool's own)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from airflow_api_server import airflow_env, free_port, stop_group, wait_healthy

from creditsync.store.db import upgrade

REPO = Path(__file__).resolve().parents[2]
DEPARTMENT = "market_supervision"
# user → (password, SimpleAuthManager role)
USERS = {"auditor": ("auditor-pw-b", "viewer"), "operator": ("operator-pw-b", "op")}
BROWSER_TZ = "Asia/Shanghai"
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run", "--disable-sync",
                  "--window-size=1400,1000", "--lang=zh-CN")


def _require_browser() -> None:
    """`make test` installs Chromium (Makefile: chromium); outside CI a missing one skips the suite."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists()]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("selenium (pip)")
    if missing:
        message = f"browser suite needs {', '.join(missing)}: run `make chromium` / `make install`"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)




RUNNER = REPO / "tests" / "orchestration" / "run_dag_test.py"
FIRST_RUN, SECOND_RUN = "2026-11-30T01:00:00+00:00", "2026-11-30T02:00:00+00:00"


def _run_dags(env: dict[str, str], gateway_url: str) -> tuple[dict[str, Any], str]:
    """Airflow runs sync__market_supervision (``dag.test()``, in the api-server's own metadata database,
    so its grid shows the runs) against the simulators: once, then again after the department corrected
    one published record. The first run's final state as JSON, and the corrected record's key."""
    from creditsync.simulators.departments import market_supervision as source_sim
    from creditsync.simulators.platform import PlatformSimulator

    simulator = PlatformSimulator(app_key="k-browser")
    platform = simulator.start_in_thread()
    try:
        with source_sim.start_in_thread(token="t-browser", seed=7) as source:
            run_env = dict(env, AIRFLOW_CONN_CREDITSYNC_PLATFORM=platform.url.replace("://", "://:k-browser@"),
                           AIRFLOW_CONN_MARKET_SUPERVISION_SOURCE=source.url.replace("://", "://:t-browser@"))
            first = _run_dag(run_env, FIRST_RUN)
            corrected = _published(gateway_url)[1]
            record = source.update(corrected.source_key)
            source.update(corrected.source_key, facts=str(record["facts"]) + "（更正）")
            _run_dag(run_env, SECOND_RUN)
    finally:
        platform.stop()
        simulator.close()
    return first, corrected.business_key


def _published(gateway_url: str) -> list[Any]:
    from sqlalchemy import select

    from creditsync.store import open_store
    from creditsync.store.models import Record

    store = open_store(gateway_url, migrate=False)
    try:
        with store.reader() as session:
            return list(session.scalars(select(Record).where(Record.state == "published")
                                        .order_by(Record.document_no).limit(2)))
    finally:
        store.dispose()


def _run_dag(env: dict[str, str], logical_date: str) -> dict[str, Any]:
    done = subprocess.run([sys.executable, str(RUNNER), f"sync__{DEPARTMENT}", "--logical-date",
                           logical_date, "--user", "operator"], env=env, capture_output=True,
                          text=True, timeout=600)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert done.returncode == 0 and lines, done.stdout[-3000:] + done.stderr[-3000:]
    result: dict[str, Any] = json.loads(lines[-1])
    return result


@pytest.fixture(scope="session")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The running console: ``base`` URL, ``gateway_url``, and a Bearer ``tokens`` per user."""
    _require_browser()
    home = tmp_path_factory.mktemp("console-airflow")
    gateway_url = f"sqlite:///{home / 'gateway.db'}"
    upgrade(gateway_url)  # what make demo and the deployment's init step do
    (home / "passwords.json").write_text(json.dumps({u: p for u, (p, _) in USERS.items()}), encoding="utf-8")
    env = airflow_env(home, gateway_url, ",".join(f"{u}:{r}" for u, (_, r) in USERS.items()))
    env["AIRFLOW__CORE__DEFAULT_TIMEZONE"] = "Asia/Shanghai"  # as make demo and docker-compose.yaml
    airflow = str(Path(sys.executable).with_name("airflow"))
    subprocess.run([airflow, "db", "migrate"], env=env, check=True, capture_output=True, timeout=300)
    base, log = f"http://127.0.0.1:{(port := free_port())}", home / "api-server.log"
    with log.open("wb") as out:
        server = subprocess.Popen([airflow, "api-server", "--host", "127.0.0.1", "--port", str(port),
                                   "--workers", "1"], env=env, stdout=out, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    try:
        run, corrected = _run_dags(env, gateway_url)  # while the api-server starts
        wait_healthy(server, base, log)
        yield {"base": base, "gateway_url": gateway_url, "log": log, "run": run, "corrected": corrected,
               "tokens": {user: _token(base, user) for user in USERS}}
    finally:
        stop_group(server)


def _token(base: str, user: str) -> str:
    answer = requests.post(f"{base}/auth/token", json={"username": user, "password": USERS[user][0]},
                           timeout=10)
    assert answer.status_code in (200, 201), answer.text
    return str(answer.json()["access_token"])


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    """A fresh headless Chromium per test (its own profile and download folder under tmp_path)."""
    _require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'profile'}")
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False,
                                              "intl.accept_languages": "zh-CN,zh"})
    # in Beijing time, as users' machines are: Airflow's UI shows times in the browser's time zone
    service = Service(CHROMEDRIVER, env=dict(os.environ, TZ=BROWSER_TZ))
    driver = webdriver.Chrome(service=service, options=options)
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow",
                                                           "downloadPath": str(downloads)})
    driver.set_page_load_timeout(60)
    driver.downloads = downloads
    driver.screenshots = tmp_path
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(tmp_path / "profile", ignore_errors=True)
