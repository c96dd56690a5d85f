"""Step 3: deliver the department's outbox in batches.

Before a batch leaves, its attempt is committed (so a killed process leaves a trace); the receipts,
the rejections and the cursor advance commit together once the platform has answered."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any, cast

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from creditsync.delivery.client import Action, PlatformClient, PushItem, Receipt
from creditsync.exceptions import ConfigurationError, RetriableError
from creditsync.pipeline.context import SyncContext, now
from creditsync.privacy import mask_record, mask_text
from creditsync.sources.base import SourceAdapter
from creditsync.sources.registry import get_adapter_class, open_source
from creditsync.store.models import Cursor, OutboxItem, QuarantineItem, Record, RunStream, SyncRun

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
        return _one_per_record(session.scalars(query.limit(ctx.department.batch_size)))


def _one_per_record(rows: Iterable[OutboxItem]) -> list[OutboxItem]:
    """At most one item per business key. A later version of a record still waiting behind an earlier
    one (sent before, unanswered) needs the platform id that the earlier one's receipt brings; in the
    same batch both would go without it, and the platform would create a second row."""
    seen: set[str] = set()
    batch = []
    for row in rows:
        if row.business_key not in seen:
            seen.add(row.business_key)
            batch.append(row)
    return batch


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
        held = _load(session, batch)
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
        del held
        return items


def _record_failure(ctx: SyncContext, batch: list[OutboxItem], batch_id: str, exc: Exception) -> None:
    with ctx.store.transaction() as session:
        for row in batch:
            item = session.get(OutboxItem, row.id)
            assert item is not None
            item.last_error = str(exc)[:2000]
        run = session.get(SyncRun, ctx.run_id)
        if run is not None:
            run.status = "incomplete"  # the next run (or a retry of this one) continues the delivery
        ctx.audit.append(session, "push_failed", department=ctx.name, category=batch[0].category,
                         run_id=ctx.run_id, batch_id=batch_id, error=str(exc)[:2000],
                         kind=type(exc).__name__)


def _apply_receipts(ctx: SyncContext, batch: list[OutboxItem], receipts: Sequence[Receipt],
                    batch_id: str) -> tuple[int, int]:
    by_key = {r.idempotency_key: r for r in receipts}
    acked = rejected = 0
    with ctx.store.transaction() as session:
        held = _load(session, batch)
        for row in batch:
            receipt = by_key.get(row.idempotency_key)
            if receipt is None:
                continue  # no answer for it: stays pending, sent again with the same key
            if settle(ctx, session, row, receipt, batch_id):
                acked += 1
            else:
                rejected += 1
        committed = _commit_cursors_in(ctx, session)
        del held
    _tell_source(ctx, committed)  # after the commit: the receipts and cursors are durable now
    return acked, rejected


def _load(session: Session, batch: list[OutboxItem]) -> list[object]:
    """Two queries for the whole batch instead of two per item: the loops' ``session.get`` calls then
    find the rows in the identity map (per-item loads took a third of the push step's time). The caller
    holds the returned list until its loop is done (``del``): the identity map's references are weak."""
    items = session.scalars(select(OutboxItem).where(OutboxItem.id.in_([row.id for row in batch]))).all()
    keys = list({row.business_key for row in batch})
    records = session.scalars(select(Record).where(Record.business_key.in_(keys))).all()
    return [*items, *records]


def settle(ctx: SyncContext, session: Session, row: OutboxItem, receipt: Receipt, batch_id: str) -> bool:
    """Store the platform's answer for one item (from a push, or found by reconciliation's
    query-back); True if it was accepted."""
    if receipt.status == "rejected":
        _reject(ctx, session, row, receipt, batch_id)
        return False
    _acknowledge(ctx, session, row, receipt, batch_id)
    return True


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
    errors = [{"field": "(platform)", "message": mask_text(message)} for message in receipt.errors]
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
        committed = _commit_cursors_in(ctx, session)
    _tell_source(ctx, committed)


def _commit_cursors_in(ctx: SyncContext, session: Session) -> list[tuple[str, str]]:
    """Move a stream's cursor once everything this run queued for it has an answer from the platform.
    Returns (category, cursor) of the streams committed, for :func:`_tell_source`."""
    committed: list[tuple[str, str]] = []
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
        if value := stream.cursor_to or stream.cursor_from:  # unchanged too: the hook must be re-runnable
            committed.append((stream.category, value))
    return committed


def _tell_source(ctx: SyncContext, committed: list[tuple[str, str]]) -> None:
    """Run the source's ``on_cursor_committed`` hook (the file adapter moves delivered files to
    processed/). Delivery has already succeeded, so a failing hook is logged, never raised: the files
    stay in the inbox and the next run re-reads (deduped) and moves them."""
    if not committed:
        return
    try:
        adapter_class = get_adapter_class(ctx.department.source.kind)
    except ConfigurationError:
        return  # a handed-over file (kind template_file) has no adapter to tell
    if adapter_class.on_cursor_committed is SourceAdapter.on_cursor_committed:
        return
    try:
        with open_source(ctx.department) as source:
            for category, cursor in committed:
                source.on_cursor_committed(category, ctx.department.stream(category).options, cursor)
    except Exception:
        log.exception("%s: the source's cursor-commit hook failed (delivery is not affected)", ctx.name)


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
