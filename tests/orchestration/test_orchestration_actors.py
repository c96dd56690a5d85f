"""Who a DAG run's audit entries name, and the day the daily expiry run stands for."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from typing import Any

import pytest
from airflow.sdk.api.datamodels._generated import DagRun

from creditsync.audit.trail import default_actor
from creditsync.orchestration.actors import ACTOR_ENV, SCHEDULER, acting_as, run_actor
from creditsync.orchestration.expiry_dag import run_day


def task_sdk_run(user: str | None, run_after: datetime | None = None) -> DagRun:
    """The DAG run a task's context holds (the Task SDK's own model)."""
    return DagRun(dag_id="sync__health", run_id="manual__1", logical_date=None, data_interval_start=None,
                  data_interval_end=None, run_after=run_after or datetime(2026, 11, 30, tzinfo=UTC),
                  start_date=None, end_date=None, run_type="manual", state="running",
                  consumed_asset_events=[], partition_key=None, triggering_user_name=user)


@pytest.mark.parametrize(("user", "actor"), [
    ("alice", "alice"),  # triggered in the UI or through the REST API
    (None, SCHEDULER),  # a scheduled run
    ("  ", SCHEDULER),
])
def test_the_actor_is_the_user_who_triggered_the_run_else_the_scheduler(user: str | None, actor: str) -> None:
    assert run_actor(task_sdk_run(user)) == actor


def test_library_audit_trails_act_for_the_run_and_the_process_is_left_as_it_was(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ACTOR_ENV, raising=False)
    os_user = default_actor()
    with acting_as("carol"):
        assert default_actor() == "carol"
    assert default_actor() == os_user and ACTOR_ENV not in os.environ


@pytest.mark.parametrize(("context", "day"), [
    # a scheduled run at midnight Beijing time stands for the day that starts then
    ({"data_interval_end": datetime(2026, 6, 1, 16, 0, tzinfo=UTC)}, date(2026, 6, 2)),
    # a manual run: the local day it was due
    ({"data_interval_end": None, "dag_run": task_sdk_run(None, datetime(2026, 6, 1, 17, 0, tzinfo=UTC))},
     date(2026, 6, 2)),
    ({"dag_run": task_sdk_run(None, datetime(2026, 6, 1, 15, 59, tzinfo=UTC))}, date(2026, 6, 1)),
])
def test_the_expiry_run_works_on_the_local_day(context: dict[str, Any], day: date) -> None:
    assert run_day(context) == day
