"""Who may publish under a 文书号: one decision, one row, whichever run reads which department record.

Two department records that give one 文书号 (one business key) to different content are two decisions
claiming one number: neither may silently win. The stored record of a number belongs to the row that
wrote it (its id, the same 文书号 written otherwise where the number is the key, or any file row: a
file corrects by 文书号, and a department may move from files to ids). Its owner's rows are its
updates: a revocation always applies; a correction is held only by another update of it read in the
same chunk. Any other row is held (a ``conflict`` quarantine entry naming the other, and the number it
claims) when, as it is read:

- the stored record stands against it (``_rival``): it still claims its number (not renumbered, not
  revoked; one an operator released does), and the row has other content or is a revocation;
- another row read in the same chunk claims the number with other content (both are held; a
  revocation claims nothing but its own decision, whose correction read with it is then held);
- a row of another id held earlier as claiming the number is not read now (its open entry). A file
  row is a place that the file's next delivery fills anew: its entry claims nothing;
- it is another id's row repeating, unrevoked, a decision its own row revoked (stored, or read with it;
  with nothing stored yet, any id revoking the same content read with it): the department entered the
  case twice and revoked one; a revoked penalty must not be shown, so the revocation stands and the
  repeat waits for the department to say which it means (or an operator's ``creditsync relink``).

A file row updates the decision of its 文书号, whoever stored it; within one file a row that revokes
the decision or holds it back always applies, and a row of the same file giving it content is held,
whichever comes first and in whichever chunk (``lifecycle.deliveries``). Rows of different files are
deliveries in turn: the later one updates what the earlier one left.

A held row is decided afresh each time it is read: it goes through once nothing claims its number any
more (the department renumbered or revoked the other), and is held again, in a new entry, while
something still does (closing its entry by hand does not publish it).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from creditsync.exceptions import FieldError
from creditsync.lifecycle.deliveries import ReadThisRun, file_named, file_of, takes_down
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
                   earlier: EarlierClaims | None = None, this_run: ReadThisRun | None = None) -> None:
    """Hold each row of the chunk that another record claims the number of (``item.conflict``)."""
    earlier, this_run = earlier or EarlierClaims(), this_run or ReadThisRun()
    reading = {item.source_key: item.key for item in items}
    claimants: dict[str, list[SourceItem]] = {}
    for item in items:
        if item.key is not None:
            claimants.setdefault(item.key, []).append(item)
    for item in items:
        if item.key is None:
            continue
        held = earlier.held.get(item.source_hash)
        if held is not None and not held[1]:  # held before entries named their number: until resolved
            item.conflict = held[0]
            continue
        mine = claimants.get(item.key, [])
        item.adopts = _entered_twice_this_run(item, stored.rows.get(item.key), run_id)
        if item.adopts:
            rival = None
        elif not item.identifies:
            rival = _file_row_held(item, mine, this_run) or _claimed_by(
                item, mine, stored, run_id, earlier, reading, this_run.files)
        else:
            rival = _claimed_by(item, mine, stored, run_id, earlier, reading, this_run.files)
        if rival is not None:
            item.conflict = held[0] if held is not None else rival
        if not item.identifies:  # the files in the order this try reads them
            this_run.files.add(file_of(item))
    this_run.remember(items)


def _file_row_held(item: SourceItem, claimants: list[SourceItem], this_run: ReadThisRun) -> FieldError | None:
    """A file row giving content to a decision that a row of its own file took down (read with it, or
    earlier in this run: in an earlier chunk, or by an earlier try of a retried pull)."""
    assert item.key is not None
    if takes_down(item):
        return None
    taker = this_run.taker(item) or next(
        (other.source_key for other in claimants
         if not other.identifies and takes_down(other) and file_of(other) == file_of(item)), None)
    return None if taker is None else conflict_error(item.key, taker)


def _claimed_by(item: SourceItem, claimants: list[SourceItem], stored: StoredRecords, run_id: str,
                earlier: EarlierClaims, reading: dict[str, str | None], files: set[str]) -> FieldError | None:
    """Why another record claims the item's number, or None. The stored decision's own row (its id, or
    a file row correcting by 文书号) is its update: a revocation always applies, a correction is held
    only by another update of the decision read with it (a rival's row is held, not the owner's)."""
    key = item.key
    assert key is not None
    known = stored.rows.get(key)
    writer = stored.writers.get(key)
    own = known is not None and _own(known, item, run_id, writer, files)
    if takes_down(item) and (own or _same_delivery(item, known, writer)):
        return None  # the decision's own revocation or hold; a file row's, unless a later file wrote it
    if item.identifies and not own and not item.revoked:  # another id (a file row updates by number)
        revoker = (_revoked_by_its_own(known, claimants, run_id) if known is not None
                   and item.mapped_hash == known["mapped_hash"] else _revoked_new(item, claimants))
        if revoker is not None:  # one decision, revoked by one id and live under another: not shown
            return revoked_error(key, revoker)
    if known is not None and not own and _rival(known, item):
        return conflict_error(key, known["source_key"] or "?", stored=True)
    for other in claimants:
        if other is item or not _differ(other, item) or _later_delivery(item, other):
            continue
        other_owns = known is not None and _own(known, other, run_id, writer, files)
        if own and other_owns:  # two updates of one decision that disagree (a revocation among them)
            return conflict_error(key, other.source_key)
        if not own and not other.revoked:  # a revocation claims nothing but its own decision
            return conflict_error(key, other.source_key)
    if own:
        return None
    for other_key in sorted(earlier.open_claims.get(key, set())):
        # held as claiming it and not read now; a file row is a place, which the file's next delivery
        # fills anew: it claims nothing once its file is read again
        if other_key not in reading and not is_place_key(other_key) \
                and not _same_decision(other_key, item.source_key):
            return conflict_error(key, other_key)
    return None


def _own(known: dict[str, Any], item: SourceItem, run_id: str, writer: str | None = None,
         files: Collection[str] = ()) -> bool:
    """The stored record is the item's decision: its id (or the same 文书号 written otherwise, where the
    number is the key), or, unless another row wrote it earlier in this run, a file row correcting it by
    文书号 or an id taking over from a file row (a department moving from files to its system's ids).
    Written earlier in this run by a row of a file read before this row's (``files``), a file row is the
    later delivery's update; by a file this try has not read yet (an earlier try did), it is not."""
    other = known["source_key"]
    if other == item.source_key or (other is not None and _same_decision(other, item.source_key)):
        return True
    if known["run_id"] == run_id:
        if writer == item.source_key:
            return True
        earlier = file_named(writer)
        return not item.identifies and earlier is not None and earlier != file_of(item) and earlier in files
    return not item.identifies or other is None or is_place_key(other)


def _entered_twice_this_run(item: SourceItem, known: dict[str, Any] | None, run_id: str) -> bool:
    """A revocation by another id of the same content, first stored by this run: the case entered twice
    and revoked once, its two rows read in different chunks. The revocation is that decision's (as when
    read together, before anything was stored), and the record names the revoking id from then on, so
    that the live copy read again is held as its repeat."""
    if known is None or not item.identifies or not item.revoked or known["run_id"] != run_id:
        return False
    other = known["source_key"]
    return (known["version"] == 1 and known["mapped_hash"] == item.mapped_hash and other is not None
            and other != item.source_key and not is_place_key(other) and claims_its_number(known))


def _rival(known: dict[str, Any], item: SourceItem) -> bool:
    """The stored record of the item's key, another row's decision, stands against the item while it
    still claims its number: other content, or a revocation (another id's revocation never takes it
    down)."""
    if known["mapped_hash"] == item.mapped_hash and not item.revoked:
        return False  # the same decision under two ids: nothing to hold
    return claims_its_number(known)


def _revoked_by_its_own(known: dict[str, Any], claimants: list[SourceItem], run_id: str) -> str | None:
    """The source key of the row that revoked the stored decision, its own (read now, else stored)."""
    owners = [other for other in claimants if _own(known, other, run_id)]
    if owners:
        return next((other.source_key for other in owners if other.revoked), None)
    state, beneath = effective_state(known["state"], known["withdraw_reason"]), \
        settled_reason(known["withdraw_reason"])
    revoked = state is RecordState.REVOKED or beneath == WithdrawCause.REVOKED
    return (known["source_key"] or "?") if revoked else None


def _revoked_new(item: SourceItem, claimants: list[SourceItem]) -> str | None:
    """Read with the item, before anything was stored: another id revoking the same decision."""
    return next((other.source_key for other in claimants if other is not item and other.identifies
                 and other.revoked and other.mapped_hash == item.mapped_hash), None)


def _same_delivery(item: SourceItem, known: dict[str, Any] | None, writer: str | None) -> bool:
    """A file row taking down a decision new to the run, or one a row of its own file wrote in it."""
    if item.identifies:
        return False
    return known is None or file_named(writer) == file_of(item)


def _later_delivery(item: SourceItem, other: SourceItem) -> bool:
    """Rows of two files read in one run: two deliveries, the later updating what the earlier left."""
    return not item.identifies and not other.identifies and file_of(item) != file_of(other)


def _same_decision(a: str, b: str) -> bool:
    """Two keys of a source keyed by the 文书号 itself (a legacy export): each written variant of one
    number names one decision."""
    return "号" in a and "号" in b and canonical_document_no(a) == canonical_document_no(b)


def claims_its_number(row: dict[str, Any]) -> bool:
    """A stored record still holds its 文书号 for its decision: not renumbered, not revoked (also not
    beneath an operator's hold). A record an operator released waits to be published again: it does."""
    state = effective_state(row["state"], row["withdraw_reason"])
    beneath = settled_reason(row["withdraw_reason"])
    return (state not in (RecordState.REPLACED, RecordState.REVOKED)
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


def revoked_error(key: str, other: str) -> FieldError:
    """A row repeating a decision its own id revoked: which of the two the department means is for it to
    say (a revoked penalty must not be shown; the revocation stands meanwhile)."""
    document = key.split(":", 2)[-1]
    return FieldError("(record)",
                      f"文书号{document}的决定已由源记录{other}撤销，本记录内容与其相同但未撤销，不予公示，请核实",
                      f"document number {document}: source record {other} revoked this decision, and this "
                      "record repeats it unrevoked: it is not published until the department resolves it",
                      kind=CONFLICT)
