"""A decided chunk into the store: records, versions, outbox items, quarantine entries and the audit
trail, each with one statement for the whole chunk, inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from creditsync.audit.trail import AuditEvent
from creditsync.exceptions import FieldError
from creditsync.pipeline.context import SyncContext, now
from creditsync.pipeline.decide import Outcome
from creditsync.pipeline.ingest import KnownRecord, SourceRow, document_number
from creditsync.pipeline.translate import Translator
from creditsync.publication.display_period import record_display_until
from creditsync.publication.severity import severity_of
from creditsync.schema import get_category
from creditsync.store.bulk import insert_rows, update_rows
from creditsync.store.models import OutboxItem, QuarantineItem, Record, RecordVersion
from creditsync.store.rows import outbox_row, quarantine_row
from creditsync.store.states import OutboxAction, OutboxStatus, QuarantineStage, RecordState


@dataclass
class ChunkWrites:
    ctx: SyncContext
    category: str
    translator: Translator
    stamp: datetime = field(default_factory=now)
    new_records: list[dict[str, Any]] = field(default_factory=list)
    record_updates: list[dict[str, Any]] = field(default_factory=list)
    versions: list[dict[str, Any]] = field(default_factory=list)
    outbox: list[dict[str, Any]] = field(default_factory=list)
    supersede: set[str] = field(default_factory=set)  # business keys whose untried items go
    quarantined: list[tuple[SourceRow, QuarantineStage, list[FieldError]]] = field(default_factory=list)
    fixed: dict[str, str] = field(default_factory=dict)  # source key → resolution of its open entries
    events: list[AuditEvent] = field(default_factory=list)

    # -- planning, one row at a time (no I/O) ------------------------------------------------------

    def add(self, row: SourceRow, known: KnownRecord | None) -> None:
        decision = row.decision
        assert decision is not None
        outcome = decision.outcome
        if outcome is Outcome.QUARANTINED:
            self._quarantine(row)
        elif outcome is Outcome.PROTECTED:
            assert row.held_back is not None
            self.quarantined.append((row, QuarantineStage.PROTECTED, [row.held_back]))
        elif outcome is Outcome.REVOKED and decision.mark_revoked:
            self._revoked_unpublished(row, known)
        elif outcome is Outcome.WITHDRAWAL_QUEUED:
            assert known is not None
            self._withdraw(row, known)
        elif outcome is Outcome.BLOCKED:
            assert known is not None
            self._event(row, "republish_blocked", row.key, state=str(known.known.state))
        elif outcome in (Outcome.NEW, Outcome.CHANGED):
            self._store(row, known)

    def _quarantine(self, row: SourceRow) -> None:
        if row.translation is None:
            # The adapter's reason is quoted once (it may already be bilingual, as the file source's is),
            # with the subject, if the mapping finds one, so the department knows which decision it is.
            unreadable = f"源记录无法读取：{row.raw.error}{self._subject_of(row)}"
            error = FieldError("(record)", unreadable, "the source record is unreadable")
            self.quarantined.append((row, QuarantineStage.SOURCE, [error]))
        elif row.conflict is not None:
            self.quarantined.append((row, QuarantineStage.VALIDATION, [row.conflict]))
        else:
            stage = QuarantineStage(row.translation.stage)
            self.quarantined.append((row, stage, list(row.translation.errors)))

    def _subject_of(self, row: SourceRow) -> str:
        if self.translator.mapping is None or not isinstance(row.raw.data, dict):
            return ""
        field = get_category(self.category).keys.subject_name
        subject = self.translator.mapping.apply(row.raw.data).data.get(field)
        return f"（行政相对人：{subject}）" if isinstance(subject, str) and subject.strip() else ""

    def _revoked_unpublished(self, row: SourceRow, known: KnownRecord | None) -> None:
        assert row.key is not None and row.decision is not None
        if known is None:  # kept, so trace and the console find a decision revoked before publication
            self._record_row(row, state=RecordState.REVOKED)
            self._version_event(row)
        else:
            self.supersede.add(row.key)
            self.record_updates.append({"business_key": row.key, "state": str(RecordState.REVOKED),
                                        "updated_at": self.stamp})
        self._event(row, "revoked_unpublished", row.key, version=row.decision.version)

    def _withdraw(self, row: SourceRow, known: KnownRecord) -> None:
        assert row.key is not None
        version, mapped_hash = known.known.version, known.known.mapped_hash
        self.supersede.add(row.key)
        self.record_updates.append({"business_key": row.key, "state": str(RecordState.WITHDRAWING),
                                    "updated_at": self.stamp})
        self.outbox.append(self._outbox(row.key, OutboxAction.WITHDRAW, version, mapped_hash, {}))
        self._event(row, "withdrawal_queued", row.key, version=version, reason="revoked at the source",
                    source_hash=row.source_hash)

    def _store(self, row: SourceRow, known: KnownRecord | None) -> None:
        assert row.key is not None and row.decision is not None and row.payload is not None
        decision = row.decision
        assert row.mapped_hash is not None
        if known is None:
            self._record_row(row, state=RecordState.PENDING)
        else:
            self.supersede.add(row.key)
            update = self._record_fields(row, RecordState.PENDING)
            if decision.republish:
                update["platform_id"] = None  # a withdrawn row cannot be corrected: publish it anew
            self.record_updates.append(update)
            self.versions.append(self._version_row(row))
        self.outbox.append(self._outbox(row.key, OutboxAction.UPSERT, decision.version, row.mapped_hash,
                                        row.payload))
        self.fixed[row.source_key] = f"fixed at source: version {decision.version} of {row.key}"
        self._version_event(row)

    def _version_event(self, row: SourceRow) -> None:
        assert row.decision is not None
        self._event(row, "record_version", row.key, version=row.decision.version, mapped_hash=row.mapped_hash,
                    source_hash=row.source_hash, mapping_digest=self.translator.mapping_digest,
                    adapter=self.translator.adapter, try_number=self.ctx.try_number)

    def _record_row(self, row: SourceRow, state: RecordState) -> None:
        assert row.key is not None
        fields = self._record_fields(row, state)
        fields.update(department=self.ctx.name, category=self.category, platform_id=None,
                      first_seen_at=self.stamp, published_at=None)
        self.new_records.append(fields)
        self.versions.append(self._version_row(row))

    def _record_fields(self, row: SourceRow, state: RecordState) -> dict[str, Any]:
        record, decision = row.record, row.decision
        assert record is not None and decision is not None
        return {"business_key": row.key, "document_no": record.document_number(),
                "subject_name": record.subject_name(), "source_key": row.source_key,
                "decision_date": record.decision_date(), "version": decision.version,
                "mapped_hash": row.mapped_hash, "state": str(state), "updated_at": self.stamp,
                "run_id": self.ctx.run_id, **display_period(self.category, row.payload or {})}

    def _version_row(self, row: SourceRow) -> dict[str, Any]:
        assert row.record is not None and row.decision is not None
        return {"business_key": row.key, "version": row.decision.version, "run_id": self.ctx.run_id,
                "source_key": row.source_key, "source_hash": row.source_hash, "mapped_hash": row.mapped_hash,
                "mapping_digest": self.translator.mapping_digest, "adapter": self.translator.adapter,
                "payload_masked": row.record.masked_payload(), "created_at": self.stamp}

    def _outbox(self, key: str, action: OutboxAction, version: int, mapped_hash: str,
                payload: dict[str, Any]) -> dict[str, Any]:
        return outbox_row(business_key=key, department=self.ctx.name, category=self.category, action=action,
                          version=version, mapped_hash=mapped_hash, payload=payload, run_id=self.ctx.run_id,
                          created_at=self.stamp)

    def _event(self, row: SourceRow, event: str, key: str | None, **details: Any) -> None:
        self.events.append(AuditEvent(event, department=self.ctx.name, category=self.category,
                                      business_key=key, run_id=self.ctx.run_id,
                                      details={"source_key": row.source_key, **details}))

    # -- writing, one statement per table ------------------------------------------------------------

    def apply(self, session: Session) -> None:
        if self.supersede:
            self._supersede_untried(session)
        insert_rows(session, Record, self.new_records)
        update_rows(session, Record, self.record_updates)
        insert_rows(session, RecordVersion, self.versions)
        insert_rows(session, OutboxItem, self.outbox)
        self._apply_quarantine(session)
        self.ctx.audit.append_many(session, self.events)
        self.events = []

    def _supersede_untried(self, session: Session) -> None:
        """Items nobody tried to send are replaced by this chunk's versions. A superseded item is never
        sent, so like an answered one it keeps no payload (only pending items hold full ID numbers; the
        content stays, masked, in record_versions)."""
        session.execute(update(OutboxItem).where(
            OutboxItem.business_key.in_(self.supersede), OutboxItem.status == OutboxStatus.PENDING,
            OutboxItem.attempts == 0).values(status=str(OutboxStatus.SUPERSEDED), payload={}))

    def _apply_quarantine(self, session: Session) -> None:
        source_keys = set(self.fixed) | {row.source_key for row, _, _ in self.quarantined}
        if not source_keys:
            return
        hashes = {row.source_hash for row, _, _ in self.quarantined}
        open_entries = session.execute(select(
            QuarantineItem.id, QuarantineItem.source_key, QuarantineItem.source_hash).where(
            QuarantineItem.department == self.ctx.name, QuarantineItem.category == self.category,
            QuarantineItem.resolved_at.is_(None),
            or_(QuarantineItem.source_key.in_(source_keys), QuarantineItem.source_hash.in_(hashes)))).all()
        open_hashes = {entry.source_hash for entry in open_entries}
        closing = dict(self.fixed)
        fresh = []
        for row, stage, errors in self.quarantined:
            if row.source_hash in open_hashes:
                continue  # the same unchanged bad row, re-read through the cursor overlap
            closing[row.source_key] = "superseded: a newer version of the source record"
            fresh.append((row, stage, errors))
        update_rows(session, QuarantineItem, [
            {"id": entry.id, "resolved_at": self.stamp, "resolution": closing[entry.source_key][:200]}
            for entry in open_entries if entry.source_key in closing])
        insert_rows(session, QuarantineItem, [self._quarantine_row(*item) for item in fresh])
        for row, stage, errors in fresh:
            self._event(row, "record_quarantined", None, stage=str(stage),
                        errors=[e.as_dict() for e in errors], source_hash=row.source_hash,
                        **document_number(self.category, row))

    def _quarantine_row(self, row: SourceRow, stage: QuarantineStage,
                        errors: Sequence[FieldError]) -> dict[str, Any]:
        return quarantine_row(run_id=self.ctx.run_id, department=self.ctx.name, category=self.category,
                              source_key=row.source_key, business_key=None, stage=stage,
                              errors=[e.as_dict() for e in errors], raw=row.raw.data,
                              source_hash=row.source_hash, created_at=self.stamp)


def display_period(category: str, payload: dict[str, Any]) -> dict[str, Any]:
    """A penalty's severity and last display day (信用修复管理办法), stored with each version so the
    daily expiry run only compares dates."""
    if category != "penalty":
        return {"severity": None, "display_until": None}
    severity = severity_of(payload)
    return {"severity": str(severity), "display_until": record_display_until(category, payload, severity)}
