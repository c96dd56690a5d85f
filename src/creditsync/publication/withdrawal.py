"""Taking a record off display for a publication rule (公示期满, 信用修复), against the store as it is.

Like a revocation at the source (``pipeline.decide``): supersede what was never tried, end at once if
the platform never had the record, else queue a ``withdraw`` outbox item (keys from ``store.rows``).
:func:`state_after_withdrawal` is the rule the push step applies when the platform acknowledges it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from creditsync.audit import AuditTrail
from creditsync.publication.working_days import local_date, working_days_taken
from creditsync.store.models import OutboxItem, Record
from creditsync.store.rows import idempotency_key
from creditsync.store.states import OutboxAction, OutboxStatus, RecordState


class WithdrawReason(StrEnum):
    EXPIRED = "公示期满"  # the display period is over
    REPAIRED = "信用修复"  # a credit repair decision


_FINAL_STATE = {WithdrawReason.EXPIRED: RecordState.EXPIRED, WithdrawReason.REPAIRED: RecordState.REPAIRED}


def state_after_withdrawal(withdraw_reason: str | None) -> RecordState:
    """The state a record ends in once the platform acknowledged its withdrawal: ``expired`` or
    ``repaired`` when a publication rule took it off display (never re-published), else ``withdrawn``."""
    reasons = {reason.value: state for reason, state in _FINAL_STATE.items()}
    return reasons.get(withdraw_reason or "", RecordState.WITHDRAWN)


def now() -> datetime:
    return datetime.now(UTC)


def queue_withdrawal(session: Session, record: Record, reason: WithdrawReason, *, run_id: str,
                     audit: AuditTrail, state_while_queued: RecordState, **details: Any) -> bool:
    """Take ``record`` off display. Returns True if a withdrawal was queued for the platform, False if
    the platform never had the record (its state is then final at once)."""
    key = record.business_key
    supersede_untried(session, key)
    record.withdraw_reason, record.updated_at = reason.value, now()
    if record.platform_id is None and not _may_have_reached_platform(session, key):
        record.state = _FINAL_STATE[reason]
        audit.append(session, "display_ended", department=record.department, category=record.category,
                     business_key=key, run_id=run_id, reason=reason.value, version=record.version,
                     state=record.state, platform="never had it", **details)
        return False
    item_key = idempotency_key(key, OutboxAction.WITHDRAW, record.version, record.mapped_hash)
    if session.scalar(select(OutboxItem.id).where(OutboxItem.idempotency_key == item_key)) is None:
        session.add(OutboxItem(
            idempotency_key=item_key, business_key=key, department=record.department,
            category=record.category, action=OutboxAction.WITHDRAW, version=record.version, payload={},
            run_id=run_id, status=OutboxStatus.PENDING, created_at=now(), platform_errors=[],
        ))
    record.state = state_while_queued
    audit.append(session, "withdrawal_queued", department=record.department, category=record.category,
                 business_key=key, run_id=run_id, reason=reason.value, version=record.version, **details)
    return True


def settle_acknowledged(session: Session, *, run_id: str, audit: AuditTrail) -> list[str]:
    """Records whose rule-driven withdrawal the push step has settled (it marks them ``withdrawn``, or
    ``revoked`` when the platform never had them) end in ``expired`` / ``repaired``, with the working
    days the withdrawal took."""
    settled = []
    # ``revoked``: the push step found the platform never had it (an answer lost, then nothing there);
    # ``expired``/``repaired`` with an acknowledged withdrawal: the push step ended it already.
    final = [RecordState.EXPIRED, RecordState.REPAIRED]
    query = select(Record).where(Record.state.in_([RecordState.WITHDRAWN, RecordState.REVOKED, *final]),
                                 Record.withdraw_reason.in_([r.value for r in WithdrawReason]),
                                 Record.withdrawn_within_days.is_(None))
    for record in session.scalars(query.with_for_update()):
        item = _acknowledged_withdrawal(session, record.business_key)
        if record.state in final and (item is None or item.acked_at is None):
            continue  # still on its way to the platform, or it never had the record
        record.state, record.updated_at = state_after_withdrawal(record.withdraw_reason), now()
        if item is not None and item.acked_at is not None:
            record.withdrawn_within_days = working_days_taken(withdrawal_due(record, item), item.acked_at)
        audit.append(session, "display_ended", department=record.department, category=record.category,
                     business_key=record.business_key, run_id=run_id, reason=record.withdraw_reason,
                     state=record.state, version=record.version,
                     acked_at=item.acked_at if item else None,
                     withdrawn_within_days=record.withdrawn_within_days)
        settled.append(record.business_key)
    return settled


def withdrawal_due(record: Record, item: OutboxItem) -> date:
    """The day the withdrawal's clock starts: the last display day (公示期满), else the day it was queued."""
    if record.withdraw_reason == WithdrawReason.EXPIRED and record.display_until is not None:
        return record.display_until
    return local_date(item.created_at)


def _acknowledged_withdrawal(session: Session, key: str) -> OutboxItem | None:
    return session.scalars(select(OutboxItem).where(
        OutboxItem.business_key == key, OutboxItem.action == OutboxAction.WITHDRAW,
        OutboxItem.status == OutboxStatus.ACKED).order_by(OutboxItem.id.desc()).limit(1)).first()


def supersede_untried(session: Session, key: str) -> None:
    """An upsert nobody has tried to send need not be sent at all (nor keep its payload: only pending
    items may hold full ID numbers)."""
    session.execute(update(OutboxItem)
                    .where(OutboxItem.business_key == key, OutboxItem.status == OutboxStatus.PENDING,
                           OutboxItem.action == OutboxAction.UPSERT, OutboxItem.attempts == 0)
                    .values(status=OutboxStatus.SUPERSEDED, payload={}))


def _may_have_reached_platform(session: Session, key: str) -> bool:
    """Sent at least once, so the platform may hold it even if its answer was lost."""
    query = select(OutboxItem.id).where(OutboxItem.business_key == key,
                                        OutboxItem.action == OutboxAction.UPSERT,
                                        OutboxItem.attempts > 0).limit(1)
    return session.scalar(query) is not None
