"""Step 1: pull each stream after its cursor and stage the raw rows, in chunks, never all at once."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

from sqlalchemy import delete

from creditsync.exceptions import ConfigurationError, FatalError, RetriableError
from creditsync.pipeline.context import SyncContext, content_hash
from creditsync.sources.base import RawRecord
from creditsync.sources.cursor import compare_cursors
from creditsync.sources.registry import open_source
from creditsync.store.models import Cursor, RunStream, StagedRecord

log = logging.getLogger(__name__)


def extract(ctx: SyncContext, records: Iterable[RawRecord] | None = None,
            categories: list[str] | None = None) -> dict[str, Any]:
    """Stage every stream; ``records`` replaces the configured source (files handed over by staff).

    A failing stream is recorded and the others go on; the report step fails the run for it."""
    ctx.ensure_run()
    counts: dict[str, Any] = {}
    for stream in ctx.department.streams:
        if categories and stream.category not in categories:
            continue
        counts[stream.category] = _extract_stream(ctx, stream.category, records)
    return counts


def _extract_stream(ctx: SyncContext, category: str, records: Iterable[RawRecord] | None) -> dict[str, Any]:
    cursor = _current_cursor(ctx, category)
    _reset_stream(ctx, category, cursor)
    try:
        rows = records if records is not None else _read_source(ctx, category, cursor)
        staged, cursor_to = _stage(ctx, category, rows)
    except (RetriableError, FatalError) as exc:
        log.error("source of %s/%s failed: %s", ctx.name, category, exc)
        _record_failure(ctx, category, exc)
        return {"staged": 0, "error": str(exc)}
    with ctx.store.transaction() as session:
        stream = session.get(RunStream, (ctx.run_id, category))
        assert stream is not None
        stream.cursor_to = cursor_to or cursor
        stream.counts = {"staged": staged}
        ctx.audit.append(session, "source_read", department=ctx.name, category=category,
                         run_id=ctx.run_id, staged=staged, cursor_from=cursor, cursor_to=stream.cursor_to)
    return {"staged": staged, "cursor_from": cursor, "cursor_to": cursor_to or cursor}


def _read_source(ctx: SyncContext, category: str, cursor: str | None) -> Iterator[RawRecord]:
    stream = ctx.department.stream(category)
    with open_source(ctx.department) as adapter:  # closed: SQL and file sources hold connections, files
        yield from adapter.read(category, stream.options, cursor)


def _current_cursor(ctx: SyncContext, category: str) -> str | None:
    with ctx.store.reader() as session:
        row = session.get(Cursor, (ctx.name, category))
        return row.value if row else None


def _reset_stream(ctx: SyncContext, category: str, cursor: str | None) -> None:
    """A retried extract starts its staging over: nothing is staged twice."""
    with ctx.store.transaction() as session:
        session.execute(delete(StagedRecord).where(
            StagedRecord.run_id == ctx.run_id, StagedRecord.category == category))
        stream = session.get(RunStream, (ctx.run_id, category))
        if stream is None:
            session.add(RunStream(run_id=ctx.run_id, category=category, cursor_from=cursor, counts={}))
        else:
            stream.cursor_from, stream.cursor_to, stream.error = cursor, None, None
            stream.transformed = stream.cursor_committed = False


def _stage(ctx: SyncContext, category: str, rows: Iterable[RawRecord]) -> tuple[int, str | None]:
    staged, cursor_to = 0, None
    iterator = iter(rows)
    while chunk := list(islice(iterator, ctx.department.batch_size)):
        with ctx.store.transaction() as session:
            session.add_all(_staged_row(ctx, category, raw) for raw in chunk)
        staged += len(chunk)
        cursor_to = _max_cursor(cursor_to, chunk)
    return staged, cursor_to


def _staged_row(ctx: SyncContext, category: str, raw: RawRecord) -> StagedRecord:
    return StagedRecord(
        run_id=ctx.run_id, department=ctx.name, category=category, source_key=str(raw.key)[:200],
        cursor=raw.cursor, source_hash=content_hash(raw.data), payload=raw.data,
        error=getattr(raw, "error", None),
    )


def _max_cursor(current: str | None, chunk: list[RawRecord]) -> str | None:
    """The highest cursor seen: the maximum, not the last, because whole-document sources (the XML
    feed) yield in the document's order; for ascending sources the two are the same."""
    for raw in chunk:
        if raw.cursor is not None and (current is None or compare_cursors(raw.cursor, current) > 0):
            current = raw.cursor
    return current


def _record_failure(ctx: SyncContext, category: str, exc: Exception) -> None:
    if isinstance(exc, ConfigurationError):
        raise exc
    with ctx.store.transaction() as session:
        session.execute(delete(StagedRecord).where(
            StagedRecord.run_id == ctx.run_id, StagedRecord.category == category))
        stream = session.get(RunStream, (ctx.run_id, category))
        assert stream is not None
        stream.error = str(exc)[:2000]
        ctx.audit.append(session, "source_failed", department=ctx.name, category=category,
                         run_id=ctx.run_id, error=str(exc)[:2000], kind=type(exc).__name__)
