"""What operators expect of an Airflow deployment, for each department DAG:

- Assets: ``creditsync://<department>/<category>``, updated (through the department's asset alias) by
  the push task only for the categories with records the platform acknowledged in the run, so a
  downstream DAG (a report, the reverse feed) scheduled on one runs when there is something new, not
  after every empty push;
- a deadline alert: a run not finished ``deadline_minutes`` after it was queued writes ``run_overdue``
  to the audit trail and logs a warning in the triggerer (Airflow 3's DeadlineAlert; SLAs are gone).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from airflow.sdk import Asset, AssetAlias
from airflow.sdk.definitions.deadline import AsyncCallback, DeadlineAlert, DeadlineReference

from creditsync.departments import DepartmentConfig

log = logging.getLogger(__name__)


def published_asset(department: str, category: str) -> Asset:
    return Asset(name=f"creditsync__{department}__{category}", uri=f"creditsync://{department}/{category}",
                 group="creditsync")


def published_assets(config: DepartmentConfig) -> list[Asset]:
    return [published_asset(config.department, stream.category) for stream in config.streams]


def published_alias(department: str) -> AssetAlias:
    return AssetAlias(name=f"creditsync__{department}__published", group="creditsync")


def acked_in_run(ctx: Any) -> dict[str, int]:
    """Records the platform acknowledged in this run so far, per category, from the run's receipts in
    the audit trail: a try that was killed after some batches still counts them for the retry."""
    from sqlalchemy import select

    from creditsync.audit import AuditEvent
    from creditsync.store.models import AuditEntry

    query = select(AuditEntry.category, AuditEntry.details).where(
        AuditEntry.run_id == ctx.run_id, AuditEntry.event == AuditEvent.RECEIPTS_STORED.value)
    acked: dict[str, int] = {}
    with ctx.store.reader() as session:
        for category, details in session.execute(query):
            if category and int((details or {}).get("acked", 0) or 0):
                acked[str(category)] = acked.get(str(category), 0) + int(details["acked"])
    return acked


def announce_published(department: str, acked: Mapping[str, int], context: Mapping[str, Any]) -> list[str]:
    """An asset event per category with records published in this run; returns those categories."""
    events = context["outlet_events"][published_alias(department)]
    for category in sorted(acked):
        events.add(published_asset(department, category), extra={"acked": acked[category]})
    return sorted(acked)


def run_deadline(config: DepartmentConfig) -> DeadlineAlert | None:
    if config.deadline_minutes is None:
        return None
    return DeadlineAlert(reference=DeadlineReference.DAGRUN_QUEUED_AT,
                         interval=timedelta(minutes=config.deadline_minutes),
                         callback=AsyncCallback(run_overdue, kwargs={"department": config.department,
                                                                     "minutes": config.deadline_minutes}))


async def run_overdue(department: str, minutes: float, context: Mapping[str, Any] | None = None) -> None:
    """The deadline's callback, in the triggerer: never raises (an alert must not fail the triggerer)."""
    dag_run = (context or {}).get("dag_run") or {}  # the scheduler sends the run as the REST API shows it
    run_id = str(dag_run.get("dag_run_id") or dag_run.get("run_id") or "?") if isinstance(dag_run, Mapping) \
        else "?"
    log.warning("CreditSync: %s run %s not finished %g minutes after it was queued", department, run_id,
                minutes)
    try:
        await asyncio.to_thread(_audit_overdue, department, run_id, minutes)
    except Exception:
        log.warning("CreditSync could not record the overdue run of %s", department, exc_info=True)


def _audit_overdue(department: str, run_id: str, minutes: float) -> None:
    from creditsync.audit import AuditEvent, AuditTrail
    from creditsync.orchestration.dag_factory import gateway_run_id
    from creditsync.orchestration.ui.store import gateway_store

    with gateway_store().transaction() as session:
        AuditTrail(actor="scheduler").append(session, AuditEvent.RUN_OVERDUE, department=department,
                                             run_id=gateway_run_id(department, run_id),
                                             deadline_minutes=minutes)
