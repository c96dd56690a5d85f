"""What the overview shows, read from the gateway store: plain functions returning JSON-ready dicts, no
Airflow and no FastAPI, so they are tested (and reusable) without a web server.

Nothing here returns a full ID number and no record payload is read at all.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from creditsync.departments import DepartmentConfig
from creditsync.orchestration.ui.clock import day_start, iso, local_day, utc
from creditsync.store import Store
from creditsync.store.models import AuditEntry, Cursor, OutboxItem, QuarantineItem, Record, RunStream, SyncRun
from creditsync.store.states import OutboxAction, OutboxStatus, RecordState

# Publication states every row shows, in this order (others appear after them if present).
RECORD_STATES = (RecordState.PUBLISHED, RecordState.PENDING, RecordState.REJECTED, RecordState.WITHDRAWING,
                 RecordState.WITHDRAWN, RecordState.REVOKED, RecordState.PROTECTED,
                 RecordState.OPERATOR_WITHDRAWN, RecordState.REPAIRED, RecordState.EXPIRED,
                 RecordState.REPLACED)
# Columns the overview always shows; the others appear once some record is in them.
ALWAYS_SHOWN = tuple(s.value for s in RECORD_STATES[:6])
RUN_HISTORY = 10
REFRESH_S = 10  # the overview reloads itself this often while a run is running
TREND_DAYS = 30
Key = tuple[str, str]  # (department, category)


def dag_id(department: str) -> str:
    return f"sync__{department}"


def airflow_run_id(department: str, run_id: str) -> str | None:
    """The Airflow run behind a gateway run id (``sync__<department>/<airflow run id>``), if any."""
    prefix = f"{dag_id(department)}/"
    return run_id.removeprefix(prefix) if run_id.startswith(prefix) else None


def department_status(store: Store, configs: Iterable[DepartmentConfig],
                      now: datetime | None = None) -> list[dict[str, Any]]:
    """One row per department, with one sub-row per category: configured departments first (file
    order), then any only the store knows (e.g. files handed over with ``creditsync push``)."""
    now = now or datetime.now(UTC)
    configured = {c.department: c for c in configs}
    with store.reader() as session:
        facts: dict[str, dict[Key, Any]] = {
            "states": _record_states(session), "unpublished": _revoked_unpublished(session),
            "pending": _pending_outbox(session), "quarantine": _open_quarantine(session),
        }
        cursors = _cursors(session)
        known = {d for table in facts.values() for d, _ in table} | set(cursors) | _run_departments(session)
        names = list(configured) + sorted(known - set(configured))
        return [_department(session, name, configured.get(name), facts, cursors.get(name, {}), now)
                for name in names]


def _department(session: Session, name: str, config: DepartmentConfig | None,
                facts: dict[str, dict[Key, Any]], cursors: dict[str, dict[str, Any]],
                now: datetime) -> dict[str, Any]:
    seen = {c for table in facts.values() for d, c in table if d == name}
    streams = [s.category for s in config.streams] if config else []
    categories = [_figures(facts, (name, c), now) | {"category": c}
                  for c in [*streams, *sorted(seen - set(streams))]]
    runs = run_history(session, name)
    return {
        "department": name, "name": config.name if config else None, "configured": config is not None,
        "enabled": config.enabled if config else False, "dag_id": dag_id(name),
        **_sum_figures(categories, now), "categories": categories,
        "last_run": runs[0] if runs else None, "runs": runs,
        "cursors": {c: cursors.get(c, {"value": None, "updated_at": None}) for c in streams} | cursors,
    }


def _figures(facts: dict[str, dict[Key, Any]], key: Key, now: datetime) -> dict[str, Any]:
    states = facts["states"].get(key, {})
    count, oldest = facts["pending"].get(key, (0, None))
    return {"records": _with_every_state(states), "records_total": sum(states.values()),
            "revoked_unpublished": facts["unpublished"].get(key, 0),
            "outbox_pending": count, **_oldest(oldest, now),
            "quarantine_open": facts["quarantine"].get(key, 0)}


def _sum_figures(rows: list[dict[str, Any]], now: datetime) -> dict[str, Any]:
    states: Counter[str] = Counter()
    for row in rows:
        states.update(row["records"])
    oldest = min((row["outbox_oldest_pending_at"] for row in rows if row["outbox_oldest_pending_at"]),
                 default=None)
    return {"records": _with_every_state(dict(states)), "records_total": sum(states.values()),
            "revoked_unpublished": sum(r["revoked_unpublished"] for r in rows),
            "outbox_pending": sum(r["outbox_pending"] for r in rows),
            **_oldest(datetime.fromisoformat(oldest) if oldest else None, now),
            "quarantine_open": sum(r["quarantine_open"] for r in rows)}


def _with_every_state(states: dict[str, int]) -> dict[str, int]:
    shown = {state.value: states.get(state.value, 0) for state in RECORD_STATES}
    return shown | {s: n for s, n in sorted(states.items()) if s not in shown}


def _oldest(oldest: datetime | None, now: datetime) -> dict[str, Any]:
    return {"outbox_oldest_pending_at": iso(oldest),
            "outbox_oldest_pending_age_s": round((now - utc(oldest)).total_seconds()) if oldest else None}


def _record_states(session: Session) -> dict[Key, dict[str, int]]:
    found: dict[Key, dict[str, int]] = {}
    for department, category, state, count in session.execute(
            select(Record.department, Record.category, Record.state, func.count())
            .group_by(Record.department, Record.category, Record.state)):
        found.setdefault((department, category), {})[state] = int(count)
    return found


def _revoked_unpublished(session: Session) -> dict[Key, int]:
    """Revoked at the source before the gateway ever stored them: only the audit trail knows them
    (a stored record revoked before publication is counted by its state, ``revoked``)."""
    no_record = ~exists().where(Record.business_key == AuditEntry.business_key)
    rows = session.execute(
        select(AuditEntry.department, AuditEntry.category, func.count(AuditEntry.business_key.distinct()))
        .where(AuditEntry.event == "revoked_unpublished", no_record)
        .group_by(AuditEntry.department, AuditEntry.category))
    return {(d, c): int(n) for d, c, n in rows if d and c}


def _pending_outbox(session: Session) -> dict[Key, tuple[int, datetime | None]]:
    rows = session.execute(
        select(OutboxItem.department, OutboxItem.category, func.count(), func.min(OutboxItem.created_at))
        .where(OutboxItem.status == OutboxStatus.PENDING)
        .group_by(OutboxItem.department, OutboxItem.category))
    return {(d, c): (int(n), oldest) for d, c, n, oldest in rows}


def _open_quarantine(session: Session) -> dict[Key, int]:
    rows = session.execute(
        select(QuarantineItem.department, QuarantineItem.category, func.count())
        .where(QuarantineItem.resolved_at.is_(None))
        .group_by(QuarantineItem.department, QuarantineItem.category))
    return {(d, c): int(n) for d, c, n in rows}


def _cursors(session: Session) -> dict[str, dict[str, dict[str, Any]]]:
    found: dict[str, dict[str, dict[str, Any]]] = {}
    for cursor in session.scalars(select(Cursor).order_by(Cursor.department, Cursor.category)):
        found.setdefault(cursor.department, {})[cursor.category] = {
            "value": cursor.value, "updated_at": iso(cursor.updated_at)}
    return found


def _run_departments(session: Session) -> set[str]:
    return set(session.scalars(select(SyncRun.department).distinct()))


def run_history(session: Session, department: str, limit: int = RUN_HISTORY) -> list[dict[str, Any]]:
    runs = list(session.scalars(select(SyncRun).where(SyncRun.department == department)
                                .order_by(SyncRun.started_at.desc()).limit(limit)))
    rows = [run_row(run) for run in runs]
    running = [row for row in rows if row["status"] == "running"]
    if running:
        _add_progress(session, running, {run.id: run for run in runs})
    return rows


def _add_progress(session: Session, rows: list[dict[str, Any]], runs: dict[str, SyncRun]) -> None:
    """A running run's figures so far: what its streams read and decided, chunk by chunk (the pull
    writes them with each chunk), and what its push rounds delivered (pipeline.push.note_progress).
    "Published" counts what the report will count: the run's own items acknowledged so far (its push
    also delivers what earlier runs left pending, which the progress figure includes)."""
    for row in rows:
        totals: Counter[str] = Counter()
        for counts in session.scalars(select(RunStream.counts).where(RunStream.run_id == row["id"])):
            totals.update({k: int(v) for k, v in (counts or {}).items() if isinstance(v, int)})
        pushed = ((runs[row["id"]].counts or {}).get("progress") or {}).get("push") or {}
        published = session.scalar(select(func.count()).select_from(OutboxItem).where(
            OutboxItem.run_id == row["id"], OutboxItem.status == OutboxStatus.ACKED)) or 0
        row.update(read=totals.get("read", 0), new=totals.get("new", 0), corrected=totals.get("changed", 0),
                   withdrawn=totals.get("withdrawal_queued", 0), revoked=totals.get("revoked", 0),
                   quarantined=totals.get("quarantined", 0), published=int(published),
                   progress={"pushed": int(pushed.get("acked", 0)), "batches": int(pushed.get("batches", 0))})


def any_running(departments: list[dict[str, Any]]) -> bool:
    return any(run["status"] == "running" for d in departments for run in d["runs"])


def run_row(run: SyncRun) -> dict[str, Any]:
    """A run's figures, from the totals its report step wrote (zeros while it runs)."""
    counts = run.counts or {}
    records = {k: v for k, v in (counts.get("records") or {}).items() if isinstance(v, int)}
    outbox = counts.get("outbox") or {}
    seconds = (utc(run.finished_at) - utc(run.started_at)).total_seconds() if run.finished_at else None
    return {
        "id": run.id, "status": run.status, "trigger": run.trigger,
        "started_at": iso(run.started_at), "finished_at": iso(run.finished_at),
        "duration_s": round(seconds) if seconds is not None else None,
        "airflow_run_id": airflow_run_id(run.department, run.id) if run.trigger == "airflow" else None,
        "read": records.get("read", 0), "published": int(outbox.get(OutboxStatus.ACKED, 0)),
        "new": records.get("new", 0), "corrected": records.get("changed", 0),
        "withdrawn": records.get("withdrawal_queued", 0), "revoked": records.get("revoked", 0),
        "quarantined": int(counts.get("quarantined", records.get("quarantined", 0))),
        "progress": None,
    }


def daily_trend(store: Store, department: str | None = None, days: int = TREND_DAYS,
                today: date | None = None) -> dict[str, list[Any]]:
    """Per local day of the last ``days``: records the platform acknowledged, records quarantined."""
    today = today or local_day(datetime.now(UTC))
    first = today - timedelta(days=days - 1)
    published = (select(OutboxItem.acked_at).where(OutboxItem.status == OutboxStatus.ACKED,
                 OutboxItem.action == OutboxAction.UPSERT, OutboxItem.acked_at >= day_start(first)))
    quarantined = select(QuarantineItem.created_at).where(QuarantineItem.created_at >= day_start(first))
    if department:
        published = published.where(OutboxItem.department == department)
        quarantined = quarantined.where(QuarantineItem.department == department)
    with store.reader() as session:
        acked = Counter(local_day(t) for t in session.scalars(published) if t)
        held = Counter(local_day(t) for t in session.scalars(quarantined))
    span = [first + timedelta(days=n) for n in range(days)]
    return {"days": [d.isoformat() for d in span], "published": [acked[d] for d in span],
            "quarantined": [held[d] for d in span]}
