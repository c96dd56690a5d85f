"""What ``creditsync deploy-init`` sets up (pools from the department files, the FAB roles) and what each
department DAG carries for Airflow (its pool, retries, deadline alert, asset alias); the deadline's
callback writes its audit entry. The whole deployment runs for real in tests/e2e."""

from __future__ import annotations

import asyncio
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from creditsync.departments import load_departments
from creditsync.orchestration import build_dags
from creditsync.orchestration.airflow_native import published_alias, published_asset, run_overdue
from creditsync.orchestration.deployment import (
    AUDITOR_ROLE,
    OPERATOR_ROLE,
    department_pools,
    role_permissions,
)
from creditsync.orchestration.ui.store import close_stores
from creditsync.store import open_store
from creditsync.store.models import AuditEntry

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(REPO / "adapters", tmp_path / "adapters")
    path = tmp_path / "adapters" / "market_supervision.yaml"
    config = yaml.safe_load(path.read_text("utf-8"))
    config.update(pool_slots=5, retries=4, retry_delay_s=7, deadline_minutes=45)
    path.write_text(yaml.safe_dump(config, allow_unicode=True), "utf-8")
    monkeypatch.setenv("CREDITSYNC_HOME", str(tmp_path))
    return tmp_path


def test_one_pool_per_department_sized_from_its_file(home: Path) -> None:
    pools = {p.name: p.slots for p in department_pools(load_departments(home / "adapters"))}
    assert pools == {f"creditsync__{p.stem}": 5 if p.stem == "market_supervision" else 2
                     for p in (home / "adapters").glob("*.yaml")}


def test_every_task_of_a_department_runs_in_its_pool_with_its_retries_and_deadline(home: Path) -> None:
    dag = build_dags()["sync__market_supervision"]
    assert {t.pool for t in dag.tasks} == {"creditsync__market_supervision"}
    work = [t for t in dag.tasks if t.task_id != "all_published"]  # the partial-run marker never retries
    assert {(t.retries, t.retry_delay) for t in work} == {(4, timedelta(seconds=7))}
    assert dag.get_task("all_published").retries == 0
    [alert] = dag.deadline
    assert alert.interval == timedelta(minutes=45)
    assert alert.callback.kwargs == {"department": "market_supervision", "minutes": 45}
    assert dag.task_dict["push"].outlets == [published_alias("market_supervision")]
    assert dag.task_dict["report"].inlets == [published_asset("market_supervision", c)
                                              for c in ("penalty", "license")]
    assert published_asset("market_supervision", "penalty").uri == "creditsync://market_supervision/penalty"


def test_a_department_without_a_deadline_gets_no_alert(home: Path) -> None:
    path = home / "adapters" / "health.yaml"
    path.write_text(path.read_text("utf-8") + "\ndeadline_minutes: null\n", "utf-8")
    assert not build_dags()["sync__health"].deadline


def test_the_operator_edits_runs_but_administers_nothing_and_the_auditor_only_reads() -> None:
    roles = role_permissions()
    operator, auditor = set(roles[OPERATOR_ROLE]), set(roles[AUDITOR_ROLE])
    assert {("can_create", "DAG Runs"), ("can_edit", "DAG Runs"), ("can_edit", "Task Instances"),
            ("can_edit", "DAGs")} <= operator
    assert not {r for _, r in operator} & {"Connections", "Variables", "Users", "Roles", "Pools Menu"}
    assert not {(a, r) for a, r in operator if r == "Pools" and a != "can_read"}
    assert {("can_read", "Audit Logs"), ("can_read", "DAG Runs"), ("can_read", "Task Logs")} <= auditor
    changes = {(a, r) for a, r in auditor if a not in ("can_read", "menu_access")}
    assert changes <= {("can_edit", "My Password"), ("can_edit", "My Profile")}


def test_the_deadline_callback_writes_run_overdue_and_never_raises(sqlite_url: str,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREDITSYNC_DB_URL", sqlite_url)
    context = {"dag_run": {"dag_run_id": "manual__2026-03-01T00:00:00+00:00", "state": "running"}}
    asyncio.run(run_overdue("market_supervision", 30, context=context))
    close_stores()
    monkeypatch.setenv("CREDITSYNC_DB_URL", "sqlite:////nonexistent/nowhere.db")
    asyncio.run(run_overdue("market_supervision", 30, context=context))  # logged, not raised
    close_stores()
    store = open_store(sqlite_url, migrate=False)
    with store.reader() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.event == "run_overdue")).one()
    store.dispose()
    assert (entry.department, entry.actor, entry.run_id) == (
        "market_supervision", "scheduler", "sync__market_supervision/manual__2026-03-01T00:00:00+00:00")
    assert entry.details["deadline_minutes"] == 30
