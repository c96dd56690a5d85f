"""Re-driving records once their problem is fixed, and closing quarantine entries by hand.

Two kinds of re-drive, each one transaction with its ``manual_redrive`` audit entries (who and why):

- **from the source** (the department fixed its data, maybe without touching the modification time the
  cursor follows): the stream cursor goes back (to a value, or to the start), so the next sync re-reads.
  Unchanged records are deduplicated by content hash; fixed ones are delivered and close their
  quarantine entries (``pipeline.write``). Cursor advances still pending in unfinished runs are
  cancelled, or they would move the cursor forward again when those runs finish.
- **platform rejections** (the platform's rule was wrong and is fixed; the source is unchanged): each
  rejected record gets a new outbox item with a fresh idempotency key (a resend of its version:
  ``store.rows.idempotency_key``), and its state goes back to pending. The stored payload is masked once
  the platform has answered; a payload that held a personal ID number can no longer be sent as stored,
  so such a record is marked for re-reading instead: its stored content hash is cleared, and the next
  read of it from the source queues it again (as a new version with the same content). That needs the
  cursor re-drive in the same command; without it nothing is changed and the command says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from creditsync.audit import AuditTrail
from creditsync.exceptions import ConfigurationError, CreditSyncError
from creditsync.pipeline.context import new_cli_run_id, now
from creditsync.privacy import REREAD_MARK, is_masked
from creditsync.sources.cursor import compare_cursors
from creditsync.store import Store
from creditsync.store.bulk import insert_rows
from creditsync.store.models import Cursor, OutboxItem, QuarantineItem, Record, RunStream, SyncRun
from creditsync.store.rows import outbox_row, stored_content
from creditsync.store.states import OutboxAction, RecordState


class QuarantineError(CreditSyncError):
    """A quarantine action that cannot be done as asked (already resolved, ...)."""


@dataclass
class CursorReset:
    category: str
    before: str | None
    after: str | None
    cancelled_runs: list[str] = field(default_factory=list)


@dataclass
class RedriveOutcome:
    run_id: str
    cursors: list[CursorReset] = field(default_factory=list)
    requeued: list[str] = field(default_factory=list)  # business keys with a new outbox item
    reread: list[str] = field(default_factory=list)  # business keys waiting for the source re-read


@dataclass
class RedriveRequest:
    department: str
    categories: list[str]  # the caller checks them against the department's streams
    reason: str
    reset_cursor: bool = False
    cursor: str | None = None  # with reset_cursor: the value to go back to; None = from the start
    platform_rejected: bool = False


def redrive(store: Store, request: RedriveRequest, trail: AuditTrail) -> RedriveOutcome:
    if not request.reset_cursor and not request.platform_rejected:
        raise ConfigurationError("say what to re-drive: --since-cursor VALUE, --from-start, "
                                 "or --platform-rejected")
    run_id = new_cli_run_id(request.department).replace("cli__", "redrive__", 1)
    outcome = RedriveOutcome(run_id=run_id)
    with store.transaction() as session:
        if request.reset_cursor:
            outcome.cursors = [_reset_cursor(session, request, category, trail, outcome.run_id)
                               for category in request.categories]
        if request.platform_rejected:
            _requeue_rejected(session, request, trail, outcome)
    return outcome


def _reset_cursor(session: Session, request: RedriveRequest, category: str, trail: AuditTrail,
                  run_id: str) -> CursorReset:
    name = request.department
    cancelled = _cancel_pending_advances(session, name, category)
    cursor = session.get(Cursor, (name, category), with_for_update=True)
    before = cursor.value if cursor else None
    _refuse_forward(category, before, request.cursor)
    if cursor is None:
        cursor = Cursor(department=name, category=category)
        session.add(cursor)
    cursor.value, cursor.updated_at, cursor.run_id = request.cursor, now(), run_id
    trail.append(session, "manual_redrive", department=name, category=category, run_id=run_id,
                 mode="cursor_reset", reason=request.reason, cursor_from=before, cursor_to=request.cursor,
                 cancelled_runs=cancelled)
    return CursorReset(category, before, request.cursor, cancelled)


def _refuse_forward(category: str, before: str | None, after: str | None) -> None:
    """A re-drive only ever re-reads: moving a cursor forward would skip records for good."""
    if after is None:
        return
    if before is None:
        raise ConfigurationError(f"{category}: the next sync reads from the start already; "
                                 f"--since-cursor {after!r} would skip what comes before it")
    if compare_cursors(after, before) > 0:
        raise ConfigurationError(f"{category}: --since-cursor {after!r} is after the current cursor "
                                 f"{before!r}; a re-drive only moves the cursor back")


def _cancel_pending_advances(session: Session, department: str, category: str) -> list[str]:
    """Unfinished runs would commit their cursor after the reset; their deliveries are not affected."""
    streams = session.scalars(
        select(RunStream).join(SyncRun, SyncRun.id == RunStream.run_id)
        .where(SyncRun.department == department, RunStream.category == category,
               RunStream.cursor_committed.is_(False)).with_for_update(of=RunStream)).all()
    for stream in streams:
        stream.cursor_committed = True
    return sorted(stream.run_id for stream in streams)


def _requeue_rejected(session: Session, request: RedriveRequest, trail: AuditTrail,
                      outcome: RedriveOutcome) -> None:
    records = session.scalars(select(Record).where(
        Record.department == request.department, Record.category.in_(request.categories),
        Record.state == "rejected").order_by(Record.business_key).with_for_update()).all()
    for record in records:
        rejected = session.scalars(select(OutboxItem).where(
            OutboxItem.business_key == record.business_key, OutboxItem.action == "upsert",
            OutboxItem.version == record.version, OutboxItem.status == "rejected")
            .order_by(OutboxItem.id.desc()).limit(1)).first()
        content = stored_content(session, record.business_key, record.version)
        if rejected is None or content is None or is_masked(content):
            _mark_for_reread(session, record, request, trail, outcome)
        else:
            _requeue(session, record, rejected, content, request, trail, outcome)
    if outcome.reread and not request.reset_cursor:  # raised inside the transaction: nothing changes
        raise ConfigurationError(
            f"{len(outcome.reread)} rejected record(s) held an ID number, masked in the store since the "
            "platform answered: they can only be sent again from the source. Add --from-start (or "
            "--since-cursor VALUE) to re-read it.")


def _requeue(session: Session, record: Record, rejected: OutboxItem, content: dict[str, Any],
             request: RedriveRequest, trail: AuditTrail, outcome: RedriveOutcome) -> None:
    resend = session.scalar(select(func.count()).select_from(OutboxItem).where(
        OutboxItem.business_key == record.business_key, OutboxItem.version == record.version)) or 1
    row = outbox_row(business_key=record.business_key, department=rejected.department,
                     category=rejected.category, action=OutboxAction.UPSERT, version=record.version,
                     mapped_hash=record.mapped_hash, payload=content, run_id=outcome.run_id,
                     created_at=now(), resend=resend)
    insert_rows(session, OutboxItem, [row])
    item = session.scalars(select(OutboxItem).where(
        OutboxItem.idempotency_key == row["idempotency_key"])).one()
    record.state, record.updated_at = str(RecordState.PENDING), now()
    resolution = f"re-driven to the platform as outbox item {item.id} ({trail.actor})"
    session.execute(update(QuarantineItem).where(
        QuarantineItem.business_key == record.business_key, QuarantineItem.stage == "platform",
        QuarantineItem.resolved_at.is_(None)).values(resolved_at=now(), resolution=resolution[:200]))
    trail.append(session, "manual_redrive", department=record.department, category=record.category,
                 business_key=record.business_key, run_id=outcome.run_id, mode="platform_requeue",
                 reason=request.reason, version=record.version, redrive=resend,
                 replaces=rejected.idempotency_key, idempotency_key=item.idempotency_key)
    outcome.requeued.append(record.business_key)


def _mark_for_reread(session: Session, record: Record, request: RedriveRequest, trail: AuditTrail,
                     outcome: RedriveOutcome) -> None:
    record.mapped_hash, record.updated_at = REREAD_MARK, now()
    trail.append(session, "manual_redrive", department=record.department, category=record.category,
                 business_key=record.business_key, run_id=outcome.run_id, mode="source_reread",
                 reason=request.reason, version=record.version,
                 why="the stored payload is masked (it held an ID number): resent when next read")
    outcome.reread.append(record.business_key)


def resolve(store: Store, entry_id: int, reason: str, trail: AuditTrail) -> QuarantineItem:
    """Close one entry by hand (the record was withdrawn, handed over on paper, ...)."""
    if not reason.strip():
        raise ConfigurationError("--reason is required: say why the entry is closed")
    with store.transaction() as session:
        item = session.get(QuarantineItem, entry_id, with_for_update=True)
        if item is None:
            raise ConfigurationError(f"no quarantine entry {entry_id}")
        if item.resolved_at is not None:
            raise QuarantineError(f"quarantine entry {entry_id} was already closed: {item.resolution}")
        item.resolved_at, item.resolution = now(), f"closed by {trail.actor}: {reason}"[:200]
        trail.append(session, "quarantine_resolved", department=item.department, category=item.category,
                     business_key=item.business_key, run_id=item.run_id, quarantine_id=item.id,
                     source_key=item.source_key, stage=item.stage, reason=reason)
        return item
