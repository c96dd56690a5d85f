"""信用修复 (credit repair, reference §8.3): a repair decision stops a record's display for good.

The credit authority grants it, not the department. It reaches the gateway two ways: an operator
records the decision (``creditsync repair KEY|文书号 --decision-no … --reason …``), or the platform's
repair feed reports one it acted on (:mod:`creditsync.publication.repair_feed`). Either way the record
is ``repaired`` at once (a later source version, correction or re-drive never publishes it again),
withdrawn from the platform if it may be there, and audited with the decision number.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from creditsync.audit import AuditTrail
from creditsync.exceptions import ConfigurationError
from creditsync.publication.withdrawal import WithdrawReason, now, queue_withdrawal, supersede_untried
from creditsync.store.models import Record
from creditsync.store.states import RecordState

OFF_DISPLAY_ALREADY = (RecordState.WITHDRAWN, RecordState.REVOKED, RecordState.EXPIRED)


class RepairSource(StrEnum):
    OPERATOR = "operator"  # recorded by hand from a repair decision
    PLATFORM = "platform"  # reported by the platform's repair feed: it has already stopped display


@dataclass(frozen=True)
class RepairDecision:
    decision_no: str  # 信用修复决定书文号
    reason: str
    decided_on: date | None = None
    source: RepairSource = RepairSource.OPERATOR

    def __post_init__(self) -> None:
        if not self.decision_no.strip():
            raise ConfigurationError("a credit repair needs the repair decision's number (--decision-no)")
        if not self.reason.strip():
            raise ConfigurationError("a credit repair needs a reason (--reason)")


@dataclass(frozen=True)
class RepairOutcome:
    business_key: str
    document_no: str
    previous_state: str
    withdrawal_queued: bool
    already_repaired: bool  # the same decision was recorded before: nothing changed


def find_record(session: Session, key_or_document_no: str, *, lock: bool = False) -> Record:
    """A record by its business key, else by its 文书号 (which must then name exactly one record)."""
    text = key_or_document_no.strip()
    query = select(Record).where(or_(Record.business_key == text, Record.document_no == text))
    rows = list(session.scalars(query.with_for_update() if lock else query))
    exact = [row for row in rows if row.business_key == text]
    if exact:
        return exact[0]
    if not rows:
        raise ConfigurationError(f"no record with business key or 文书号 {text!r}")
    if len(rows) > 1:
        keys = ", ".join(sorted(row.business_key for row in rows))
        raise ConfigurationError(f"文书号 {text!r} names {len(rows)} records ({keys}): give the business key")
    return rows[0]


def record_repair(session: Session, record: Record, decision: RepairDecision, *, run_id: str,
                  audit: AuditTrail) -> RepairOutcome:
    """Apply one repair decision to ``record`` (locked by the caller) inside the caller's transaction."""
    previous = record.state
    if previous == RecordState.REPAIRED and record.repair_decision_no == decision.decision_no:
        return RepairOutcome(record.business_key, record.document_no, previous, False, True)
    record.repair_decision_no = decision.decision_no[:128]
    details: dict[str, Any] = {"decision_no": decision.decision_no, "reason": decision.reason,
               "source": decision.source.value, "decided_on": decision.decided_on, "previous_state": previous}
    queued = False
    if decision.source is RepairSource.PLATFORM or previous in OFF_DISPLAY_ALREADY or previous in (
            RecordState.WITHDRAWING, RecordState.REPAIRED):
        # Nothing (more) to withdraw: the platform acted itself, the record is off display already,
        # or a withdrawal is already queued.
        supersede_untried(session, record.business_key)
        record.state, record.withdraw_reason, record.updated_at = (
            RecordState.REPAIRED, WithdrawReason.REPAIRED.value, now())
    else:
        queued = queue_withdrawal(session, record, WithdrawReason.REPAIRED, run_id=run_id, audit=audit,
                                  state_while_queued=RecordState.REPAIRED, decision_no=decision.decision_no)
    audit.append(session, "credit_repair", department=record.department, category=record.category,
                 business_key=record.business_key, run_id=run_id, withdrawal_queued=queued, **details)
    return RepairOutcome(record.business_key, record.document_no, previous, queued, False)
