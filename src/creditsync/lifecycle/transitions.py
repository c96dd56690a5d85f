"""The rules of a record's life, as tables: state × event → what happens.

Everything that changes a record goes through one of three tables, all pure (no I/O), so the sync,
``sync --dry-run``, the operator's commands and the receipts can never disagree:

- :data:`SOURCE`: what the department's system says about a decision (a new or changed version, the
  same content again, a revocation, a version a publication rule holds back);
- :data:`CAUSES`: taking a record off display for a cause (an operator's 终止公示, 公示期满, 信用修复, a
  changed 文书号) and an operator's release;
- :func:`after_receipt`: the platform's answer to an item.

A record being withdrawn behaves as the state its cause ends in (``states.effective_state``). Where a
record may be on the platform (it has a platform id, or an upsert of it was tried and its answer may
have been lost) a withdrawal is queued; where it cannot be, the record ends in its final state at once.
Sticky states are never undone by the department's data: ``repaired`` and ``expired`` for good,
``operator_withdrawn`` until an operator's release.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from creditsync.audit.events import AuditEvent
from creditsync.exceptions import IllegalTransition
from creditsync.store.states import (
    LIVE,
    NEVER_REPUBLISH,
    OFF_DISPLAY,
    OutboxAction,
    RecordState,
    WithdrawCause,
    effective_state,
    held_over,
    settled_reason,
    withdrawal_cause,
)


class SourceEvent(StrEnum):
    VERSION = "version"  # valid content that differs from the stored version (or a new decision)
    UNCHANGED = "unchanged"  # valid content equal to the stored version
    REVOKED = "revoked"  # the department revoked the decision
    HELD_BACK = "held_back"  # valid, but a publication rule holds it back (a minor, secrecy)
    HELD_BACK_UNCHANGED = "held_back_unchanged"  # the held-back version, read again


class Outcome(StrEnum):
    """What happened to one source record; also the names of a run's counts."""

    NEW = "new"
    CHANGED = "changed"
    UNCHANGED = "unchanged"
    QUARANTINED = "quarantined"
    BLOCKED = "blocked"  # a sticky state (repaired, expired, an operator's withdrawal) keeps it off
    STILL_REJECTED = "still_rejected"  # unchanged since the platform rejected it: not sent again
    REVOKED = "revoked"  # revoked before it was ever published: nothing to send
    WITHDRAWAL_QUEUED = "withdrawal_queued"  # revoked after publication: 终止公示 queued
    PROTECTED = "protected"  # held back by a publication rule: never pushed, and taken down if live
    REPLACED = "replaced"  # the decision now has another 文书号: the old key's row goes
    TAMPERED = "tampered"  # the stored record failed its seal: nothing is done until a person looks


@dataclass(frozen=True)
class Known:
    """What the store holds for a business key."""

    state: RecordState
    withdraw_reason: str | None
    version: int
    mapped_hash: str
    platform_id: str | None
    sent_before: bool  # an upsert of it was tried: the platform may hold it although no id came back

    @property
    def effective(self) -> RecordState:
        return effective_state(self.state, self.withdraw_reason)

    @property
    def on_platform(self) -> bool:
        return self.platform_id is not None or self.sent_before


@dataclass(frozen=True)
class Step:
    """One transition: the count it makes, the state after (None: unchanged), what to queue for the
    platform, the cause of a withdrawal, the audit event, whether the version is stored, and whether a
    publication must make a new platform row (a withdrawn row cannot be corrected)."""

    outcome: Outcome
    state: RecordState | None = None
    action: OutboxAction | None = None
    cause: WithdrawCause | None = None
    event: AuditEvent | None = None
    stores_version: bool = False
    new_row: bool = False
    reason: str | None = None  # withdraw_reason to record where it is not simply the cause

    @property
    def withdraw_reason(self) -> str | None:
        return self.reason or (str(self.cause) if self.cause else None)


NEW = Step(Outcome.NEW, RecordState.PENDING, OutboxAction.UPSERT, stores_version=True)
CORRECT = Step(Outcome.CHANGED, RecordState.PENDING, OutboxAction.UPSERT, stores_version=True)
REPUBLISH = Step(Outcome.CHANGED, RecordState.PENDING, OutboxAction.UPSERT, stores_version=True, new_row=True)
SAME = Step(Outcome.UNCHANGED)
STILL_REJECTED = Step(Outcome.STILL_REJECTED)
BLOCK = Step(Outcome.BLOCKED, event=AuditEvent.REPUBLISH_BLOCKED)
BLOCK_AND_KEEP = Step(Outcome.BLOCKED, event=AuditEvent.REPUBLISH_BLOCKED, stores_version=True)
REVOKE_NEW = Step(Outcome.REVOKED, RecordState.REVOKED, event=AuditEvent.REVOKED_UNPUBLISHED,
                  stores_version=True)
