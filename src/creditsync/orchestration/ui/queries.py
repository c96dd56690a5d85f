"""What the status and audit pages show, read from the gateway store: plain functions returning
JSON-ready dicts, no Airflow and no FastAPI, so they are tested (and reusable) without a web server.

Nothing here returns a full ID number: audit details are masked again on the way out (they are masked
when written; this is the second lock on the door), and no record payload is read at all.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from datetime import time as day_start
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from creditsync.audit import verify_chain
from creditsync.departments import DepartmentConfig
from creditsync.privacy import mask_record, mask_text
from creditsync.store import Store
from creditsync.store.models import AuditEntry, Cursor, OutboxItem, QuarantineItem, Record, SyncRun

# Publication states every department row shows, in this order (others appear after them if present).
RECORD_STATES = ("published", "pending", "rejected", "withdrawn", "revoked")
AUDIT_PAGE_SIZE = 200
# Offered as suggestions in the event filter; any other event name typed in works as well.
KNOWN_EVENTS = (
    "run_started", "source_read", "source_failed", "stream_transformed", "record_version",
    "record_quarantined", "push_attempt", "push_receipt", "push_rejected", "push_failed",
    "cursor_advanced", "withdrawal_queued", "revoked_unpublished", "republish_blocked",
    "run_finished", "manual_redrive", "quarantine_resolved", "reconciliation", "reconciled",
    "audit_pruned",
)


@dataclass(frozen=True)
class AuditFilter:
    department: str | None = None
    event: str | None = None
    since: date | None = None  # a UTC day, as the times are shown


def dag_id(department: str) -> str:
    return f"sync__{department}"


def department_status(store: Store, configs: Iterable[DepartmentConfig],
                      now: datetime | None = None) -> list[dict[str, Any]]:
    """One row per department: configured ones first (file order), then any only the store knows
    (e.g. files handed over with ``creditsync push --department``)."""
    now = now or datetime.now(UTC)
    configured = {c.department: c for c in configs}
    with store.reader() as session:
        states = _record_states(session)
        pending = _pending_outbox(session)
        quarantined = _open_quarantine(session)
        cursors = _cursors(session)
        known = set(states) | set(pending) | set(quarantined) | set(cursors) | _run_departments(session)
        names = list(configured) + sorted(known - set(configured))
        return [_row(session, name, configured.get(name), states.get(name, {}), pending.get(name),
                     quarantined.get(name, 0), cursors.get(name, {}), now) for name in names]


def _row(session: Session, name: str, config: DepartmentConfig | None, states: dict[str, int],
         pending: tuple[int, datetime | None] | None, quarantined: int,
         cursors: dict[str, dict[str, Any]], now: datetime) -> dict[str, Any]:
    count, oldest = pending or (0, None)
    records = {state: states.get(state, 0) for state in RECORD_STATES}
    records.update({state: n for state, n in sorted(states.items()) if state not in records})
    streams = [s.category for s in config.streams] if config else sorted(cursors)
    return {
        "department": name,
        "name": config.name if config else None,
        "configured": config is not None,
        "enabled": config.enabled if config else False,
        "dag_id": dag_id(name),
        "records": records,
        "records_total": sum(states.values()),
        "outbox_pending": count,
        "outbox_oldest_pending_at": _iso(oldest),
        "outbox_oldest_pending_age_s": round((now - _utc(oldest)).total_seconds()) if oldest else None,
        "quarantine_open": quarantined,
        "last_run": _last_run(session, name),
        "cursors": {category: cursors.get(category, {"value": None, "updated_at": None})
                    for category in streams} | cursors,
    }


def _record_states(session: Session) -> dict[str, dict[str, int]]:
    rows = session.execute(select(Record.department, Record.state, func.count())
                           .group_by(Record.department, Record.state))
    found: dict[str, dict[str, int]] = {}
    for department, state, count in rows:
        found.setdefault(department, {})[state] = int(count)
    return found


def _pending_outbox(session: Session) -> dict[str, tuple[int, datetime | None]]:
    rows = session.execute(select(OutboxItem.department, func.count(), func.min(OutboxItem.created_at))
                           .where(OutboxItem.status == "pending").group_by(OutboxItem.department))
    return {department: (int(count), oldest) for department, count, oldest in rows}


def _open_quarantine(session: Session) -> dict[str, int]:
    rows = session.execute(select(QuarantineItem.department, func.count())
                           .where(QuarantineItem.resolved_at.is_(None)).group_by(QuarantineItem.department))
    return {department: int(count) for department, count in rows}


def _cursors(session: Session) -> dict[str, dict[str, dict[str, Any]]]:
    found: dict[str, dict[str, dict[str, Any]]] = {}
    for cursor in session.scalars(select(Cursor).order_by(Cursor.department, Cursor.category)):
        found.setdefault(cursor.department, {})[cursor.category] = {
            "value": cursor.value, "updated_at": _iso(cursor.updated_at)}
    return found


def _run_departments(session: Session) -> set[str]:
    return set(session.scalars(select(SyncRun.department).distinct()))


def _last_run(session: Session, department: str) -> dict[str, Any] | None:
    run = session.scalars(select(SyncRun).where(SyncRun.department == department)
                          .order_by(SyncRun.started_at.desc()).limit(1)).first()
    if run is None:
        return None
    return {"id": run.id, "status": run.status, "trigger": run.trigger,
            "started_at": _iso(run.started_at), "finished_at": _iso(run.finished_at)}


def audit_entries(store: Store, filters: AuditFilter, limit: int = AUDIT_PAGE_SIZE) -> list[dict[str, Any]]:
    """The newest ``limit`` entries matching the filters, newest first."""
    query = select(AuditEntry)
    if filters.department:
        query = query.where(AuditEntry.department == filters.department)
    if filters.event:
        query = query.where(AuditEntry.event == filters.event)
    if filters.since:
        query = query.where(AuditEntry.ts >= datetime.combine(filters.since, day_start.min, UTC))
    # ts first: the (department, ts) and (event, ts) indexes serve a filtered page without a full scan
    query = query.order_by(AuditEntry.ts.desc(), AuditEntry.id.desc()).limit(max(1, min(limit, 1000)))
    with store.reader() as session:
        return [_entry(entry) for entry in session.scalars(query)]


def _entry(entry: AuditEntry) -> dict[str, Any]:
    return {"id": entry.id, "ts": _iso(entry.ts), "event": entry.event, "actor": mask_text(entry.actor),
            "department": entry.department, "category": entry.category,
            "business_key": mask_text(entry.business_key) if entry.business_key else None,
            "run_id": entry.run_id, "details": mask_record(entry.details or {}), "hash": entry.hash}


def chain_status(store: Store) -> dict[str, Any]:
    """Verify the whole hash chain now (it streams every entry, hence only on request)."""
    started = time.monotonic()
    with store.reader() as session:
        result = verify_chain(session)
    return {"ok": result.ok, "checked": result.checked, "problem": result.problem,
            "entry_id": result.entry_id, "checked_at": _iso(datetime.now(UTC)),
            "seconds": round(time.monotonic() - started, 3)}


def _utc(ts: datetime) -> datetime:
    """PostgreSQL answers in the session's zone, SQLite naive (already UTC)."""
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def _iso(ts: datetime | None) -> str | None:
    return _utc(ts).isoformat(timespec="seconds") if ts else None
