"""Writing one translated row: quarantine, or a new record version with its outbox item."""

from __future__ import annotations

import hashlib
from enum import StrEnum
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from creditsync.exceptions import FieldError
from creditsync.pipeline.context import SyncContext, content_hash, now
from creditsync.pipeline.translate import Translation, Translator
from creditsync.privacy import mask_record
from creditsync.schema import CanonicalRecord, get_category
from creditsync.store.models import OutboxItem, QuarantineItem, Record, RecordVersion, StagedRecord

NEVER_REPUBLISH = frozenset({"repaired"})  # 信用修复: display stopped for good
OFF_DISPLAY = frozenset({"withdrawing", "withdrawn", "revoked"})  # the department revoked it


class RecordOutcome(StrEnum):
    NEW = "new"
    CHANGED = "changed"
    UNCHANGED = "unchanged"
    QUARANTINED = "quarantined"
    BLOCKED = "blocked"
    STILL_REJECTED = "still_rejected"  # unchanged since the platform rejected it: not sent again
    REVOKED = "revoked"  # revoked before it was ever published: nothing to send
    WITHDRAWAL_QUEUED = "withdrawal_queued"  # revoked after publication: 终止公示 queued


def idempotency_key(business_key: str, action: str, version: int, mapped_hash: str) -> str:
    return hashlib.sha256(f"{business_key}|{action}|{version}|{mapped_hash}".encode()).hexdigest()


class RecordWriter:
    def __init__(self, ctx: SyncContext, category: str, translator: Translator) -> None:
        self.ctx, self.category, self.translator = ctx, category, translator

    def process(self, session: Session, staged: StagedRecord) -> RecordOutcome:
        if staged.error:
            # The adapter's reason is quoted once (it may already be bilingual, as the file source's is).
            error = FieldError("(record)", f"源记录无法读取：{staged.error}",
                               "the source record is unreadable")
            self._quarantine(session, staged, "source", [error], None)
            return RecordOutcome.QUARANTINED
        translation = self.translator.translate(staged.payload)
        revoked = self.translator.is_revoked(staged.payload)
        if translation.record is None and revoked:
            return RecordOutcome.REVOKED  # invalid and revoked: nothing to publish or to fix
        if translation.record is None:
            self._quarantine(session, staged, translation.stage, translation.errors, translation)
            return RecordOutcome.QUARANTINED
        if revoked:
            return self._revoke(session, staged, translation.record)
        return self._store(session, staged, translation.record)

    def _revoke(self, session: Session, staged: StagedRecord, record: CanonicalRecord) -> RecordOutcome:
        """Revoked at the source: withdraw what the platform shows; never publish what it does not."""
        key = record.business_key()
        existing = session.get(Record, key, with_for_update=True)
        if existing is not None and (existing.state in OFF_DISPLAY or existing.state in NEVER_REPUBLISH):
            return RecordOutcome.UNCHANGED
        if existing is None:
            self._audit(session, "revoked_unpublished", key, staged)
            return RecordOutcome.REVOKED
        _supersede_untried(session, key)
        if existing.platform_id is None and not _may_have_reached_platform(session, key):
            existing.state, existing.updated_at = "revoked", now()
            self._audit(session, "revoked_unpublished", key, staged, version=existing.version)
            return RecordOutcome.REVOKED
        existing.state, existing.updated_at = "withdrawing", now()
        session.add(OutboxItem(
            idempotency_key=idempotency_key(key, "withdraw", existing.version, existing.mapped_hash),
            business_key=key, department=self.ctx.name, category=self.category, action="withdraw",
            version=existing.version, payload={}, run_id=self.ctx.run_id, status="pending",
            created_at=now(), platform_errors=[],
        ))
        self._audit(session, "withdrawal_queued", key, staged, version=existing.version,
                    reason="revoked at the source", source_hash=staged.source_hash)
        return RecordOutcome.WITHDRAWAL_QUEUED

    def _store(self, session: Session, staged: StagedRecord, record: CanonicalRecord) -> RecordOutcome:
        key = record.business_key()
        payload = record.to_payload()
        mapped_hash = content_hash(payload)
        existing = session.get(Record, key, with_for_update=True)
        if existing is not None and existing.state in NEVER_REPUBLISH:
            self._audit(session, "republish_blocked", key, staged, state=existing.state)
            return RecordOutcome.BLOCKED
        republish = existing is not None and existing.state in OFF_DISPLAY  # the revocation was undone
        if existing is not None and not republish and existing.mapped_hash == mapped_hash:
            return RecordOutcome.STILL_REJECTED if existing.state == "rejected" else RecordOutcome.UNCHANGED
        if existing is not None and republish:
            existing.platform_id = None  # a withdrawn row cannot be corrected: publish it anew
        version = existing.version + 1 if existing else 1
        self._save_record(session, existing, record, key, staged, mapped_hash, version)
        self._save_version(session, key, version, staged, mapped_hash, record)
        self._queue(session, key, version, payload, mapped_hash)
        self._resolve_quarantine(session, staged, key, version)
        self._audit(session, "record_version", key, staged, version=version, mapped_hash=mapped_hash,
                    source_hash=staged.source_hash, mapping_digest=self.translator.mapping_digest,
                    adapter=self.translator.adapter, try_number=self.ctx.try_number)
        return RecordOutcome.CHANGED if existing else RecordOutcome.NEW

    def _save_record(self, session: Session, existing: Record | None, record: CanonicalRecord, key: str,
                     staged: StagedRecord, mapped_hash: str, version: int) -> None:
        stamp = now()
        row = existing or Record(business_key=key, department=self.ctx.name, category=self.category,
                                 first_seen_at=stamp)
        row.document_no = record.document_number()
        row.subject_name = record.subject_name()
        row.source_key = staged.source_key
        row.decision_date = record.decision_date()
        row.version, row.mapped_hash, row.updated_at = version, mapped_hash, stamp
        row.state = "pending"  # until the platform acknowledges this version
        if existing is None:
            session.add(row)

    def _save_version(self, session: Session, key: str, version: int, staged: StagedRecord,
                      mapped_hash: str, record: CanonicalRecord) -> None:
        session.add(RecordVersion(
            business_key=key, version=version, run_id=self.ctx.run_id, source_key=staged.source_key,
            source_hash=staged.source_hash, mapped_hash=mapped_hash,
            mapping_digest=self.translator.mapping_digest, adapter=self.translator.adapter,
            payload_masked=record.masked_payload(), created_at=now(),
        ))

    def _queue(self, session: Session, key: str, version: int, payload: dict[str, Any],
               mapped_hash: str) -> None:
        _supersede_untried(session, key)
        session.add(OutboxItem(
            idempotency_key=idempotency_key(key, "upsert", version, mapped_hash), business_key=key,
            department=self.ctx.name, category=self.category, action="upsert", version=version,
            payload=payload, run_id=self.ctx.run_id, status="pending", created_at=now(),
            platform_errors=[],
        ))

    def _resolve_quarantine(self, session: Session, staged: StagedRecord, key: str, version: int) -> None:
        """A record fixed at the source closes its open quarantine entries."""
        self._close_open_entries(session, staged, f"fixed at source: version {version} of {key}")

    def _close_open_entries(self, session: Session, staged: StagedRecord, resolution: str) -> None:
        """A source record has at most one open entry: the reasons of its newest version."""
        session.execute(update(QuarantineItem)
                        .where(QuarantineItem.department == self.ctx.name,
                               QuarantineItem.category == self.category,
                               QuarantineItem.source_key == staged.source_key,
                               QuarantineItem.resolved_at.is_(None))
                        .values(resolved_at=now(), resolution=resolution[:200]))

    def _quarantine(self, session: Session, staged: StagedRecord, stage: str, errors: list[FieldError],
                    translation: Translation | None) -> None:
        if _already_quarantined(session, self.ctx.name, self.category, staged):
            return  # the same unchanged bad row, re-read through the cursor overlap
        self._close_open_entries(session, staged, "superseded: a newer version of the source record")
        session.add(QuarantineItem(
            run_id=self.ctx.run_id, department=self.ctx.name, category=self.category,
            source_key=staged.source_key, business_key=None, stage=stage,
            # Messages may quote the bad value, e.g. an ID number typed into a date column.
            errors=[mask_record(e.as_dict()) for e in errors], raw_masked=mask_record(staged.payload),
            source_hash=staged.source_hash, created_at=now(),
        ))
        self._audit(session, "record_quarantined", None, staged, stage=stage,
                    errors=[e.as_dict() for e in errors], source_hash=staged.source_hash,
                    **_document_number(self.category, translation))

    def _audit(self, session: Session, event: str, key: str | None, staged: StagedRecord,
               **details: Any) -> None:
        self.ctx.audit.append(session, event, department=self.ctx.name, category=self.category,
                              business_key=key, run_id=self.ctx.run_id, source_key=staged.source_key,
                              **details)


