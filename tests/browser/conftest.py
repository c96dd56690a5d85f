"""A real ``airflow api-server`` with the CreditSync plugin on a free port, over a gateway store the real
pipeline filled once from the market-supervision simulator, and headless Debian Chromium driven by
Selenium (never a browser download of the test tool's own)."""

from __future__ import annotations

import contextlib
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




def _sync_once(gateway_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The real pipeline, once, for market_supervision against the simulators (no retry ever sleeps)."""
    from creditsync import secrets
    from creditsync.delivery import PlatformClient, default_retry_policy
    from creditsync.exceptions import FatalError
    from creditsync.pipeline import pull, push, report
    from creditsync.pipeline.runner import Gateway
    from creditsync.simulators.departments import market_supervision as source_sim
    from creditsync.simulators.platform import PlatformSimulator
    from creditsync.sources import rest

    no_sleep = rest.default_retrying
    monkeypatch.setattr(rest, "default_retrying", lambda: no_sleep().copy(sleep=lambda _s: None))
    monkeypatch.setattr(secrets, "_resolver", None)
    simulator = PlatformSimulator(app_key="k-browser")
    platform = simulator.start_in_thread()
    with source_sim.start_in_thread(token="t-browser", seed=7) as source:
        for name, value in {"CREDITSYNC_HOME": str(REPO), "CREDITSYNC_DB_URL": gateway_url,
                            "AIRFLOW_CONN_MARKET_SUPERVISION_SOURCE":
                                source.url.replace("://", "://:t-browser@")}.items():
            monkeypatch.setenv(name, value)
        gateway = Gateway.open()
        try:
            ctx = gateway.context(gateway.department(DEPARTMENT))
            pull(ctx)
            push(ctx, PlatformClient(platform.url, "k-browser",
                                     retrying=default_retry_policy(sleep=lambda _s: None)))
            with contextlib.suppress(FatalError):  # past a bad-record threshold: failed after delivering
                report(ctx)
        finally:
            gateway.store.dispose()
            platform.stop()
            simulator.close()






@pytest.fixture(scope="session")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The running console: ``base`` URL, ``gateway_url``, and a Bearer ``tokens`` per user."""
    _require_browser()
    home = tmp_path_factory.mktemp("console-airflow")
    gateway_url = f"sqlite:///{home / 'gateway.db'}"
    upgrade(gateway_url)  # what make demo and the deployment's init step do
    (home / "passwords.json").write_text(json.dumps({u: p for u, (p, _) in USERS.items()}), encoding="utf-8")
    env = airflow_env(home, gateway_url, ",".join(f"{u}:{r}" for u, (_, r) in USERS.items()))
    airflow = str(Path(sys.executable).with_name("airflow"))
    subprocess.run([airflow, "db", "migrate"], env=env, check=True, capture_output=True, timeout=300)
    base, log = f"http://127.0.0.1:{(port := free_port())}", home / "api-server.log"
    with log.open("wb") as out:
        server = subprocess.Popen([airflow, "api-server", "--host", "127.0.0.1", "--port", str(port),
                                   "--workers", "1"], env=env, stdout=out, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    try:
        with pytest.MonkeyPatch.context() as monkeypatch:  # while the api-server starts
            _sync_once(gateway_url, monkeypatch)
        wait_healthy(server, base, log)
        yield {"base": base, "gateway_url": gateway_url, "log": log,
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
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
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
