"""One change set: everything a lifecycle operation writes, applied with one statement per table.

Operations plan their rows first (no I/O), then :meth:`ChangeSet.apply` writes them inside the caller's
transaction: the audit entries first (so the versions and receipts can name the entry whose Merkle root
binds them), then records, versions, outbox items, quarantine entries and cursors, each row sealed.
Only the lifecycle writes these tables (a test keeps it so).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from creditsync.audit.events import AuditEvent
from creditsync.audit.merkle import merkle_root
from creditsync.audit.trail import AuditTrail, EntryDraft
from creditsync.lifecycle.rows import (
    cursor_seal,
    receipt_leaf,
    record_seal,
    version_leaf,
    version_seal,
)
from creditsync.lifecycle.seal import Sealer, sealer
from creditsync.store.bulk import insert_rows, update_rows, upsert_rows
from creditsync.store.guard import lifecycle_writes
from creditsync.store.models import Cursor, OutboxItem, QuarantineItem, Record, RecordVersion
from creditsync.store.states import OutboxAction, OutboxStatus


def now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class RunScope:
    """What every lifecycle operation needs to know about who acts: the department, the run (or the
    command) it belongs to, and the audit trail (which names the actor and holds the key)."""

    department: str
    run_id: str
    audit: AuditTrail
    try_number: int = 1

    @property
    def actor(self) -> str:
        return self.audit.actor

    @property
    def sealer(self) -> Sealer:
        return sealer(self.audit.config.keyring)


@dataclass
class ChangeSet:
    scope: RunScope
    stamp: datetime = field(default_factory=lambda: now())  # looked up at each call: a test may set the day
    records: dict[str, dict[str, Any]] = field(default_factory=dict)  # business key → the full row
    new_keys: set[str] = field(default_factory=set)
    stored: dict[str, dict[str, Any]] = field(default_factory=dict)  # the rows as read, where given
    versions: list[dict[str, Any]] = field(default_factory=list)
    outbox: list[dict[str, Any]] = field(default_factory=list)
    superseded: set[str] = field(default_factory=set)  # business keys whose untried upserts go
    superseded_withdrawals: set[str] = field(default_factory=set)  # … and their untried withdrawals
    item_updates: list[dict[str, Any]] = field(default_factory=list)
    # answered items: (the item as sent, its update), bound to one receipts_stored entry per change set
    answered: list[tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)  # keys the platform had already taken (resends)
    answer_batch: str | None = None
    quarantine: list[dict[str, Any]] = field(default_factory=list)
    quarantine_updates: list[dict[str, Any]] = field(default_factory=list)
    cursors: list[dict[str, Any]] = field(default_factory=list)
    events: list[EntryDraft] = field(default_factory=list)
    version_category: str | None = None

    # -- planning ----------------------------------------------------------------------------------

    def write_record(self, row: dict[str, Any], *, new: bool = False,
                     before: dict[str, Any] | None = None) -> None:
        """The record as it must be written (the whole row: its seal covers every column); ``before``:
        the row as read, so that only the columns that changed are sent."""
        row["updated_at"] = self.stamp
        key = row["business_key"]
        self.records[key] = row
        if new:
            self.new_keys.add(key)
        elif before is not None:
            self.stored.setdefault(key, before)

    def record(self, key: str) -> dict[str, Any] | None:
        """The row as this change set will write it, if it writes one."""
        return self.records.get(key)

    def supersede(self, keys: Iterable[str], *, withdrawals: bool = False) -> None:
        """Items of these records that nobody tried to send are replaced (and drop their payload)."""
        (self.superseded_withdrawals if withdrawals else self.superseded).update(keys)

    def answer(self, item: dict[str, Any], changes: dict[str, Any]) -> None:
        """Store the platform's answer to an item (``changes`` names its id and new columns)."""
        self.answered.append((item, changes))

    def event(self, event: AuditEvent, *, category: str | None = None, business_key: str | None = None,
              department: str | None = None, **details: Any) -> None:
        """An audit entry, of the scope's department unless the record belongs to another (expiry and
        repairs span departments)."""
        self.events.append(EntryDraft(event, department=department or self.scope.department,
                                      category=category,
                                      business_key=business_key, run_id=self.scope.run_id, details=details))

    # -- writing -----------------------------------------------------------------------------------

    def apply(self, session: Session) -> list[dict[str, Any]]:
        """Write everything, one statement per table; returns the audit entries as written."""
        with lifecycle_writes():
            entries = self._append_audit(session)
            self._supersede(session)
            self._write_records(session)
            insert_rows(session, RecordVersion, self.versions)
            insert_rows(session, OutboxItem, self.outbox)
            update_rows(session, OutboxItem, self.item_updates + [changes for _, changes in self.answered])
            update_rows(session, QuarantineItem, self.quarantine_updates)
            insert_rows(session, QuarantineItem, self.quarantine)
            upsert_rows(session, Cursor, [self._sealed_cursor(row) for row in self.cursors])
        return entries

    def _append_audit(self, session: Session) -> list[dict[str, Any]]:
        drafts = list(self.events)
        version_leaves = [version_leaf(row) for row in self.versions]
        if version_leaves:
            drafts.append(EntryDraft(
                AuditEvent.VERSIONS_STORED, department=self.scope.department, category=self.version_category,
                run_id=self.scope.run_id, details={"count": len(version_leaves),
                                                   "root": merkle_root(version_leaves),
                                                   "try_number": self.scope.try_number}))
        answer_leaves = [receipt_leaf({**item, **changes}) for item, changes in self.answered]
        if answer_leaves:
            statuses = [changes.get("status") for _, changes in self.answered]
            drafts.append(EntryDraft(
                AuditEvent.RECEIPTS_STORED, department=self.scope.department,
                category=self.answered[0][0].get("category"), run_id=self.scope.run_id,
                details={"count": len(answer_leaves), "root": merkle_root(answer_leaves),
                         "batch_id": self.answer_batch, "acked": statuses.count(OutboxStatus.ACKED),
                         "rejected": statuses.count(OutboxStatus.REJECTED),
                         **({"duplicates": self.duplicates} if self.duplicates else {})}))
        entries = self.scope.audit.append_many(session, drafts) if drafts else []
        self.events = []
        by_event = {entry["event"]: entry["id"] for entry in entries}
        seal = self.scope.sealer
        versions_entry = by_event.get(AuditEvent.VERSIONS_STORED)
        for row, leaf in zip(self.versions, version_leaves, strict=True):
            row["audit_entry_id"] = versions_entry
            row["seal"] = version_seal(seal, leaf, versions_entry)
        receipts_entry = by_event.get(AuditEvent.RECEIPTS_STORED)
        for _, changes in self.answered:
            changes["receipt_entry_id"] = receipts_entry
        return entries

    def _supersede(self, session: Session) -> None:
        for keys, action in ((self.superseded, OutboxAction.UPSERT),
                             (self.superseded_withdrawals, OutboxAction.WITHDRAW)):
            if keys:
                session.execute(update(OutboxItem).where(
                    OutboxItem.business_key.in_(keys), OutboxItem.status == OutboxStatus.PENDING,
                    OutboxItem.action == action, OutboxItem.attempts == 0,
                ).values(status=str(OutboxStatus.SUPERSEDED), sealed=None))

    def _write_records(self, session: Session) -> None:
        seal = self.scope.sealer
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        for key, row in self.records.items():
            row["seal"] = record_seal(seal, row)
            if key in self.new_keys:
                inserts.append(row)
            elif (before := self.stored.get(key)) is not None:
                updates.append({name: value for name, value in row.items()
                                if name == "business_key" or before.get(name) != value})
            else:
                updates.append(row)
        insert_rows(session, Record, inserts)
        update_rows(session, Record, updates)

    def _sealed_cursor(self, row: dict[str, Any]) -> dict[str, Any]:
        return {**row, "seal": cursor_seal(self.scope.sealer, row)}

