"""``creditsync sync DEPT --dry-run``: what a sync would do, computed without writing anything.

It reads the source after the stored cursor, maps and validates every record, and compares it with
what the store holds; no run, no staging, no outbox, no cursor and no audit entry is written."""

from __future__ import annotations

from collections import Counter
from typing import Any

from creditsync.departments import DepartmentConfig
from creditsync.pipeline.context import SyncContext, content_hash
from creditsync.pipeline.translate import translator_for
from creditsync.privacy import mask_text
from creditsync.sources.base import RawRecord
from creditsync.sources.registry import open_source
from creditsync.store.models import Cursor, Record

SHOWN_PROBLEMS = 20


def dry_run(ctx: SyncContext, categories: list[str] | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {"dry_run": True, "department": ctx.name, "streams": {}}
    with open_source(ctx.department) as adapter:
        for stream in _streams(ctx.department, categories):
            cursor = _cursor(ctx, stream.category)
            rows = adapter.read(stream.category, stream.options, cursor)
            result["streams"][stream.category] = _preview(ctx, stream.category, rows, cursor)
    return result


def _streams(config: DepartmentConfig, categories: list[str] | None) -> list[Any]:
    return [s for s in config.streams if not categories or s.category in categories]


def _cursor(ctx: SyncContext, category: str) -> str | None:
    with ctx.store.reader() as session:
        row = session.get(Cursor, (ctx.name, category))
        return row.value if row else None


def _preview(ctx: SyncContext, category: str, rows: Any, cursor: str | None) -> dict[str, Any]:
    translator = translator_for(ctx, category)
    outcomes: Counter[str] = Counter()
    problems: list[dict[str, Any]] = []
    with ctx.store.reader() as session:
        for raw in rows:
            outcome, errors = _classify(session, translator, raw)
            outcomes[outcome] += 1
            if errors and len(problems) < SHOWN_PROBLEMS:
                problems.append({"source_key": raw.key, "errors": errors})
    return {"cursor": cursor, "would": dict(outcomes), "problems": problems}


def _classify(session: Any, translator: Any, raw: RawRecord) -> tuple[str, list[dict[str, str]]]:
    if raw.error:
        return "quarantine", [{"field": "(record)", "message": mask_text(raw.error)}]
    translation = translator.translate(raw.data)
    if translation.record is None:
        if translator.is_revoked(raw.data):
            return "skip_revoked", []
        return "quarantine", [{"field": e.field, "message": mask_text(e.message)} for e in translation.errors]
    existing = session.get(Record, translation.record.business_key())
    if translator.is_revoked(raw.data):
        return ("withdraw" if existing is not None and existing.state == "published" else "skip_revoked"), []
    if existing is None:
        return "publish_new", []
    if existing.mapped_hash == content_hash(translation.record.to_payload()):
        return "unchanged", []
    return "publish_correction", []
