"""report__quality run by Airflow itself (dag.test()) over the hand-counted autumn: the files written, the
Asset updated, and the alerts of that day kept once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pipeline_harness import Harness
from quality_support import DEPARTMENT, document, write_autumn
from sqlalchemy import select

from creditsync.store.models import QualityAlert

REPO = Path(__file__).resolve().parents[2]
RUNNER = REPO / "tests" / "orchestration" / "run_dag_test.py"
pytestmark = pytest.mark.integration
# 01:00 on 10/14 in Beijing: the run standing for 10/14 (its data interval ends then)
RUN_AT = "2026-10-13T17:00:00+00:00"


def run_dag(env: dict[str, str]) -> dict[str, Any]:
    done = subprocess.run([sys.executable, str(RUNNER), "report__quality", "--logical-date", RUN_AT],
                          env=env, capture_output=True, text=True, timeout=600)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert done.returncode == 0 and lines, done.stdout[-3000:] + done.stderr[-3000:]
    result: dict[str, Any] = json.loads(lines[-1])
    result["log"] = done.stdout + done.stderr
    return result


def test_the_daily_dag_writes_the_files_and_alerts_each_record_once(
    harness: Harness, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch
) -> None:
    write_autumn(harness, tmp_path, monkeypatch)
    home, folder = tmp_path_factory.mktemp("airflow"), tmp_path / "reports"
    env = dict(os.environ, AIRFLOW_HOME=str(home), AIRFLOW__CORE__LOAD_EXAMPLES="False",
               AIRFLOW__CORE__DAGS_FOLDER=str(REPO / "dags"),
               AIRFLOW__CORE__PLUGINS_FOLDER=str(REPO / "plugins"),
               CREDITSYNC_HOME=str(REPO), CREDITSYNC_DB_URL=harness.db_url,
               CREDITSYNC_QUALITY_REPORTS_DIR=str(folder))
    env.pop("CREDITSYNC_QUALITY_ALERT_TO", None)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    subprocess.run([str(Path(sys.executable).with_name("airflow")), "db", "migrate"], env=env, check=True,
                   capture_output=True, timeout=300)

    result = run_dag(env)

    assert result["state"] == "success", result["log"][-3000:]
    assert result["tasks"] == {"write_scorecards": "success", "alert_before_deadline": "success"}
    names = {p.name for p in folder.iterdir()}
    assert {f"质量评分-{DEPARTMENT}-2026-Q4.xlsx", f"退回整改-{DEPARTMENT}-2026-10-14.xlsx"} <= names
    alerted = harness.rows(QualityAlert)
    assert sorted((a.document_no, a.channel) for a in alerted) == [(document(k), "log") for k in "BCF"]
    assert all(document(k) in result["log"] for k in "BCF")  # the task log has them

    again = run_dag(env)  # the same day again (a cleared run): nothing alerted twice
    assert again["state"] == "success"
    with harness.gateway.store.reader() as session:
        assert len(session.scalars(select(QualityAlert)).all()) == 3
