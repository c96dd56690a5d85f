"""feed__platform run by Airflow itself (dag.test()): a subject the credit authority places on the
joint-punishment list at the platform is returned by the check with its matter's measures after one run
of the feed, and no longer after its repair event and the next run; the checks and the list versions
they saw are in the audit trail."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import select

from creditsync.audit import AuditTrail
from creditsync.credit.check import CheckRequest, check
from creditsync.credit.measures import load_catalogue
from creditsync.simulators.platform import PlatformSimulator, RunningSimulator
from creditsync.store import Store, open_store
from creditsync.store.credit_models import CreditListVersion
from creditsync.store.models import AuditEntry

REPO = Path(__file__).resolve().parents[2]
RUNNER = Path(__file__).with_name("run_dag_test.py")
USCC = "91370112MA3C00001X"
pytestmark = pytest.mark.integration


@pytest.fixture
def live(tmp_path: Path, sqlite_url: str) -> Iterator[tuple[dict[str, str], RunningSimulator]]:
    home = tmp_path / "airflow"
    env = dict(os.environ, AIRFLOW_HOME=str(home), AIRFLOW__CORE__LOAD_EXAMPLES="False",
               AIRFLOW__CORE__DAGS_FOLDER=str(REPO / "dags"),
               AIRFLOW__CORE__PLUGINS_FOLDER=str(REPO / "plugins"), CREDITSYNC_HOME=str(REPO),
               CREDITSYNC_DB_URL=sqlite_url)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    subprocess.run([str(Path(sys.executable).with_name("airflow")), "db", "migrate"], env=env, check=True,
                   capture_output=True, timeout=300)
    simulator = PlatformSimulator(app_key="k-feed")
    with simulator.start_in_thread() as platform:
        env["AIRFLOW_CONN_CREDITSYNC_PLATFORM"] = platform.url.replace("http://", "http://:k-feed@")
        yield env, platform
    simulator.close()


def _run(env: dict[str, str], logical_date: str) -> dict[str, Any]:
    done = subprocess.run([sys.executable, str(RUNNER), "feed__platform", "--logical-date", logical_date,
                           "--user", ""], env=env, capture_output=True, text=True, timeout=600)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert done.returncode == 0 and lines, done.stdout[-3000:] + done.stderr[-3000:]
    result: dict[str, Any] = json.loads(lines[-1])
    assert result["state"] == "success", done.stdout[-3000:] + done.stderr[-3000:]
    assert result["tasks"] == {"pull": "success", "deliver": "success"}
    return result


def _check(store: Store) -> dict[str, Any]:
    request = CheckRequest(USCC, "SC-ZTB-001", "market_supervision")
    return check(store, load_catalogue(REPO), request, AuditTrail("svc_market"))


def test_one_feed_run_lists_the_subject_and_the_next_one_after_its_repair_clears_it(
        live: tuple[dict[str, str], RunningSimulator]) -> None:
    env, platform = live
    placed = requests.post(f"{platform.url}/_sim/credit/lists", timeout=10, json={
        "subject_id": USCC, "subject_name": "济南某某建材有限公司", "cause": "严重违法失信",
        "authority": "济南市市场监督管理局", "start_date": "2026-02-01",
        "measures": ["CJ01", "CJ05", "CJ07"]})
    entry = placed.json()["data"]["data"][0]

    _run(env, "2026-12-01T00:00:00+00:00")
    store = open_store(env["CREDITSYNC_DB_URL"])
    try:
        listed = _check(store)
        assert listed["listed"] and [m["code"] for m in listed["measures"]] == ["CJ01", "CJ05"]

        requests.post(f"{platform.url}/_sim/credit/lists/{entry['entry_id']}/repair", timeout=10,
                      json={"decision_no": "济信修〔2026〕12号", "reason": "信用修复完成"}).raise_for_status()
        _run(env, "2026-12-01T00:15:00+00:00")
        cleared = _check(store)
        assert not cleared["listed"] and cleared["measures"] == []

        with store.reader() as session:
            versions = session.scalars(select(CreditListVersion.id).order_by(CreditListVersion.id)).all()
            checks = session.scalars(select(AuditEntry).where(AuditEntry.event == "credit_checked")
                                     .order_by(AuditEntry.id)).all()
            pulls = session.scalars(select(AuditEntry).where(AuditEntry.event == "credit_feed_pulled")).all()
    finally:
        store.dispose()
    assert [c.details["list_versions"] for c in checks] == [[versions[0]], [versions[1]]]
    assert [c.details["listed"] for c in checks] == [True, False]
    assert {p.actor for p in pulls} == {"scheduler"} and len(pulls) == 2
