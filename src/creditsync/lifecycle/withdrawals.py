"""Taking records off display for a cause, set-based: an operator's 终止公示 and its release, 公示期满,
信用修复, and withdrawals the platform turned out never to need.

Each follows :func:`creditsync.lifecycle.transitions.take_down`: where the platform may hold the record a
withdrawal is queued (and the record is ``withdrawing`` with its cause), elsewhere the record ends in the
cause's state at once; untried upserts are superseded either way, so nothing queued earlier puts the
record back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from creditsync.audit.events import AuditEvent
from creditsync.exceptions import ConfigurationError, IllegalTransition
from creditsync.lifecycle.changes import ChangeSet
from creditsync.lifecycle.resend import resend_current
from creditsync.lifecycle.rows import outbox_row
from creditsync.lifecycle.stored import StoredRecords, load_records
from creditsync.lifecycle.transitions import beneath, release, released_cause, requeued, take_down
from creditsync.schema.document_no import canonical_document_no
from creditsync.store.models import Record
from creditsync.store.states import (
    LIVE,
    OutboxAction,
    RecordState,
    WithdrawCause,
    effective_state,
    held_over,
    settled_reason,
    withdrawal_cause,
)


@dataclass(frozen=True)
class TakenDown:
    business_key: str
    department: str
    category: str
    document_no: str
    state_before: str
    state: str
    queued: bool  # a withdrawal goes to the platform (False: it never had the record, or off already)


def take_off_display(changes: ChangeSet, stored: StoredRecords, keys: Iterable[str], cause: WithdrawCause,
                     **details: Any) -> list[TakenDown]:
    """Take each record off display for ``cause`` (records already off for it, or for a stronger cause,
    are left as they are)."""
    done = []
    for key in keys:
        row = changes.record(key) or stored.rows.get(key)
        if row is None:
            continue
        step = take_down(RecordState(row["state"]), row["withdraw_reason"],
                         row["platform_id"] is not None or key in stored.sent_before, cause)
        if step is None:
            continue
        reason = str(cause)
        if cause is WithdrawCause.OPERATOR:  # what a release restores
            under = beneath(RecordState(row["state"]), row["withdraw_reason"])
            reason = str(under) if step.state is RecordState.OPERATOR_WITHDRAWN else held_over(under)
        changed = {**row, "state": str(step.state), "withdraw_reason": reason}
        changes.supersede([key])
        if step.queue:
            changes.outbox.append(outbox_row(
                changes.scope.sealer, business_key=key, department=row["department"],
                category=row["category"], action=OutboxAction.WITHDRAW, version=row["version"],
                mapped_hash=row["mapped_hash"], payload={},
                run_id=changes.scope.run_id, created_at=changes.stamp, resend=stored.items.get(key, 0)))
        changes.write_record(changed)
        withdrawing = step.state is RecordState.WITHDRAWING
        never_had_it = not withdrawing and RecordState(row["state"]) in LIVE
        changes.event(AuditEvent.WITHDRAWAL_QUEUED if withdrawing else AuditEvent.DISPLAY_ENDED,
                      department=row["department"], category=row["category"], business_key=key,
                      cause=str(cause), version=row["version"],
                      state_before=row["state"], state=str(step.state),
                      **({"platform": "never had it"} if never_had_it else {}), **details)
        done.append(TakenDown(key, row["department"], row["category"], row["document_no"], row["state"],
                              str(step.state), step.queue))
    return done


def find_record(session: Session, key_or_document_no: str) -> Record:
    """A record by its business key, else by its 文书号 in any written variant (it must then name
    exactly one record)."""
    text = key_or_document_no.strip()
    canonical = canonical_document_no(text)
    rows = list(session.scalars(select(Record).where(or_(
        Record.business_key == text, Record.document_no.in_({text, canonical})))))
    exact = [row for row in rows if row.business_key == text]
    if exact:
        return exact[0]
    if not rows:
        raise ConfigurationError(f"no record {text!r} (by business key or 文书号)")
    if len(rows) > 1:
        keys = ", ".join(sorted(row.business_key for row in rows))
        raise ConfigurationError(f"文书号 {text!r} names {len(rows)} records ({keys}): give the business key")
    return rows[0]


class TamperedRecord(IllegalTransition):
    """The record asked for failed its seal: nothing is done with it (the caller raises the alarm)."""

    def __init__(self, row: dict[str, Any]) -> None:
        super().__init__(f"{row['business_key']} was changed outside the gateway (its seal does not match): "
                         "it is quarantined for a person to check, and nothing else is done 记录被篡改")
        self.row = row


def load_one(session: Session, changes: ChangeSet, key: str) -> tuple[StoredRecords, dict[str, Any]]:
    """One record, locked and checked against its seal (an altered row raises :class:`TamperedRecord`)."""
    stored = load_records(session, changes.scope.sealer, {key}, lock=True)
    if key in stored.tampered:
        raise TamperedRecord(stored.tampered[key])
    return stored, stored.rows[key]


def operator_withdraw(session: Session, changes: ChangeSet, key: str, reason: str,
                      **details: Any) -> TakenDown:
    """终止公示 by hand, with a reason: off display until an operator releases it; a re-read of the
    department's data never undoes it."""
    if not reason.strip():
        raise ConfigurationError("reason: say why the record is withdrawn 请填写终止公示的原因")
    stored, _row = load_one(session, changes, key)
    done = take_off_display(changes, stored, [key], WithdrawCause.OPERATOR, reason=reason,
                            **{"mode": "manual", **details})
    if not done:
        raise IllegalTransition(f"{key} is already withdrawn by an operator")
    return done[0]


