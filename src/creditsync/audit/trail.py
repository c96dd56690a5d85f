"""Appending to the hash chain.

Each entry's hash is sha256 over the previous hash and a canonical JSON of the entry's content, so
altering, deleting or reordering any entry breaks every hash after it. Appends lock the single
``audit_head`` row, which keeps the chain linear when several workers write at once; ``append_many``
writes a whole batch of entries under one lock with one multi-row INSERT.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from creditsync.privacy import mask_record, mask_text
from creditsync.store.models import AuditEntry, AuditHead

GENESIS = "0" * 64


def default_actor() -> str:
    """Who did it: an explicit CREDITSYNC_ACTOR, else the OS user on this host."""
    explicit = os.environ.get("CREDITSYNC_ACTOR")
    if explicit:
        return explicit
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return f"{user}@{socket.gethostname()}"


def canonical_ts(ts: datetime) -> str:
    """The same text for a timestamp whether the database kept its zone (PostgreSQL) or not (SQLite)."""
    if ts.tzinfo is not None:
        ts = ts.astimezone(UTC).replace(tzinfo=None)
    return ts.isoformat(timespec="microseconds")


HASHED_FIELDS = ("id", "ts", "event", "actor", "department", "category", "business_key", "run_id",
                 "details")


def entry_hash(prev_hash: str, entry: AuditEntry) -> str:
    return row_hash(prev_hash, {name: getattr(entry, name) for name in HASHED_FIELDS})


def row_hash(prev_hash: str, row: Mapping[str, Any]) -> str:
    content = {name: row[name] for name in HASHED_FIELDS}
    content["ts"] = canonical_ts(row["ts"])
    body = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class AuditEvent:
    """One entry to append; ``details`` are masked and made JSON-safe on the way in."""

    event: str
    department: str | None = None
    category: str | None = None
    business_key: str | None = None
    run_id: str | None = None
    actor: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


class AuditTrail:
    """Writes entries inside the caller's transaction, so the trail commits with what it describes."""

    def __init__(self, actor: str | None = None) -> None:
        self.actor = actor or default_actor()

    def append(
        self,
        session: Session,
        event: str,
        *,
        department: str | None = None,
        category: str | None = None,
        business_key: str | None = None,
        run_id: str | None = None,
        actor: str | None = None,
        **details: Any,
    ) -> AuditEntry:
        rows = self.append_many(session, [AuditEvent(event, department, category, business_key, run_id,
                                                     actor, details)])
        return AuditEntry(**rows[0])

    def append_many(self, session: Session, events: Sequence[AuditEvent]) -> list[dict[str, Any]]:
        """Append ``events`` in order: one head lock, one multi-row INSERT, one head update.

        Returns the rows as written (ids and hashes included)."""
        if not events:
            return []
        head = _lock_head(session)
        prev_id, prev_hash = head.last_id, head.last_hash
        rows = []
        for offset, item in enumerate(events, start=1):
            row = self._row(item, prev_id + offset)
            row["prev_hash"], row["hash"] = prev_hash, row_hash(prev_hash, row)
            prev_hash = row["hash"]
            rows.append(row)
        # Core executemany: no ORM unit of work per entry (the head query above already flushed
        # whatever the caller had pending, so the entries land after it in the same transaction).
        session.execute(insert(cast(Table, AuditEntry.__table__)), rows)
        head.last_id, head.last_hash = rows[-1]["id"], rows[-1]["hash"]
        session.flush()
        return rows

    def _row(self, item: AuditEvent, entry_id: int) -> dict[str, Any]:
        return {
            "id": entry_id,
            "ts": datetime.now(UTC),
            "event": item.event,
            "actor": item.actor or self.actor,
            "department": item.department,
            "category": item.category,
            "business_key": item.business_key,
            "run_id": item.run_id,
            "details": _json_safe(mask_record(item.details)),
        }


def _lock_head(session: Session) -> AuditHead:
    """The single head row, locked until the transaction ends (SELECT … FOR UPDATE on PostgreSQL;
    SQLite serialises writers anyway). Created race-free on first use."""
    query = (select(AuditHead).where(AuditHead.id == 1).with_for_update()
             .execution_options(populate_existing=True))
    head = session.scalars(query).first()
    if head is None:
        _insert_head_if_missing(session)
        head = session.scalars(query).one()
    return head


def _insert_head_if_missing(session: Session) -> None:
    dialect = session.get_bind().dialect.name
    values = {"id": 1, "last_id": 0, "last_hash": GENESIS}
    if dialect == "postgresql":
        session.execute(pg_insert(AuditHead).values(values).on_conflict_do_nothing(index_elements=["id"]))
    elif dialect == "sqlite":
        session.execute(sqlite_insert(AuditHead).values(values).on_conflict_do_nothing(index_elements=["id"]))
    else:
        session.add(AuditHead(**values))
        session.flush()


def _json_safe(value: Any) -> Any:
    """Round-trip through JSON so the stored details hash exactly as they were hashed."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return json.loads(mask_text(text))
