"""Appending to the hash chain.

Each entry's hash is sha256 over the previous hash and a canonical JSON of the entry's content, so
altering, deleting or reordering any entry breaks every hash after it. Appends lock the single
``audit_head`` row, which keeps the chain linear when several workers write at once.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import socket
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
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


def entry_hash(prev_hash: str, entry: AuditEntry) -> str:
    content = {
        "id": entry.id,
        "ts": canonical_ts(entry.ts),
        "event": entry.event,
        "actor": entry.actor,
        "department": entry.department,
        "category": entry.category,
        "business_key": entry.business_key,
        "run_id": entry.run_id,
        "details": entry.details,
    }
    body = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


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
        head = self._lock_head(session)
        entry = AuditEntry(
            id=head.last_id + 1,
            ts=datetime.now(UTC),
            event=event,
            actor=actor or self.actor,
            department=department,
            category=category,
            business_key=business_key,
            run_id=run_id,
            details=_json_safe(mask_record(details)),
            prev_hash=head.last_hash,
        )
        entry.hash = entry_hash(head.last_hash, entry)
        session.add(entry)
        head.last_id, head.last_hash = entry.id, entry.hash
        session.flush()
        return entry

    @staticmethod
    def _lock_head(session: Session) -> AuditHead:
        head = session.scalars(select(AuditHead).where(AuditHead.id == 1).with_for_update()).first()
        if head is None:
            head = AuditHead(id=1, last_id=0, last_hash=GENESIS)
            session.add(head)
            session.flush()
        return head


def _json_safe(value: Any) -> Any:
    """Round-trip through JSON so the stored details hash exactly as they were hashed."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return json.loads(mask_text(text))