def operator_release(session: Session, changes: ChangeSet, key: str, reason: str) -> dict[str, Any]:
    """Lift an operator's 终止公示: the record's current version goes out again where the store can still
    send it, else with the department's next read of it."""
    if not reason.strip():
        raise ConfigurationError("reason: say why the withdrawal is released 请填写解除原因")
    stored, row = load_one(session, changes, key)
    state = release(RecordState(row["state"]), row["withdraw_reason"])
    stays_off = released_cause(row["withdraw_reason"])
    changed = {**row, "state": str(state), "withdraw_reason": str(stays_off) if stays_off else None}
    changes.write_record(changed)
    queued = None
    if stays_off is None:
        queued = resend_current(session, changes, stored, key, reason="operator release", new_row=True)
    how = (f"stays off display: {stays_off} (the department's record, not the operator, keeps it off)"
           if stays_off else "queued again" if queued else
           "published again when the department's system is next read")
    changes.event(AuditEvent.RECORD_RELEASED, category=row["category"], business_key=key, reason=reason,
                  version=row["version"], republished=queued is not None, idempotency_key=queued, how=how)
    return changes.record(key) or changed


def repair_record(changes: ChangeSet, stored: StoredRecords, key: str, *, decision_no: str | None,
                  platform_acted: bool, **details: Any) -> TakenDown | None:
    """信用修复: off display for good. When the platform reports a repair it acted on itself, nothing is
    withdrawn: the record is repaired at once (and whatever was never tried is dropped)."""
    row = changes.record(key) or stored.rows.get(key)
    if row is None:
        return None
    if platform_acted and row["state"] != RecordState.REPAIRED:
        changes.supersede([key])
        changes.supersede([key], withdrawals=True)
        changes.write_record({**row, "state": str(RecordState.REPAIRED), "withdraw_reason": "repaired",
                              "repair_decision_no": decision_no or row["repair_decision_no"]})
        changes.event(AuditEvent.DISPLAY_ENDED, department=row["department"], category=row["category"],
                      business_key=key, cause="repaired",
                      state_before=row["state"], state=str(RecordState.REPAIRED), platform="acted itself",
                      **details)
        return TakenDown(key, row["department"], row["category"], row["document_no"], row["state"],
                         str(RecordState.REPAIRED), False)
    done = take_off_display(changes, stored, [key], WithdrawCause.REPAIRED, decision_no=decision_no,
                            **details)
    current = changes.record(key) or row
    changes.write_record({**current, "repair_decision_no": decision_no or current["repair_decision_no"]})
    return done[0] if done else None


def withdraw_again(changes: ChangeSet, stored: StoredRecords, key: str) -> str:
    """The platform shows a record that is off display here (found by reconciliation): its withdrawal
    goes again, with a key the platform has not seen. Returns the item's idempotency key."""
    row = changes.record(key) or stored.rows[key]
    reason = requeued(effective_state(row["state"], row["withdraw_reason"]),
                      settled_reason(row["withdraw_reason"]))
    item = outbox_row(changes.scope.sealer, business_key=key, department=row["department"],
                      category=row["category"], action=OutboxAction.WITHDRAW, version=row["version"],
                      mapped_hash=row["mapped_hash"], payload={}, run_id=changes.scope.run_id,
                      created_at=changes.stamp, resend=stored.items.get(key, 0) + 1)
    changes.supersede([key])
    changes.outbox.append(item)
    changes.write_record({**row, "state": str(RecordState.WITHDRAWING), "withdraw_reason": reason})
    return str(item["idempotency_key"])


def settle_never_received(changes: ChangeSet, stored: StoredRecords, keys: Iterable[str]) -> None:
    """Withdrawals of records the platform turned out never to have received (asked back): nothing to
    withdraw; a revoked record was revoked before publication, others end in their cause's state."""
    for key in keys:
        row = changes.record(key) or stored.rows.get(key)
        if row is None or row["state"] != RecordState.WITHDRAWING:
            continue
        cause = withdrawal_cause(row["withdraw_reason"])
        final = RecordState.REVOKED if cause is WithdrawCause.REVOKED else cause.final_state
        changes.write_record({**row, "state": str(final),
                              "withdraw_reason": settled_reason(row["withdraw_reason"])})
        revoked = final is RecordState.REVOKED
        changes.event(AuditEvent.REVOKED_UNPUBLISHED if revoked else AuditEvent.DISPLAY_ENDED,
                      category=row["category"], business_key=key, cause=str(cause),
                      reason="the platform never received the record")


def adopt_platform_ids(changes: ChangeSet, stored: StoredRecords, found: Mapping[str, str]) -> None:
    """The platform's ids of records whose answer was lost, found by asking back."""
    for key, platform_id in found.items():
        row = changes.record(key) or stored.rows.get(key)
        if row is not None and row["platform_id"] != platform_id:
            changes.write_record({**row, "platform_id": platform_id})
