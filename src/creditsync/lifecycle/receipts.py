"""The delivery side of a record's life: attempts, the platform's answers, failures, and items that may
not be sent at all.

Answers are stored for a batch at once (one ``receipts_stored`` entry binds them all), whatever the
interface that delivered them; an acceptance without the platform's id is an unknown outcome, asked
back, never applied. Used by the push step and by reconciliation (an answer found by query-back is
stored exactly as the receipt would have been).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from creditsync.audit.events import AuditEvent
from creditsync.delivery.client import Receipt
from creditsync.exceptions import FieldError
from creditsync.lifecycle.changes import ChangeSet
from creditsync.lifecycle.quarantine import open_platform_rejection
from creditsync.lifecycle.rows import outbox_row, quarantine_row
from creditsync.lifecycle.seal import Sealer
from creditsync.lifecycle.stored import StoredRecords, load_records, raise_tamper_alarm
from creditsync.lifecycle.transitions import after_receipt
from creditsync.privacy import mask_payload
from creditsync.schema import get_category
from creditsync.store.bulk import any_ids, any_of
from creditsync.store.guard import lifecycle_writes
from creditsync.store.models import OutboxItem, Record
from creditsync.store.states import (
    OutboxAction,
    OutboxStatus,
    QuarantineStage,
    RecordState,
    WithdrawCause,
    settled_reason,
    withdrawal_cause,
)
from creditsync.working_days import local_date, working_days_between

REFUSED = FieldError("(record)", "待推送条目的封签不符（在网关之外被修改或伪造），未推送，请核查",
                     "the outbox item's seal does not match (altered or forged outside the gateway): not "
                     "sent; a person must check it", kind="tampered")


def usable(receipt: Receipt | None) -> bool:
    """Rejected, or accepted with the platform's id. An acceptance without an id is an unknown outcome
    (a later correction would go out blind and create a second row): ask again."""
    return receipt is not None and (receipt.status == "rejected" or (receipt.confirmed
                                                                     and bool(receipt.platform_id)))


@dataclass(frozen=True)
class Sent:
    """An outbox item as it goes out: its payload opened from its seal (held in memory only), and the
    platform row it corrects or withdraws."""

    id: int
    idempotency_key: str
    business_key: str
    category: str
    action: str
    version: int
    payload: dict[str, Any] = field(default_factory=dict)
    platform_id: str | None = None
    attempts: int = 1
    created_at: Any = None
    record: dict[str, Any] | None = None  # its record's row as verified when the item was opened
    size: int = 0  # bytes of the payload as JSON


@dataclass
class Applied:
    acked: int = 0
    rejected: int = 0
    unanswered: list[Sent] = field(default_factory=list)  # no answer, or one without a platform id


def mark_attempts(session: Session, changes: ChangeSet, items: Sequence[Sent], *, batch_id: str,
                  category: str) -> list[Sent]:
    """Committed before the batch leaves: a killed process leaves a trace, and the items count as
    possibly on the platform from now on. Returns the items to send: those still pending. One that a
    sync superseded or an operator withdrew after the round read it (the caller holds the department
    lock, as they do) is not sent: its newer item would go out without the platform id this one's
    answer brings, and the decision would stand on the platform twice."""
    with lifecycle_writes():
        marked = set(session.scalars(
            update(OutboxItem).where(any_ids(session, OutboxItem.id, [i.id for i in items]),
                                     OutboxItem.status == OutboxStatus.PENDING)
            .values(attempts=OutboxItem.attempts + 1).returning(OutboxItem.id)))
    going = [item for item in items if item.id in marked]
    if going:
        changes.event(AuditEvent.PUSH_ATTEMPT, category=category, batch_id=batch_id, size=len(going),
                      keys=[i.business_key for i in going], try_number=changes.scope.try_number,
                      attempt=max(i.attempts for i in going))
    return going


def record_failure(session: Session, changes: ChangeSet, items: Sequence[Sent], *, batch_id: str,
                   category: str, error: Exception) -> None:
    with lifecycle_writes():
        session.execute(update(OutboxItem).where(OutboxItem.id.in_([i.id for i in items]))
                        .values(last_error=str(error)[:2000]))
    changes.event(AuditEvent.PUSH_FAILED, category=category, batch_id=batch_id, error=str(error)[:2000],
                  kind=type(error).__name__)


def refuse(changes: ChangeSet, items: Sequence[Mapping[str, Any]], *, why: str) -> None:
    """Items whose seal does not verify are never sent: refused, quarantined and alarmed."""
    for item in items:
        changes.item_updates.append({"id": item["id"], "status": str(OutboxStatus.REFUSED), "sealed": None,
                                     "last_error": why[:2000]})
        changes.quarantine.append(quarantine_row(
            run_id=changes.scope.run_id, department=item["department"], category=item["category"],
            source_key=None, business_key=item["business_key"], stage=QuarantineStage.TAMPERED,
            errors=[REFUSED.as_dict()], raw={k: str(item[k]) for k in ("id", "idempotency_key", "action",
                                                                       "version", "business_key")},
            source_hash=None, created_at=changes.stamp))
        changes.event(AuditEvent.TAMPER_DETECTED, category=item["category"],
                      business_key=item["business_key"],
                      table="outbox", found_by="push", outbox_id=item["id"], action=item["action"],
                      idempotency_key=item["idempotency_key"], why=why)


def apply_answers(session: Session, changes: ChangeSet, items: Sequence[Sent], answers: Mapping[str, Receipt],
                  *, batch_id: str) -> Applied:
    """Store every usable answer among ``answers`` (by idempotency key) for items still pending."""
    result = Applied()
    answered = [item for item in items if usable(answers.get(item.idempotency_key))]
    result.unanswered = [item for item in items if not usable(answers.get(item.idempotency_key))]
    if not answered:
        return result
    pending = set(session.scalars(select(OutboxItem.id).where(
        any_ids(session, OutboxItem.id, [item.id for item in answered]),
        OutboxItem.status == OutboxStatus.PENDING)))
    stored = records_now(session, changes.scope.sealer, answered)
    raise_tamper_alarm(session, changes, stored.tampered.values(), where="receipt")
    changes.answer_batch = batch_id
    for item in answered:
        if item.id not in pending:
            continue  # answered meanwhile (a concurrent push, or reconciliation)
        answer = answers[item.idempotency_key]
        _store_answer(changes, item, answer)
        if answer.status == "duplicate":  # committed there before (an answer lost, or a killed pusher)
            changes.duplicates.append(item.business_key)
        if (row := stored.rows.get(item.business_key)) is not None:
            current = changes.record(item.business_key) or dict(row)
            _record_after(session, changes, item, answer, current, row)
        if answer.confirmed:
            result.acked += 1
        else:
            result.rejected += 1
            _rejected(changes, item, answer, stored.rows.get(item.business_key))
    return result


def records_now(session: Session, sealer: Sealer, items: Sequence[Sent]) -> StoredRecords:
    """The items' records as they are now. A row verified when its item was opened and whose seal has
    not changed since is taken as it was (only the seals are read again); the rest are read and checked."""
    known = {item.business_key: item.record for item in items if item.record is not None}
    now: dict[str, str | None] = {}
    if known:
        now = {key: seal for key, seal in session.execute(
            select(Record.business_key, Record.seal).where(any_of(session, Record.business_key, known)))}
    stored = StoredRecords()
    for key, row in known.items():
        if key in now and now[key] == row.get("seal"):
            stored.rows[key] = row
    rest = {item.business_key for item in items} - stored.rows.keys()
    fresh = load_records(session, sealer, rest, outbox=False)
    stored.rows.update(fresh.rows)
    stored.tampered.update(fresh.tampered)
    return stored


def _store_answer(changes: ChangeSet, item: Sent, answer: Receipt) -> None:
    identity = {"idempotency_key": item.idempotency_key, "business_key": item.business_key,
                "action": item.action, "version": item.version, "category": item.category}
    update_row: dict[str, Any] = {"id": item.id, "sealed": None, "last_error": None}
    if answer.confirmed:  # the full ID number is no longer needed: the content stays, masked, in versions
        update_row.update(status=str(OutboxStatus.ACKED), platform_id=answer.platform_id,
                          acked_at=changes.stamp, platform_errors=[])
    else:
        update_row.update(status=str(OutboxStatus.REJECTED), platform_id=None,
                          platform_errors=list(answer.errors))
    changes.answer(identity, update_row)


def _record_after(session: Session, changes: ChangeSet, item: Sent, answer: Receipt, row: dict[str, Any],
                  stored_row: dict[str, Any]) -> None:
    step = after_receipt(OutboxAction(item.action), answer.confirmed, state=RecordState(row["state"]),
                         withdraw_reason=row["withdraw_reason"], record_version=row["version"],
                         item_version=item.version)
    changed = dict(row)
    if step.platform_id is True and answer.platform_id:
        changed["platform_id"] = answer.platform_id
    elif step.platform_id is None:
        changed["platform_id"] = None
    if step.state is not None:
        changed["state"] = str(step.state)
    if step.published and row["decision_date"] is not None:  # 7 working days from the decision (§8.1)
        changed["published_at"] = changes.stamp
        changed["published_within_days"] = _working_days(row["decision_date"], local_date(changes.stamp))
    elif step.published:
        changed["published_at"] = changes.stamp
    if step.withdrawn:
        changed["withdrawn_within_days"] = _working_days(_withdrawal_due(row, item),
                                                         local_date(changes.stamp))
    if step.settled:
        changed["withdraw_reason"] = settled_reason(row["withdraw_reason"])
    if step.withdraw_again is not None:
        changed["withdraw_reason"] = step.withdraw_again
        changes.outbox.append(outbox_row(
            changes.scope.sealer, business_key=row["business_key"], department=row["department"],
            category=row["category"], action=OutboxAction.WITHDRAW, version=row["version"],
            mapped_hash=row["mapped_hash"], payload={}, run_id=changes.scope.run_id, created_at=changes.stamp,
            resend=_items_of(session, row["business_key"]) + 1))
        changes.event(AuditEvent.WITHDRAWAL_QUEUED, category=row["category"],
                      business_key=row["business_key"],
                      version=row["version"], cause=str(withdrawal_cause(step.withdraw_again)),
                      why="the platform accepted an earlier item after the record was taken off display")
    if changed != row:
        changes.write_record(changed, before=stored_row)


def _items_of(session: Session, business_key: str) -> int:
    return int(session.scalar(select(func.count()).select_from(OutboxItem).where(
        OutboxItem.business_key == business_key)) or 0)


def _withdrawal_due(row: Mapping[str, Any], item: Sent) -> date:
    """The day a withdrawal's clock starts: the last display day (公示期满), else the day it was queued."""
    if row["withdraw_reason"] == WithdrawCause.EXPIRED and row["display_until"] is not None:
        return row["display_until"]
    return local_date(item.created_at) if item.created_at is not None else date.today()


def _rejected(changes: ChangeSet, item: Sent, answer: Receipt, row: Mapping[str, Any] | None) -> None:
    masked = mask_payload(item.payload, get_category(item.category).id_codes) if item.payload else {}
    open_platform_rejection(changes, category=item.category, business_key=item.business_key,
                            source_key=row["source_key"] if row else None, messages=answer.errors,
                            masked_payload=masked)
    changes.event(AuditEvent.PUSH_REJECTED, category=item.category, business_key=item.business_key,
                  batch_id=changes.answer_batch, version=item.version, action=item.action,
                  errors=list(answer.errors), attempts=item.attempts)


@lru_cache(maxsize=8192)
def _working_days(decided: date, acknowledged: date) -> int:
    """Cached: a first sync acknowledges years of decisions on one day, and their dates repeat."""
    return working_days_between(decided, acknowledged)
