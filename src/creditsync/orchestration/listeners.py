"""Airflow listeners (registered by the console plugin): every department DAG run's start and end go to
the gateway's audit trail (``dag_run_started`` / ``dag_run_ended``, acting for who triggered it); a
department's DAG run that quarantined records,
failed or left deliveries pending gets a note in the grid with its figures and a link to the quarantine
page, so a partial run never looks like a clean one.

They run inside the scheduler (or ``dag.test()``): one primary-key read of the gateway store, and the
note set on the run in the scheduler's own session, committed with the run's new state. Anything going
wrong is logged, never raised: a note must not break scheduling.
"""

from __future__ import annotations

import logging
from typing import Any

from airflow.listeners import hookimpl
from sqlalchemy.orm import object_session

log = logging.getLogger(__name__)
DAG_PREFIX = "sync__"


@hookimpl
def on_dag_run_running(dag_run: Any, msg: str) -> None:
    audit_dag_run(dag_run, "running")


@hookimpl
def on_dag_run_success(dag_run: Any, msg: str) -> None:
    annotate_run(dag_run)
    audit_dag_run(dag_run, "success")


@hookimpl
def on_dag_run_failed(dag_run: Any, msg: str) -> None:
    annotate_run(dag_run)
    audit_dag_run(dag_run, "failed")


def audit_dag_run(dag_run: Any, state: str) -> None:
    """The run's start and end as Airflow saw them, in the gateway's audit trail (a run that failed
    before its tasks wrote anything still leaves a trace), naming whoever triggered it."""
    try:
        dag_id = str(dag_run.dag_id)
        if not dag_id.startswith(DAG_PREFIX):
            return
        from creditsync.audit import AuditEvent, AuditTrail
        from creditsync.orchestration.actors import run_actor
        from creditsync.orchestration.dag_factory import gateway_run_id
        from creditsync.orchestration.ui.store import gateway_store

        department = dag_id.removeprefix(DAG_PREFIX)
        event = AuditEvent.DAG_RUN_STARTED if state == "running" else AuditEvent.DAG_RUN_ENDED
        with gateway_store().transaction() as session:
            AuditTrail(actor=run_actor(dag_run)).append(
                session, event, department=department,
                run_id=gateway_run_id(department, str(dag_run.run_id)), state=state,
                run_type=str(getattr(dag_run.run_type, "value", dag_run.run_type) or ""))
    except Exception:  # a listener must never fail the scheduler's loop
        log.warning("CreditSync could not audit DAG run %s", getattr(dag_run, "run_id", "?"), exc_info=True)


def annotate_run(dag_run: Any) -> None:
    try:
        dag_id = str(dag_run.dag_id)
        if not dag_id.startswith(DAG_PREFIX):
            return
        department = dag_id.removeprefix(DAG_PREFIX)
        ours = note_for(department, str(dag_run.run_id))
        if object_session(dag_run) is not None:
            _set_note(dag_run, ours)  # committed by the scheduler with the run's new state
        else:  # dag.test() hands over a run whose session is gone: write it in a session of our own
            from airflow.models.dagrun import DagRun
            from airflow.utils.session import create_session

            with create_session() as session:
                if (stored := session.get(DagRun, dag_run.id)) is not None:
                    _set_note(stored, ours)
    except Exception:  # a listener must never fail the scheduler's loop
        log.warning("CreditSync could not annotate DAG run %s", getattr(dag_run, "run_id", "?"),
                    exc_info=True)


def _set_note(dag_run: Any, ours: str | None) -> None:
    from creditsync.orchestration.run_note import merge_note

    merged = merge_note(dag_run.note, ours)
    if merged != (dag_run.note or None):
        dag_run.note = merged


def note_for(department: str, airflow_run_id: str) -> str | None:
    """The gateway's note for the run, from the totals its report step stored (none yet: no note)."""
    from creditsync.orchestration.dag_factory import gateway_run_id
    from creditsync.orchestration.run_note import quarantine_href, run_note
    from creditsync.orchestration.ui.store import gateway_store
    from creditsync.store.models import SyncRun

    with gateway_store().reader() as session:
        run = session.get(SyncRun, gateway_run_id(department, airflow_run_id))
        if run is None or not run.counts:
            return None
        status, counts = run.status, dict(run.counts)
    return run_note(status, counts, quarantine_href(console_path(), department))


def console_path() -> str:
    """The console's path under Airflow's ``[api] base_url``, as the browser showing the grid needs it."""
    from urllib.parse import urlsplit

    from airflow.configuration import conf

    from creditsync.orchestration.ui import URL_PREFIX

    root = urlsplit(conf.get("api", "base_url", fallback="") or "/").path.rstrip("/")
    return f"{root}{URL_PREFIX}"
