"""The transition tables, row by row: what each event does from each state, and what is refused."""

from __future__ import annotations

import pytest

from creditsync.exceptions import IllegalTransition
from creditsync.lifecycle.transitions import (
    Known,
    Outcome,
    SourceEvent,
    after_receipt,
    beneath,
    on_source,
    release,
    released_cause,
    take_down,
)
from creditsync.store.states import OutboxAction, RecordState, WithdrawCause, effective_state, settled_reason

V, U, R, H = SourceEvent.VERSION, SourceEvent.UNCHANGED, SourceEvent.REVOKED, SourceEvent.HELD_BACK
S = RecordState


def known(state: RecordState, reason: str | None = None, *, on_platform: bool = True) -> Known:
    return Known(state, reason, 3, "h", "p" if on_platform else None, on_platform)


@pytest.mark.parametrize(("state", "reason", "event", "outcome", "after"), [
    # live records follow the department
    (S.PUBLISHED, None, V, Outcome.CHANGED, S.PENDING),
    (S.PUBLISHED, None, U, Outcome.UNCHANGED, None),
    (S.PUBLISHED, None, R, Outcome.WITHDRAWAL_QUEUED, S.WITHDRAWING),
    (S.PUBLISHED, None, H, Outcome.PROTECTED, S.WITHDRAWING),  # a minor found late: taken down
    (S.REJECTED, None, U, Outcome.STILL_REJECTED, None),
    # an operator's withdrawal holds against anything the department sends
    (S.OPERATOR_WITHDRAWN, "operator", U, Outcome.UNCHANGED, None),
    (S.OPERATOR_WITHDRAWN, "operator", V, Outcome.BLOCKED, S.OPERATOR_WITHDRAWN),  # kept, not sent
    # … and remembers what the department says beneath it: a revocation, and its lifting
    (S.OPERATOR_WITHDRAWN, "operator", R, Outcome.BLOCKED, S.OPERATOR_WITHDRAWN),
    (S.OPERATOR_WITHDRAWN, "revoked", R, Outcome.UNCHANGED, None),
    (S.OPERATOR_WITHDRAWN, "revoked", U, Outcome.BLOCKED, S.OPERATOR_WITHDRAWN),
    (S.OPERATOR_WITHDRAWN, "revoked", V, Outcome.BLOCKED, S.OPERATOR_WITHDRAWN),
    (S.OPERATOR_WITHDRAWN, "replaced", U, Outcome.UNCHANGED, None),
    (S.WITHDRAWING, "operator", U, Outcome.UNCHANGED, None),
    (S.WITHDRAWING, "operator", V, Outcome.BLOCKED, S.WITHDRAWING),  # kept; the withdrawal goes on
    # repaired and expired: never again
    (S.REPAIRED, None, V, Outcome.BLOCKED, None),
    (S.REPAIRED, None, U, Outcome.UNCHANGED, None),
    (S.EXPIRED, None, V, Outcome.BLOCKED, None),
    (S.WITHDRAWING, "repaired", V, Outcome.BLOCKED, None),
    (S.WITHDRAWING, "expired", U, Outcome.UNCHANGED, None),
    # off display but not sticky: the department's publishable version puts it back
    (S.WITHDRAWN, None, U, Outcome.CHANGED, S.PENDING),
    (S.WITHDRAWING, "revoked", U, Outcome.CHANGED, S.PENDING),
    (S.PROTECTED, None, V, Outcome.CHANGED, S.PENDING),
    (S.REPLACED, None, V, Outcome.CHANGED, S.PENDING),
    (S.PROTECTED, None, SourceEvent.HELD_BACK_UNCHANGED, Outcome.PROTECTED, None),
])
def test_what_the_department_says(state: RecordState, reason: str | None, event: SourceEvent,
                                  outcome: Outcome, after: RecordState | None) -> None:
    step = on_source(event, known(state, reason))
    assert (step.outcome, step.state) == (outcome, after)


def test_a_record_the_platform_never_had_ends_at_once() -> None:
    assert on_source(R, known(S.PENDING, on_platform=False)).state is S.REVOKED
    assert on_source(H, known(S.PENDING, on_platform=False)).state is S.PROTECTED
    assert on_source(R, None).outcome is Outcome.REVOKED


