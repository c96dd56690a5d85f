"""The DAG factory: one DAG per department file, thin and safe to parse."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from creditsync.orchestration import build_dags

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(REPO / "adapters", tmp_path / "adapters")
    monkeypatch.setenv("CREDITSYNC_HOME", str(tmp_path))
    return tmp_path


def test_every_department_file_becomes_a_dag(home: Path) -> None:
    dags = build_dags()
    expected = {f"sync__{p.stem}" for p in (home / "adapters").glob("*.yaml")}
    assert set(dags) == expected
    dag = dags["sync__market_supervision"]
    assert [t.task_id for t in dag.topological_sort()] == ["extract", "transform", "push", "report"]
    assert dag.max_active_runs == 1
    assert "market_supervision" in dag.tags


def test_a_broken_department_file_fails_alone_and_says_why(home: Path) -> None:
    (home / "adapters" / "broken_dept.yaml").write_text(
        "department: broken_dept\nname: x\nsource: {kind: rest}\nstreams: []\nunknown_key: 1\n",
        encoding="utf-8")
    dags = build_dags()
    assert "sync__market_supervision" in dags
    broken = dags["sync__broken_dept"]
    assert [t.task_id for t in broken.tasks] == ["configuration_error"]
    assert "unknown_key" in (broken.doc_md or "")
    assert "streams" in (broken.doc_md or "")


def test_disabled_departments_get_no_dag(home: Path) -> None:
    path = home / "adapters" / "market_supervision.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "enabled: false\n", encoding="utf-8")
    assert "sync__market_supervision" not in build_dags()


def test_parsing_opens_no_store_and_no_connection(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The dag-processor parses often: parsing must not touch the database or the network."""
    monkeypatch.setenv("CREDITSYNC_DB_URL", "postgresql+psycopg2://nobody@127.0.0.1:1/none")
    monkeypatch.delenv("AIRFLOW_CONN_MARKET_SUPERVISION_SOURCE", raising=False)
    assert "sync__market_supervision" in build_dags()
