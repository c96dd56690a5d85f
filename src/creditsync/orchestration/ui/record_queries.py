"""One record's whole story for the 记录 page: found by 文书号, business key, the department's own record
id or the subject's name, then every version, push, receipt, quarantine entry and audit entry of it,
including records revoked before publication that only the audit trail knows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from creditsync.exceptions import ConfigurationError
from creditsync.orchestration.ui.audit_queries import entry_row, key_ends_with
from creditsync.orchestration.ui.clock import iso
from creditsync.privacy import mask_record, mask_text
from creditsync.store import Store
from creditsync.store.models import AuditEntry, OutboxItem, QuarantineItem, Record, RecordVersion
from creditsync.store.text_search import document_no_contains, document_no_forms, text_contains

SEARCH_LIMIT = 200
PAGE_SIZE = 100
COUNT_CAP = 100_000
QUARANTINED = "record_quarantined"
# entries about a row that has no business key yet: found by the department's record id
BY_SOURCE_KEY = (QUARANTINED, "quarantine_resolved", "quarantine_retried", "manual_redrive")


def normalise_query(text: str) -> str:
    """What people paste: surrounding blanks, full-width spaces."""
    return text.replace("\u3000", " ").strip()


def _matching(query: str) -> Any:
    """Exactly by key or source id; by 文书号 in any written variant, or a part of it; by part of the
    subject's name (what was typed taken literally: % and _ are no wildcards)."""
    return or_(Record.business_key == query, Record.source_key == query,
               Record.document_no.in_(document_no_forms(query)),
               document_no_contains(Record.document_no, query),
               text_contains(Record.subject_name, query))


def search(store: Store, text: str, department: str | None = None, category: str | None = None,
           state: str | None = None) -> list[dict[str, Any]]:
    """Stored records matching by key or source id, by 文书号 (any written variant, or a part), or by part
    of the subject's name; then keys only the audit trail knows (quarantined or revoked before they
    were ever stored)."""
    query = normalise_query(text)
    wanted = select(Record).order_by(Record.updated_at.desc()).limit(SEARCH_LIMIT)
    if query:
        wanted = wanted.where(_matching(query))
    for column, value in ((Record.department, department), (Record.category, category),
                          (Record.state, state)):
        if value:
            wanted = wanted.where(column == value)
    with store.reader() as session:
        found = [_record_row(r) for r in session.scalars(wanted)]
        if query and not state:
            found += _only_in_trail(session, query, {r["business_key"] for r in found}, department, category)
    return found


@dataclass
class RecordPage:
    """Stored records matching, newest change first, one page; ``older``/``newer``: where the next and
    previous pages start (``updated_at|business_key``); the total the search matches (up to COUNT_CAP)."""

    rows: list[dict[str, Any]]
    older: str | None
    newer: str | None
    total: int
    total_capped: bool


def search_page(store: Store, text: str, department: str | None = None, category: str | None = None,
                state: str | None = None, after: str | None = None, before: str | None = None,
                size: int = PAGE_SIZE) -> RecordPage:
    """:func:`search` a page at a time, by keyset over (updated_at, business_key) both ways; records only
    the audit trail knows come with the first page."""
    query = normalise_query(text)
    wanted = select(Record)
    if query:
        wanted = wanted.where(_matching(query))
    for column, value in ((Record.department, department), (Record.category, category),
                          (Record.state, state)):
        if value:
            wanted = wanted.where(column == value)
    total_query = select(func.count()).select_from(
        wanted.with_only_columns(Record.business_key).limit(COUNT_CAP + 1).subquery())
    newest_first = before is None
    position = _position(before or after)
    if position is not None:
        moment, key = position
        same = Record.updated_at == moment
        later = or_(Record.updated_at > moment, and_(same, Record.business_key > key))
        earlier = or_(Record.updated_at < moment, and_(same, Record.business_key < key))
        wanted = wanted.where(earlier if newest_first else later)
    order = (Record.updated_at.desc(), Record.business_key.desc()) if newest_first else (
        Record.updated_at.asc(), Record.business_key.asc())
    with store.reader() as session:
        found = list(session.scalars(wanted.order_by(*order).limit(size + 1)))
        counted = int(session.scalar(total_query) or 0)
        more = len(found) > size
        found = found[:size] if newest_first else list(reversed(found[:size]))
        rows = [_record_row(r) for r in found]
        if query and not state and position is None:
            rows += _only_in_trail(session, query, {r["business_key"] for r in rows}, department, category)
    marks = [_mark(r) for r in found]
    if newest_first:
        older, newer = (marks[-1] if more else None), (marks[0] if position is not None and marks else None)
    else:
        older, newer = (marks[-1] if marks else None), (marks[0] if more else None)
    return RecordPage(rows, older, newer, min(counted, COUNT_CAP), counted > COUNT_CAP)


