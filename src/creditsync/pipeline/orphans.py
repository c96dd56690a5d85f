"""Withdrawals that lack the platform's record id.

A withdrawal names the platform's row. If the answer to the record's upsert was lost, the gateway
asks the platform back (query-back by the upserts' idempotency keys): found, the withdrawal goes with
that id; never received, there is nothing to withdraw and the record was revoked before publication.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace

from sqlalchemy import select

from creditsync.delivery.client import PlatformClient
from creditsync.lifecycle import ChangeSet
from creditsync.lifecycle.receipts import Sent
from creditsync.lifecycle.stored import load_records
from creditsync.lifecycle.withdrawals import adopt_platform_ids, settle_never_received
from creditsync.pipeline.context import SyncContext
from creditsync.store.bulk import lock_department
from creditsync.store.models import OutboxItem
from creditsync.store.states import OutboxAction, OutboxStatus


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
    never = [item for item in orphans if item.business_key not in found_ids]
    with ctx.store.transaction() as session:
        lock_department(session, ctx.name)
        changes = ChangeSet(ctx.scope)
        stored = load_records(session, ctx.scope.sealer, {item.business_key for item in orphans})
        adopt_platform_ids(changes, stored, found_ids)
        changes.item_updates += [{"id": item.id, "status": str(OutboxStatus.SUPERSEDED), "sealed": None}
                                 for item in never]
        settle_never_received(changes, stored, [item.business_key for item in never])
        changes.apply(session)