@pytest.mark.parametrize(("state", "reason", "cause", "after", "queued"), [
    (S.PUBLISHED, None, WithdrawCause.OPERATOR, S.WITHDRAWING, True),
    (S.WITHDRAWN, None, WithdrawCause.OPERATOR, S.OPERATOR_WITHDRAWN, False),
    (S.PUBLISHED, None, WithdrawCause.EXPIRED, S.WITHDRAWING, True),
    (S.OPERATOR_WITHDRAWN, None, WithdrawCause.EXPIRED, S.EXPIRED, False),
    (S.EXPIRED, None, WithdrawCause.REPAIRED, S.REPAIRED, False),
    (S.WITHDRAWING, "revoked", WithdrawCause.REPAIRED, S.WITHDRAWING, False),
])
def test_taking_a_record_off_display(state: RecordState, reason: str | None, cause: WithdrawCause,
                                     after: RecordState, queued: bool) -> None:
    step = take_down(state, reason, True, cause)
    assert step is not None and (step.state, step.queue, step.cause) == (after, queued, cause)


def test_a_weaker_cause_leaves_a_stronger_one_alone() -> None:
    assert take_down(S.REPAIRED, None, True, WithdrawCause.EXPIRED) is None
    assert take_down(S.WITHDRAWING, "repaired", True, WithdrawCause.REPLACED) is None


@pytest.mark.parametrize(("state", "reason"), [(S.OPERATOR_WITHDRAWN, None), (S.REPAIRED, None),
                                               (S.WITHDRAWING, "expired")])
def test_an_operator_cannot_withdraw_what_is_off_display_for_good_or_already_withdrawn(
        state: RecordState, reason: str | None) -> None:
    with pytest.raises(IllegalTransition, match="already off display"):
        take_down(state, reason, True, WithdrawCause.OPERATOR)


@pytest.mark.parametrize(("event", "reason"), [(R, "revoked"), (U, "operator"), (V, "operator")])
def test_what_the_department_says_under_a_hold_is_what_a_release_restores(event: SourceEvent,
                                                                           reason: str) -> None:
    step = on_source(event, known(S.OPERATOR_WITHDRAWN, "revoked" if event is not R else "operator"))
    assert step.cause == reason


@pytest.mark.parametrize(("reason", "event", "after"), [
    ("operator", R, "operator:revoked"),
    ("operator:revoked", R, None),  # nothing new
    ("operator:revoked", U, "operator"),  # the revocation lifted
    ("operator:revoked", V, "operator"),
    ("operator:replaced", U, None),
])
def test_an_operators_withdrawal_on_its_way_remembers_what_the_department_says(
        reason: str, event: SourceEvent, after: str | None) -> None:
    step = on_source(event, known(S.WITHDRAWING, reason))
    assert step.action is None  # the withdrawal under way is the one that goes
    assert (step.state, step.withdraw_reason) == ((S.WITHDRAWING, after) if after else (None, None))


@pytest.mark.parametrize(("reason", "after"), [
    ("operator", S.WITHDRAWN),  # it was live: the release lets it be published again
    (None, S.WITHDRAWN),
    ("revoked", S.WITHDRAWN),  # revoked meanwhile (or before): off, for that
    ("replaced", S.REPLACED),  # renumbered meanwhile: the old number stays off
    ("protected", S.PROTECTED),
])
def test_a_release_restores_what_lies_beneath_the_hold(reason: str | None, after: RecordState) -> None:
    assert release(S.OPERATOR_WITHDRAWN, reason) is after
    assert (released_cause(reason) is None) is (reason in (None, "operator"))