def _document_number(category: str, translation: Translation | None) -> dict[str, str]:
    """The 文书号 the mapping found, if any: a record quarantined before it ever had a business key
    can still be traced by it (``creditsync audit trace 文书号``)."""
    if translation is None:
        return {}
    value = translation.mapped.get(get_category(category).keys.document_number)
    return {"document_no": value.strip()} if isinstance(value, str) and value.strip() else {}


def _supersede_untried(session: Session, key: str) -> None:
    """An older item nobody has tried to send yet need not be sent at all."""
    session.execute(update(OutboxItem)
                    .where(OutboxItem.business_key == key, OutboxItem.status == "pending",
                           OutboxItem.attempts == 0)
                    .values(status="superseded"))


def _may_have_reached_platform(session: Session, key: str) -> bool:
    """Sent at least once, so the platform may hold it even if its answer was lost."""
    query = select(OutboxItem.id).where(OutboxItem.business_key == key, OutboxItem.action == "upsert",
                                        OutboxItem.attempts > 0).limit(1)
    return session.scalar(query) is not None


def _already_quarantined(session: Session, department: str, category: str, staged: StagedRecord) -> bool:
    query = select(QuarantineItem.id).where(
        QuarantineItem.department == department, QuarantineItem.category == category,
        QuarantineItem.source_hash == staged.source_hash, QuarantineItem.resolved_at.is_(None)).limit(1)
    return session.scalar(query) is not None
