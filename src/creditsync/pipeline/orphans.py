"""Withdrawals that lack the platform's record id.

A withdrawal names the platform's row. If the answer to the record's upsert was lost, the gateway
asks the platform back (query-back by the upserts' idempotency keys): found, the withdrawal goes with
that id; never received, there is nothing to withdraw and the record was revoked before publication.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace

from sqlalchemy import select

from creditsync.audit.events import AuditEvent
from creditsync.lifecycle import ChangeSet
from creditsync.lifecycle.receipts import Sent
from creditsync.lifecycle.stored import load_records
from creditsync.lifecycle.withdrawals import adopt_platform_ids, settle_never_received
from creditsync.pipeline.context import SyncContext
from creditsync.sinks.base import Receipt, Sink
from creditsync.store.bulk import lock_department
from creditsync.store.models import OutboxItem
from creditsync.store.states import OutboxAction, OutboxStatus


def settle_orphan_withdrawals(ctx: SyncContext, client: Sink, items: list[Sent]) -> tuple[list[Sent], int]:
    """``items`` with every orphan withdrawal either given its platform id or settled (and dropped), and
    how many were held back: through an interface the platform reads on its own schedule, an upsert not
    answered yet may still be taken; it is deleted if the interface allows (the exchange database's
    "delete while not yet taken"), else the withdrawal waits for its answer."""
    orphans = [item for item in items if item.action == OutboxAction.WITHDRAW and not item.platform_id]
    if not orphans:
        return items, 0
    tried = _tried_upserts(ctx, [item.business_key for item in orphans])
    found_ids: dict[str, str] = {}
    held: set[str] = set()
    for category in {item.category for item in orphans}:
        mine = [item for item in orphans if item.category == category]
        keys = [key for item in mine for key in tried[item.business_key]]
        answers = _answers(client, category, keys)
        for item in mine:
            ids = [answers[k].platform_id for k in tried[item.business_key] if k in answers]
            if known := [i for i in ids if i]:
                found_ids[item.business_key] = known[-1]
            elif any(k not in answers for k in tried[item.business_key]) and client.asynchronous:
                held.add(item.business_key)
    settled = [item for item in orphans if item.business_key not in held]
    _store(ctx, settled, found_ids)
    orphan_ids = {item.id for item in orphans}
    kept = [replace(item, platform_id=found_ids[item.business_key]) if item.id in orphan_ids else item
            for item in items if item.id not in orphan_ids or item.business_key in found_ids]
    return kept, len(held)


def _answers(client: Sink, category: str, keys: list[str]) -> dict[str, Receipt]:
    """What the platform answered for these keys. Through an asynchronous interface, the keys it has
    not answered are taken back where still possible: those count as never received (a rejection)."""
    answers = client.query(category, keys) if keys else {}
    if not client.asynchronous or not (open_keys := [k for k in keys if k not in answers]):
        return answers
    retracted = client.retract(category, open_keys)
    answers.update(client.query(category, [k for k in open_keys if k not in retracted]) if
                   len(retracted) < len(open_keys) else {})
    answers.update((k, Receipt(k, "rejected", None, ["已撤回（平台未接收）"])) for k in retracted)
    return answers


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


def take_back_untaken(ctx: SyncContext, client: Sink) -> None:
    """Through an interface the platform reads on its own schedule (an exchange database, a folder): a
    withdrawal queued behind a version the platform has not taken yet takes that version back. Taken
    back, it never reaches the platform; a record the platform never had then needs no withdrawal."""
    if not client.asynchronous:
        return
    with ctx.store.reader() as session:
        withdrawing = set(session.scalars(select(OutboxItem.business_key).where(
            OutboxItem.department == ctx.name, OutboxItem.status == OutboxStatus.PENDING,
            OutboxItem.action == OutboxAction.WITHDRAW)))
        if not withdrawing:
            return
        behind = session.execute(select(OutboxItem.id, OutboxItem.idempotency_key, OutboxItem.business_key,
                                        OutboxItem.category).where(
            OutboxItem.department == ctx.name, OutboxItem.status == OutboxStatus.PENDING,
            OutboxItem.action == OutboxAction.UPSERT, OutboxItem.attempts > 0,
            OutboxItem.business_key.in_(withdrawing))).all()
    taken_back: list[tuple[int, str, str, str]] = []
    for category in {row[3] for row in behind}:
        keys = [row[1] for row in behind if row[3] == category]
        gone = client.retract(category, keys)
        taken_back += [tuple(row) for row in behind if row[3] == category and row[1] in gone]  # type: ignore[misc]
    if taken_back:
        _settle_taken_back(ctx, taken_back, {row[2] for row in behind if row not in taken_back})


def _settle_taken_back(ctx: SyncContext, taken_back: list[tuple[int, str, str, str]],
                       still_out: set[str]) -> None:
    with ctx.store.transaction() as session:
        lock_department(session, ctx.name)
        changes = ChangeSet(ctx.scope)
        records = {row[2] for row in taken_back}
        stored = load_records(session, ctx.scope.sealer, records)
        changes.item_updates += [{"id": row[0], "status": str(OutboxStatus.SUPERSEDED), "sealed": None}
                                 for row in taken_back]
        for item_id, key, business_key, category in taken_back:
            changes.event(AuditEvent.DELIVERY_RETRACTED, category=category, business_key=business_key,
                          idempotency_key=key, outbox_id=item_id)
        never = [k for k in records - still_out
                 if (row := stored.rows.get(k)) is not None and not row["platform_id"]]
        if never:
            withdrawals = session.execute(select(OutboxItem.id).where(
                OutboxItem.business_key.in_(never), OutboxItem.status == OutboxStatus.PENDING,
                OutboxItem.action == OutboxAction.WITHDRAW)).scalars()
            changes.item_updates += [{"id": item_id, "status": str(OutboxStatus.SUPERSEDED), "sealed": None}
                                     for item_id in withdrawals]
            settle_never_received(changes, stored, never)
        changes.apply(session)
