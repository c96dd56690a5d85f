"""Who may publish under a 文书号: one decision, one row, whichever run reads which department record.

Two department records that give one 文书号 (one business key) to different content are two decisions
claiming one number: neither may silently win. A row is held (a ``conflict`` quarantine entry naming
the other, and the number it claims) when, at the time it is read, another record claims its number:

- another row read in the same chunk, with other content (both are held);
- the stored record of the number, when it belongs to another of the department's ids (``_rival``):
  one read earlier in this run, or one identified by the department's own id in an earlier run; a
  file row is a place, not an id, so a file may correct a decision and a department may move from
  files to ids;
- a row held earlier as claiming it and not read now (its open entry).

A row held earlier is decided afresh each time it is read: it goes through once nothing claims its
number any more (the department renumbered or revoked the other), and is held again, in a new entry,
while something still does (closing its entry by hand does not publish it). A revocation claims
nothing: it only acts on a record that is its own, and never takes down another id's decision.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from creditsync.exceptions import FieldError
from creditsync.lifecycle.stored import StoredRecords
from creditsync.schema.document_no import canonical_document_no
from creditsync.sources.base import is_place_key
from creditsync.store.bulk import any_of
from creditsync.store.models import QuarantineItem
from creditsync.store.states import (
    QuarantineStage,
    RecordState,
    WithdrawCause,
    effective_state,
    settled_reason,
)

if TYPE_CHECKING:
    from creditsync.lifecycle.source import SourceItem

CONFLICT = "conflict"  # the kind of reason that holds two claims on one business key


@dataclass
class EarlierClaims:
    """What earlier runs decided about rows claiming a 文书号 another department record claims."""

    # source hash → why it was held, and whether its entry names the number (older ones do not: held)
    held: dict[str, tuple[FieldError, bool]] = field(default_factory=dict)
    open_claims: dict[str, set[str]] = field(default_factory=dict)  # business key → held rows' source keys


def earlier_claims(session: Session, department: str, category: str,
                   items: Sequence[SourceItem]) -> EarlierClaims:
    """The chunk's rows held earlier (open entries, by content hash), and the rows held as claiming the
    chunk's numbers (by business key: conflict entries keep the number they claim)."""
    earlier = EarlierClaims()
    hashes = {item.source_hash for item in items if item.key is not None}
    if not hashes:
        return earlier
    scope = (QuarantineItem.department == department, QuarantineItem.category == category,
             QuarantineItem.stage == QuarantineStage.VALIDATION, QuarantineItem.resolved_at.is_(None))
    for source_hash, errors, key in session.execute(
            select(QuarantineItem.source_hash, QuarantineItem.errors, QuarantineItem.business_key)
            .where(*scope, any_of(session, QuarantineItem.source_hash, hashes))):
        if (reason := conflict_of(errors)) is not None:
            earlier.held[source_hash] = (reason, key is not None)
    keys = {item.key for item in items if item.key is not None}
    for key, source_key, errors in session.execute(
            select(QuarantineItem.business_key, QuarantineItem.source_key, QuarantineItem.errors)
            .where(*scope, any_of(session, QuarantineItem.business_key, keys))):
        if source_key is not None and conflict_of(errors) is not None:
            earlier.open_claims.setdefault(key, set()).add(source_key)
    return earlier


def conflict_of(errors: list[Any] | None) -> FieldError | None:
    """The conflict among an entry's reasons, if it was held as one of two claims on a number."""
    for error in errors or []:
        reason = FieldError.from_stored(error)
        older = reason.field == "(record)" and "is also used by" in reason.message_en  # before kinds
        if reason.kind == CONFLICT or older:
            return replace(reason, kind=CONFLICT)
    return None


def mark_conflicts(items: list[SourceItem], stored: StoredRecords, run_id: str,
                   earlier: EarlierClaims | None = None) -> None:
    """Hold each row of the chunk that another record claims the number of (``item.conflict``)."""
    earlier = earlier or EarlierClaims()
    reading = {item.source_key: item.key for item in items}
    claimants: dict[str, list[SourceItem]] = {}
    for item in items:
        if item.key is not None and not item.revoked:
            claimants.setdefault(item.key, []).append(item)
    for item in items:
        if item.key is None:
            continue
        held = earlier.held.get(item.source_hash)
        if held is not None and not held[1]:  # held before entries named their number: until resolved
            item.conflict = held[0]
            continue
        rival = _claimed_by(item, claimants.get(item.key, []), stored, run_id,
                            earlier, reading)
        if rival is not None:
            item.conflict = held[0] if held is not None else rival


def _claimed_by(item: SourceItem, claimants: list[SourceItem], stored: StoredRecords, run_id: str,
                earlier: EarlierClaims, reading: dict[str, str | None]) -> FieldError | None:
    """Why another record claims the item's number, or None."""
    key = item.key
    assert key is not None
    for other in claimants:
        if other is not item and _differ(other, item):
            return conflict_error(key, other.source_key)
    known = stored.rows.get(key)
    if known is not None and _rival(known, item, run_id):
        return conflict_error(key, known["source_key"] or "?", stored=True)
    for other_key in sorted(earlier.open_claims.get(key, set())):
        if other_key not in reading and not _same_decision(other_key, item.source_key):
            return conflict_error(key, other_key)  # held as claiming it, and not read now
    return None


def _rival(earlier: dict[str, Any], item: SourceItem, run_id: str) -> bool:
    """The stored record of the item's key is another department record's decision: one read earlier in
    this run with other content, or one the department identified by its own id in an earlier run
    (other content, or a revocation: another id's revocation never takes it down)."""
    other = earlier["source_key"]
    if other == item.source_key or (earlier["mapped_hash"] == item.mapped_hash and not item.revoked):
        return False
    if earlier["run_id"] == run_id and not item.revoked:
        return True
    if not item.identifies or other is None or is_place_key(other):
        return False
    return not _same_decision(other, item.source_key) and claims_its_number(earlier)


def _same_decision(a: str, b: str) -> bool:
    """Two keys of a source keyed by the 文书号 itself (a legacy export): each written variant of one
    number names one decision."""
    return canonical_document_no(a) == canonical_document_no(b)


def claims_its_number(row: dict[str, Any]) -> bool:
    """A stored record still holds its 文书号 for its decision (not renumbered, not revoked, also not
    beneath an operator's hold)."""
    state = effective_state(row["state"], row["withdraw_reason"])
    beneath = settled_reason(row["withdraw_reason"])
    return (state not in (RecordState.REPLACED, RecordState.WITHDRAWN, RecordState.REVOKED)
            and beneath not in (WithdrawCause.REPLACED, WithdrawCause.REVOKED))


def _differ(a: SourceItem, b: SourceItem) -> bool:
    return a.source_key != b.source_key and (a.mapped_hash, a.revoked) != (b.mapped_hash, b.revoked)


def conflict_error(key: str, other: str, *, stored: bool = False) -> FieldError:
    """Two claims on one 文书号; ``stored``: the other one is the decision the gateway keeps (and shows,
    if it was published)."""
    document = key.split(":", 2)[-1]
    if stored:
        return FieldError("(record)",
                          f"文书号{document}已属于源记录{other}，本记录内容不同，不予公示，请核实",
                          f"document number {document} is also used by source record {other} with other "
                          "content, which keeps it: this one is not published until the department "
                          "resolves it", kind=CONFLICT)
    return FieldError("(record)", f"文书号{document}与源记录{other}重复且内容不同，均不予公示，请核实",
                      f"document number {document} is also used by source record {other} with other "
                      "content: neither is published until the department resolves it", kind=CONFLICT)
