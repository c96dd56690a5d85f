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

from sqlalchemy import select
from sqlalchemy.orm import Session

from creditsync.audit import AuditTrail
from creditsync.audit.events import AuditEvent
from creditsync.exceptions import ConfigurationError
from creditsync.lifecycle import ChangeSet, RunScope, now
from creditsync.lifecycle.cursors import read_cursor, set_cursor
from creditsync.lifecycle.operations import resolve as resolve_entries
from creditsync.lifecycle.quarantine import QuarantineError, mark_retried
from creditsync.lifecycle.resend import resend_current
from creditsync.lifecycle.stored import load_records, raise_tamper_alarm
from creditsync.sources.cursor import compare_cursors
from creditsync.store import Store
from creditsync.store.bulk import lock_department
from creditsync.store.models import QuarantineItem, Record, RunStream, SyncRun
from creditsync.store.states import QuarantineStage, RecordState

__all__ = ["QuarantineError", "RedriveOutcome", "RedriveRequest", "redrive", "resolve"]


@dataclass
class CursorReset:
    category: str
    before: str | None
    after: str | None
    cancelled_runs: list[str] = field(default_factory=list)
    waiting: int = 0  # open quarantine entries now waiting for the re-read


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
    # the quarantine entry the re-drive was asked from (the console's button): named in the audit entry,
    # so the record's timeline shows the re-drive
    quarantine_id: int | None = None
    source_key: str | None = None

    def prompted_by(self) -> dict[str, Any]:
        return {k: v for k, v in (("quarantine_id", self.quarantine_id), ("source_key", self.source_key))
                if v is not None}


def redrive(store: Store, request: RedriveRequest, trail: AuditTrail) -> RedriveOutcome:
    if not request.reset_cursor and not request.platform_rejected:
        raise ConfigurationError("say what to re-drive: --since-cursor VALUE, --from-start, "
                                 "or --platform-rejected")
    run_id = f"redrive__{request.department}__{now().strftime('%Y%m%dT%H%M%S%f')}"
    outcome = RedriveOutcome(run_id=run_id)
    scope = RunScope(request.department, run_id, trail)
    with store.transaction() as session:
        lock_department(session, request.department)
        changes = ChangeSet(scope)
        if request.reset_cursor:
            outcome.cursors = [_reset_cursor(session, changes, request, category)
                               for category in request.categories]
        if request.platform_rejected:
            _requeue_rejected(session, changes, request, outcome)
        changes.apply(session)
    return outcome


def _reset_cursor(session: Session, changes: ChangeSet, request: RedriveRequest,
                  category: str) -> CursorReset:
    cancelled = _cancel_pending_advances(session, request.department, category)
    before = read_cursor(session, changes.scope.sealer, request.department, category)
    _refuse_forward(category, before, request.cursor)
    set_cursor(changes, category, request.cursor, event=AuditEvent.MANUAL_REDRIVE, mode="cursor_reset",
               reason=request.reason, cursor_from=before, cursor_to=request.cursor, cancelled_runs=cancelled,
               **request.prompted_by())
    waiting = mark_retried(session, changes, request.department, [category])
    return CursorReset(category, before, request.cursor, cancelled, waiting)


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


def _requeue_rejected(session: Session, changes: ChangeSet, request: RedriveRequest,
                      outcome: RedriveOutcome) -> None:
    keys = set(session.scalars(select(Record.business_key).where(
        Record.department == request.department, Record.category.in_(request.categories),
        Record.state == RecordState.REJECTED)))
    stored = load_records(session, changes.scope.sealer, keys, lock=True)
    raise_tamper_alarm(session, changes, stored.tampered.values(), where="redrive")
    for key in sorted(stored.rows):
        row = stored.rows[key]
        item_key = resend_current(session, changes, stored, key, reason="re-drive")
        if item_key is None:
            outcome.reread.append(key)
            changes.event(AuditEvent.MANUAL_REDRIVE, category=row["category"], business_key=key,
                          mode="source_reread", reason=request.reason, version=row["version"],
                          why="the stored payload is masked (it held an ID number): resent when next read")
            continue
        outcome.requeued.append(key)
        entries = session.scalars(select(QuarantineItem.id).where(
            QuarantineItem.business_key == key, QuarantineItem.stage == QuarantineStage.PLATFORM,
            QuarantineItem.resolved_at.is_(None))).all()
        resolution = f"re-driven to the platform ({changes.scope.actor})"
        changes.quarantine_updates += [{"id": entry, "resolved_at": changes.stamp, "resolution": resolution,
                                        "retried_at": changes.stamp, "retry_outcome": "requeued"}
                                       for entry in entries]
        changes.event(AuditEvent.MANUAL_REDRIVE, category=row["category"], business_key=key,
                      mode="platform_requeue", reason=request.reason, version=row["version"],
                      idempotency_key=item_key)
    if outcome.reread and not request.reset_cursor:  # raised inside the transaction: nothing changes
        raise ConfigurationError(
            f"{len(outcome.reread)} rejected record(s) held an ID number, masked in the store since the "
            "platform answered: they can only be sent again from the source. Add --from-start (or "
            "--since-cursor VALUE) to re-read it.")


def resolve(store: Store, entry_id: int, reason: str, trail: AuditTrail) -> QuarantineItem:
    """Close one entry by hand (the record was withdrawn, handed over on paper, ...)."""
    with store.reader() as session:
        item = session.get(QuarantineItem, entry_id)
        department = item.department if item is not None else "(quarantine)"
    resolve_entries(store, RunScope(department, f"resolve__{now().strftime('%Y%m%dT%H%M%S%f')}", trail),
                    [entry_id], reason)
    with store.reader() as session:
        found = session.get(QuarantineItem, entry_id)
        assert found is not None
        return found
