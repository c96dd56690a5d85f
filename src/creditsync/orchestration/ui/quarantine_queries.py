"""The 隔离记录 page: quarantine entries with what IT staff need to find and fix each record, read through
the quarantine package's own describer (文书号 and subject from the record or the department's mapping)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select

from creditsync.orchestration.ui.clock import day_end, day_start, iso
from creditsync.quarantine import Describer, QuarantineFilter, QuarantineView
from creditsync.quarantine.entries import select_items
from creditsync.settings import load_settings
from creditsync.store import Store
from creditsync.store.models import QuarantineItem

LIMIT = 500
PAGE_SIZE = 100
COUNT_CAP = 100_000


@dataclass(frozen=True)
class QuarantineQuery:
    department: str | None = None
    category: str | None = None
    stage: str | None = None
    field: str | None = None  # a standard field code, e.g. CF_XDR_MC
    since: date | None = None  # local days, both included
    until: date | None = None
    include_resolved: bool = False

    def as_query(self) -> dict[str, str]:
        return {k: v.isoformat() if isinstance(v, date) else ("1" if v is True else v)
                for k, v in asdict(self).items() if v}


def _selected(query: QuarantineQuery) -> Any:
    base = QuarantineFilter(query.department, query.category, query.stage, query.include_resolved)
    selected = select_items(base).order_by(None)
    if query.since:
        selected = selected.where(QuarantineItem.created_at >= day_start(query.since))
    if query.until:
        selected = selected.where(QuarantineItem.created_at < day_end(query.until))
    return selected


@dataclass
class QuarantinePage:
    """One page newest first; the id the next (older) and previous (newer) pages start after; the total
    the filters match (before the field filter, which reads each entry's problems; counted up to
    COUNT_CAP)."""

    rows: list[dict[str, Any]]
    older: int | None
    newer: int | None
    total: int
    total_capped: bool


def quarantine_page(store: Store, query: QuarantineQuery, after: int | None = None, before: int | None = None,
                    size: int = PAGE_SIZE) -> QuarantinePage:
    """Keyset pages over the entry id, both ways (``after``: older entries; ``before``: newer ones)."""
    if before is not None:
        selected = _selected(query).where(QuarantineItem.id > before).order_by(QuarantineItem.id.asc())
    else:
        selected = _selected(query).order_by(QuarantineItem.id.desc())
        if after is not None:
            selected = selected.where(QuarantineItem.id < after)
    rows = _described(store, selected, query.field, size + 1)
    more = len(rows) > size
    rows = rows[:size] if before is None else list(reversed(rows[:size]))
    if before is None:
        older = rows[-1]["id"] if more else None
        newer = rows[0]["id"] if after is not None and rows else None
    else:
        older, newer = (rows[-1]["id"] if rows else None), (rows[0]["id"] if more else None)
    limited = _selected(query).with_only_columns(QuarantineItem.id).limit(COUNT_CAP + 1).subquery()
    with store.reader() as session:
        counted = int(session.scalar(select(func.count()).select_from(limited)) or 0)
    return QuarantinePage(rows, older, newer, min(counted, COUNT_CAP), counted > COUNT_CAP)


def quarantine_rows(store: Store, query: QuarantineQuery, limit: int = LIMIT) -> list[dict[str, Any]]:
    """The newest ``limit`` entries matching, one row per entry (its problems listed in it)."""
    return _described(store, _selected(query).order_by(QuarantineItem.id.desc()), query.field, limit)


def _described(store: Store, selected: Any, field: str | None, limit: int) -> list[dict[str, Any]]:
    describer = Describer(load_settings())
    rows: list[dict[str, Any]] = []
    with store.reader() as session:
        for item in session.scalars(selected.execution_options(yield_per=200)):
            view = describer.describe(session, item)
            if field and all(p.field != field for p in view.problems):
                continue
            retry = {"retried_at": iso(item.retried_at), "retry_outcome": item.retry_outcome}
            rows.append(_row(view) | retry)
            if len(rows) >= limit:
                break
        _add_sightings(session, rows)
    return rows


def _row(view: QuarantineView) -> dict[str, Any]:
    row = view.as_dict()
    row["problems"] = [{"field": p.field, "kind": p.kind, "title": p.title, "message_zh": p.message_zh,
                        "message_en": "" if p.message_en == p.message_zh else p.message_en}
                       for p in view.problems]
    return row


def _add_sightings(session: Any, rows: list[dict[str, Any]]) -> None:
    """First and last time the gateway refused the same source record (each run that re-reads an
    unfixed record refreshes its entry)."""
    keys = {(r["department"], r["category"], r["source_key"]) for r in rows if r["source_key"]}
    seen: dict[tuple[str, str, str], tuple[Any, Any]] = {}
    for department in {k[0] for k in keys}:
        source_keys = [k[2] for k in keys if k[0] == department]
        for chunk in (source_keys[i:i + 500] for i in range(0, len(source_keys), 500)):
            for d, c, s, first, last in session.execute(
                    select(QuarantineItem.department, QuarantineItem.category, QuarantineItem.source_key,
                           func.min(QuarantineItem.created_at),
                           func.max(func.coalesce(QuarantineItem.last_seen_at, QuarantineItem.created_at)))
                    .where(QuarantineItem.department == department, QuarantineItem.source_key.in_(chunk))
                    .group_by(QuarantineItem.department, QuarantineItem.category,
                              QuarantineItem.source_key)):
                seen[(d, c, s)] = (first, last)
    for row in rows:
        first, last = seen.get((row["department"], row["category"], row["source_key"]), (None, None))
        row["first_seen"] = iso(first) or row["created_at"]
        row["last_seen"] = iso(last) or row["created_at"]


def quarantine_fields(rows: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """The field codes present, for the filter's choices."""
    return sorted({(p["field"], p["title"]) for r in rows for p in r["problems"]})