REVOKE_UNSENT = Step(Outcome.REVOKED, RecordState.REVOKED, event=AuditEvent.REVOKED_UNPUBLISHED)
WITHDRAW_REVOKED = Step(Outcome.WITHDRAWAL_QUEUED, RecordState.WITHDRAWING, OutboxAction.WITHDRAW,
                        WithdrawCause.REVOKED, AuditEvent.WITHDRAWAL_QUEUED)
HOLD_NEW = Step(Outcome.PROTECTED)  # never stored as a record: only its quarantine entry
HOLD = Step(Outcome.PROTECTED, RecordState.PROTECTED, event=AuditEvent.RECORD_PROTECTED, stores_version=True)
WITHDRAW_HELD = Step(Outcome.PROTECTED, RecordState.WITHDRAWING, OutboxAction.WITHDRAW,
                     WithdrawCause.PROTECTED, AuditEvent.RECORD_PROTECTED, stores_version=True)
HELD_AGAIN = Step(Outcome.PROTECTED)
HELD_WHILE_STICKY = Step(Outcome.PROTECTED, event=AuditEvent.RECORD_PROTECTED, stores_version=True)

V, U, R, H, HU = (SourceEvent.VERSION, SourceEvent.UNCHANGED, SourceEvent.REVOKED, SourceEvent.HELD_BACK,
                  SourceEvent.HELD_BACK_UNCHANGED)
# (effective state, event) → step, or (step if the platform may hold it, step if it cannot).
SOURCE: dict[tuple[RecordState | None, SourceEvent], Step | tuple[Step, Step]] = {
    (None, V): NEW, (None, R): REVOKE_NEW, (None, H): HOLD_NEW, (None, HU): HOLD_NEW,
    **{(state, event): step for state in LIVE for event, step in (
        (V, CORRECT), (U, STILL_REJECTED if state is RecordState.REJECTED else SAME),
        (R, (WITHDRAW_REVOKED, REVOKE_UNSENT)), (H, (WITHDRAW_HELD, HOLD)), (HU, (WITHDRAW_HELD, HOLD)))},
    # Off display and not sticky: the department's publishable version puts it back, as a new row.
    **{(state, event): step for state in OFF_DISPLAY - {RecordState.PROTECTED} for event, step in (
        (V, REPUBLISH), (U, REPUBLISH), (R, SAME), (H, HOLD), (HU, HOLD))},
    (RecordState.PROTECTED, V): REPUBLISH, (RecordState.PROTECTED, U): REPUBLISH,
    (RecordState.PROTECTED, R): SAME, (RecordState.PROTECTED, H): HOLD, (RecordState.PROTECTED,
                                                                         HU): HELD_AGAIN,
    # An operator's withdrawal holds until released: a new version is kept (the release publishes the
    # newest) but not sent; the same content, a revocation or a held-back version change nothing more.
    (RecordState.OPERATOR_WITHDRAWN, V): BLOCK_AND_KEEP, (RecordState.OPERATOR_WITHDRAWN, U): SAME,
    (RecordState.OPERATOR_WITHDRAWN, R): SAME, (RecordState.OPERATOR_WITHDRAWN, H): HELD_WHILE_STICKY,
    (RecordState.OPERATOR_WITHDRAWN, HU): HELD_AGAIN,
    # 信用修复, 公示期满: never again, whatever the department sends.
    **{(state, event): step for state in NEVER_REPUBLISH for event, step in (
        (V, BLOCK), (U, SAME), (R, SAME), (H, HELD_AGAIN), (HU, HELD_AGAIN))},
}


# Under an operator's hold the record keeps, in withdraw_reason, what it would be without the hold
# (``beneath``): "operator" (live: a release publishes it again) or the cause that took it off meanwhile
# or before (revoked, replaced, protected: a release leaves it off for that cause).
REVOKED_WHILE_HELD = Step(Outcome.BLOCKED, RecordState.OPERATOR_WITHDRAWN, cause=WithdrawCause.REVOKED,
                          event=AuditEvent.REVOKED_WHILE_WITHDRAWN)
