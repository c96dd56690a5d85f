"""``creditsync sync DEPT --dry-run``: what a sync would do, computed without writing anything.

It reads the source after the stored cursor, maps, validates and decides every record with the sync's
own transition table (:func:`creditsync.lifecycle.decide_chunk`), against what the store holds; no run,
no outbox, no cursor and no audit entry is written."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from creditsync.lifecycle import Outcome, ReadThisRun, SourceItem, decide_chunk
from creditsync.pipeline.context import SyncContext
from creditsync.pipeline.cursors import read_cursor
from creditsync.pipeline.ingest import chunks, translate_chunk
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
    Outcome.REPLACED: "withdraw_replaced", Outcome.TAMPERED: "refuse_tampered",
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
    this_run = ReadThisRun()
    for chunk in chunks(rows, ctx.department.batch_size):
        items = translate_chunk(translator, chunk)
        with ctx.store.reader() as session:
            decision = decide_chunk(session, ctx.scope.sealer, ctx.name, translator.category, PREVIEW_RUN,
                                    items, this_run)
        for item in decision.items:
            assert item.step is not None
            would[WOULD[item.step.outcome]] += 1
            if item.step.outcome is Outcome.QUARANTINED and len(problems) < SHOWN_PROBLEMS:
                problems.append({"source_key": item.source_key, "errors": _errors(item)})
    return {"cursor": cursor, "would": dict(would), "problems": problems}


def _errors(item: SourceItem) -> list[dict[str, str]]:
    errors = [item.conflict] if item.conflict else item.problems
    return [{"field": e.field, "message": mask_text(e.message)} for e in errors]
