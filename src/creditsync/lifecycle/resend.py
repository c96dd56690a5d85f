"""Sending a record's current version again on purpose (a re-drive of a platform rejection, a
reconciliation repair, an operator's release), from what the store keeps.

The store keeps each version masked; a version that held no ID number is the very payload and can go
again (its seal and its content hash are checked first). One that held an ID number cannot: the record
is marked to be re-read (``REREAD_MARK``), and the department's next read of it publishes it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from creditsync.hashing import content_hash
from creditsync.lifecycle.changes import ChangeSet
from creditsync.lifecycle.rows import outbox_row, version_seal_ok
from creditsync.lifecycle.stored import StoredRecords
from creditsync.privacy import REREAD_MARK, is_masked
from creditsync.store.models import OutboxItem, QuarantineItem, RecordVersion
from creditsync.store.states import OutboxAction, QuarantineStage, RecordState


def sendable_content(session: Session, changes: ChangeSet, row: dict[str, Any]) -> dict[str, Any] | None:
    """The record's current version as it may be sent again, or None (masked, held back, or its stored
    row does not verify)."""
    found = session.execute(select(*RecordVersion.__table__.columns).where(
        RecordVersion.business_key == row["business_key"], RecordVersion.version == row["version"])).first()
    if found is None:
        return None
    version = dict(found._mapping)
    content = version["payload_masked"] or {}
    if not version_seal_ok(changes.scope.sealer, version) or is_masked(content):
        return None
    if content_hash(content) != row["mapped_hash"]:
        return None
    held = session.scalar(select(func.count()).select_from(QuarantineItem).where(
        QuarantineItem.business_key == row["business_key"], QuarantineItem.stage == QuarantineStage.PROTECTED,
        QuarantineItem.resolved_at.is_(None)))
    return None if held else dict(content)


def resend_current(session: Session, changes: ChangeSet, stored: StoredRecords, key: str, *, reason: str,
                   new_row: bool = False) -> str | None:
    """Queue the current version again (the record goes back to ``pending``); returns the new item's
    idempotency key, or None when the record is marked to be re-read instead."""
    row = changes.record(key) or stored.rows[key]
    content = sendable_content(session, changes, row)
    if content is None:
        changes.write_record({**row, "mapped_hash": REREAD_MARK})
        return None
    resend = stored.items.get(key) or session.scalar(select(func.count()).select_from(OutboxItem).where(
        OutboxItem.business_key == key)) or 0
    item = outbox_row(changes.scope.sealer, business_key=key, department=row["department"],
                      category=row["category"], action=OutboxAction.UPSERT, version=row["version"],
                      mapped_hash=row["mapped_hash"], payload=content, run_id=changes.scope.run_id,
                      created_at=changes.stamp, resend=resend + 1)
    changes.supersede([key])
    changes.outbox.append(item)
    changes.write_record({**row, "state": str(RecordState.PENDING), "withdraw_reason": None,
                          **({"platform_id": None} if new_row else {})})
    return str(item["idempotency_key"])