UNREVOKED_WHILE_HELD = Step(Outcome.BLOCKED, RecordState.OPERATOR_WITHDRAWN, cause=WithdrawCause.OPERATOR,
                            event=AuditEvent.REPUBLISH_BLOCKED)
KEPT_WHILE_HELD = Step(Outcome.BLOCKED, RecordState.OPERATOR_WITHDRAWN, cause=WithdrawCause.OPERATOR,
                       event=AuditEvent.REPUBLISH_BLOCKED, stores_version=True)


def on_source(event: SourceEvent, known: Known | None) -> Step:
    """The step for what the department's system says about one decision."""
    if known is not None and known.effective is RecordState.OPERATOR_WITHDRAWN:
        held = _under_hold(event, settled_reason(known.withdraw_reason) == WithdrawCause.REVOKED)
        if held is not None and held.state is not None and known.state is RecordState.WITHDRAWING:
            # the operator's withdrawal is still on its way: it stays so, and carries the cause
            assert held.cause is not None
            return replace(held, state=RecordState.WITHDRAWING, reason=held_over(held.cause))
        if held is not None:
            return held
    rule = SOURCE[(known.effective if known else None, event)]
    if isinstance(rule, tuple):
        assert known is not None
        return rule[0] if known.on_platform else rule[1]
    return rule


def _under_hold(event: SourceEvent, revoked: bool) -> Step | None:
    """What the department says of a record an operator holds off display: the hold stays, but a
    revocation is remembered (the release must not publish a revoked decision), and forgotten again
    when the department's record is publishable once more."""
    if event is SourceEvent.REVOKED:
        return SAME if revoked else REVOKED_WHILE_HELD
    if event is SourceEvent.VERSION:
        return KEPT_WHILE_HELD  # kept, not sent: the release publishes the newest
    if event is SourceEvent.UNCHANGED and revoked:
        return UNREVOKED_WHILE_HELD
    return None


BENEATH_A_HOLD = frozenset({WithdrawCause.REVOKED, WithdrawCause.REPLACED, WithdrawCause.PROTECTED})


def beneath(state: RecordState, withdraw_reason: str | None) -> WithdrawCause:
    """What an operator's hold put over a record: the cause it was already off display for, else
    OPERATOR (it was live)."""
    if state is RecordState.WITHDRAWING:
        cause = withdrawal_cause(withdraw_reason)
        return cause if cause in BENEATH_A_HOLD else WithdrawCause.OPERATOR
    if state in (RecordState.WITHDRAWN, RecordState.REVOKED):
        return WithdrawCause.REVOKED if withdraw_reason in (None, WithdrawCause.REVOKED) \
            else WithdrawCause(withdraw_reason)
    if state is RecordState.REPLACED:
        return WithdrawCause.REPLACED
    if state is RecordState.PROTECTED:
        return WithdrawCause.PROTECTED
    return WithdrawCause.OPERATOR


def source_event(*, revoked: bool, held_back: bool, mapped_hash: str | None,
                 known: Known | None) -> SourceEvent:
    same = known is not None and known.mapped_hash == mapped_hash
    if revoked:
        return SourceEvent.REVOKED
    if held_back:
        return SourceEvent.HELD_BACK_UNCHANGED if same else SourceEvent.HELD_BACK
    return SourceEvent.UNCHANGED if same else SourceEvent.VERSION


# -- causes: taking a record off display, and an operator's release --------------------------------

@dataclass(frozen=True)
class CauseStep:
    state: RecordState  # the state now: withdrawing, or the cause's final state at once
    queue: bool  # a withdrawal goes to the platform
    cause: WithdrawCause | None  # recorded in withdraw_reason (None: nothing more to record)


_STICKINESS = {WithdrawCause.REVOKED: 0, WithdrawCause.PROTECTED: 0, WithdrawCause.REPLACED: 0,
               WithdrawCause.OPERATOR: 1, WithdrawCause.EXPIRED: 2, WithdrawCause.REPAIRED: 3}
_STATE_STICKINESS = {RecordState.OPERATOR_WITHDRAWN: 1, RecordState.EXPIRED: 2, RecordState.REPAIRED: 3}


