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

from sqlalchemy.orm import Session

from creditsync.audit.events import AuditEvent
from creditsync.exceptions import ConfigurationError
from creditsync.lifecycle import ChangeSet, RunScope
from creditsync.lifecycle.operations import run
from creditsync.lifecycle.withdrawals import find_record, load_one, repair_record
from creditsync.schema.values import shanghai_today
from creditsync.store import Store
from creditsync.store.states import RecordState, effective_state


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
        if self.decided_on is not None and self.decided_on > shanghai_today():
            raise ConfigurationError(f"the repair decision's date {self.decided_on} is in the future: a "
                                     "repair takes effect once decided 修复决定日期不能晚于今天")


@dataclass(frozen=True)
class RepairOutcome:
    business_key: str
    department: str
    document_no: str
    previous_state: str
    withdrawal_queued: bool
    already_repaired: bool  # the same decision was recorded before: nothing changed


def record_repair(session: Session, changes: ChangeSet, key: str, decision: RepairDecision) -> RepairOutcome:
    """Apply one repair decision to the record ``key`` (locked and checked against its seal)."""
    stored, row = load_one(session, changes, key)
    previous = row["state"]
    repaired = effective_state(previous, row["withdraw_reason"]) is RecordState.REPAIRED
    if repaired and row["repair_decision_no"] == decision.decision_no:
        return RepairOutcome(key, row["department"], row["document_no"], previous, False, True)
    done = repair_record(changes, stored, key, decision_no=decision.decision_no[:128],
                         platform_acted=decision.source is RepairSource.PLATFORM)
    queued = bool(done and done.queued)
    changes.event(AuditEvent.CREDIT_REPAIR, department=row["department"], category=row["category"],
                  business_key=key,
                  withdrawal_queued=queued, decision_no=decision.decision_no, reason=decision.reason,
                  source=decision.source.value, decided_on=decision.decided_on, previous_state=previous)
    return RepairOutcome(key, row["department"], row["document_no"], previous, queued, False)


def repair(store: Store, scope: RunScope, key_or_document_no: str, decision: RepairDecision) -> RepairOutcome:
    """``creditsync repair``: one decision, one transaction (a record altered outside the gateway is refused
    and alarmed)."""
    def plan(session: Session, changes: ChangeSet) -> RepairOutcome:
        return record_repair(session, changes, find_record(session, key_or_document_no).business_key,
                             decision)

    with store.reader() as session:
        department = find_record(session, key_or_document_no).department
    return run(store, RunScope(department, scope.run_id, scope.audit), plan)
