"""The audit trail as the console reads it: filtered pages by keyset over ``(ts, id)`` (newest first,
no OFFSET, so page 500 costs what page 1 does), the whole filtered set in chunks for the exports, and
the hash-chain check. Details are masked again on the way out (they are masked when written; this is
the second lock on the door)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Select, and_, func, or_, select

from creditsync.audit import verify_trail
from creditsync.audit.keys import load_audit_config
from creditsync.orchestration.ui.clock import day_end, day_start, iso, utc
from creditsync.orchestration.ui.labels import EVENTS
from creditsync.privacy import mask_record, mask_text
from creditsync.store import Store
from creditsync.store.models import AuditEntry

PAGE_SIZE = 100
PAGE_SIZES = (10, 20, 50, 100, 200)
COUNT_CAP = 100_000  # beyond this the page says "more than 100000" instead of counting every entry
EXPORT_CHUNK = 1000
# Offered as suggestions in the event filter; any other event name typed in works as well.
KNOWN_EVENTS = tuple(EVENTS)


@dataclass(frozen=True)
class AuditFilter:
    department: str | None = None
    category: str | None = None
    event: str | None = None
    actor: str | None = None
    business_key: str | None = None
    document_no: str | None = None
    since: date | None = None  # local days (the pages' zone), both included
    until: date | None = None

    def as_query(self) -> dict[str, str]:
        """The filters as URL parameters (for the export links and the next page)."""
        return {k: v.isoformat() if isinstance(v, date) else v for k, v in asdict(self).items() if v}


@dataclass(frozen=True)
class Position:
    """Where a page ends: the (ts, id) of its last entry; the next page starts after it."""

    ts: datetime
    id: int

    def token(self) -> str:
        return f"{self.ts.astimezone(UTC).isoformat()}_{self.id}"

    @classmethod
    def parse(cls, token: str) -> Position:
        moment, _, entry_id = token.rpartition("_")
        return cls(datetime.fromisoformat(moment).astimezone(UTC), int(entry_id))


def key_ends_with(document_no: str) -> Any:
    """Entries whose business key (``category:authority USCC:文书号``) names this 文书号."""
    escaped = document_no.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return AuditEntry.business_key.like(f"%:{escaped}", escape="\\")


def _filtered(filters: AuditFilter) -> Select[Any]:
    query = select(AuditEntry)
    exact = ((AuditEntry.department, filters.department), (AuditEntry.category, filters.category),
             (AuditEntry.event, filters.event), (AuditEntry.actor, filters.actor),
             (AuditEntry.business_key, filters.business_key))
    for column, value in exact:
        if value:
            query = query.where(column == value)
    if filters.document_no:
        # a stored record's entries carry it in their business key; a quarantined row's in its details
        query = query.where(or_(key_ends_with(filters.document_no),
                                AuditEntry.details["document_no"].as_string() == filters.document_no))
    if filters.since:
        query = query.where(AuditEntry.ts >= day_start(filters.since))
    if filters.until:
        query = query.where(AuditEntry.ts < day_end(filters.until))
    return query


def audit_page(store: Store, filters: AuditFilter, after: Position | None = None,
               size: int = PAGE_SIZE) -> tuple[list[dict[str, Any]], Position | None]:
    """Entries newest first, up to ``size``, after ``after``; and where the next page starts (None on
    the last page)."""
    query = _filtered(filters)
    if after is not None:
        query = query.where(or_(AuditEntry.ts < after.ts, and_(AuditEntry.ts == after.ts,
                                                                AuditEntry.id < after.id)))
    query = query.order_by(AuditEntry.ts.desc(), AuditEntry.id.desc()).limit(size + 1)
    with store.reader() as session:
        rows = list(session.scalars(query))
    more = len(rows) > size
    rows = rows[:size]
    last = Position(utc(rows[-1].ts), rows[-1].id) if more else None
    return [entry_row(entry) for entry in rows], last


@dataclass
class AuditPage:
    """One page newest first, where the next (older) and previous (newer) pages start, and the total
    of the filtered set (``total_capped``: at least ``total``, counting stopped there)."""

    entries: list[dict[str, Any]]
    older: Position | None
    newer: Position | None
    total: int
    total_capped: bool


def audit_window(store: Store, filters: AuditFilter, after: Position | None = None,
                 before: Position | None = None, size: int = PAGE_SIZE) -> AuditPage:
    """The page after ``after`` (older entries) or before ``before`` (newer ones, for "previous"),
    by keyset over (ts, id) both ways; and the filtered set's total."""
    query = _filtered(filters)
    if before is not None:
        query = query.where(or_(AuditEntry.ts > before.ts, and_(AuditEntry.ts == before.ts,
                                                                 AuditEntry.id > before.id)))
        query = query.order_by(AuditEntry.ts.asc(), AuditEntry.id.asc())
    else:
        if after is not None:
            query = query.where(or_(AuditEntry.ts < after.ts, and_(AuditEntry.ts == after.ts,
                                                                    AuditEntry.id < after.id)))
        query = query.order_by(AuditEntry.ts.desc(), AuditEntry.id.desc())
    with store.reader() as session:
        rows = list(session.scalars(query.limit(size + 1)))
    more = len(rows) > size
    rows = rows[:size] if before is None else list(reversed(rows[:size]))
    if before is None:  # going older: more means an older page; came from a newer page if after
        older, newer = (_at(rows[-1]) if more else None), (_at(rows[0]) if after and rows else None)
    else:  # going newer: the page ``before`` began is older than these; more means a newer page
        older, newer = (_at(rows[-1]) if rows else None), (_at(rows[0]) if more else None)
    total, capped = audit_total(store, filters)
    return AuditPage([entry_row(entry) for entry in rows], older, newer, total, capped)


