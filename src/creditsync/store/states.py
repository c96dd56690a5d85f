"""The words of a record's life, in one place: every step, command and page uses these.
The rules that move a record from one state to another are :mod:`creditsync.lifecycle.transitions`.

A record (``records.state``)::

    pending ──receipt──▶ published ──(revoked, held back, expired, repaired, operator, key change)──▶
       │  └─platform said no─▶ rejected        withdrawing ──receipt──▶ the cause's final state:
       └─never sent: the final state at once       withdrawn · protected · operator_withdrawn ·
                                                   expired · repaired · replaced

``withdrawing`` carries its cause in ``records.withdraw_reason`` (:class:`WithdrawCause`); a record
being withdrawn behaves as the state its cause ends in. ``repaired`` and ``expired`` are never published
again; ``operator_withdrawn`` only after an operator's release; the others when the department sends a
version that may be published.

An outbox item (``outbox.status``): pending ──▶ acked | rejected | superseded (replaced before anyone
tried to send it) | refused (its sealed payload does not verify: never sent, see lifecycle.seal).
"""

from __future__ import annotations

from enum import StrEnum


class RecordState(StrEnum):
    PENDING = "pending"  # a version waits for the platform's acknowledgement
    PUBLISHED = "published"
    REJECTED = "rejected"  # the platform refused this version; fixed at the source, it goes again
    WITHDRAWING = "withdrawing"  # 终止公示 queued; the cause is in withdraw_reason
    WITHDRAWN = "withdrawn"  # the department revoked it after publication
    REVOKED = "revoked"  # revoked before the platform ever had it
    PROTECTED = "protected"  # held back by a publication rule (a minor, secrecy): off display
    OPERATOR_WITHDRAWN = "operator_withdrawn"  # 终止公示 by an operator: off until released
    REPAIRED = "repaired"  # 信用修复: display stopped for good
    EXPIRED = "expired"  # 公示期满: display period over, for good
    REPLACED = "replaced"  # the department gave the decision another 文书号: it lives under that key


class WithdrawCause(StrEnum):
    """Why a record is taken off display; each cause ends in its own state."""

    REVOKED = "revoked"  # the department revoked the decision
    PROTECTED = "protected"  # a version held back by a publication rule
    OPERATOR = "operator"  # an operator's 终止公示
    EXPIRED = "expired"  # 公示期满
    REPAIRED = "repaired"  # 信用修复
    REPLACED = "replaced"  # the 文书号 changed: the old key's row goes

    @property
    def final_state(self) -> RecordState:
        return _FINAL[self]


_FINAL = {WithdrawCause.REVOKED: RecordState.WITHDRAWN, WithdrawCause.PROTECTED: RecordState.PROTECTED,
          WithdrawCause.OPERATOR: RecordState.OPERATOR_WITHDRAWN, WithdrawCause.EXPIRED: RecordState.EXPIRED,
          WithdrawCause.REPAIRED: RecordState.REPAIRED, WithdrawCause.REPLACED: RecordState.REPLACED}


class OutboxStatus(StrEnum):
    PENDING = "pending"
    ACKED = "acked"
    REJECTED = "rejected"
    SUPERSEDED = "superseded"
    REFUSED = "refused"  # its seal did not verify: altered or forged in the store, never sent


class OutboxAction(StrEnum):
    UPSERT = "upsert"
    WITHDRAW = "withdraw"


class QuarantineStage(StrEnum):
    SOURCE = "source"  # the source record could not be read
    MAPPING = "mapping"
    VALIDATION = "validation"
    PLATFORM = "platform"  # the platform rejected it
    PROTECTED = "protected"  # held back by a publication rule (minors, secrecy): never invalid
    TAMPERED = "tampered"  # a stored row failed its seal: a person must look


# Off display for good: no source version publishes them again.
NEVER_REPUBLISH = frozenset({RecordState.REPAIRED, RecordState.EXPIRED})
# Off display until the cause is lifted (an operator's release).
STICKY = NEVER_REPUBLISH | {RecordState.OPERATOR_WITHDRAWN}
# Off display; the department's next publishable version puts them back.
OFF_DISPLAY = frozenset({RecordState.WITHDRAWN, RecordState.REVOKED, RecordState.PROTECTED,
                         RecordState.REPLACED})
# The platform may show the record's current (or an earlier) version.
LIVE = frozenset({RecordState.PENDING, RecordState.PUBLISHED, RecordState.REJECTED})


def effective_state(state: str, withdraw_reason: str | None) -> RecordState:
    """The state a record behaves as: a withdrawal under way counts as done."""
    current = RecordState(state)
    if current is RecordState.WITHDRAWING:
        return withdrawal_cause(withdraw_reason).final_state
    return current


# An operator's withdrawal under way over a record that is off display for another cause keeps both:
# ``operator:revoked`` ends in operator_withdrawn, whose withdraw_reason then says what a release restores.
_OVER = ":"


def held_over(beneath: WithdrawCause) -> str:
    """withdraw_reason of an operator's withdrawal under way over ``beneath`` (OPERATOR: it was live)."""
    return str(WithdrawCause.OPERATOR) if beneath is WithdrawCause.OPERATOR else f"operator{_OVER}{beneath}"


def withdrawal_cause(withdraw_reason: str | None) -> WithdrawCause:
    """The cause a withdrawal under way ends in."""
    return WithdrawCause((withdraw_reason or WithdrawCause.REVOKED).partition(_OVER)[0])


def settled_reason(withdraw_reason: str | None) -> str | None:
    """withdraw_reason once the withdrawal is done (an operator's hold keeps what lies beneath it)."""
    return (withdraw_reason or "").partition(_OVER)[2] or withdraw_reason


# withdraw_reason values that mean the decision now lives under another 文书号.
REPLACED_REASONS = (str(WithdrawCause.REPLACED), held_over(WithdrawCause.REPLACED))
