"""The one place outbox items and quarantine entries are made, and idempotency keys computed.

Every step that owes the platform something (the sync, a re-drive, reconciliation, an operator's
withdrawal, expiry, credit repair) builds its outbox row here, so keys follow one scheme: the first
send of a version is keyed by its content; a deliberate resend of the same version (``resend`` > 0)
gets a key the platform has never seen, or it would only replay its old answer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from creditsync.privacy import mask_record
from creditsync.store.models import RecordVersion
from creditsync.store.states import OutboxAction, OutboxStatus, QuarantineStage


def idempotency_key(business_key: str, action: str, version: int, mapped_hash: str, resend: int = 0) -> str:
    text = f"{business_key}|{action}|{version}|{mapped_hash}"
    if resend:
        text += f"|resend|{resend}"
    return hashlib.sha256(text.encode()).hexdigest()


def outbox_row(*, business_key: str, department: str, category: str, action: OutboxAction, version: int,
               mapped_hash: str, payload: Mapping[str, Any], run_id: str, created_at: datetime,
               resend: int = 0) -> dict[str, Any]:
    """A pending outbox item as a row for a bulk insert (``insert(OutboxItem)``)."""
    return {
        "idempotency_key": idempotency_key(business_key, action, version, mapped_hash, resend),
        "business_key": business_key, "department": department, "category": category,
        "action": str(action), "version": version, "payload": dict(payload), "run_id": run_id,
        "status": str(OutboxStatus.PENDING), "attempts": 0, "created_at": created_at,
        "platform_errors": [],
    }


NUL_SHOWN = "\u2400"  # ␀: what a NUL byte of a bad record looks like where the store keeps it


def printable(value: Any) -> Any:
    """NUL bytes replaced by ␀ at any depth: PostgreSQL refuses them in text and cannot read them back
    from JSON, and a quarantined record must be kept (and shown) whatever bytes it came with."""
    if isinstance(value, str):
        return value.replace("\x00", NUL_SHOWN) if "\x00" in value else value
    if isinstance(value, Mapping):
        return {printable(k): printable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [printable(v) for v in value]
    return value


def stored_content(session: Session, business_key: str, version: int) -> dict[str, Any] | None:
    """A version's mapped content as the store keeps it once the platform has answered: masked (the
    outbox item then drops its payload). Sendable again only if nothing in it was masked."""
    found = session.scalar(select(RecordVersion.payload_masked).where(
        RecordVersion.business_key == business_key, RecordVersion.version == version))
    return dict(found) if found is not None else None


def quarantine_row(*, run_id: str, department: str, category: str, source_key: str | None,
                   business_key: str | None, stage: QuarantineStage, errors: Sequence[Mapping[str, Any]],
                   raw: Mapping[str, Any], source_hash: str | None, created_at: datetime) -> dict[str, Any]:
    """An open quarantine entry; the record and every message are masked (a message may quote the bad
    value, such as an ID number typed into a date column)."""
    return {
        "run_id": run_id, "department": department, "category": category, "source_key": printable(source_key),
        "business_key": business_key, "stage": str(stage),
        "errors": [printable(mask_record(dict(e))) for e in errors],
        "raw_masked": printable(mask_record(dict(raw))), "source_hash": source_hash, "created_at": created_at,
        "resolved_at": None, "resolution": None,
    }
