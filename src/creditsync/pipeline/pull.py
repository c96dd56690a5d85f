"""Step 1: pull each stream after its cursor, and map, validate, decide and store it a chunk at a time.

Nothing is staged: raw rows (which may hold ID numbers) never rest in the store. The stream's cursor
moves only once the platform has answered for everything the run queued (the push step), so a run that
dies half-way reads the same records again next time, where the decision finds them unchanged.
"""

from __future__ import annotations

import contextvars
import logging
from collections import Counter
from collections.abc import Generator, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from creditsync.audit.events import AuditEvent
from creditsync.exceptions import FatalError, RetriableError
from creditsync.lifecycle.deliveries import ReadThisRun
from creditsync.lifecycle.source import SourceItem
from creditsync.lifecycle.transitions import Outcome
from creditsync.pipeline.context import SyncContext
from creditsync.pipeline.cursors import kind_of, read_stored_cursor
from creditsync.pipeline.ingest import chunks, ingest_chunk, translate_chunk
from creditsync.pipeline.translate import Translator, translator_for
from creditsync.sources.base import RawRecord
from creditsync.sources.cursor import Cursor, max_cursor
from creditsync.sources.registry import open_source
from creditsync.store.bulk import lock_department
from creditsync.store.models import RunStream
from creditsync.store.statistics import GrowthWatch

log = logging.getLogger(__name__)
READ = "read"  # the count of source records read, beside the outcome counts


def pull(ctx: SyncContext, records: Iterable[RawRecord] | None = None, categories: list[str] | None = None,
         *, canonical: bool = False) -> dict[str, Any]:
    """Every stream (or ``categories``); ``records`` replaces the configured source (a file handed over
    by staff), ``canonical``: its rows already use the standard field codes. A failing stream is
    recorded and the others go on; the report step fails the run for it."""
    ctx.ensure_run()
    counts: dict[str, Any] = {}
    for stream in ctx.department.streams:
        if categories and stream.category not in categories:
            continue
        translator = translator_for(ctx, stream.category, canonical=canonical)
        counts[stream.category] = _pull_stream(ctx, translator, records)
    return counts


def _pull_stream(ctx: SyncContext, translator: Translator,
                 records: Iterable[RawRecord] | None) -> dict[str, Any]:
    category = translator.category
    try:
        cursor = read_stored_cursor(ctx, category)
    except FatalError as exc:  # the cursor row was altered outside the gateway: this stream waits
        _start_stream(ctx, category, None)
        _record_failure(ctx, category, exc)
        return {READ: 0, "error": str(exc)}
    _start_stream(ctx, category, cursor)
    cursor_to: Cursor | None = None
    writer = _Writer(ctx, translator)
    source = None if records is not None else _read_source(ctx, category, cursor)
    rows: Iterable[RawRecord] = source if source is not None else records or ()
    try:
        for chunk in chunks(rows, ctx.department.batch_size):
            writer.write(translate_chunk(translator, chunk), len(chunk))
            cursor_to = max_cursor(cursor_to, chunk)
        totals = writer.close()
    except BaseException as exc:
        totals = writer.close(failed=True)
        if not isinstance(exc, RetriableError | FatalError):
            raise
        log.error("source of %s/%s failed: %s", ctx.name, category, exc)
        _record_failure(ctx, category, exc)
        return {READ: totals[READ], "error": str(exc)}
    finally:
        if source is not None:  # a stream stopped early (a failed write) closes its adapter now, not at GC
            source.close()
    return _finish_stream(ctx, category, totals, cursor, cursor_to)


