"""Sealing a store written before seals existed (``creditsync db-upgrade``, once).

Rows without a seal are sealed as they are, pending outbox payloads written in plain JSON are encrypted,
and one ``store_sealed`` audit entry says how many of each: whoever runs the upgrade vouches for the
store's content at that moment (run ``creditsync audit verify`` first).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from creditsync.audit.events import AuditEvent
from creditsync.lifecycle.changes import ChangeSet, RunScope
from creditsync.lifecycle.rows import cursor_seal, outbox_identity, record_seal, version_leaf, version_seal
from creditsync.store.bulk import update_rows
from creditsync.store.guard import lifecycle_writes
from creditsync.store.models import Cursor, OutboxItem, Record, RecordVersion
from creditsync.store.states import OutboxStatus

CHUNK = 2000


@dataclass
class Sealed:
    records: int = 0
    versions: int = 0
    cursors: int = 0
    payloads: int = 0

    @property
    def any(self) -> bool:
        return bool(self.records or self.versions or self.cursors or self.payloads)


def seal_unsealed(session: Session, scope: RunScope) -> Sealed:
    done = Sealed()
    sealer = scope.sealer
    with lifecycle_writes():
        done.records = _each(session, Record, "business_key", lambda row: {"seal": record_seal(sealer, row)})
        done.versions = _each(session, RecordVersion, "id", lambda row: {
            "seal": version_seal(sealer, version_leaf(row), row["audit_entry_id"])})
        done.cursors = _each_cursor(session, scope)
        done.payloads = _payloads(session, scope)
    if done.any:
        changes = ChangeSet(scope)
        changes.event(AuditEvent.STORE_SEALED, records=done.records, versions=done.versions,
                      cursors=done.cursors, payloads=done.payloads,
                      note="rows written before seals existed, sealed as found at the upgrade")
        changes.apply(session)
    return done


def _each(session: Session, model: Any, key: str, seal: Any) -> int:
    table = model.__table__
    count = 0
    while True:
        rows = [dict(r._mapping) for r in session.execute(
            select(*table.columns).where(table.c.seal.is_(None)).limit(CHUNK))]
        if not rows:
            return count
        update_rows(session, model, [{key: row[key], **seal(row)} for row in rows])
        count += len(rows)


def _each_cursor(session: Session, scope: RunScope) -> int:
    rows = [dict(r._mapping) for r in session.execute(
        select(*Cursor.__table__.columns).where(Cursor.seal.is_(None)))]
    update_rows(session, Cursor, [{"department": r["department"], "category": r["category"],
                                   "seal": cursor_seal(scope.sealer, r)} for r in rows])
    return len(rows)


def _payloads(session: Session, scope: RunScope) -> int:
    """Pending items written with a plain payload: encrypted and bound to their identity."""
    count = 0
    while True:
        rows = [dict(r._mapping) for r in session.execute(text(
            "SELECT id, idempotency_key, business_key, department, category, action, version, payload "
            "FROM outbox WHERE sealed IS NULL AND status = :pending AND payload IS NOT NULL LIMIT :n"),
            {"pending": str(OutboxStatus.PENDING), "n": CHUNK})]
        if not rows:
            return count
        updates = [{"id": row["id"], "sealed": scope.sealer.encrypt(_json(row["payload"]),
                                                                    outbox_identity(row))}
                   for row in rows]
        update_rows(session, OutboxItem, updates)
        session.execute(update(OutboxItem).where(OutboxItem.id.in_([u["id"] for u in updates]))
                        .values(legacy_payload=None))
        count += len(rows)


def _json(payload: Any) -> dict[str, Any]:
    value = json.loads(payload) if isinstance(payload, str) else payload
    return dict(value or {})
