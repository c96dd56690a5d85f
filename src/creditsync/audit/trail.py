"""Appending to the hash chain.

Each entry's hash is HMAC-SHA256 under the audit key (creditsync.audit.keys) over the previous hash and a
canonical JSON of the entry's content, so altering, deleting or reordering any entry breaks every hash
after it and nobody without the key can recompute them. Without a key (development, and every entry
written before keys existed) it is plain sha256, which the entry's ``scheme`` says. Appends lock the single
``audit_head`` row, which keeps the chain linear when several workers write at once; ``append_many``
writes a whole batch of entries under one lock with one multi-row INSERT.
"""

from __future__ import annotations

import getpass
import hashlib
import hmac
import json
import logging
import os
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy import event as sa_event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from creditsync.audit.checkpoints import CheckpointLog, store_identity
from creditsync.audit.events import AuditEvent
from creditsync.audit.keys import UNKEYED, AuditConfig, AuditKeyring, load_audit_config, load_keyring
from creditsync.privacy import mask_fields_and_numbers, mask_text
from creditsync.settings import actor as settings_actor
from creditsync.store.models import AuditEntry, AuditHead
from creditsync.strict_text import printable

GENESIS = "0" * 64
logger = logging.getLogger(__name__)


def default_actor() -> str:
    """Who did it: an explicit CREDITSYNC_ACTOR, else the OS user on this host."""
    explicit = settings_actor()
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
# Once these commit, the head goes to the checkpoint log outside the store (creditsync.audit.checkpoints).
CHECKPOINT_EVENTS = frozenset({AuditEvent.RUN_FINISHED, AuditEvent.AUDIT_PRUNED})
_PENDING_CHECKPOINT = "creditsync.audit.pending_checkpoint"


def entry_hash(prev_hash: str, entry: AuditEntry, keyring: AuditKeyring | None = None) -> str:
    """The hash ``entry`` must carry, under the scheme it names (the process's keyring by default)."""
    row = {name: getattr(entry, name) for name in HASHED_FIELDS}
    row["scheme"] = scheme = getattr(entry, "scheme", None) or UNKEYED
    key = None if scheme == UNKEYED else (keyring or load_keyring()).key_for(scheme)
    return row_hash(prev_hash, row, key)


def row_hash(prev_hash: str, row: Mapping[str, Any], key: bytes | None) -> str:
    """sha256 over the previous hash and the canonical content (unkeyed, as every entry before keys
    existed), or HMAC-SHA256 under ``key`` over the same plus the scheme, so the key id cannot be swapped."""
    content = {name: row[name] for name in HASHED_FIELDS}
    content["ts"] = canonical_ts(row["ts"])
    if key is not None:
        content["scheme"] = row["scheme"]
    body = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    message = (prev_hash + body).encode("utf-8")
    if key is None:
        return hashlib.sha256(message).hexdigest()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class EntryDraft:
    """One entry to append; ``details`` are masked and made JSON-safe on the way in."""

    event: AuditEvent
    department: str | None = None
    category: str | None = None
    business_key: str | None = None
    run_id: str | None = None
    actor: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


class AuditTrail:
    """Writes entries inside the caller's transaction, so the trail commits with what it describes."""

    def __init__(self, actor: str | None = None, *, config: AuditConfig | None = None) -> None:
        self.actor = actor or default_actor()
        self._config = config

    @property
    def config(self) -> AuditConfig:
        """Read from the environment on first use (the key never comes from the store)."""
        if self._config is None:
            self._config = load_audit_config()
        return self._config

    def append(
        self,
        session: Session,
        event: AuditEvent,
        *,
        department: str | None = None,
        category: str | None = None,
        business_key: str | None = None,
        run_id: str | None = None,
        actor: str | None = None,
        **details: Any,
    ) -> AuditEntry:
        rows = self.append_many(session, [EntryDraft(event, department, category, business_key, run_id,
                                                     actor, details)])
        return AuditEntry(**rows[0])

    def append_many(self, session: Session, events: Sequence[EntryDraft]) -> list[dict[str, Any]]:
        """Append ``events`` in order: one head lock, one multi-row INSERT, one head update.

        Returns the rows as written (ids and hashes included)."""
        if not events:
            return []
        keyring = self.config.keyring
        scheme, key = keyring.scheme, keyring.current
        head = _lock_head(session)
        prev_id, prev_hash = head.last_id, head.last_hash
        rows = []
        for offset, item in enumerate(events, start=1):
            row = self._row(item, prev_id + offset, scheme)
            row["prev_hash"], row["hash"] = prev_hash, row_hash(prev_hash, row, key)
            prev_hash = row["hash"]
            rows.append(row)
        # Core executemany: no ORM unit of work per entry (the head query above already flushed
        # whatever the caller had pending, so the entries land after it in the same transaction).
        session.execute(insert(cast(Table, AuditEntry.__table__)), rows)
        head.last_id, head.last_hash = rows[-1]["id"], rows[-1]["hash"]
        session.flush()
        if any(item.event in CHECKPOINT_EVENTS for item in events):
            self._checkpoint_after_commit(session, rows[-1]["id"], rows[-1]["hash"])
        return rows

    def _checkpoint_after_commit(self, session: Session, entry_id: int, digest: str) -> None:
        """Only a committed head may be checkpointed: a rolled-back one would later look removed."""
        log = CheckpointLog(self.config.checkpoints, self.config.keyring)
        session.info[_PENDING_CHECKPOINT] = (log, store_identity(session), entry_id, digest, self.actor)
        if not session.info.get(_PENDING_CHECKPOINT + ".listening"):
            session.info[_PENDING_CHECKPOINT + ".listening"] = True
            sa_event.listen(session, "after_commit", _write_pending_checkpoint)
            sa_event.listen(session, "after_rollback", _drop_pending_checkpoint)

    def _row(self, item: EntryDraft, entry_id: int, scheme: str) -> dict[str, Any]:
        return {
            "id": entry_id,
            "scheme": scheme,
            "ts": datetime.now(UTC),
            "event": str(item.event),
            "actor": item.actor or self.actor,
            "department": item.department,
            "category": item.category,
            "business_key": item.business_key,
            "run_id": item.run_id,
            "details": _json_safe(mask_fields_and_numbers(item.details)),
        }


def _write_pending_checkpoint(session: Session) -> None:
    pending = session.info.pop(_PENDING_CHECKPOINT, None)
    if pending is None:
        return
    log, store, entry_id, digest, actor = pending
    try:
        log.append(store, entry_id, digest, actor)
    except (OSError, ValueError) as exc:  # committed already: say so loudly; `audit checkpoint` catches up
        logger.error("audit checkpoint of entry %s could not be written to %s: %s", entry_id, log.path, exc)


def _drop_pending_checkpoint(session: Session) -> None:
    session.info.pop(_PENDING_CHECKPOINT, None)


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
    """Round-trip through JSON so the stored details hash exactly as they were hashed; ID numbers in
    any text are masked here, in one pass over the serialised details."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    if "\\u0000" in text:  # PostgreSQL cannot read a NUL back out of JSON: keep it visible as ␀
        text = json.dumps(printable(value), ensure_ascii=False, default=str)
    return json.loads(mask_text(text))