class _Writer:
    """Decides and stores each translated chunk in its own transaction on a writer thread, one chunk in
    flight: the next chunk is read and translated while the store works on this one. Chunks are written
    in order (a chunk's decisions see the chunks before it); a failed write is raised at the next call."""

    def __init__(self, ctx: SyncContext, translator: Translator) -> None:
        self._ctx, self._translator = ctx, translator
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"store-{ctx.name}")
        self._in_flight: Future[Counter[str]] | None = None
        self._growth = GrowthWatch(ctx.store)
        # a file's rows that took a decision down, in earlier chunks (or tries) of this run
        with ctx.store.reader() as session:
            stream = session.get(RunStream, (ctx.run_id, translator.category))
            self._this_run = ReadThisRun.restored(stream.taken_down if stream is not None else None)
        self.totals: Counter[str] = Counter()

    def write(self, items: list[SourceItem], read: int) -> None:
        self._settle()
        # in a copy of this thread's context: what the caller set (a guard, a log context) holds there too
        self._in_flight = self._pool.submit(contextvars.copy_context().run, _ingest, self._ctx,
                                            self._translator, items, read, self._growth, self._this_run)

    def close(self, *, failed: bool = False) -> Counter[str]:
        """Wait for the chunk in flight. After a source failure, a write failing too is only logged:
        the source's error is the one the stream reports (the store rolled that chunk back)."""
        try:
            self._settle()
        except Exception:
            if not failed:
                raise
            log.exception("storing the last chunk of %s/%s failed too", self._ctx.name,
                          self._translator.category)
        finally:
            self._pool.shutdown(wait=True)
        return self.totals

    def _settle(self) -> None:
        future, self._in_flight = self._in_flight, None
        if future is not None:
            self.totals.update(future.result())


def _ingest(ctx: SyncContext, translator: Translator, items: list[SourceItem], read: int,
            growth: GrowthWatch, this_run: ReadThisRun) -> Counter[str]:
    """Decide and write one translated chunk in one transaction."""
    with ctx.store.transaction() as session:
        lock_department(session, ctx.name)
        known = len(this_run.taken_down)
        outcomes = ingest_chunk(session, ctx.scope, translator, items, this_run)
        outcomes[READ] = read
        stream = session.get(RunStream, (ctx.run_id, translator.category))
        assert stream is not None
        stream.counts = dict(Counter(stream.counts or {}) + outcomes)
        if len(this_run.taken_down) != known:  # stored with the chunk: a retried pull knows it
            stream.taken_down = this_run.rows()
    growth.added(outcomes[Outcome.NEW] + outcomes[Outcome.CHANGED])  # a version and an item each
    return outcomes


def _read_source(ctx: SyncContext, category: str, cursor: Cursor | None) -> Generator[RawRecord, None, None]:
    """The framework around the source (creditsync.sources.reading) enforces the source contract and
    the department's limits (``source.limits``): deadlines, sizes, order, malformed items."""
    stream = ctx.department.stream(category)
    with open_source(ctx.department) as adapter:  # closed: SQL and file sources hold connections, files
        yield from adapter.read(category, stream.options, cursor)


def _start_stream(ctx: SyncContext, category: str, cursor: Cursor | None) -> None:
    """A retried pull reads again from the stored cursor; the counts of earlier tries are kept."""
    text = None if cursor is None else str(cursor)
    with ctx.store.transaction() as session:
        stream = session.get(RunStream, (ctx.run_id, category))
        if stream is None:
            session.add(RunStream(run_id=ctx.run_id, category=category, cursor_from=text,
                                  cursor_kind=kind_of(cursor), counts={}))
        else:
            stream.cursor_from, stream.cursor_to, stream.error = text, None, None
            stream.cursor_kind = kind_of(cursor)
            stream.pulled = stream.cursor_committed = False


def _finish_stream(ctx: SyncContext, category: str, totals: Counter[str], cursor: Cursor | None,
                   cursor_to: Cursor | None) -> dict[str, Any]:
    final = cursor_to or cursor
    text, start = (None if final is None else str(final)), (None if cursor is None else str(cursor))
    with ctx.store.transaction() as session:
        stream = session.get(RunStream, (ctx.run_id, category))
        assert stream is not None
        stream.cursor_to, stream.pulled = text, True
        stream.cursor_kind = kind_of(final)
        ctx.audit.append(session, AuditEvent.SOURCE_READ, department=ctx.name, category=category,
                         run_id=ctx.run_id, counts=dict(totals), cursor_from=start, cursor_to=text)
    return {READ: 0, **totals, "cursor_from": start, "cursor_to": text}


def _record_failure(ctx: SyncContext, category: str, exc: Exception) -> None:
    with ctx.store.transaction() as session:
        stream = session.get(RunStream, (ctx.run_id, category))
        assert stream is not None
        stream.error = str(exc)[:2000]
        ctx.audit.append(session, AuditEvent.SOURCE_FAILED, department=ctx.name, category=category,
                         run_id=ctx.run_id, error=str(exc)[:2000], kind=type(exc).__name__)
