"""Withdrawals that lack the platform's record id.

A withdrawal names the platform's row. If the answer to the record's upsert was lost, the gateway
asks the platform back (query-back by the upserts' idempotency keys): found, the withdrawal goes with
that id; never received, there is nothing to withdraw and the record was revoked before publication.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace

from sqlalchemy import select

from creditsync.audit.trail import AuditEvent
from creditsync.delivery.client import PlatformClient
from creditsync.pipeline.context import SyncContext, now
from creditsync.pipeline.receipts import Sent
from creditsync.store.bulk import lock_department, update_rows
from creditsync.store.models import OutboxItem, Record
from creditsync.store.states import OutboxAction, OutboxStatus, RecordState


def settle_orphan_withdrawals(ctx: SyncContext, client: PlatformClient, items: list[Sent]) -> list[Sent]:
    """``items`` with every orphan withdrawal either given its platform id or settled (and dropped)."""
    orphans = [item for item in items if item.action == OutboxAction.WITHDRAW and not item.platform_id]
    if not orphans:
        return items
    tried = _tried_upserts(ctx, [item.business_key for item in orphans])
    found_ids: dict[str, str] = {}
    for category in {item.category for item in orphans}:
        keys = [key for item in orphans if item.category == category for key in tried[item.business_key]]
        answers = client.query(category, keys) if keys else {}
        for item in orphans:
            ids = [answers[k].platform_id for k in tried[item.business_key] if k in answers]
            if item.category == category and (known := [i for i in ids if i]):
                found_ids[item.business_key] = known[-1]
    _store(ctx, orphans, found_ids)
    orphan_ids = {item.id for item in orphans}
    return [replace(item, platform_id=found_ids[item.business_key]) if item.id in orphan_ids else item
            for item in items if item.id not in orphan_ids or item.business_key in found_ids]


def _tried_upserts(ctx: SyncContext, keys: list[str]) -> dict[str, list[str]]:
    """Idempotency keys of every upsert of these records that was sent at least once, oldest first."""
    tried: dict[str, list[str]] = defaultdict(list)
    with ctx.store.reader() as session:
        for business_key, key in session.execute(select(OutboxItem.business_key, OutboxItem.idempotency_key)
                                                 .where(OutboxItem.business_key.in_(keys),
                                                        OutboxItem.action == OutboxAction.UPSERT,
                                                        OutboxItem.attempts > 0)
                                                 .order_by(OutboxItem.id)):
            tried[business_key].append(key)
    return tried


def _store(ctx: SyncContext, orphans: list[Sent], found_ids: dict[str, str]) -> None:
    stamp = now()
    never = [item for item in orphans if item.business_key not in found_ids]
    with ctx.store.transaction() as session:
        lock_department(session, ctx.name)
        update_rows(session, Record, [{"business_key": k, "platform_id": v} for k, v in found_ids.items()])
        superseded = str(OutboxStatus.SUPERSEDED)
        update_rows(session, OutboxItem, [{"id": i.id, "status": superseded} for i in never])
        update_rows(session, Record, [{"business_key": i.business_key, "state": str(RecordState.REVOKED),
                                       "updated_at": stamp} for i in never])
        ctx.audit.append_many(session, [AuditEvent(
            "revoked_unpublished", department=ctx.name, category=i.category, business_key=i.business_key,
            run_id=ctx.run_id, details={"reason": "the platform never received the record"}) for i in never])
