"""A stream's stored cursor, sealed: read at the start of a pull, moved once the platform has answered
for everything a run read (never earlier, so nothing read is ever skipped), or moved back by a re-drive.

A cursor row that fails its seal was moved outside the gateway (forward, it would skip records for
good): the stream is not read until a person has looked (:class:`~creditsync.exceptions.FatalError`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from creditsync.audit.events import AuditEvent
from creditsync.exceptions import FatalError
from creditsync.lifecycle.changes import ChangeSet
from creditsync.lifecycle.rows import cursor_seal_ok
from creditsync.lifecycle.seal import Sealer
from creditsync.store.models import Cursor


def read_cursor(session: Session, sealer: Sealer, department: str, category: str) -> str | None:
    """The stored cursor's text (what people see and type)."""
    return read_stored(session, sealer, department, category)[0]


def read_stored(session: Session, sealer: Sealer, department: str,
                category: str) -> tuple[str | None, str | None]:
    """The stored cursor's text and kind (creditsync.sources.cursor), checked against its seal."""
    found = session.execute(select(*Cursor.__table__.columns).where(
        Cursor.department == department, Cursor.category == category)).first()
    if found is None:
        return None, None
    row = dict(found._mapping)
    if not cursor_seal_ok(sealer, row):
        raise FatalError(f"the stored cursor of {department}/{category} ({row['value']!r}) was changed "
                         "outside"
                         "the gateway (its seal does not match); a moved cursor would skip records for good. "
                         "Check it, then set it with `creditsync quarantine redrive --since-cursor …`",
                         department=department)
    return row["value"], row.get("kind")


def set_cursor(changes: ChangeSet, category: str, value: str | None, *, event: AuditEvent | None,
               kind: str | None = None, **details: Any) -> None:
    """Move the cursor (forward after a confirmed delivery, back for a re-drive)."""
    changes.cursors.append({"department": changes.scope.department, "category": category, "value": value,
                            "kind": kind, "updated_at": changes.stamp, "run_id": changes.scope.run_id})
    if event is not None:
        changes.event(event, category=category, **details)