@pytest.mark.parametrize(("state", "reason", "beneath_it"), [
    (S.PUBLISHED, None, WithdrawCause.OPERATOR), (S.WITHDRAWN, "revoked", WithdrawCause.REVOKED),
    (S.WITHDRAWN, None, WithdrawCause.REVOKED), (S.REVOKED, None, WithdrawCause.REVOKED),
    (S.REPLACED, "replaced", WithdrawCause.REPLACED), (S.PROTECTED, "protected", WithdrawCause.PROTECTED),
    (S.WITHDRAWING, "revoked", WithdrawCause.REVOKED), (S.WITHDRAWING, None, WithdrawCause.REVOKED),
    (S.WITHDRAWING, "protected", WithdrawCause.PROTECTED),
])
def test_an_operators_hold_over_a_record_keeps_what_it_was(state: RecordState, reason: str | None,
                                                           beneath_it: WithdrawCause) -> None:
    assert beneath(state, reason) is beneath_it


def test_only_an_operator_withdrawal_can_be_released_and_only_once_confirmed() -> None:
    assert release(S.OPERATOR_WITHDRAWN) is S.WITHDRAWN
    for state in (S.PUBLISHED, S.REPAIRED, S.WITHDRAWN, S.WITHDRAWING):
        with pytest.raises(IllegalTransition):
            release(state)


@pytest.mark.parametrize(("action", "accepted", "state", "reason", "versions", "after", "again"), [
    (OutboxAction.UPSERT, True, S.PENDING, None, (2, 2), S.PUBLISHED, None),
    (OutboxAction.UPSERT, False, S.PENDING, None, (2, 2), S.REJECTED, None),
    (OutboxAction.UPSERT, True, S.PENDING, None, (3, 2), None, None),  # an earlier version's answer
    (OutboxAction.WITHDRAW, True, S.WITHDRAWING, "operator", (2, 2), S.OPERATOR_WITHDRAWN, None),
    (OutboxAction.WITHDRAW, True, S.WITHDRAWING, "expired", (2, 2), S.EXPIRED, None),
    (OutboxAction.WITHDRAW, False, S.WITHDRAWING, "revoked", (2, 2), S.WITHDRAWN, None),
    # accepted after the record came off display: what must not be shown goes again
    (OutboxAction.UPSERT, True, S.REPAIRED, None, (2, 2), S.WITHDRAWING, WithdrawCause.REPAIRED),
    (OutboxAction.UPSERT, True, S.PROTECTED, None, (2, 1), S.WITHDRAWING, WithdrawCause.PROTECTED),
    # … under an operator's hold, keeping what lies beneath it
    (OutboxAction.UPSERT, True, S.OPERATOR_WITHDRAWN, "operator", (2, 2), S.WITHDRAWING, "operator"),
    (OutboxAction.UPSERT, True, S.OPERATOR_WITHDRAWN, "revoked", (2, 2), S.WITHDRAWING, "operator:revoked"),
    (OutboxAction.UPSERT, True, S.OPERATOR_WITHDRAWN, "replaced", (2, 1), S.WITHDRAWING, "operator:replaced"),
    (OutboxAction.WITHDRAW, True, S.WITHDRAWING, "operator:revoked", (2, 2), S.OPERATOR_WITHDRAWN, None),
])
def test_the_platforms_answer(action: OutboxAction, accepted: bool, state: RecordState, reason: str | None,
                              versions: tuple[int, int], after: RecordState | None,
                              again: str | None) -> None:
    step = after_receipt(action, accepted, state=state, withdraw_reason=reason, record_version=versions[0],
                         item_version=versions[1])
    assert (step.state, step.withdraw_again) == (after, again)


@pytest.mark.parametrize(("reason", "state", "kept"), [
    ("operator", S.OPERATOR_WITHDRAWN, "operator"),
    ("operator:revoked", S.OPERATOR_WITHDRAWN, "revoked"),  # a release leaves it off, revoked
    ("operator:replaced", S.OPERATOR_WITHDRAWN, "replaced"),
    ("revoked", S.WITHDRAWN, "revoked"),
    ("expired", S.EXPIRED, "expired"),
])
def test_a_confirmed_withdrawal_ends_in_its_cause_keeping_what_a_release_restores(
        reason: str, state: RecordState, kept: str) -> None:
    assert effective_state(S.WITHDRAWING, reason) is state
    assert after_receipt(OutboxAction.WITHDRAW, True, state=S.WITHDRAWING, withdraw_reason=reason,
                         record_version=1, item_version=1).settled
    assert settled_reason(reason) == kept
