"""``creditsync sync DEPT --dry-run``: what a sync would do, computed without writing anything.

It reads the source after the stored cursor, maps, validates and decides every record with the sync's
own decision function (:func:`creditsync.pipeline.decide.decide`), against what the store holds; no
run, no outbox, no cursor and no audit entry is written."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from creditsync.pipeline.context import SyncContext
from creditsync.pipeline.cursors import read_cursor
from creditsync.pipeline.decide import Outcome
from creditsync.pipeline.ingest import (
    SourceRow,
    chunks,
    decide_chunk,
    held_conflicts,
    known_records,
    translate_chunk,
)
from creditsync.pipeline.translate import Translator, translator_for
from creditsync.privacy import mask_text
from creditsync.sources.base import RawRecord
from creditsync.sources.registry import open_source

SHOWN_PROBLEMS = 20
PREVIEW_RUN = "dry-run"  # never a real run id: no stored record counts as written by this run
WOULD = {
    Outcome.NEW: "publish_new", Outcome.CHANGED: "publish_correction", Outcome.UNCHANGED: "unchanged",
    Outcome.STILL_REJECTED: "still_rejected", Outcome.QUARANTINED: "quarantine",
    Outcome.BLOCKED: "blocked_repaired", Outcome.REVOKED: "skip_revoked",
    Outcome.WITHDRAWAL_QUEUED: "withdraw", Outcome.PROTECTED: "hold_back",
}


def dry_run(ctx: SyncContext, categories: list[str] | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {"dry_run": True, "department": ctx.name, "streams": {}}
    with open_source(ctx.department) as adapter:
        for stream in ctx.department.streams:
            if categories and stream.category not in categories:
                continue
            cursor = read_cursor(ctx, stream.category)
            rows = adapter.read(stream.category, stream.options, cursor)
            translator = translator_for(ctx, stream.category)
            result["streams"][stream.category] = _preview(ctx, translator, rows, cursor)
    return result


def _preview(ctx: SyncContext, translator: Translator, rows: Iterable[RawRecord],
             cursor: str | None) -> dict[str, Any]:
    would: Counter[str] = Counter()
    problems: list[dict[str, Any]] = []
    for chunk in chunks(rows, ctx.department.batch_size):
        decided = translate_chunk(translator, chunk)
        with ctx.store.reader() as session:
            known = known_records(session, {key for row in decided if (key := row.key)})
            held = held_conflicts(session, ctx.name, translator.category, decided)
        decide_chunk(decided, known, PREVIEW_RUN, held)
        for row in decided:
            assert row.decision is not None
            would[WOULD[row.decision.outcome]] += 1
            if row.decision.outcome is Outcome.QUARANTINED and len(problems) < SHOWN_PROBLEMS:
                problems.append({"source_key": row.raw.key, "errors": _errors(row)})
    return {"cursor": cursor, "would": dict(would), "problems": problems}


def _errors(row: SourceRow) -> list[dict[str, str]]:
    if row.translation is None:
        return [{"field": "(record)", "message": mask_text(str(row.raw.error))}]
    errors = [row.conflict] if row.conflict else row.translation.errors
    return [{"field": e.field, "message": mask_text(e.message)} for e in errors]