def _mark(record: Record) -> str:
    moment = record.updated_at.replace(tzinfo=UTC) if record.updated_at.tzinfo is None else record.updated_at
    return f"{moment.astimezone(UTC).isoformat()}|{record.business_key}"


def _position(token: str | None) -> tuple[datetime, str] | None:
    if not token:
        return None
    moment, _, key = token.partition("|")
    return datetime.fromisoformat(moment), key  # ValueError: not a position (the page answers 422)


def _record_row(record: Record) -> dict[str, Any]:
    return {"business_key": record.business_key, "department": record.department,
            "category": record.category, "document_no": record.document_no,
            "subject_name": mask_text(record.subject_name), "source_key": record.source_key,
            "state": record.state, "version": record.version, "updated_at": iso(record.updated_at),
            "stored": True}


def _only_in_trail(session: Session, query: str, known: set[str], department: str | None,
                   category: str | None) -> list[dict[str, Any]]:
    """Quarantined rows (by 文书号 or source id in their details) and unpublished revocations (by key)."""
    wanted = select(AuditEntry).where(or_(
        (AuditEntry.event == QUARANTINED) & or_(
            AuditEntry.details["document_no"].as_string().in_(document_no_forms(query)),
                                                AuditEntry.details["source_key"].as_string() == query),
        (AuditEntry.event == "revoked_unpublished") & or_(
            AuditEntry.business_key == query, key_ends_with(query),
            AuditEntry.details["source_key"].as_string() == query)))
    if department:
        wanted = wanted.where(AuditEntry.department == department)
    if category:
        wanted = wanted.where(AuditEntry.category == category)
    rows: dict[str, dict[str, Any]] = {}
    for entry in session.scalars(wanted.order_by(AuditEntry.id.desc()).limit(SEARCH_LIMIT)):
        details = entry.details or {}
        key = entry.business_key or str(details.get("source_key") or "")
        if key and key not in known and key not in rows:
            rows[key] = {"business_key": key, "department": entry.department, "category": entry.category,
                         "document_no": details.get("document_no") or key.rsplit(":", 1)[-1],
                         "subject_name": mask_text(str(details.get("subject_name") or "")),
                         "source_key": details.get("source_key"), "version": None,
                         "state": "quarantined" if entry.event == QUARANTINED else "revoked",
                         "updated_at": iso(entry.ts), "stored": False}
    return list(rows.values())


