"""The distributed deployment, run for real: the operator triggers two departments through Airflow's REST
API, one Celery worker is SIGKILLed in the middle of market_supervision's push and the task retries on
the other; nothing is lost or duplicated, the audit chain holds, and what Airflow itself shows (pools,
assets, notes, the deadline alert, the run's actor) is right. Then one of the two schedulers is
killed while runs are in flight, and they finish."""

from __future__ import annotations

import sqlite3
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from airflow_rest import Client
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session
from topology import BIN, Topology, processes_titled, wait_until

from creditsync.store.models import AuditEntry, QuarantineItem, Record, SyncRun

pytestmark = pytest.mark.e2e
MARKET, ECOLOGY = "sync__market_supervision", "sync__ecology_environment"


@pytest.fixture(scope="module")
def operator(deployment: Topology) -> Client:
    client = Client(deployment, "operator")
    client.wait_dags({MARKET, ECOLOGY})
    return client


@pytest.fixture(scope="module")
def first_runs(deployment: Topology, operator: Client) -> Iterator[dict[str, Any]]:
    """Both departments triggered by the operator; the worker pushing market_supervision is killed
    once the platform has received some of its records."""
    runs = {}
    for dag_id in (MARKET, ECOLOGY):
        answer = operator.trigger(dag_id)
        assert answer.status_code == 200, answer.text
        runs[dag_id] = answer.json()["dag_run_id"]
    push = wait_until(lambda: _running_push(operator, runs[MARKET]), 240, "market_supervision pushing")
    wait_until(lambda: _platform_rows(deployment) > 0, 60, "the first records on the platform")
    victim = _worker_running(deployment, push["id"])
    received_at_kill = _platform_rows(deployment)
    deployment.kill(victim)
    finished = operator.wait_done(runs, 360)
    yield {"runs": runs, "finished": finished, "victim": victim, "received_at_kill": received_at_kill,
           "push": operator.tasks(MARKET, runs[MARKET])["push"]}


def _running_push(client: Client, run_id: str) -> dict[str, Any] | None:
    push = client.tasks(MARKET, run_id).get("push")
    return push if push and push["state"] == "running" else None


def _worker_running(deployment: Topology, ti_id: str) -> str:
    """The worker whose process group holds the task's process (titled ``airflow worker -- <ti id>``)."""
    for pid in processes_titled(ti_id):
        if (name := deployment.group_of(pid)) and name.startswith("worker-"):
            return name
    raise AssertionError(f"no worker runs task instance {ti_id}")


def _platform_rows(deployment: Topology) -> int:
    path = deployment.home / "platform.db"
    if not path.exists():
        return 0
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        return int(db.execute("SELECT COUNT(*) FROM records").fetchone()[0])


def _platform_keys(deployment: Topology) -> list[str]:
    with sqlite3.connect(f"file:{deployment.home / 'platform.db'}?mode=ro", uri=True) as db:
        return [key for (key,) in db.execute("SELECT business_key FROM records")]


def _store(deployment: Topology) -> Session:
    return Session(create_engine(deployment.settings()["CREDITSYNC_DB_URL"]))


def test_the_operator_triggers_both_departments_and_both_runs_succeed(first_runs: dict[str, Any]) -> None:
    assert {dag: run["state"] for dag, run in first_runs["finished"].items()} == {
        MARKET: "success", ECOLOGY: "success"}
    assert all(run["triggered_by"] == "rest_api" for run in first_runs["finished"].values())


def test_the_killed_workers_push_retried_on_the_other_worker(first_runs: dict[str, Any],
                                                             deployment: Topology) -> None:
    push = first_runs["push"]
    assert first_runs["received_at_kill"] > 0
    assert push["state"] == "success" and push["try_number"] >= 2
    assert deployment.processes[first_runs["victim"]].poll() is not None  # it stayed dead
    survivor = "worker-2" if first_runs["victim"] == "worker-1" else "worker-1"
    assert deployment.processes[survivor].poll() is None


def test_nothing_lost_nothing_duplicated_on_the_platform(first_runs: dict[str, Any],
                                                         deployment: Topology) -> None:
    keys = _platform_keys(deployment)
    with _store(deployment) as session:
        published = set(session.scalars(select(Record.business_key).where(Record.state == "published")))
        departments = dict(session.execute(select(Record.department, func.count()).where(
            Record.state == "published").group_by(Record.department)).all())
    lost, duplicated = len(published - set(keys)), len(keys) - len(set(keys))
    print(f"lost={lost} duplicated={duplicated} published={len(published)} platform_rows={len(keys)}")
    assert (lost, duplicated) == (0, 0)
    assert set(keys) == published
    assert departments.get("market_supervision", 0) > 50 and departments.get("ecology_environment", 0) > 0


