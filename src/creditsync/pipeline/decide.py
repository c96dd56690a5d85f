"""What happens to one source record, decided without touching anything.

:func:`decide` is the single rule book of a record's life: the sync applies its answer to the store,
``sync --dry-run`` only counts it, so the two can never disagree. It sees the record as the mapping and
validation left it (:class:`Candidate`) and what the store already knows of the same business key
(:class:`Known`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from creditsync.store.states import NEVER_REPUBLISH, OFF_DISPLAY, RecordState


class Outcome(StrEnum):
    """One per record; also the names of a run's counts."""

    NEW = "new"
    CHANGED = "changed"
    UNCHANGED = "unchanged"
    QUARANTINED = "quarantined"
    BLOCKED = "blocked"  # 信用修复 or display period over: never published again
    STILL_REJECTED = "still_rejected"  # unchanged since the platform rejected it: not sent again
    REVOKED = "revoked"  # revoked before it was ever published: nothing to send
    WITHDRAWAL_QUEUED = "withdrawal_queued"  # revoked after publication: 终止公示 queued
    PROTECTED = "protected"  # held back by a publication rule (minors, secrecy): never pushed


@dataclass(frozen=True)
class Known:
    """What the store holds for a business key."""

    state: RecordState
    version: int
    mapped_hash: str
    platform_id: str | None
    sent_before: bool  # an upsert of it was tried: the platform may hold it although no id came back


@dataclass(frozen=True)
class Candidate:
    valid: bool
    revoked: bool
    mapped_hash: str | None = None  # of the valid record's payload
    held_back: str | None = None  # the publication rule that keeps it off the platform


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    version: int = 0  # the version a store write creates (NEW, CHANGED, REVOKED of a new key)
    republish: bool = False  # the platform no longer shows it: publish it as a new row
    mark_revoked: bool = False  # REVOKED: the store keeps the record, in state revoked


def decide(candidate: Candidate, known: Known | None) -> Decision:
    if not candidate.valid:
        return Decision(Outcome.REVOKED if candidate.revoked else Outcome.QUARANTINED)
    if candidate.revoked:
        return _revoked(known)
    if candidate.held_back:
        return Decision(Outcome.PROTECTED)
    return _current(candidate, known)


def _revoked(known: Known | None) -> Decision:
    if known is None:
        return Decision(Outcome.REVOKED, version=1, mark_revoked=True)
    if known.state in OFF_DISPLAY or known.state in NEVER_REPUBLISH:
        return Decision(Outcome.UNCHANGED)
    if known.platform_id is None and not known.sent_before:
        return Decision(Outcome.REVOKED, version=known.version, mark_revoked=True)
    return Decision(Outcome.WITHDRAWAL_QUEUED, version=known.version)


def _current(candidate: Candidate, known: Known | None) -> Decision:
    if known is None:
        return Decision(Outcome.NEW, version=1)
    if known.state in NEVER_REPUBLISH:
        return Decision(Outcome.BLOCKED)
    republish = known.state in OFF_DISPLAY  # the department undid its revocation
    if not republish and known.mapped_hash == candidate.mapped_hash:
        still = known.state == RecordState.REJECTED
        return Decision(Outcome.STILL_REJECTED if still else Outcome.UNCHANGED)
    return Decision(Outcome.CHANGED, version=known.version + 1, republish=republish)
