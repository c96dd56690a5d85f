"""Step 2: deliver the department's outbox.

Rounds of batches: each round takes the oldest pending items (at most one per record, since a later
version needs the platform id its predecessor's answer brings), cuts them into batches by records and
bytes, commits their attempts in one transaction (so a killed process leaves a trace), and sends up
to ``push_concurrency`` batches at once. Each batch's answers are stored as soon as they come
(:mod:`creditsync.lifecycle.receipts`).
A batch the platform finds too large (413) is split down to single records; a single record still too
large is rejected into the quarantine, so it never blocks the rest. Cursors move once everything a run
queued for a stream has its answer.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from threading import Event
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from creditsync.delivery.errors import BatchTooLargeError
from creditsync.exceptions import CreditSyncError, RetriableError
from creditsync.lifecycle import ChangeSet
from creditsync.lifecycle.receipts import Applied, Sent, apply_answers, mark_attempts, record_failure, refuse
from creditsync.lifecycle.rows import outbox_identity
from creditsync.lifecycle.seal import SealError
from creditsync.lifecycle.stored import load_records, raise_tamper_alarm
from creditsync.pipeline.context import SyncContext
from creditsync.pipeline.cursors import commit_cursors
from creditsync.pipeline.orphans import settle_orphan_withdrawals, take_back_untaken
from creditsync.sinks.base import Action, PushItem, Receipt, Sink
from creditsync.store.bulk import fetch_dicts, lock_department
from creditsync.store.models import OutboxItem, SyncRun
from creditsync.store.states import OutboxStatus

log = logging.getLogger(__name__)


class AwaitingPlatformError(RetriableError):
    """Delivered through an interface the platform reads on its own schedule (an exchange database, a
    folder): the answers come on a later run, which the cursors wait for."""

TOO_LARGE = "记录过大，平台拒收（413），请精简后重新报送 (the record alone exceeds the platform's size limit)"


@dataclass
class Batch:
    category: str
    items: list[Sent]
    batch_id: str = ""


@dataclass
class Answer:
    receipts: dict[str, Receipt] = field(default_factory=dict)
    error: CreditSyncError | None = None


def push(ctx: SyncContext, client: Sink, *, until: Event | None = None) -> dict[str, int]:
    """Deliver the outbox, round after round until nothing is pending (or ``until`` is set: the round
    in flight ends, and the rest waits for the next push)."""
    ctx.ensure_run()
    counts: Counter[str] = Counter(batches=0, acked=0, rejected=0)
    probed = False
    # An interface the platform reads on its own schedule: what waits for its answer is passed over
    # (with every later version of its record), and the rounds go on after it, by outbox id.
    awaiting: set[str] = set()
    after = withheld = 0
    try:
        take_back_untaken(ctx, client)
        with ThreadPoolExecutor(max_workers=ctx.department.push_concurrency,
                                thread_name_prefix=f"push-{ctx.name}") as pool:
            while not (until is not None and until.is_set()) and (items := _next_round(ctx, after)):
                last = max(item.id for item in items)
                if client.asynchronous:
                    items = [item for item in items if item.business_key not in awaiting]
                items, held = settle_orphan_withdrawals(ctx, client, items)
                withheld += held  # withdrawals whose upsert the platform may still take
                if not items:
                    after = last if client.asynchronous else after
                    continue
                batches = _cut(ctx, items)
                if not probed:  # one batch alone first: a refused appKey costs one request, not N
                    batches, probed = batches[:1], True
                if client.asynchronous:  # the next round starts after what went, or at what waits
                    sent = {item.id for batch in batches for item in batch.items}
                    after = min([item.id - 1 for item in items if item.id not in sent] or [last])
                batches = _mark_attempts(ctx, batches)
                futures = [(batch, pool.submit(_send, client, batch)) for batch in batches]
                before = counts.copy()
                awaiting |= _collect(ctx, client, futures, counts)
                note_progress(ctx, "push", counts - before)
        if awaiting or withheld:
            raise AwaitingPlatformError(f"{len(awaiting) + withheld} record(s) wait for the platform to "
                                        "take them; a later run reads their answers", department=ctx.name)
    finally:
        commit_cursors(ctx)  # streams whose items all have their answer, even if a later batch failed
    return dict(counts)


def note_progress(ctx: SyncContext, step: str, added: Counter[str]) -> None:
    """Add a round's figures to the run's so far, for the console's overview while the run is running
    (the report step replaces them with the run's totals). Added, not replaced: a run's push is several
    calls (a retried task, the push beside the pull and the one after it)."""
    with ctx.store.transaction() as session:
        run = session.get(SyncRun, ctx.run_id)
        if run is not None and run.status == "running":
            progress = (run.counts or {}).get("progress", {})
            figures = Counter(progress.get(step) or {})
            figures.update(added)
            run.counts = {**(run.counts or {}), "progress": {**progress, step: dict(figures)}}


def _next_round(ctx: SyncContext, after: int = 0) -> list[Sent]:
    """The oldest pending items, each opened from its seal and given the platform row it targets from
    its (sealed) record. An item that does not open, or whose record was altered, is never sent: it is
    refused, quarantined and alarmed, and the round goes on with the rest."""
    size = ctx.department.batch_size * ctx.department.push_concurrency
    while True:
        with ctx.store.reader() as session:
            rows = fetch_dicts(session, select(*OutboxItem.__table__.columns)
                               .where(OutboxItem.department == ctx.name,
                                      OutboxItem.status == OutboxStatus.PENDING, OutboxItem.id > after)
                               .order_by(OutboxItem.id).limit(size))
            stored = load_records(session, ctx.scope.sealer, {row["business_key"] for row in rows},
                                  outbox=False)
        sendable, refused = _open(ctx, rows, stored.rows, stored.tampered)
        if not refused and not stored.tampered:
            return _one_per_record(sendable)
        _refuse(ctx, refused, [stored.tampered[k] for k in stored.tampered])


def _open(ctx: SyncContext, rows: list[dict[str, Any]], records: dict[str, dict[str, Any]],
          tampered: dict[str, dict[str, Any]]) -> tuple[list[Sent], list[tuple[dict[str, Any], str]]]:
    sealer = ctx.scope.sealer
    sendable: list[Sent] = []
    refused: list[tuple[dict[str, Any], str]] = []
    for row in rows:
        if row["business_key"] in tampered:
            refused.append((row, "its record was changed outside the gateway"))
            continue
        try:
            payload, size = sealer.decrypt_sized(row["sealed"], outbox_identity(row))
        except SealError as exc:
            refused.append((row, str(exc)))
            continue
        record = records.get(row["business_key"])
        sendable.append(Sent(row["id"], row["idempotency_key"], row["business_key"], row["category"],
                             row["action"], row["version"], payload,
                             record["platform_id"] if record else None, row["attempts"] + 1,
                             row["created_at"], record, size))
    return sendable, refused


def _refuse(ctx: SyncContext, refused: list[tuple[dict[str, Any], str]],
            tampered_records: list[dict[str, Any]]) -> None:
    with ctx.store.transaction() as session:
        lock_department(session, ctx.name)
        changes = ChangeSet(ctx.scope)
        raise_tamper_alarm(session, changes, tampered_records, where="push")
        for row, why in refused:
            refuse(changes, [row], why=why)
        changes.apply(session)


def _one_per_record(items: Iterable[Sent]) -> list[Sent]:
    """At most one item per business key. A later version of a record still waiting behind an earlier
    one (sent before, unanswered) needs the platform id that the earlier one's receipt brings; sent
    together, the platform would create a second row."""
    seen: set[str] = set()
    kept = []
    for item in items:
        if item.business_key not in seen:
            seen.add(item.business_key)
            kept.append(item)
    return kept


def _cut(ctx: SyncContext, items: list[Sent]) -> list[Batch]:
    """Batches of one category (the platform takes one per request), by records and by bytes."""
    batches: list[Batch] = []
    open_batches: dict[str, tuple[Batch, int]] = {}
    limit_records, limit_bytes = ctx.department.batch_size, ctx.department.push_batch_bytes
    for item in items:
        size = item.size + 64  # the item's envelope: key, action, platform id
        batch, used = open_batches.get(item.category, (None, 0))
        if batch is None or len(batch.items) >= limit_records or (batch.items and used + size > limit_bytes):
            batch, used = Batch(item.category, []), 0
            batches.append(batch)
        batch.items.append(item)
        open_batches[item.category] = (batch, used + size)
    for batch in batches:
        batch.batch_id = f"{ctx.run_id}#{batch.items[0].id}"
    return batches


def _mark_attempts(ctx: SyncContext, batches: list[Batch]) -> list[Batch]:
    """Commit the round's attempts (one transaction, each batch its own attempt entry) before any batch
    leaves; the batches that still have an item pending."""
    with ctx.store.transaction() as session:
        lock_department(session, ctx.name)
        changes = ChangeSet(ctx.scope)
        for batch in batches:
            batch.items = mark_attempts(session, changes, batch.items, batch_id=batch.batch_id,
                                        category=batch.category)
        changes.apply(session)
    return [batch for batch in batches if batch.items]


def _send(client: Sink, batch: Batch) -> Answer:
    """In a worker thread: the platform's answers, splitting the batch while it is too large."""
    answer = Answer()
    pending = [batch.items]
    while pending:
        items = pending.pop()
        try:
            receipts = client.push(batch.category, [_wire(i) for i in items], batch_id=batch.batch_id)
        except BatchTooLargeError:
            if len(items) == 1:
                answer.receipts[items[0].idempotency_key] = Receipt(items[0].idempotency_key, "rejected",
                                                                    None, [TOO_LARGE])
                continue
            half = len(items) // 2
            pending += [items[half:], items[:half]]
            continue
        except CreditSyncError as exc:
            answer.error = exc
            return answer
        answer.receipts.update((r.idempotency_key, r) for r in receipts)
    return answer


def _wire(item: Sent) -> PushItem:
    return PushItem(idempotency_key=item.idempotency_key, business_key=item.business_key,
                    action=cast(Action, item.action), data=item.payload, platform_id=item.platform_id)


def _collect(ctx: SyncContext, client: Sink, futures: list[tuple[Batch, Future[Answer]]],
             counts: Counter[str]) -> set[str]:
    """Store each batch's answers as they come; then fail the round if any batch failed or was left
    without an answer (those items stay pending and go again, with the same keys). Through an
    asynchronous interface, the business keys still waiting for the platform's answer."""
    failure: CreditSyncError | None = None
    unanswered: list[tuple[Batch, Sent]] = []
    for answered in _as_answered(futures):
        with ctx.store.transaction() as session:  # the batches answered by now: one wait for the lock
            lock_department(session, ctx.name)
            results = [(batch, answer, _store_answer(ctx, session, batch, answer))
                       for batch, answer in answered]
        for batch, answer, applied in results:
            counts["batches"] += 1
            counts["acked"] += applied.acked
            counts["rejected"] += applied.rejected
            if answer.error is not None:
                failure = failure or answer.error
            else:
                unanswered += [(batch, item) for item in applied.unanswered]
    if failure is not None:
        raise failure
    left = _ask_again(ctx, client, unanswered) if unanswered else []
    if left and client.asynchronous:
        return {item.business_key for item in left}
    if left:
        raise RetriableError(f"the platform left {len(left)} item(s) without a usable answer (none, or an "
                             "acceptance without its record id); they stay pending", department=ctx.name)
    return set()


def _as_answered(futures: list[tuple[Batch, Future[Answer]]]) -> Iterator[list[tuple[Batch, Answer]]]:
    """The batches in groups, each group as soon as one of them is answered, with every other batch
    answered by then: their answers are stored together, none later than it would be alone."""
    waiting = {future: batch for batch, future in futures}
    while waiting:
        done, _ = wait(waiting, return_when=FIRST_COMPLETED)
        yield [(waiting.pop(future), future.result()) for future in done]


def _store_answer(ctx: SyncContext, session: Session, batch: Batch, answer: Answer) -> Applied:
    """One batch's answers, with their own receipts entry (and the failure, if the batch failed)."""
    changes = ChangeSet(ctx.scope)
    applied = apply_answers(session, changes, batch.items, answer.receipts, batch_id=batch.batch_id)
    if answer.error is not None:
        _record_failure(ctx, session, changes, batch, answer.error)
    changes.apply(session)
    return applied


def _ask_again(ctx: SyncContext, client: Sink, unanswered: list[tuple[Batch, Sent]]) -> list[Sent]:
    """An item answered without the platform's record id, or not at all: its outcome is unknown, so ask
    the platform back (never correct blind). Returns those still unknown."""
    left: list[Sent] = []
    for category in {batch.category for batch, _ in unanswered}:
        items = [item for batch, item in unanswered if batch.category == category]
        found = client.query(category, [item.idempotency_key for item in items])
        with ctx.store.transaction() as session:
            lock_department(session, ctx.name)
            changes = ChangeSet(ctx.scope)
            left += apply_answers(session, changes, items, found,
                                  batch_id=f"{ctx.run_id}#query-back").unanswered
            changes.apply(session)
    return left


def _record_failure(ctx: SyncContext, session: Session, changes: ChangeSet, batch: Batch,
                    exc: CreditSyncError) -> None:
    record_failure(session, changes, batch.items, batch_id=batch.batch_id, category=batch.category, error=exc)
    run = session.get(SyncRun, ctx.run_id)
    if run is not None:
        run.status = "incomplete"  # the next run (or a retry of this one) continues the delivery
