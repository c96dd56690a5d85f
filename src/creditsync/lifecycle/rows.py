"""The rows of a record's life as the store keeps them, each built in one place.

Idempotency keys follow one scheme: the first send of a version is keyed by its content; a deliberate
resend of the same version (``resend`` > 0) gets a key the platform has never seen, or it would only
replay its old answer. Every ``records``, ``record_versions`` and ``cursors`` row is sealed over all its
columns (:mod:`creditsync.lifecycle.seal`); an outbox item's payload is sealed to its identity.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from operator import itemgetter
from typing import Any

from creditsync.audit.merkle import leaf_hash
from creditsync.lifecycle.seal import Sealer, canonical, content_digest
from creditsync.privacy import mask_record
from creditsync.store.states import OutboxAction, OutboxStatus, QuarantineStage
from creditsync.strict_text import printable

# Every column of a records row but its seal and updated_at (bookkeeping), in a fixed order.
RECORD_SEALED = ("business_key", "department", "category", "document_no", "subject_name", "source_key",
                 "decision_date", "version", "mapped_hash", "state", "platform_id", "first_seen_at",
                 "published_at", "run_id", "severity", "display_until", "withdraw_reason",
                 "repair_decision_no", "published_within_days", "withdrawn_within_days")
VERSION_LEAF = ("business_key", "version", "run_id", "source_key", "source_hash", "mapped_hash",
                "mapping_digest", "adapter", "created_at")
CURSOR_SEALED = ("department", "category", "value", "kind", "run_id")


def idempotency_key(business_key: str, action: str, version: int, mapped_hash: str, resend: int = 0) -> str:
    text = f"{business_key}|{action}|{version}|{mapped_hash}"
    if resend:
        text += f"|resend|{resend}"
    return hashlib.sha256(text.encode()).hexdigest()


_RECORD_VALUES = itemgetter(*RECORD_SEALED)


def _record_values(row: Mapping[str, Any]) -> Sequence[Any]:
    """The sealed columns' values in order (one C call for a full row; a missing column is None)."""
    try:
        values: Sequence[Any] = _RECORD_VALUES(row)
    except KeyError:
        values = [row.get(name) for name in RECORD_SEALED]
    return values


def record_seal(sealer: Sealer, row: Mapping[str, Any]) -> str:
    return sealer.seal(b"records\x1e" + canonical(_record_values(row)))


def record_seal_ok(sealer: Sealer, row: Mapping[str, Any]) -> bool:
    return sealer.verify(b"records\x1e" + canonical(_record_values(row)), row.get("seal"))


def version_leaf(row: Mapping[str, Any]) -> bytes:
    """What binds a version row to its ``versions_stored`` entry: its columns and masked content."""
    content = canonical([*(row.get(name) for name in VERSION_LEAF), content_digest(row["payload_masked"])])
    return leaf_hash(content)


def version_seal(sealer: Sealer, leaf: bytes, entry_id: int | None) -> str:
    return sealer.seal(b"record_versions\x1e" + leaf + str(entry_id).encode())


def version_seal_ok(sealer: Sealer, row: Mapping[str, Any]) -> bool:
    text = b"record_versions\x1e" + version_leaf(row) + str(row.get("audit_entry_id")).encode()
    return sealer.verify(text, row.get("seal"))


def cursor_seal(sealer: Sealer, row: Mapping[str, Any]) -> str:
    return sealer.seal(b"cursors\x1e" + canonical(row.get(name) for name in CURSOR_SEALED))


def cursor_seal_ok(sealer: Sealer, row: Mapping[str, Any]) -> bool:
    return sealer.verify(b"cursors\x1e" + canonical(row.get(name) for name in CURSOR_SEALED), row.get("seal"))


def outbox_identity(row: Mapping[str, Any]) -> bytes:
    """What an outbox item's sealed payload is bound to: changing any of it breaks the seal."""
    return b"outbox\x1e" + canonical(row[name] for name in (
        "idempotency_key", "business_key", "department", "category", "action", "version"))


def outbox_row(sealer: Sealer, *, business_key: str, department: str, category: str, action: OutboxAction,
               version: int, mapped_hash: str, payload: Mapping[str, Any], run_id: str,
               created_at: datetime, resend: int = 0) -> dict[str, Any]:
    """A pending outbox item as a row for a bulk insert, its payload sealed."""
    row: dict[str, Any] = {
        "idempotency_key": idempotency_key(business_key, action, version, mapped_hash, resend),
        "business_key": business_key, "department": department, "category": category,
        "action": str(action), "version": version, "run_id": run_id,
        "status": str(OutboxStatus.PENDING), "attempts": 0, "created_at": created_at,
        "platform_errors": [],
    }
    row["sealed"] = sealer.encrypt(dict(payload), outbox_identity(row))
    return row


def receipt_leaf(row: Mapping[str, Any]) -> bytes:
    """What binds an answered outbox item to its ``receipts_stored`` entry."""
    errors = row.get("platform_errors") or []
    return leaf_hash(canonical([row["idempotency_key"], row["business_key"], row["action"], row["version"],
                                row["status"], row.get("platform_id"), content_digest(list(errors))]))


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
        "resolved_at": None, "resolution": None, "last_seen_at": None, "retried_at": None,
        "retry_outcome": None,
    }
