"""What the store holds of many records at once, each row checked against its seal.

A row that fails its seal was written by someone without the audit key: the lifecycle does nothing with
it (no push, no withdrawal, no expiry), raises an alarm once (``tamper_detected`` and a quarantine entry
of stage ``tampered``), and leaves it for a person (docs/audit.md).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, func, or_, select
from sqlalchemy.orm import Session

from creditsync.audit.events import AuditEvent
from creditsync.exceptions import FieldError
from creditsync.lifecycle.changes import ChangeSet
from creditsync.lifecycle.rows import quarantine_row, record_seal_ok, version_seal_ok
from creditsync.lifecycle.seal import Sealer
from creditsync.lifecycle.transitions import Known
from creditsync.store.bulk import any_of, fetch_dicts
from creditsync.store.models import OutboxItem, QuarantineItem, Record, RecordVersion
from creditsync.store.states import REPLACED_REASONS, OutboxAction, OutboxStatus, QuarantineStage, RecordState

RECORD_COLUMNS = tuple(column.name for column in Record.__table__.columns)
LOOKUP_CHUNK = 1000
TAMPERED_RECORD = FieldError(
    "(record)", "网关存储中的记录被绕过网关修改（封签不符），已停止处理，请核查",
    "the stored record was changed outside the gateway (its seal does not match): nothing is done with "
    "it until a person checks it", kind="tampered")


@dataclass
class StoredRecords:
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)  # verified rows by business key
    tampered: dict[str, dict[str, Any]] = field(default_factory=dict)
    sent_before: set[str] = field(default_factory=set)  # an upsert was tried
    withdrawal_in_flight: set[str] = field(default_factory=set)  # a pending withdrawal was tried
    items: dict[str, int] = field(default_factory=dict)  # how many outbox items each record has had
    # the row that wrote a record's current version in this run (asked for a file's revocations only)
    writers: dict[str, str] = field(default_factory=dict)

    def known(self, key: str) -> Known | None:
        row = self.rows.get(key)
        if row is None:
            return None
        return Known(RecordState(row["state"]), row["withdraw_reason"], row["version"], row["mapped_hash"],
                     row["platform_id"], key in self.sent_before)


def as_row(found: Row[Any]) -> dict[str, Any]:
    return dict(found._mapping)


def load_records(session: Session, sealer: Sealer, keys: Collection[str], *,
                 lock: bool = False, outbox: bool = True) -> StoredRecords:
    """Every record among ``keys``, sealed rows apart from the rest, and what the outbox says of them."""
    stored = StoredRecords()
    if not keys:
        return stored
    ordered = sorted(keys)
    for low in range(0, len(ordered), LOOKUP_CHUNK):
        part = ordered[low:low + LOOKUP_CHUNK]
        query = select(*Record.__table__.columns).where(any_of(session, Record.business_key, part))
        found = fetch_dicts(session, query.with_for_update() if lock else query)
        for row in found:
            _sort(stored, sealer, row)
        if found and outbox:  # a record never stored has no outbox items either
            _outbox_facts(session, [row["business_key"] for row in found], stored)
    return stored


def _sort(stored: StoredRecords, sealer: Sealer, row: dict[str, Any]) -> None:
    if record_seal_ok(sealer, row):
        stored.rows[row["business_key"]] = row
    else:
        stored.tampered[row["business_key"]] = row


def _outbox_facts(session: Session, keys: list[str], stored: StoredRecords) -> None:
    query = (select(OutboxItem.business_key, OutboxItem.action, OutboxItem.status,
                    func.max(OutboxItem.attempts), func.count())
             .where(any_of(session, OutboxItem.business_key, keys))
             .group_by(OutboxItem.business_key, OutboxItem.action, OutboxItem.status))
    for key, action, status, attempts, count in session.execute(query):
        stored.items[key] = stored.items.get(key, 0) + count
        if not attempts:
            continue
        if action == OutboxAction.UPSERT:
            stored.sent_before.add(key)
        elif status == OutboxStatus.PENDING:
            stored.withdrawal_in_flight.add(key)


def under_its_number() -> ColumnElement[bool]:
    """SQL: the record's decision has not moved to another 文书号 (not replaced, nor marked so under an
    operator's hold or a withdrawal on its way)."""
    return and_(Record.state != RecordState.REPLACED,
                or_(Record.withdraw_reason.is_(None), Record.withdraw_reason.not_in(REPLACED_REASONS)))


def load_writers(session: Session, sealer: Sealer, stored: StoredRecords, run_id: str,
                 keys: Iterable[str]) -> None:
    """``stored.writers``: for the records among ``keys`` whose current version this run wrote, the
    source row that wrote it (its version row, checked against its seal)."""
    wanted = sorted({key for key in keys if key in stored.rows and stored.rows[key]["run_id"] == run_id})
    if not wanted:
        return
    query = select(*RecordVersion.__table__.columns).where(
        any_of(session, RecordVersion.business_key, wanted), RecordVersion.run_id == run_id)
    for row in fetch_dicts(session, query):
        if row["version"] == stored.rows[row["business_key"]]["version"] and version_seal_ok(sealer, row):
            stored.writers[row["business_key"]] = row["source_key"] or ""


def load_linked(session: Session, sealer: Sealer, department: str, category: str,
                source_keys: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
    """Source id → the records it currently names (the department's id of a decision, whatever its
    文书号); records already replaced by another key are no longer linked."""
    linked: dict[str, list[dict[str, Any]]] = {}
    wanted = sorted(set(source_keys))
    for low in range(0, len(wanted), LOOKUP_CHUNK):
        query = select(*Record.__table__.columns).where(
            Record.department == department, Record.category == category,
            any_of(session, Record.source_key, wanted[low:low + LOOKUP_CHUNK]), under_its_number())
        for found in session.execute(query):
            row = as_row(found)
            linked.setdefault(row["source_key"], []).append(row)
    return linked


def raise_tamper_alarm(session: Session, changes: ChangeSet, rows: Iterable[dict[str, Any]],
                       *, where: str) -> None:
    """One ``tamper_detected`` entry and one open quarantine entry per altered record (not repeated
    while its entry is open)."""
    rows = list(rows)
    if not rows:
        return
    keys = [row["business_key"] for row in rows]
    already = set(session.scalars(select(QuarantineItem.business_key).where(
        QuarantineItem.business_key.in_(keys), QuarantineItem.stage == QuarantineStage.TAMPERED,
        QuarantineItem.resolved_at.is_(None))))
    for row in rows:
        if row["business_key"] in already:
            continue
        changes.event(AuditEvent.TAMPER_DETECTED, department=row["department"], category=row["category"],
                      business_key=row["business_key"],
                      table="records", found_by=where, state=row["state"], seal=row.get("seal"))
        changes.quarantine.append(quarantine_row(
            run_id=changes.scope.run_id, department=row["department"], category=row["category"],
            source_key=row.get("source_key"), business_key=row["business_key"],
            stage=QuarantineStage.TAMPERED,
            errors=[TAMPERED_RECORD.as_dict()], raw={k: _plain(v) for k, v in row.items()}, source_hash=None,
            created_at=changes.stamp))
        already.add(row["business_key"])


def _plain(value: Any) -> Any:
    return value if value is None or isinstance(value, str | int | float | bool) else str(value)
