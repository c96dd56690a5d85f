"""终止公示 by hand: an operator withdraws a published record from the platform, with a reason.

Kept apart from the pipeline on purpose (it will move into the core): one store transaction sets the
record to ``withdrawing``, queues the withdraw outbox item the next push delivers, and appends a
``withdrawal_queued`` audit entry (mode ``manual``) naming the operator. A repeated request finds the
record already withdrawing and is refused (the idempotency key is the pipeline's own for this version).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import update

from creditsync.audit import AuditTrail
from creditsync.exceptions import ConfigurationError
from creditsync.pipeline.context import now
from creditsync.store import Store
from creditsync.store.bulk import insert_rows
from creditsync.store.models import OutboxItem, Record
from creditsync.store.rows import outbox_row
from creditsync.store.states import OutboxAction, OutboxStatus, RecordState

WITHDRAWABLE = frozenset({RecordState.PUBLISHED})


@dataclass(frozen=True)
class Withdrawal:
    business_key: str
    version: int
    idempotency_key: str
    audit_id: int


def withdraw(store: Store, business_key: str, reason: str, trail: AuditTrail, run_id: str) -> Withdrawal:
    """Queue 终止公示 for a published record. ``run_id`` names the action in the trail and the outbox."""
    if not reason.strip():
        raise ConfigurationError("reason: say why the record is withdrawn 请填写终止公示的原因")
    with store.transaction() as session:
        record = session.get(Record, business_key, with_for_update=True)
        if record is None:
            raise ConfigurationError(f"no record {business_key}")
        if record.state not in WITHDRAWABLE:
            raise ConfigurationError(f"{business_key} is {record.state}: only a published record can be "
                                  f"withdrawn 只有已公示的记录可以终止公示")
        # an upsert nobody tried yet would publish the record again after the withdrawal
        session.execute(update(OutboxItem).where(
            OutboxItem.business_key == business_key, OutboxItem.status == OutboxStatus.PENDING,
            OutboxItem.attempts == 0).values(status=OutboxStatus.SUPERSEDED, payload={}))
        item = outbox_row(business_key=business_key, department=record.department, category=record.category,
                          action=OutboxAction.WITHDRAW, version=record.version,
                          mapped_hash=record.mapped_hash,
                          payload={}, run_id=run_id, created_at=now())
        insert_rows(session, OutboxItem, [item])
        key = str(item["idempotency_key"])
        record.state, record.updated_at = RecordState.WITHDRAWING, now()
        entry = trail.append(session, "withdrawal_queued", department=record.department,
                             category=record.category, business_key=business_key, run_id=run_id,
                             version=record.version, reason=reason, mode="manual", idempotency_key=key)
        return Withdrawal(business_key, record.version, key, entry.id)