def timeline(store: Store, key: str) -> dict[str, Any]:
    """Everything about one record, by business key (or, for a record never stored, its source id)."""
    with store.reader() as session:
        record = session.get(Record, key)
        source_keys = {key} | ({record.source_key} if record and record.source_key else set())
        versions = list(session.scalars(select(RecordVersion).where(RecordVersion.business_key == key)
                                        .order_by(RecordVersion.version)))
        pushes = list(session.scalars(select(OutboxItem).where(OutboxItem.business_key == key)
                                      .order_by(OutboxItem.id)))
        # versions and answers are bound per chunk / batch: those entries are part of the story too
        bound = {v.audit_entry_id for v in versions} | {p.receipt_entry_id for p in pushes}
        bound.discard(None)
        quarantine = session.scalars(select(QuarantineItem).where(or_(
            QuarantineItem.business_key == key, QuarantineItem.source_key.in_(source_keys)))
            .order_by(QuarantineItem.id))
        entries = session.scalars(select(AuditEntry).where(or_(
            AuditEntry.business_key == key, AuditEntry.id.in_(bound),
            AuditEntry.event.in_(BY_SOURCE_KEY)
            & AuditEntry.details["source_key"].as_string().in_(source_keys))).order_by(AuditEntry.id))
        titles = _titles(record.category) if record else {}  # versions are only a stored record's
        story: dict[str, Any] = {"key": key, "record": _record_row(record) if record else None,
                 "versions": with_changes([_version(v) for v in versions], titles),
                 "pushes": [_push(p) for p in pushes],
                 "quarantine": [_quarantined(q) for q in quarantine],
                 "entries": [entry_row(e) for e in entries]}
    story["found"] = bool(story["record"] or story["quarantine"] or story["entries"])
    story["document_no"] = story["record"]["document_no"] if story["record"] else next(
        (e["details"]["document_no"] for e in story["entries"] if e["details"].get("document_no")), None)
    return story


def _titles(category: str) -> dict[str, str]:
    """The standard's Chinese names of a category's fields (none for a category the schema lacks)."""
    from creditsync.schema import field_titles

    try:
        return field_titles(category)
    except (ConfigurationError, LookupError, ValueError):
        return {}


def with_changes(versions: list[dict[str, Any]], titles: dict[str, str]) -> list[dict[str, Any]]:
    """Each version's masked fields as rows in the standard's order, each marked when its value differs
    from the previous version's (a field the version dropped shows as emptied)."""
    previous: dict[str, Any] | None = None
    for version in versions:
        payload = version.pop("payload")
        codes = [c for c in titles if c in payload or (previous and c in previous)]
        codes += sorted(set(payload) - set(titles)) + sorted(set(previous or {}) - set(payload) - set(titles))
        version["fields"] = [{"code": c, "title": titles.get(c, c), "value": _shown(payload.get(c)),
                              "changed": previous is not None and previous.get(c) != payload.get(c)}
                             for c in codes]
        version["changed"] = [f["code"] for f in version["fields"] if f["changed"]]
        previous = payload
    return versions


def _shown(value: Any) -> str:
    return "" if value is None else value if isinstance(value, str) else str(value)


def _version(version: RecordVersion) -> dict[str, Any]:
    return {"payload": mask_record(dict(version.payload_masked or {})), "version": version.version,
            "run_id": version.run_id, "source_key": version.source_key,
            "source_hash": version.source_hash, "mapped_hash": version.mapped_hash,
            "mapping_digest": version.mapping_digest, "adapter": version.adapter,
            "created_at": iso(version.created_at)}


def _push(item: OutboxItem) -> dict[str, Any]:
    return {"id": item.id, "action": item.action, "version": item.version, "status": item.status,
            "attempts": item.attempts, "idempotency_key": item.idempotency_key, "run_id": item.run_id,
            "created_at": iso(item.created_at), "acked_at": iso(item.acked_at),
            "platform_id": item.platform_id, "last_error": mask_text(item.last_error or "") or None,
            "platform_errors": [mask_record(e) if isinstance(e, dict) else mask_text(str(e))
                                for e in item.platform_errors or []]}


def _quarantined(item: QuarantineItem) -> dict[str, Any]:
    return {"id": item.id, "department": item.department, "category": item.category, "stage": item.stage,
            "source_key": item.source_key, "run_id": item.run_id,
            "errors": [mask_record(e) for e in item.errors or []],
            "created_at": iso(item.created_at), "resolved_at": iso(item.resolved_at),
            "resolution": item.resolution, "last_seen_at": iso(item.last_seen_at),
            "retried_at": iso(item.retried_at), "retry_outcome": item.retry_outcome}