def take_down(state: RecordState, withdraw_reason: str | None, on_platform: bool,
              cause: WithdrawCause) -> CauseStep | None:
    """Taking a record off display for ``cause``; None when it is already off for that cause or for a
    stronger one (a repaired record does not also expire). Raises :class:`IllegalTransition` where the
    cause must not apply (an operator cannot withdraw a repaired record: it is off for good)."""
    effective = effective_state(state, withdraw_reason)
    weight = _STICKINESS[cause]
    if _STATE_STICKINESS.get(effective, 0) >= weight and effective in _STATE_STICKINESS:
        if cause is WithdrawCause.OPERATOR:
            raise IllegalTransition(f"the record is already off display ({effective}): nothing to withdraw "
                                    f"记录已终止公示（{effective}）")
        return None
    if state is RecordState.WITHDRAWING:
        return CauseStep(RecordState.WITHDRAWING, False, cause)  # the queued withdrawal now ends there
    if effective in LIVE and on_platform:
        return CauseStep(RecordState.WITHDRAWING, True, cause)
    if effective in LIVE or effective in OFF_DISPLAY or effective in _STATE_STICKINESS:
        return CauseStep(cause.final_state, False, cause)
    raise IllegalTransition(f"cannot take a {effective} record off display for {cause}")


def release(state: RecordState, withdraw_reason: str | None = None) -> RecordState:
    """An operator lifts their 终止公示: the record is off display but no longer held there; the
    department's next publishable version (or a re-send of the current one) publishes it again. A
    record the department revoked, renumbered or a rule held back meanwhile (or before) stays off for
    that cause (:func:`released_cause`)."""
    if state is RecordState.OPERATOR_WITHDRAWN:
        cause = released_cause(withdraw_reason)
        return RecordState.WITHDRAWN if cause is None else cause.final_state
    if state is RecordState.WITHDRAWING:
        raise IllegalTransition("the withdrawal has not been confirmed by the platform yet: release it once "
                                "it is 终止公示已确认")
    raise IllegalTransition(f"only a record withdrawn by an operator can be released (this one is {state}) "
                            "只有人工终止公示的记录可以解除")


def released_cause(withdraw_reason: str | None) -> WithdrawCause | None:
    """The cause a released record stays off display for, or None: it may be published again."""
    return WithdrawCause(withdraw_reason) if withdraw_reason in BENEATH_A_HOLD else None


# -- receipts -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ReceiptStep:
    state: RecordState | None  # None: unchanged
    platform_id: str | bool | None = True  # True: the answer's id; None: cleared; False: unchanged
    published: bool = False  # counts as published now (published_at, working days)
    withdrawn: bool = False  # a withdrawal confirmed (working days of the withdrawal)
    settled: bool = False  # the withdrawal is over: withdraw_reason keeps what a release restores
    withdraw_again: str | None = None  # an answer put back what must not be shown: the withdrawal's reason


# The cause that keeps a record in each off-display state (a late acceptance is withdrawn for it).
CAUSE_OF = {RecordState.WITHDRAWN: WithdrawCause.REVOKED, RecordState.REVOKED: WithdrawCause.REVOKED,
            **{cause.final_state: cause for cause in WithdrawCause}}


def after_receipt(action: OutboxAction, accepted: bool, *, state: RecordState, withdraw_reason: str | None,
                  record_version: int, item_version: int) -> ReceiptStep:
    """What the platform's answer to one item does to its record (answers to superseded items included)."""
    current = record_version == item_version
    if action is OutboxAction.UPSERT:
        if accepted:
            if current and state is RecordState.PENDING:
                return ReceiptStep(RecordState.PUBLISHED, published=True)
            if state in CAUSE_OF:  # taken off display while this was in flight: it must go again
                return ReceiptStep(RecordState.WITHDRAWING, withdraw_again=requeued(state, withdraw_reason))
            return ReceiptStep(None)  # an earlier version's answer: only its platform id matters
        if current and state is RecordState.PENDING:
            return ReceiptStep(RecordState.REJECTED, platform_id=False)
        return ReceiptStep(None, platform_id=False)
    # A withdrawal, accepted or refused (an unknown or already withdrawn row is not displayed either).
    if state is RecordState.WITHDRAWING:
        final = withdrawal_cause(withdraw_reason).final_state
        return ReceiptStep(final, platform_id=False, withdrawn=accepted, settled=True)
    if state is RecordState.PENDING and record_version > item_version:
        return ReceiptStep(None, platform_id=None)  # republished meanwhile: its upsert makes a new row
    return ReceiptStep(None, platform_id=False)


def requeued(state: RecordState, withdraw_reason: str | None) -> str:
    """withdraw_reason of a withdrawal sent again for a record off display in ``state`` (an operator's
    hold keeps what lies beneath it)."""
    if state is RecordState.OPERATOR_WITHDRAWN:
        return held_over(released_cause(withdraw_reason) or WithdrawCause.OPERATOR)
    return str(CAUSE_OF[state])
