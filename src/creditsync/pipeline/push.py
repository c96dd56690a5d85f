"""Step 3: deliver the department's outbox in batches.

Before a batch leaves, its attempt is committed (so a killed process leaves a trace); the receipts,
the rejections and the cursor advance commit together once the platform has answered."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from creditsync.delivery.client import Action, PlatformClient, PushItem, Receipt
from creditsync.exceptions import RetriableError
from creditsync.pipeline.context import SyncContext, now
from creditsync.privacy import mask_record
from creditsync.store.models import Cursor, OutboxItem, QuarantineItem, Record, RunStream

log = logging.getLogger(__name__)


def push(ctx: SyncContext, client: PlatformClient) -> dict[str, int]:
    ctx.ensure_run()
    counts = {"batches": 0, "acked": 0, "rejected": 0}
    while batch := _next_batch(ctx):
        batch_id = f"{ctx.run_id}#{batch[0].id}"
        if _settle_orphan_withdrawals(ctx, client, batch):
            continue
        items = _prepare(ctx, batch, batch_id)
        try:
            receipts = client.push(batch[0].category, items, batch_id=batch_id)
        except RetriableError as exc:
            _record_failure(ctx, batch, batch_id, exc)
            raise
        acked, rejected = _apply_receipts(ctx, batch, receipts, batch_id)
        counts["batches"] += 1
        counts["acked"] += acked
        counts["rejected"] += rejected
        if acked + rejected < len(batch):
            # Unanswered items stay pending and go again, with the same keys, on the next try.
            raise RetriableError(f"the platform answered {acked + rejected} of {len(batch)} items",
                                 department=ctx.name, batch_id=batch_id)
    _commit_cursors(ctx)
    return counts


def _next_batch(ctx: SyncContext) -> list[OutboxItem]:
    """The oldest pending items of one category (the platform takes one category per request)."""
    with ctx.store.reader() as session:
        first = session.scalars(_pending(ctx).limit(1)).first()
        if first is None:
            return []
        query = _pending(ctx).where(OutboxItem.category == first.category)
        return list(session.scalars(query.limit(ctx.department.batch_size)))


def _pending(ctx: SyncContext) -> Any:
    return (select(OutboxItem)
            .where(OutboxItem.department == ctx.name, OutboxItem.status == "pending")
            .order_by(OutboxItem.id))


def _settle_orphan_withdrawals(ctx: SyncContext, client: PlatformClient, batch: list[OutboxItem]) -> bool:
    """A withdrawal needs the platform's id of the row. If an earlier upsert's answer was lost, ask the
    platform (query-back); if the platform never got the record, there is nothing to withdraw."""
    with ctx.store.reader() as session:
        orphans = [row for row in batch if row.action == "withdraw"
                   and not (session.get(Record, row.business_key) or Record()).platform_id]
        if not orphans:
            return False
        sent = {row.business_key: list(session.scalars(select(OutboxItem.idempotency_key).where(
            OutboxItem.business_key == row.business_key, OutboxItem.action == "upsert",
            OutboxItem.attempts > 0))) for row in orphans}
    found = client.query(batch[0].category, [k for keys in sent.values() for k in keys])
    with ctx.store.transaction() as session:
        for row in orphans:
            receipts = [found[k] for k in sent[row.business_key] if k in found and found[k].platform_id]
            record = session.get(Record, row.business_key)
            item = session.get(OutboxItem, row.id)
            assert record is not None and item is not None
            if receipts:
                record.platform_id = receipts[-1].platform_id
                continue
            item.status, record.state = "superseded", "revoked"
            ctx.audit.append(session, "revoked_unpublished", department=ctx.name, category=item.category,
                             business_key=item.business_key, run_id=ctx.run_id,
                             reason="the platform never received the record")
    return True


def _prepare(ctx: SyncContext, batch: list[OutboxItem], batch_id: str) -> list[PushItem]:
    with ctx.store.transaction() as session:
        items, attempt = [], 0
        for row in batch:
            item = session.get(OutboxItem, row.id)
            assert item is not None
            item.attempts += 1
            attempt = max(attempt, item.attempts)
            record = session.get(Record, item.business_key)
            platform_id = record.platform_id if record else None  # set: this push is a correction
            items.append(PushItem(idempotency_key=item.idempotency_key, business_key=item.business_key,
                                  action=cast(Action, item.action), data=item.payload,
                                  platform_id=platform_id))
        ctx.audit.append(session, "push_attempt", department=ctx.name, category=batch[0].category,
                         run_id=ctx.run_id, batch_id=batch_id, size=len(batch),
                         keys=[r.business_key for r in batch], try_number=ctx.try_number, attempt=attempt)
        return items


def _record_failure(ctx: SyncContext, batch: list[OutboxItem], batch_id: str, exc: Exception) -> None:
    with ctx.store.transaction() as session:
        for row in batch:
            item = session.get(OutboxItem, row.id)
            assert item is not None
            item.last_error = str(exc)[:2000]
        ctx.audit.append(session, "push_failed", department=ctx.name, category=batch[0].category,
                         run_id=ctx.run_id, batch_id=batch_id, error=str(exc)[:2000],
                         kind=type(exc).__name__)


def _apply_receipts(ctx: SyncContext, batch: list[OutboxItem], receipts: Sequence[Receipt],
                    batch_id: str) -> tuple[int, int]:
    by_key = {r.idempotency_key: r for r in receipts}
    acked = rejected = 0
    with ctx.store.transaction() as session:
        for row in batch:
            receipt = by_key.get(row.idempotency_key)
            if receipt is None:
                continue  # no answer for it: stays pending, sent again with the same key
            if receipt.status == "rejected":
                _reject(ctx, session, row, receipt, batch_id)
                rejected += 1
            else:
                _acknowledge(ctx, session, row, receipt, batch_id)
                acked += 1
        _commit_cursors_in(ctx, session)
    return acked, rejected


def _acknowledge(ctx: SyncContext, session: Session, row: OutboxItem, receipt: Receipt,
                 batch_id: str) -> None:
    item = session.get(OutboxItem, row.id)
    record = session.get(Record, row.business_key)
    assert item is not None and record is not None
    stamp = now()
    item.status, item.platform_id, item.acked_at, item.last_error = "acked", receipt.platform_id, stamp, None
    item.payload = mask_record(item.payload)  # delivered: the full ID number is no longer needed
    if item.action == "withdraw":
        record.state = "withdrawn"
    elif record.version == item.version:
        record.state, record.published_at = "published", stamp
    record.platform_id = receipt.platform_id or record.platform_id
    ctx.audit.append(session, "push_receipt", department=ctx.name, category=item.category,
                     business_key=item.business_key, run_id=ctx.run_id, batch_id=batch_id,
                     version=item.version, status=receipt.status, platform_id=receipt.platform_id,
                     attempts=item.attempts, idempotency_key=item.idempotency_key)


def _reject(ctx: SyncContext, session: Session, row: OutboxItem, receipt: Receipt, batch_id: str) -> None:
    item = session.get(OutboxItem, row.id)
    record = session.get(Record, row.business_key)
    assert item is not None and record is not None
    errors = [{"field": "(platform)", "message": message} for message in receipt.errors]
    item.status, item.platform_errors = "rejected", list(receipt.errors)
    item.payload = mask_record(item.payload)
    if record.version == item.version and item.action == "upsert":
        record.state = "rejected"
    session.add(QuarantineItem(
        run_id=ctx.run_id, department=ctx.name, category=item.category, source_key=record.source_key,
        business_key=item.business_key, stage="platform", errors=errors, raw_masked=item.payload,
        source_hash=None, created_at=now(),
    ))
    ctx.audit.append(session, "push_rejected", department=ctx.name, category=item.category,
                     business_key=item.business_key, run_id=ctx.run_id, batch_id=batch_id,
                     version=item.version, errors=list(receipt.errors), attempts=item.attempts)


def _commit_cursors(ctx: SyncContext) -> None:
    with ctx.store.transaction() as session:
        _commit_cursors_in(ctx, session)


def _commit_cursors_in(ctx: SyncContext, session: Session) -> None:
    """Move a stream's cursor once everything this run queued for it has an answer from the platform."""
    streams = session.scalars(select(RunStream).where(
        RunStream.run_id == ctx.run_id, RunStream.transformed.is_(True),
        RunStream.cursor_committed.is_(False))).all()
    for stream in streams:
        waiting = session.scalar(select(func.count()).select_from(OutboxItem).where(
            OutboxItem.run_id == ctx.run_id, OutboxItem.category == stream.category,
            OutboxItem.status == "pending"))
        if waiting:
            continue
        _advance(ctx, session, stream)


def _advance(ctx: SyncContext, session: Session, stream: RunStream) -> None:
    stream.cursor_committed = True
    if stream.cursor_to is None or stream.cursor_to == stream.cursor_from:
        return
    cursor = session.get(Cursor, (ctx.name, stream.category))
    if cursor is None:
        cursor = Cursor(department=ctx.name, category=stream.category)
        session.add(cursor)
    cursor.value, cursor.updated_at, cursor.run_id = stream.cursor_to, now(), ctx.run_id
    ctx.audit.append(session, "cursor_advanced", department=ctx.name, category=stream.category,
                     run_id=ctx.run_id, cursor_from=stream.cursor_from, cursor_to=stream.cursor_to)