def _at(entry: AuditEntry) -> Position:
    return Position(utc(entry.ts), entry.id)


def audit_total(store: Store, filters: AuditFilter, cap: int = COUNT_CAP) -> tuple[int, bool]:
    """How many entries the filters match, counting at most ``cap + 1`` rows (bounded cost on a trail
    of millions): ``(cap, True)`` means more than ``cap``."""
    limited = _filtered(filters).with_only_columns(AuditEntry.id).limit(cap + 1).subquery()
    with store.reader() as session:
        counted = int(session.scalar(select(func.count()).select_from(limited)) or 0)
    return (cap, True) if counted > cap else (counted, False)


def export_rows(store: Store, filters: AuditFilter, chunk: int = EXPORT_CHUNK) -> Iterator[dict[str, Any]]:
    """The whole filtered set in chain order, one short read per ``chunk`` entries: memory stays flat
    and no transaction is held open while a slow client downloads."""
    after = 0
    while True:
        query = _filtered(filters).where(AuditEntry.id > after).order_by(AuditEntry.id).limit(chunk)
        with store.reader() as session:
            rows = [entry_row(entry) for entry in session.scalars(query)]
        yield from rows
        if len(rows) < chunk:
            return
        after = rows[-1]["id"]


def entry_row(entry: AuditEntry) -> dict[str, Any]:
    return {"id": entry.id, "ts": iso(entry.ts), "event": entry.event, "actor": mask_text(entry.actor),
            "department": entry.department, "category": entry.category,
            "business_key": mask_text(entry.business_key) if entry.business_key else None,
            "run_id": entry.run_id, "details": mask_record(entry.details or {}), "hash": entry.hash}


def chain_status(store: Store) -> dict[str, Any]:
    """Verify the whole trail now, as ``creditsync audit verify`` does: the keyed chain, its anchors,
    checkpoints and the tables it describes (it streams every entry, hence only on request)."""
    started = time.monotonic()
    with store.reader() as session:
        report = verify_trail(session, load_audit_config())
    result = report.chain
    problem = result.problem or ("; ".join(report.problems[:3]) if report.problems else None)
    # exactly what `creditsync audit verify` says: its headline, every problem, its notes and warnings
    return {"ok": report.ok, "status": report.status, "headline": report.headline(),
            "problems": report.problems, "notes": report.notes, "warnings": report.warnings,
            "checked": result.checked, "problem": problem,
            "entry_id": result.entry_id, "checked_at": iso(datetime.now(UTC)),
            "seconds": round(time.monotonic() - started, 3)}
