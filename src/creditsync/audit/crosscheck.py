"""The trail against what it describes: a store whose records, acknowledgements and quarantine rows
have no entries lost its trail (deleted, cut, or replaced by a shorter one), however well the rest chains.

- every record's current version is bound to the trail: by the ``versions_stored`` entry its version row
  names (whose Merkle root covers it: ``creditsync audit verify --deep`` recomputes it), or, for
  versions written before chunk binding, a ``record_version`` entry of its own;
- every acknowledged outbox item is bound the same way: its ``receipts_stored`` entry, or an older
  ``push_receipt`` entry naming its idempotency key;
- every quarantine row has an entry of the same run and department naming its record (business key or
  the department's source id).

Rows older than the newest retention anchor's cutoff (plus a day of slack) are skipped: their entries
may have been archived.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from creditsync.audit.events import AuditEvent
from creditsync.store.models import AuditEntry, OutboxItem, QuarantineItem, Record, RecordVersion
from creditsync.store.states import OutboxStatus

SHOWN = 5


def cross_check(session: Session, *, since: datetime | None = None, shown: int = SHOWN) -> list[str]:
    """The first few discrepancies of each kind (``shown``), worded for an auditor; [] when none."""
    problems: list[str] = []
    checks: list[tuple[Select[*tuple[Any, ...]], Callable[[Any], str]]] = [
        (_records_without_versions(since), _record),
        (_acks_without_receipts(since), _ack),
        (_quarantine_without_entries(since), _quarantined),
    ]
    for query, describe in checks:
        rows = list(session.execute(query.limit(shown + 1)))
        problems += [describe(row) for row in rows[:shown]]
        if len(rows) > shown:
            problems.append("… and more of the same kind")
    return problems


def _records_without_versions(since: datetime | None) -> Select[str, int]:
    chunk = exists().where(AuditEntry.id == RecordVersion.audit_entry_id,
                           AuditEntry.event == AuditEvent.VERSIONS_STORED)
    own = exists().where(AuditEntry.business_key == Record.business_key,
                         AuditEntry.event == AuditEvent.RECORD_VERSION,
                         AuditEntry.details["version"].as_integer() == Record.version)
    written = func.coalesce(RecordVersion.created_at, Record.first_seen_at)
    query = (select(Record.business_key, Record.version)
             .outerjoin(RecordVersion, and_(RecordVersion.business_key == Record.business_key,
                                            RecordVersion.version == Record.version))
             .where(~chunk, ~own).order_by(Record.business_key))
    return query.where(written >= since) if since else query


def _acks_without_receipts(since: datetime | None) -> Select[int, str, int]:
    batch = exists().where(AuditEntry.id == OutboxItem.receipt_entry_id,
                           AuditEntry.event == AuditEvent.RECEIPTS_STORED)
    own = exists().where(AuditEntry.business_key == OutboxItem.business_key,
                         AuditEntry.event == AuditEvent.PUSH_RECEIPT,
                         AuditEntry.details["idempotency_key"].as_string() == OutboxItem.idempotency_key)
    query = (select(OutboxItem.id, OutboxItem.business_key, OutboxItem.version)
             .where(OutboxItem.status == OutboxStatus.ACKED, ~batch, ~own).order_by(OutboxItem.id))
    return query.where(OutboxItem.acked_at >= since) if since else query


def _quarantine_without_entries(
        since: datetime | None) -> Select[int, str, str | None, str | None]:
    names_it = or_(
        and_(QuarantineItem.business_key.is_not(None),
             AuditEntry.business_key == QuarantineItem.business_key),
        and_(QuarantineItem.source_key.is_not(None),
             AuditEntry.details["source_key"].as_string() == QuarantineItem.source_key),
        and_(QuarantineItem.business_key.is_(None), QuarantineItem.source_key.is_(None)),
    )
    entry = exists().where(AuditEntry.run_id == QuarantineItem.run_id,
                           AuditEntry.department == QuarantineItem.department, names_it)
    query = (select(QuarantineItem.id, QuarantineItem.department, QuarantineItem.source_key,
                    QuarantineItem.business_key).where(~entry).order_by(QuarantineItem.id))
    return query.where(QuarantineItem.created_at >= since) if since else query


def _record(row: Any) -> str:
    return f"record {row.business_key} (version {row.version}) has no entry binding its version in the trail"


def _ack(row: Any) -> str:
    return (f"outbox item {row.id} ({row.business_key} v{row.version}) was acknowledged "
            "but the trail has no entry binding its receipt")


def _quarantined(row: Any) -> str:
    name = row.business_key or row.source_key or "(no key)"
    return f"quarantine row {row.id} ({row.department} {name}) has no entry in the trail"
