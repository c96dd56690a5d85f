"""The platform's answers stored for a batch at once: outbox items, their records, the quarantine for
rejections and the audit trail, one statement per table. Used by the push step and by reconciliation
(an answer found by query-back is stored exactly as the receipt would have been)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from creditsync.audit.trail import AuditEvent
from creditsync.delivery.client import Receipt
from creditsync.pipeline.context import SyncContext, now
from creditsync.privacy import mask_payload, mask_text
from creditsync.publication.withdrawal import state_after_withdrawal
from creditsync.publication.working_days import local_date, working_days_between
from creditsync.schema import get_category
from creditsync.store.bulk import insert_rows, update_rows
from creditsync.store.models import OutboxItem, QuarantineItem, Record
from creditsync.store.rows import quarantine_row
from creditsync.store.states import OutboxAction, OutboxStatus, QuarantineStage, RecordState


@dataclass(frozen=True)
class Sent:
    """An outbox item as it went out (what the answer is applied to)."""

    id: int
    idempotency_key: str
    business_key: str
    category: str
    action: str
    version: int
    payload: dict[str, Any]
    platform_id: str | None = None  # the record's id at the platform when sent (a correction)
    attempts: int = 1


@dataclass
class Applied:
    acked: int = 0
    rejected: int = 0
    unanswered: list[Sent] = field(default_factory=list)  # no answer, or one without a platform id


def confirmed(receipt: Receipt | None) -> bool:
    """A usable answer: rejected, or accepted with the platform's id. An acceptance without an id is an
    unknown outcome (a later correction would go out blind and create a second row): ask again."""
    return receipt is not None and (receipt.status == "rejected" or receipt.confirmed)


def apply_receipts(ctx: SyncContext, session: Session, items: Sequence[Sent],
                   receipts: dict[str, Receipt], batch_id: str) -> Applied:
    """Store every confirmed answer among ``receipts`` (by idempotency key); items still pending only."""
    result = Applied()
    answered = [item for item in items if confirmed(receipts.get(item.idempotency_key))]
    result.unanswered = [item for item in items if not confirmed(receipts.get(item.idempotency_key))]
    if not answered:
        return result
    still_pending = set(session.scalars(select(OutboxItem.id).where(
        OutboxItem.id.in_([item.id for item in answered]), OutboxItem.status == OutboxStatus.PENDING)))
    records = {r.business_key: r for r in session.execute(select(
        Record.business_key, Record.version, Record.state, Record.platform_id, Record.source_key,
        Record.withdraw_reason, Record.decision_date).where(
        Record.business_key.in_({item.business_key for item in answered}))).all()}
    writes = _Writes(ctx, batch_id)
    for item in answered:
        if item.id not in still_pending:
            continue  # answered meanwhile (a concurrent push, or reconciliation)
        receipt = receipts[item.idempotency_key]
        if receipt.status == "rejected":
            writes.reject(item, receipt, records.get(item.business_key))
            result.rejected += 1
        else:
            writes.acknowledge(item, receipt, records.get(item.business_key))
            result.acked += 1
    writes.apply(session)
    return result


@dataclass
class _Writes:
    ctx: SyncContext
    batch_id: str
    stamp: Any = field(default_factory=now)
    items: list[dict[str, Any]] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)
    quarantine: list[dict[str, Any]] = field(default_factory=list)
    events: list[AuditEvent] = field(default_factory=list)

    def acknowledge(self, item: Sent, receipt: Receipt, record: Any) -> None:
        self.items.append({"id": item.id, "status": str(OutboxStatus.ACKED),
                           "platform_id": receipt.platform_id, "acked_at": self.stamp, "last_error": None,
                           # answered: the full ID number is no longer needed, and the content is kept
                           # once, masked, in record_versions (store.rows.stored_content)
                           "payload": {}})
        if record is not None and (change := self._record_after_ack(item, receipt, record)):
            self.records.append(change)
        self._event("push_receipt", item, status=receipt.status, platform_id=receipt.platform_id,
                    idempotency_key=item.idempotency_key, attempts=item.attempts)

    def _record_after_ack(self, item: Sent, receipt: Receipt, record: Any) -> dict[str, Any] | None:
        """A withdrawal ends display (a repaired or expired record keeps its own state); the newest
        version's upsert publishes a pending record; any other answer only brings the platform id (a
        withdrawal queued behind the upsert, say, still has to go)."""
        change: dict[str, Any] = {"business_key": item.business_key,
                                  "platform_id": receipt.platform_id or record.platform_id}
        if item.action == OutboxAction.WITHDRAW:
            if record.state != RecordState.WITHDRAWING:
                return None
            change["state"] = str(state_after_withdrawal(record.withdraw_reason))  # withdrawn, expired
        elif record.version == item.version and record.state == RecordState.PENDING:
            change["state"], change["published_at"] = str(RecordState.PUBLISHED), self.stamp
            if record.decision_date is not None:  # 7 working days from the decision (§8.1)
                change["published_within_days"] = _working_days(record.decision_date, local_date(self.stamp))
        return change

    def reject(self, item: Sent, receipt: Receipt, record: Any) -> None:
        masked = _masked(item)
        self.items.append({"id": item.id, "status": str(OutboxStatus.REJECTED),
                           "platform_errors": list(receipt.errors), "payload": {}})
        if record is not None and record.version == item.version and item.action == OutboxAction.UPSERT:
            self.records.append({"business_key": item.business_key, "state": str(RecordState.REJECTED)})
        self.quarantine.append(quarantine_row(
            run_id=self.ctx.run_id, department=self.ctx.name, category=item.category,
            source_key=record.source_key if record is not None else None, business_key=item.business_key,
            stage=QuarantineStage.PLATFORM, errors=[{"field": "(platform)", "message": mask_text(message)}
                                                    for message in receipt.errors],
            raw=masked, source_hash=None, created_at=self.stamp))
        self._event("push_rejected", item, errors=list(receipt.errors), attempts=item.attempts)

    def _event(self, event: str, item: Sent, **details: Any) -> None:
        details = {"batch_id": self.batch_id, "version": item.version, **details}
        self.events.append(AuditEvent(event, department=self.ctx.name, category=item.category,
                                      business_key=item.business_key, run_id=self.ctx.run_id,
                                      details=details))

    def apply(self, session: Session) -> None:
        update_rows(session, OutboxItem, self.items)
        update_rows(session, Record, self.records)
        insert_rows(session, QuarantineItem, self.quarantine)
        self.ctx.audit.append_many(session, self.events)


@lru_cache(maxsize=8192)
def _working_days(decided: date, acknowledged: date) -> int:
    """Cached: a first sync acknowledges years of decisions on one day, and their dates repeat."""
    return working_days_between(decided, acknowledged)


def _masked(item: Sent) -> dict[str, Any]:
    """The payload with its ID numbers masked: the category's ID fields by name, the rest scanned."""
    return mask_payload(item.payload, get_category(item.category).id_codes) if item.payload else {}
