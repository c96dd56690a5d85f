"""A department's new ids for its decisions (``creditsync relink``): when its system is replaced or
re-keyed, the records its old ids name are linked to the new ones, so that the new ids' rows update
their decisions instead of being held as second claims on the same 文书号 (``lifecycle.claims``).

Each record keeps its business key, versions and state; only its link (``source_key``) changes, with
a ``source_relinked`` audit entry naming both ids and the reason. A new id that already names another
decision of the department is refused (two decisions would merge), as is a mapping that chains ids.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from creditsync.audit.events import AuditEvent
from creditsync.exceptions import ConfigurationError
from creditsync.lifecycle.changes import ChangeSet
from creditsync.lifecycle.stored import load_records
from creditsync.lifecycle.withdrawals import TamperedRecord
from creditsync.store.bulk import any_of, lock_department
from creditsync.store.models import QuarantineItem, Record


@dataclass
class Relinked:
    """What one batch of the mapping did."""

    moved: int = 0  # records linked to their new id
    unknown: list[str] = field(default_factory=list)  # old ids naming no record (or moved already)
    refused: dict[str, str] = field(default_factory=dict)  # old id → why it was left as it is

    def add(self, other: Relinked) -> None:
        self.moved += other.moved
        self.unknown += other.unknown
        self.refused.update(other.refused)


def check_mapping(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """old id → new id, refusing what cannot be meant: blanks, an id mapped twice, two old ids onto one
    new id, or a new id that is also an old one (a chain or a swap: run it in two steps)."""
    problems: list[str] = []
    mapping: dict[str, str] = {}
    targets: dict[str, str] = {}
    for line, (old, new) in enumerate(pairs, start=1):
        if not old or not new or old == new:
            problems.append(f"row {line}: old and new id must both be given and differ ({old!r} → {new!r})")
        elif old in mapping:
            problems.append(f"row {line}: old id {old!r} is mapped twice")
        elif new in targets:
            problems.append(f"row {line}: old ids {targets[new]!r} and {old!r} both map to {new!r}")
        else:
            mapping[old], targets[new] = new, old
    chained = sorted(set(mapping) & set(targets))
    if chained:
        problems.append(f"ids both old and new: {', '.join(chained[:10])} (a chain or a swap: two steps)")
    if problems:
        raise ConfigurationError("mapping: " + "; ".join(problems[:10]) + " 映射表有误")
    return mapping


def relink_ids(session: Session, changes: ChangeSet, department: str, category: str | None,
               mapping: Mapping[str, str], reason: str) -> Relinked:
    """Link the records the batch's old ids name to their new ids (the caller commits the change set)."""
    if not reason.strip():
        raise ConfigurationError("reason: say why the ids change 请填写原因")
    lock_department(session, department)
    scope = [Record.department == department] + ([Record.category == category] if category else [])
    ids = set(mapping) | set(mapping.values())
    found = session.execute(select(Record.business_key, Record.source_key)
                            .where(*scope, any_of(session, Record.source_key, ids))).all()
    taken = {source_key for _, source_key in found if source_key not in mapping}
    held = _held_for_another(session, department, category, mapping, {key for key, _ in found})
    moving = {key for key, source_key in found if source_key in mapping}
    stored = load_records(session, changes.scope.sealer, moving, lock=True, outbox=False)
    if stored.tampered:
        raise TamperedRecord(next(iter(stored.tampered.values())))
    done = Relinked()
    named = {row["source_key"] for row in stored.rows.values()}
    done.unknown = sorted(old for old in mapping if old not in named)
    for row in sorted(stored.rows.values(), key=lambda row: row["business_key"]):
        old = row["source_key"]
        new = mapping[old]
        if new in taken:
            done.refused[old] = f"{new} already names another decision of {department}"
            continue
        if held.get(new, row["business_key"]) != row["business_key"]:
            done.refused[old] = f"{new} is held in the quarantine as another decision: resolve that first"
            continue
        changes.write_record({**row, "source_key": new}, before=row)
        changes.event(AuditEvent.SOURCE_RELINKED, category=row["category"], business_key=row["business_key"],
                      from_source_key=old, source_key=new, reason=reason)
        done.moved += 1
    return done


def _held_for_another(session: Session, department: str, category: str | None, mapping: Mapping[str, str],
                      moving: set[str]) -> dict[str, str]:
    """New ids with an open quarantine entry → the business key it claims ("" when none: a row held
    before it had one, which may be any decision). An entry claiming the moving record's own key (the
    new id held as its twin) is no obstacle."""
    scope = [QuarantineItem.department == department, QuarantineItem.resolved_at.is_(None),
             any_of(session, QuarantineItem.source_key, set(mapping.values()))]
    if category:
        scope.append(QuarantineItem.category == category)
    held: dict[str, str] = {}
    for source_key, business_key in session.execute(
            select(QuarantineItem.source_key, QuarantineItem.business_key).where(*scope)):
        if source_key is not None and (business_key not in moving or source_key not in held):
            held[source_key] = business_key or ""
    return held
