"""A stream's stored cursor: read at the start of a pull, committed once the platform has answered for
everything the run queued from that stream (never earlier, so nothing read is ever skipped).

Cursors are typed (:class:`creditsync.sources.cursor.Cursor`) and stored as text with their kind
(``cursors.kind``, ``run_streams.cursor_kind``); the cursor row itself is the lifecycle's (sealed:
creditsync.lifecycle.cursors)."""

from __future__ import annotations

import logging

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from creditsync.audit.events import AuditEvent
from creditsync.exceptions import ConfigurationError
from creditsync.lifecycle import ChangeSet
from creditsync.lifecycle import cursors as lifecycle_cursors
from creditsync.pipeline.context import SyncContext
from creditsync.sources.base import SourceAdapter
from creditsync.sources.cursor import Cursor
from creditsync.sources.registry import get_adapter_class, open_source
from creditsync.store.bulk import lock_department
from creditsync.store.models import OutboxItem, RunStream
from creditsync.store.states import OutboxStatus

log = logging.getLogger(__name__)


def read_cursor(ctx: SyncContext, category: str) -> str | None:
    """The stored cursor's text (what people see and type)."""
    with ctx.store.reader() as session:
        return lifecycle_cursors.read_cursor(session, ctx.scope.sealer, ctx.name, category)


def read_stored_cursor(ctx: SyncContext, category: str) -> Cursor | None:
    """The stored cursor as a typed value (its kind as stored; text written by hand, such as a
    re-drive's ``--since-cursor``, is read by the stream's cursor format when the source reads it)."""
    with ctx.store.reader() as session:
        value, kind = lifecycle_cursors.read_stored(session, ctx.scope.sealer, ctx.name, category)
    return stored(value, kind)


def stored(value: str | None, kind: str | None) -> Cursor | None:
    if value is None:
        return None
    try:
        return Cursor.parse(value, kind)
    except ValueError:
        return Cursor.of_text(value)  # as typed by hand: the stream's format reads it (reading._start)


def kind_of(cursor: Cursor | None) -> str | None:
    return None if cursor is None else str(cursor.kind)


def commit_cursors(ctx: SyncContext) -> None:
    """Advance every stream of the run whose items all have an answer, then tell the source."""
    with ctx.store.transaction() as session:
        lock_department(session, ctx.name)  # a concurrent run may be creating the same cursor row
        committed = _commit(ctx, session)
    _tell_source(ctx, committed)


def _commit(ctx: SyncContext, session: Session) -> list[tuple[str, Cursor]]:
    streams = session.scalars(select(RunStream).where(
        RunStream.run_id == ctx.run_id, RunStream.pulled.is_(True), RunStream.cursor_committed.is_(False),
        RunStream.error.is_(None))).all()
    if not streams:
        return []
    waiting = dict(session.execute(
        select(OutboxItem.category, func.count()).where(
            OutboxItem.run_id == ctx.run_id, OutboxItem.status == OutboxStatus.PENDING)
        .group_by(OutboxItem.category)).all())
    committed: list[tuple[str, Cursor]] = []
    changes = ChangeSet(ctx.scope)
    for stream in streams:
        if waiting.get(stream.category):
            continue
        stream.cursor_committed = True
        after = stored(stream.cursor_to, stream.cursor_kind)
        before = stored(stream.cursor_from, stream.cursor_kind)
        if stream.cursor_to is not None and stream.cursor_to != stream.cursor_from:
            lifecycle_cursors.set_cursor(changes, stream.category, stream.cursor_to, kind=stream.cursor_kind,
                                         event=AuditEvent.CURSOR_ADVANCED, cursor_from=stream.cursor_from,
                                         cursor_to=stream.cursor_to)
        if value := after or before:  # unchanged too: the hook must be re-runnable
            committed.append((stream.category, value))
    changes.apply(session)
    return committed


def _tell_source(ctx: SyncContext, committed: list[tuple[str, Cursor]]) -> None:
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
