"""Stores in a given state, for tests that start from one: rows written as the lifecycle writes them
(sealed, payloads encrypted), so the gateway acts on them as on its own. The only writer of a record's
rows outside creditsync.lifecycle, and only in tests."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import create_engine, insert
from sqlalchemy.orm import Session

from creditsync.lifecycle.rows import outbox_identity, record_seal
from creditsync.lifecycle.seal import sealer
from creditsync.store import Store
from creditsync.store.guard import lifecycle_writes
from creditsync.store.models import OutboxItem, Record

RECORD_DEFAULTS: dict[str, Any] = {
    "department": "market_supervision", "category": "penalty", "subject_name": "x", "source_key": None,
    "decision_date": None, "version": 1, "mapped_hash": "h" * 64, "state": "pending", "platform_id": None,
    "published_at": None, "run_id": "fabricated", "severity": None, "display_until": None,
    "withdraw_reason": None, "repair_decision_no": None, "published_within_days": None,
    "withdrawn_within_days": None,
}


def record_row(business_key: str, **columns: Any) -> dict[str, Any]:
    stamp = datetime.now(UTC)
    row = {**RECORD_DEFAULTS, "business_key": business_key, "first_seen_at": stamp, "updated_at": stamp,
           "document_no": business_key.rsplit(":", 1)[-1], **columns}
    row["seal"] = record_seal(sealer(), row)
    return row


def outbox_row(business_key: str, *, payload: dict[str, Any] | None = None, **columns: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "idempotency_key": columns.pop("idempotency_key", "i" * 64), "business_key": business_key,
        "department": "market_supervision", "category": "penalty", "action": "upsert", "version": 1,
        "run_id": "fabricated", "status": "pending", "attempts": 0, "platform_errors": [],
        "created_at": datetime.now(UTC), **columns}
    row["sealed"] = sealer().encrypt(payload or {},
                                     outbox_identity(row)) if row["status"] == "pending" else None
    return row


def write(store: Store, *, records: Iterable[dict[str, Any]] = (), outbox: Iterable[dict[str,
                                                                                         Any]] = ()) -> None:
    with lifecycle_writes(), store.transaction() as session:
        if rows := list(records):
            session.execute(insert(Record.__table__), rows)
        if rows := list(outbox):
            session.execute(insert(OutboxItem.__table__), rows)


def reseal(store: Store, business_key: str, **columns: Any) -> None:
    """Change a stored record as if the gateway had (sealed again): a state a test starts from."""
    from sqlalchemy import select, update

    with lifecycle_writes(), store.transaction() as session:
        query = select(*Record.__table__.columns).where(Record.business_key == business_key)
        found = session.execute(query).one()
        row = {**dict(found._mapping), **columns}
        row["seal"] = record_seal(sealer(), row)
        session.execute(update(Record).where(Record.business_key == business_key).values(
            **{k: v for k, v in row.items() if k != "business_key"}))


@contextmanager
def insider(store: Store) -> Iterator[Session]:
    """A session as someone with write access to the database has it: the database's own connection,
    none of the gateway's code (no lifecycle, no seals, no audit key). Commits at the end."""
    engine = create_engine(store.engine.url)
    try:
        with Session(engine) as session, session.begin():
            yield session
    finally:
        engine.dispose()
