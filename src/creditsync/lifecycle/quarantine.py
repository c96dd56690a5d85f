"""Quarantine entries over a record's life: opened when a record cannot be published, seen again while it
stays bad, closed when a fixed version arrives (or by hand), and marked when a re-drive re-reads it.

An entry keeps the department's row (masked) and its reasons as data (``{field, kind, zh, en}``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from creditsync.audit.events import AuditEvent
from creditsync.exceptions import ConfigurationError, CreditSyncError, FieldError
from creditsync.lifecycle.changes import ChangeSet
from creditsync.lifecycle.rows import quarantine_row
from creditsync.schema.document_no import canonical_document_no
from creditsync.sources.base import is_place_key
from creditsync.store.bulk import any_of
from creditsync.store.models import QuarantineItem
from creditsync.store.states import QuarantineStage

if TYPE_CHECKING:
    from creditsync.lifecycle.source import SourceItem

RETRY_PENDING = "pending"  # re-driven: waits for the record to be read again
RETRY_STILL_INVALID = "still_invalid"
RETRY_FIXED = "fixed"
# Entries about a stored decision, closed by its business key when a file row publishes it. (A row held
# as a conflicting claim names the number it claims too, but belongs to another record: only a file
# row's, whose file the new one replaces.)
BY_DECISION = frozenset({QuarantineStage.PLATFORM, QuarantineStage.PROTECTED})
# Entries about the department's row itself, closed when the department revokes it or it comes to say
# what the published decision says (never a tamper alarm, a platform refusal or a hold-back).
ROW_STAGES = frozenset({QuarantineStage.SOURCE, QuarantineStage.MAPPING, QuarantineStage.VALIDATION})


class QuarantineError(CreditSyncError):
    """A quarantine action that cannot be done as asked (already resolved, ...)."""


def plan_quarantine(session: Session, changes: ChangeSet, category: str,
                    quarantined: Sequence[tuple[SourceItem, QuarantineStage, list[FieldError]]],
                    fixed: dict[str, str], fixed_records: dict[str, str] | None = None,
                    fixed_places: dict[str, tuple[str, str]] | None = None,
                    settled_rows: dict[str, str] | None = None) -> None:
    """Open entries for a chunk's bad records (once per content: the same bad row read again only
    updates its entry), and close the entries of records that came back fixed: by the department's
    record id (``fixed``); for file rows, whose keys are only places, by business key (``fixed_records``:
    a rejection or a hold-back of that decision) and by place where the bad row there held the same
    文书号 (``fixed_places``: the department corrected its file and delivered it again); and the row
    entries of records the department revoked or made the same as the published decision, by id
    (``settled_rows``)."""
    department = changes.scope.department
    fixed_records = fixed_records or {}
    settled_rows = settled_rows or {}
    places = dict(fixed_places or {})
    for item, _, _ in quarantined:  # a file row still bad, but changed: the same decision's entry goes
        if not item.identifies and item.trace.get("document_no"):
            places[item.source_key] = (item.trace["document_no"], "superseded: a newer version of the row")
    identified = {item.source_key for item, _, _ in quarantined if item.identifies}
    source_keys = set(fixed) | set(places) | identified | set(settled_rows)
    hashes = {item.source_hash for item, _, _ in quarantined}
    if not (source_keys or hashes or fixed_records):
        return
    open_entries = session.execute(select(
        QuarantineItem.id, QuarantineItem.source_key, QuarantineItem.source_hash,
        QuarantineItem.business_key, QuarantineItem.retry_outcome, QuarantineItem.raw_masked,
        QuarantineItem.stage)
        .where(QuarantineItem.department == department, QuarantineItem.category == category,
               QuarantineItem.resolved_at.is_(None),
               or_(any_of(session, QuarantineItem.source_key, source_keys),
                   any_of(session, QuarantineItem.source_hash, hashes),
                   any_of(session, QuarantineItem.business_key, fixed_records)))).all()
    by_hash = {entry.source_hash: entry for entry in open_entries}
    closing = dict(fixed)
    for item, stage, errors in quarantined:
        seen = by_hash.get(item.source_hash)
        if seen is not None:  # the same unchanged bad row, re-read through the cursor overlap
            _seen_again(changes, category, seen, item)
            continue
        if item.identifies:
            closing[item.source_key] = "superseded: a newer version of the source record"
        _open(changes, category, item, stage, errors)
    for entry in open_entries:
        if entry.stage == QuarantineStage.TAMPERED:
            continue  # an insider's edit: only a person closes its alarm, whatever the department sends
        resolution = closing.get(entry.source_key) or _same_decision_in_place(entry, places)
        if resolution is None and entry.stage in ROW_STAGES:
            resolution = settled_rows.get(entry.source_key)
        if resolution is None and (entry.stage in BY_DECISION or is_place_key(entry.source_key or "")):
            resolution = fixed_records.get(entry.business_key or "")
        if resolution is not None and entry.source_hash not in hashes:
            update: dict[str, Any] = {"id": entry.id, "resolved_at": changes.stamp,
                                      "resolution": resolution[:200]}
            if entry.retry_outcome == RETRY_PENDING:
                update["retry_outcome"] = RETRY_FIXED
                changes.event(AuditEvent.QUARANTINE_RETRIED, category=category, quarantine_id=entry.id,
                              source_key=entry.source_key, outcome=RETRY_FIXED, resolution=resolution)
            changes.quarantine_updates.append(update)


def _same_decision_in_place(entry: Any, places: dict[str, tuple[str, str]]) -> str | None:
    """The resolution for a file row's entry whose row now holds the same decision (its raw row names
    the same 文书号, in any written variant), else None: another decision in the same place."""
    document_no, resolution = places.get(entry.source_key) or ("", "")
    if not document_no or not isinstance(entry.raw_masked, dict):
        return None
    wanted = canonical_document_no(document_no)
    written = (value for value in entry.raw_masked.values() if isinstance(value, str) and value.strip())
    return resolution if any(canonical_document_no(value.strip()) == wanted for value in written) else None


def _seen_again(changes: ChangeSet, category: str, entry: Any, item: SourceItem) -> None:
    update: dict[str, Any] = {"id": entry.id, "last_seen_at": changes.stamp}
    if entry.retry_outcome == RETRY_PENDING:
        update["retry_outcome"] = RETRY_STILL_INVALID
        changes.event(AuditEvent.QUARANTINE_RETRIED, category=category, business_key=item.key,
                      quarantine_id=entry.id, source_key=item.source_key, outcome=RETRY_STILL_INVALID)
    changes.quarantine_updates.append(update)


def _open(changes: ChangeSet, category: str, item: SourceItem, stage: QuarantineStage,
          errors: list[FieldError]) -> None:
    reasons = [error.as_dict() for error in errors]
    # A valid decision held back, or held as one of two claims on its 文书号, names its business key.
    key = item.key if stage is QuarantineStage.PROTECTED or item.conflict is not None else None
    changes.quarantine.append(quarantine_row(
        run_id=changes.scope.run_id, department=changes.scope.department, category=category,
        source_key=item.source_key, business_key=key,
        stage=stage, errors=reasons, raw=item.data, source_hash=item.source_hash, created_at=changes.stamp))
    changes.event(AuditEvent.RECORD_QUARANTINED, category=category, business_key=key,
                  stage=str(stage), errors=reasons, source_hash=item.source_hash,
                  source_key=item.source_key, **item.trace)


def open_platform_rejection(changes: ChangeSet, *, category: str, business_key: str, source_key: str | None,
                            messages: Sequence[str], masked_payload: dict[str, Any]) -> None:
    """The platform refused an item: its messages (Chinese, the platform's own words) as reasons."""
    reasons = [FieldError("(platform)", message, "", kind="platform").as_dict()
               for message in messages]
    changes.quarantine.append(quarantine_row(
        run_id=changes.scope.run_id, department=changes.scope.department, category=category,
        source_key=source_key, business_key=business_key, stage=QuarantineStage.PLATFORM, errors=reasons,
        raw=masked_payload, source_hash=None, created_at=changes.stamp))


def resolve_entries(session: Session, changes: ChangeSet, entry_ids: Sequence[int], reason: str) -> list[int]:
    """Close entries by hand (the record was withdrawn, handed over on paper, ...), each audited."""
    if not reason.strip():
        raise ConfigurationError("a reason is required: say why the entry is closed 请填写处理说明")
    items = session.scalars(select(QuarantineItem).where(QuarantineItem.id.in_(entry_ids))
                            .with_for_update()).all()
    found = {item.id: item for item in items}
    for entry_id in entry_ids:
        item = found.get(entry_id)
        if item is None:
            raise ConfigurationError(f"no quarantine entry {entry_id}")
        if item.resolved_at is not None:
            raise QuarantineError(f"quarantine entry {entry_id} was already closed: {item.resolution}")
        changes.quarantine_updates.append({"id": item.id, "resolved_at": changes.stamp,
                                           "resolution": f"closed by {changes.scope.actor}: {reason}"[:200]})
        changes.event(AuditEvent.QUARANTINE_RESOLVED, category=item.category, business_key=item.business_key,
                      quarantine_id=item.id, source_key=item.source_key, stage=item.stage, reason=reason)
    return list(entry_ids)


def mark_retried(session: Session, changes: ChangeSet, department: str, categories: Sequence[str]) -> int:
    """A re-drive re-reads these streams: their open entries wait to see what the re-read finds."""
    entries = session.execute(select(QuarantineItem.id).where(
        QuarantineItem.department == department, QuarantineItem.category.in_(categories),
        QuarantineItem.resolved_at.is_(None),
        QuarantineItem.stage.in_([QuarantineStage.SOURCE, QuarantineStage.MAPPING,
                                  QuarantineStage.VALIDATION]))).scalars().all()
    changes.quarantine_updates += [{"id": entry_id, "retried_at": changes.stamp,
                                    "retry_outcome": RETRY_PENDING}
                                   for entry_id in entries]
    return len(entries)
