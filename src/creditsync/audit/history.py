"""Read-only questions an auditor asks of the trail: what happened, when, to which record.

``history`` reads the Core table (creditsync.store.tables) and works on a connection or a session:
``creditsync audit history`` does not import the ORM and the models. ``trace`` reads through the models.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Row, or_, select

from creditsync.store.tables import audit_log

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from creditsync.store.models import AuditEntry, OutboxItem, QuarantineItem, Record, RecordVersion


@dataclass
class HistoryFilter:
    department: str | None = None
    category: str | None = None
    status: str | None = None  # an event name (push_receipt, record_quarantined, …)
    since: date | None = None
    until: date | None = None


def history(connection: Connection | Session, filters: HistoryFilter,
            chunk: int = 2000, *, latest: int | None = None) -> Iterator[Row[Any]]:
    """Entries in chain order, streamed: rows of ``audit_log`` (the attributes of an ``AuditEntry``);
    ``latest``: only the last so many of those the filters find (still in chain order)."""
    query = select(audit_log).order_by(audit_log.c.id.desc() if latest else audit_log.c.id)
    if filters.department:
        query = query.where(audit_log.c.department == filters.department)
    if filters.category:
        query = query.where(audit_log.c.category == filters.category)
    if filters.status:
        query = query.where(audit_log.c.event == filters.status)
    # Days are local days (creditsync.display_time), as shown; aware bounds keep them so whatever the
    # database session's time zone.
    from creditsync.display_time import day_end, day_start

    if filters.since:
        query = query.where(audit_log.c.ts >= day_start(filters.since))
    if filters.until:
        query = query.where(audit_log.c.ts < day_end(filters.until))
    if latest:
        yield from reversed(connection.execute(query.limit(latest)).all())
        return
    yield from connection.execute(query.execution_options(yield_per=chunk))


@dataclass
class Trace:
    """One record's whole story."""

    query: str
    records: list[Record] = field(default_factory=list)
    versions: list[RecordVersion] = field(default_factory=list)
    outbox: list[OutboxItem] = field(default_factory=list)
    quarantine: list[QuarantineItem] = field(default_factory=list)
    entries: list[AuditEntry] = field(default_factory=list)

    @property
    def found(self) -> bool:
        return bool(self.records or self.quarantine or self.entries)


def trace(session: Session, key: str) -> Trace:
    """By business key, 文书号 (any written variant: creditsync.store.text_search), or the department's
    own record id (also one it used before ``creditsync relink`` gave the record a new one)."""
    from creditsync.store.models import AuditEntry, OutboxItem, QuarantineItem, Record, RecordVersion
    from creditsync.store.text_search import document_no_forms

    key = key.replace("\u3000", " ").strip()
    result = Trace(key)
    # stored 文书号 are canonical: the typed text's canonical form finds them through the index
    relinked = select(AuditEntry.business_key).where(
        AuditEntry.event == "source_relinked", AuditEntry.details["from_source_key"].as_string() == key)
    result.records = list(session.scalars(select(Record).where(
        or_(Record.business_key == key, Record.document_no.in_(document_no_forms(key)),
            Record.source_key == key, Record.business_key.in_(relinked)))))
    keys = [r.business_key for r in result.records]
    source_keys = [r.source_key for r in result.records if r.source_key] + [key]
    source_keys += _quarantined_as(session, key)
    result.versions = list(session.scalars(select(RecordVersion).where(
        RecordVersion.business_key.in_(keys)).order_by(RecordVersion.id)))
    result.outbox = list(session.scalars(select(OutboxItem).where(
        OutboxItem.business_key.in_(keys)).order_by(OutboxItem.id)))
    result.quarantine = list(session.scalars(select(QuarantineItem).where(or_(
        QuarantineItem.business_key.in_(keys), QuarantineItem.source_key.in_(source_keys)))
        .order_by(QuarantineItem.id)))
    # Versions and answers are bound to the trail a chunk or a batch at a time (one entry each, whose
    # Merkle root covers the rows): those entries belong to the record's story too.
    bound = {v.audit_entry_id for v in result.versions} | {o.receipt_entry_id for o in result.outbox}
    bound.discard(None)
    result.entries = list(session.scalars(select(AuditEntry).where(or_(
        AuditEntry.business_key.in_(keys), _source_key_entry(source_keys), AuditEntry.id.in_(bound)))
        .order_by(AuditEntry.id)))
    return result


def _quarantined_as(session: Session, document_no: str) -> list[str]:
    """Source ids of records quarantined under this 文书号 (as typed, or canonical) before they ever had
    a business key."""
    from creditsync.store.models import AuditEntry
    from creditsync.store.text_search import document_no_forms

    query = select(AuditEntry.details["source_key"].as_string()).where(
        AuditEntry.event == "record_quarantined",
        AuditEntry.details["document_no"].as_string().in_(document_no_forms(document_no)))
    return sorted({k for k in session.scalars(query) if k})


def _source_key_entry(source_keys: list[str]) -> Any:
    """Quarantine entries carry no business key yet: find them by the department's record id."""
    from creditsync.store.models import AuditEntry

    return AuditEntry.event.in_(["record_quarantined"]) & or_(
        *[AuditEntry.details["source_key"].as_string() == k for k in source_keys])


def utc(ts: datetime) -> datetime:
    """A stored timestamp in UTC: PostgreSQL answers in the session's zone, SQLite naive (already UTC)."""
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def entry_row(entry: AuditEntry | Row[Any]) -> dict[str, Any]:
    return {"id": entry.id, "ts": utc(entry.ts).isoformat(), "event": entry.event, "actor": entry.actor,
            "department": entry.department, "category": entry.category,
            "business_key": entry.business_key, "run_id": entry.run_id, "details": entry.details,
            "hash": entry.hash}
