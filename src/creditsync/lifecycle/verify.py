"""``creditsync audit verify --deep``: every row of a record's life against its seal and its audit entry.

The chain check (creditsync.audit.verify) proves the trail itself is intact; this proves the tables say
what the trail vouches for, so an edited fine, a forged outbox row, a moved display end or state, an
altered subject name or version payload are each found:

- every ``records`` and ``cursors`` row against its seal, and each record's ``mapped_hash`` against its
  current version's;
- every version row against its seal, and each ``versions_stored`` entry's Merkle root recomputed from
  the rows it binds (their columns and masked content); a version that held no ID number is the payload
  itself, so its content hash must equal the ``mapped_hash`` it was sent under;
- every answered outbox item's answer against the Merkle root of its ``receipts_stored`` entry;
- every pending outbox item's sealed payload against its identity (it must open).

Rows are streamed; rows older than the newest retention anchor are skipped (their entries are archived).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from creditsync.audit.events import AuditEvent
from creditsync.audit.merkle import merkle_root
from creditsync.hashing import content_hash
from creditsync.lifecycle.rows import (
    cursor_seal_ok,
    outbox_identity,
    receipt_leaf,
    record_seal_ok,
    version_leaf,
    version_seal_ok,
)
from creditsync.lifecycle.seal import Sealer, SealError
from creditsync.privacy import REREAD_MARK, is_masked
from creditsync.store.models import AuditAnchor, AuditEntry, Cursor, OutboxItem, Record, RecordVersion
from creditsync.store.states import OutboxStatus

SHOWN = 5
CHUNK = 2000


@dataclass
class DeepReport:
    checked: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    problems: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def problem(self, kind: str, text: str) -> None:
        self.counts[kind] += 1
        if len(self.problems[kind]) < SHOWN:
            self.problems[kind].append(text)

    @property
    def ok(self) -> bool:
        return not self.counts

    def lines(self) -> list[str]:
        found = []
        for kind, texts in self.problems.items():
            found += texts
            if self.counts[kind] > len(texts):
                found.append(f"… and {self.counts[kind] - len(texts)} more {kind}")
        return found


def deep_check(session: Session, sealer: Sealer, progress: Callable[[int], None] | None = None) -> DeepReport:
    report = DeepReport()
    after = _anchored_up_to(session)
    _records(session, sealer, report)
    _versions(session, sealer, report, after)
    _answers(session, report, after)
    _pending(session, sealer, report)
    _cursors(session, sealer, report)
    if progress:
        progress(sum(report.checked.values()))
    return report


def _rows(session: Session, table: Any, order: Any, *where: Any) -> Iterator[dict[str, Any]]:
    query = select(*table.columns).where(*where).order_by(order).execution_options(yield_per=CHUNK)
    for found in session.execute(query):
        yield dict(found._mapping)


def _anchored_up_to(session: Session) -> int:
    """Entries up to this id were pruned into archives: rows bound to them cannot be checked here."""
    last = session.scalar(select(AuditAnchor.last_id).order_by(AuditAnchor.last_id.desc()).limit(1))
    return int(last or 0)


def _records(session: Session, sealer: Sealer, report: DeepReport) -> None:
    query = (select(*Record.__table__.columns, RecordVersion.mapped_hash.label("version_hash"))
             .outerjoin(RecordVersion, and_(RecordVersion.business_key == Record.business_key,
                                            RecordVersion.version == Record.version))
             .order_by(Record.business_key).execution_options(yield_per=CHUNK))
    for found in session.execute(query):
        row = dict(found._mapping)
        version_hash = row.pop("version_hash")
        report.checked["records"] += 1
        if not record_seal_ok(sealer, row):
            report.problem("records altered", f"record {row['business_key']} does not match its seal: a "
                           f"column was changed outside the gateway (state {row['state']})")
        elif version_hash is None:
            report.problem("records altered", f"record {row['business_key']}: its version {row['version']} "
                           "is missing")
        elif version_hash != row["mapped_hash"] and row["mapped_hash"] != REREAD_MARK:
            report.problem("records altered", f"record {row['business_key']}: its content hash is not its "
                           f"version {row['version']}'s")


def _versions(session: Session, sealer: Sealer, report: DeepReport, after: int) -> None:
    leaves: dict[int, list[bytes]] = defaultdict(list)
    for row in _rows(session, RecordVersion.__table__, RecordVersion.id):
        report.checked["versions"] += 1
        name = f"version {row['version']} of {row['business_key']}"
        if row["seal"] is not None and not version_seal_ok(sealer, row):
            report.problem("versions altered",
                           f"{name} does not match its seal (altered outside the gateway)")
        content = row["payload_masked"] or {}
        if content and not is_masked(content) and content_hash(content) != row["mapped_hash"]:
            report.problem("versions altered", f"{name}: its content is not what was sent")
        if row["audit_entry_id"] is not None and row["audit_entry_id"] > after:
            leaves[row["audit_entry_id"]].append(version_leaf(row))
    _roots(session, report, leaves, AuditEvent.VERSIONS_STORED, "versions")


def _answers(session: Session, report: DeepReport, after: int) -> None:
    leaves: dict[int, list[bytes]] = defaultdict(list)
    for row in _rows(session, OutboxItem.__table__, OutboxItem.id, OutboxItem.receipt_entry_id.is_not(None),
                     OutboxItem.receipt_entry_id > after):
        report.checked["answers"] += 1
        leaves[row["receipt_entry_id"]].append(receipt_leaf(row))
    _roots(session, report, leaves, AuditEvent.RECEIPTS_STORED, "answers")


def _roots(session: Session, report: DeepReport, leaves: dict[int, list[bytes]], event: AuditEvent,
           what: str) -> None:
    ids = sorted(leaves)
    for low in range(0, len(ids), CHUNK):
        part = ids[low:low + CHUNK]
        entries = {e.id: e for e in session.scalars(select(AuditEntry).where(AuditEntry.id.in_(part)))}
        for entry_id in part:
            entry = entries.get(entry_id)
            if entry is None or entry.event != event:
                report.problem(f"{what} unbound", f"{what} name audit entry {entry_id}, which is not a "
                               f"{event} entry of the trail")
            elif (entry.details or {}).get("root") != merkle_root(leaves[entry_id]):
                report.problem(f"{what} altered", f"the {what} bound by entry {entry_id} ({event}) are not "
                               "the ones it recorded: a row was changed, added or removed")


def _pending(session: Session, sealer: Sealer, report: DeepReport) -> None:
    for row in _rows(session, OutboxItem.__table__, OutboxItem.id, OutboxItem.status == OutboxStatus.PENDING):
        report.checked["pending items"] += 1
        try:
            sealer.decrypt(row["sealed"], outbox_identity(row))
        except SealError as exc:
            report.problem("outbox items forged", f"pending outbox item {row['id']} ({row['business_key']}, "
                           f"{row['action']}): {exc}; it will be refused, never sent")


def _cursors(session: Session, sealer: Sealer, report: DeepReport) -> None:
    for row in _rows(session, Cursor.__table__, Cursor.department):
        report.checked["cursors"] += 1
        if not cursor_seal_ok(sealer, row):
            report.problem("cursors altered", f"the cursor of {row['department']}/{row['category']} "
                           f"({row['value']!r}) does not match its seal")