def test_the_quarantine_holds_the_broken_records_and_the_audit_chain_is_intact(
        first_runs: dict[str, Any], deployment: Topology) -> None:
    with _store(deployment) as session:
        open_entries = session.scalar(select(func.count()).select_from(QuarantineItem).where(
            QuarantineItem.department == "market_supervision", QuarantineItem.resolved_at.is_(None)))
    assert open_entries and open_entries > 0
    verified = subprocess.run([str(BIN / "creditsync"), "audit", "verify"], env=deployment.env(),
                              capture_output=True, text=True, timeout=300)
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_the_audit_trail_names_the_operator_and_airflow_run_start_and_end(
        first_runs: dict[str, Any], deployment: Topology) -> None:
    run_id = f"{MARKET}/{first_runs['runs'][MARKET]}"
    with _store(deployment) as session:
        entries = session.scalars(select(AuditEntry).where(AuditEntry.run_id == run_id)).all()
    events = [e.event for e in entries]
    assert {"dag_run_started", "run_started", "push_attempt", "run_finished", "dag_run_ended"} <= set(events)
    assert {e.actor for e in entries if e.event != "run_overdue"} == {"operator"}
    ended = next(e for e in entries if e.event == "dag_run_ended")
    assert ended.details["state"] == "success"


def test_the_partial_run_has_its_marker_and_note_from_the_live_scheduler(first_runs: dict[str, Any],
                                                                        deployment: Topology) -> None:
    note = first_runs["finished"][MARKET]["note"] or ""
    assert "quarantine" in note or "隔离" in note, note
    with _store(deployment) as session:
        run = session.get(SyncRun, f"{MARKET}/{first_runs['runs'][MARKET]}")
    assert run is not None and run.status == "partial" and run.counts.get("quarantined", 0) > 0


def test_the_deadline_alert_records_the_overdue_run(first_runs: dict[str, Any], deployment: Topology) -> None:
    run_id = f"{MARKET}/{first_runs['runs'][MARKET]}"

    def overdue() -> AuditEntry | None:
        with _store(deployment) as session:
            return session.scalars(select(AuditEntry).where(AuditEntry.event == "run_overdue")).first()

    entry = wait_until(overdue, 60, "the run_overdue entry")
    assert (entry.run_id, entry.department, entry.actor) == (run_id, "market_supervision", "scheduler")
    assert entry.details["deadline_minutes"] == 0.5


def test_one_pool_per_department_and_assets_updated_by_published_records(
        first_runs: dict[str, Any], operator: Client, deployment: Topology) -> None:
    pools = {p["name"]: p["slots"] for p in operator.get("/api/v2/pools").json()["pools"]}
    assert pools["creditsync__market_supervision"] == 3 and pools["creditsync__ecology_environment"] == 2
    for dag_id, run_id in first_runs["runs"].items():
        assert _asset_events(operator, run_id) == _acked_categories(deployment, dag_id, run_id) != set()
    assert _asset_events(operator, first_runs["runs"][MARKET]) == {
        "creditsync://market_supervision/penalty", "creditsync://market_supervision/license"}


def _asset_events(client: Client, run_id: str) -> set[str]:
    events = client.get("/api/v2/assets/events", limit=100).json()["asset_events"]
    return {e["uri"] for e in events if e["source_run_id"] == run_id}


def _acked_categories(deployment: Topology, dag_id: str, run_id: str) -> set[str]:
    """creditsync://<department>/<category> of every category the platform acknowledged in the run."""
    with _store(deployment) as session:
        receipts = session.scalars(select(AuditEntry).where(AuditEntry.event == "receipts_stored",
                                                            AuditEntry.run_id == f"{dag_id}/{run_id}")).all()
    department = dag_id.removeprefix("sync__")
    return {f"creditsync://{department}/{e.category}" for e in receipts if e.details.get("acked")}


def test_secrets_from_the_secrets_backend_never_reach_a_log(first_runs: dict[str, Any],
                                                            deployment: Topology) -> None:
    logs = [p for p in (deployment.home / "airflow" / "logs").rglob("*") if p.is_file()]
    logs += list(deployment.home.glob("*.log"))
    assert any("push" in str(p) for p in logs)
    for path in logs:
        text = path.read_text("utf-8", errors="replace")
        assert deployment.app_key not in text, path
        assert deployment.source_token not in text, path


def test_two_schedulers_one_killed_with_runs_in_flight_the_runs_finish(
        first_runs: dict[str, Any], deployment: Topology, operator: Client) -> None:
    deployment.start_worker(1 if first_runs["victim"] == "worker-1" else 2)  # compose restarts it
    runs = {dag: operator.trigger(dag).json()["dag_run_id"] for dag in (MARKET, ECOLOGY)}
    wait_until(lambda: all(operator.run(d, r)["state"] == "running" for d, r in runs.items()), 120,
               "both runs running")
    deployment.kill("scheduler-1")
    finished = operator.wait_done(runs, 300)
    assert {dag: run["state"] for dag, run in finished.items()} == {MARKET: "success", ECOLOGY: "success"}
    assert deployment.processes["scheduler-2"].poll() is None
    for dag_id, run_id in runs.items():  # an asset event only for what the platform acknowledged
        assert _asset_events(operator, run_id) == _acked_categories(deployment, dag_id, run_id)
