"""Step 2: map and validate each staged row; valid rows become versions + outbox items, bad ones go to
quarantine. Each chunk commits together with the deletion of its staged rows, so a retried step
resumes where it stopped and never processes a row twice."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from creditsync.pipeline.context import SyncContext
from creditsync.pipeline.records import RecordOutcome, RecordWriter
from creditsync.pipeline.translate import Translator, translator_for
from creditsync.store.models import RunStream, StagedRecord

THRESHOLD_MIN_RECORDS = 20  # bad_record_threshold judges a run's share only from this many records on


def transform(ctx: SyncContext, *, canonical: bool = False) -> dict[str, Any]:
    """``canonical``: rows already use the standard field codes (handed-over template files)."""
    ctx.ensure_run()
    counts: dict[str, Any] = {}
    for stream in _pending_streams(ctx):
        translator = translator_for(ctx, stream.category, canonical=canonical)
        counts[stream.category] = _transform_stream(ctx, stream.category, translator)
    return counts


def _pending_streams(ctx: SyncContext) -> list[RunStream]:
    with ctx.store.reader() as session:
        query = select(RunStream).where(
            RunStream.run_id == ctx.run_id, RunStream.transformed.is_(False), RunStream.error.is_(None))
        return list(session.scalars(query))


def _transform_stream(ctx: SyncContext, category: str, translator: Translator) -> dict[str, int]:
    writer = RecordWriter(ctx, category, translator)
    while chunk := _next_chunk(ctx, category):
        with ctx.store.transaction() as session:
            for staged in chunk:
                outcome = writer.process(session, staged)
                _tally(session, ctx, category, outcome)
                session.delete(session.merge(staged, load=False))
    return _finish_stream(ctx, category)


def _next_chunk(ctx: SyncContext, category: str) -> list[StagedRecord]:
    with ctx.store.reader() as session:
        query = (select(StagedRecord)
                 .where(StagedRecord.run_id == ctx.run_id, StagedRecord.category == category)
                 .order_by(StagedRecord.id).limit(ctx.department.batch_size))
        return list(session.scalars(query))


def _tally(session: Any, ctx: SyncContext, category: str, outcome: RecordOutcome) -> None:
    stream = session.get(RunStream, (ctx.run_id, category))
    counts = dict(stream.counts or {})
    counts[outcome.value] = counts.get(outcome.value, 0) + 1
    stream.counts = counts


def _finish_stream(ctx: SyncContext, category: str) -> dict[str, int]:
    with ctx.store.transaction() as session:
        stream = session.get(RunStream, (ctx.run_id, category))
        assert stream is not None
        stream.transformed = True
        totals = {k: int(v) for k, v in (stream.counts or {}).items()}
        ctx.audit.append(session, "stream_transformed", department=ctx.name, category=category,
                         run_id=ctx.run_id, counts=totals)
        return totals


def threshold_problem(ctx: SyncContext, category: str, totals: dict[str, int]) -> str | None:
    """A broken export must be loud: the run fails (in the report step, after the valid records were
    pushed) when too large a share of a source is invalid. A share of a handful of records
    says nothing about the export: an hourly run that re-reads one bad record at the cursor (or sees a
    single bad edit) would otherwise fail, and keep failing, since its cursor never moves."""
    seen = sum(v for k, v in totals.items() if k != "staged")
    invalid = totals.get(RecordOutcome.QUARANTINED.value, 0)
    limit = ctx.department.bad_record_threshold
    if seen >= THRESHOLD_MIN_RECORDS and invalid / seen > limit:
        return (f"{invalid} of {seen} {category} records from {ctx.name} are invalid "
                f"({invalid / seen:.0%} > threshold {limit:.0%})")
    return None
