"""The platform's credit feeds, pulled incrementally into a versioned copy (docs/platform-protocol.md §8).

``GET /api/v1/lists?since=T&limit=N`` (joint-punishment and watch lists: placed, updated, repaired,
removed) and ``GET /api/v1/grades?since=T&limit=N`` (综合评价 A/B/C/D). Each page is stored in one
transaction: its events as new version rows (never updated), the ``*_current`` pointers moved, a pull row
with the cursor reached and an audit entry binding the page (its version range and content hash). The
next pull starts after the newest cursor stored, so a pull killed half-way re-reads nothing it kept.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from creditsync.audit import AuditTrail
from creditsync.audit.events import AuditEvent
from creditsync.credit.subjects import Subject
from creditsync.delivery import PlatformClient
from creditsync.delivery.errors import PlatformProtocolError
from creditsync.hashing import content_hash
from creditsync.lifecycle import now
from creditsync.store import Store
from creditsync.store.credit_models import (
    CreditFeedPull,
    CreditGradeCurrent,
    CreditGradeVersion,
    CreditListCurrent,
    CreditListVersion,
)

Feed = Literal["lists", "grades"]
PATHS: dict[str, str] = {"lists": "/api/v1/lists", "grades": "/api/v1/grades"}
PAGE = 1000


class ListEvent(BaseModel):
    """One change of a list entry, as the platform sends it."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    entry_id: str = Field(min_length=1, max_length=64)
    event: Literal["placed", "updated", "repaired", "removed"]
    status: Literal["listed", "repaired", "removed"]
    list_type: Literal["dishonest", "watch"]
    subject_id: str = Field(min_length=1, max_length=64)
    subject_name: str = ""
    cause: str = ""
    basis: str = ""
    decision_no: str = ""
    authority: str = ""
    authority_code: str = ""
    start_date: date | None = None
    end_date: date | None = None
    measures: list[str] = Field(default_factory=list)
    reason: str | None = None
    repair_decision_no: str | None = None
    changed_at: datetime


class GradeEvent(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    subject_id: str = Field(min_length=1, max_length=64)
    subject_name: str = ""
    grade: Literal["A", "B", "C", "D"]
    graded_on: date | None = None
    changed_at: datetime


@dataclass
class FeedReport:
    feed: str
    since: str | None
    received: int = 0
    pages: int = 0
    cursor: str | None = None
    versions: list[int] = field(default_factory=list)


class CreditFeedClient(PlatformClient):
    """The platform client (same appKey, retries, timeouts and envelope) plus the two credit feeds."""

    @classmethod
    def like(cls, client: PlatformClient) -> CreditFeedClient:
        feed = cls.__new__(cls)
        feed.__dict__.update(vars(client))
        return feed

    def page(self, feed: Feed, since: str | None, limit: int = PAGE) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"limit": limit}
        if since:
            params["since"] = since
        return self._call("GET", PATHS[feed], params=params)


def last_cursor(session: Session, feed: str) -> str | None:
    return session.scalars(select(CreditFeedPull.cursor).where(
        CreditFeedPull.feed == feed, CreditFeedPull.cursor.is_not(None))
        .order_by(CreditFeedPull.id.desc()).limit(1)).first()


def pull(store: Store, client: CreditFeedClient, feed: Feed, *, audit: AuditTrail | None = None,
         page_size: int = PAGE) -> FeedReport:
    """Store every event the feed has after the last cursor, page by page."""
    audit = audit or AuditTrail()
    with store.reader() as session:
        since = last_cursor(session, feed)
    report = FeedReport(feed, since)
    cursor = since
    while True:
        rows = client.page(feed, cursor, page_size)
        events = _parse(feed, rows)
        if events:
            with store.transaction() as session:
                report.versions += _store_page(session, audit, feed, cursor, events)
            cursor = events[-1].changed_at.isoformat()
            report.received += len(events)
            report.pages += 1
        if len(rows) < page_size:
            break
    report.cursor = cursor
    return report


def pull_all(store: Store, client: CreditFeedClient, audit: AuditTrail | None = None) -> list[FeedReport]:
    return [pull(store, client, "lists", audit=audit), pull(store, client, "grades", audit=audit)]


def _parse(feed: Feed, rows: list[dict[str, Any]]) -> list[Any]:
    model: type[BaseModel] = ListEvent if feed == "lists" else GradeEvent
    try:
        events: list[Any] = [model.model_validate(row) for row in rows]
    except ValidationError as exc:
        raise PlatformProtocolError(f"malformed {feed} event: {exc.error_count()} problem(s): "
                                    f"{exc.errors()[0]['loc']}") from exc
    return sorted(events, key=lambda e: e.changed_at)


def _store_page(session: Session, audit: AuditTrail, feed: Feed, since: str | None,
                events: list[Any]) -> list[int]:
    stamp = now()
    pull_row = CreditFeedPull(feed=feed, since=since, cursor=events[-1].changed_at.isoformat()[:64],
                              received=len(events), pulled_at=stamp, actor=audit.actor)
    session.add(pull_row)
    session.flush()
    store_events: Callable[[Session, list[Any], int, datetime], list[int]] = (
        _store_lists if feed == "lists" else _store_grades)
    versions = store_events(session, events, pull_row.id, stamp)
    pull_row.first_version, pull_row.last_version = versions[0], versions[-1]
    digest = content_hash([e.model_dump(mode="json", exclude={"subject_id"}) for e in events])
    audit.append(session, AuditEvent.CREDIT_FEED_PULLED, category=feed, pull_id=pull_row.id, since=since,
                 cursor=pull_row.cursor, received=len(events), first_version=versions[0],
                 last_version=versions[-1], content_hash=digest)
    return versions


def _store_lists(session: Session, events: list[ListEvent], pull_id: int, stamp: datetime) -> list[int]:
    rows = []
    for event in events:
        subject = Subject.of(event.subject_id)
        rows.append({
            "entry_id": event.entry_id, "pull_id": pull_id, "event": event.event, "status": event.status,
            "list_type": event.list_type, "subject_key": subject.key, "subject_masked": subject.shown,
            "subject_name": event.subject_name, "cause": event.cause, "basis": event.basis,
            "decision_no": event.decision_no, "authority": event.authority,
            "authority_code": event.authority_code, "start_date": event.start_date,
            "end_date": event.end_date, "measures": list(event.measures), "reason": event.reason,
            "repair_decision_no": event.repair_decision_no, "changed_at": event.changed_at,
            "known_at": stamp})
    versions = _insert_versions(session, CreditListVersion, rows)
    newest = {row["entry_id"]: {"entry_id": row["entry_id"], "subject_key": row["subject_key"],
                                "version_id": version, "status": row["status"]}
              for row, version in zip(rows, versions, strict=True)}  # events are in order: the last wins
    _point(session, CreditListCurrent.__table__, "entry_id", list(newest.values()))
    return versions


def _store_grades(session: Session, events: list[GradeEvent], pull_id: int, stamp: datetime) -> list[int]:
    rows = []
    for event in events:
        subject = Subject.of(event.subject_id)
        rows.append({"subject_key": subject.key, "subject_masked": subject.shown,
                     "subject_name": event.subject_name, "grade": event.grade, "graded_on": event.graded_on,
                     "pull_id": pull_id, "changed_at": event.changed_at, "known_at": stamp})
    versions = _insert_versions(session, CreditGradeVersion, rows)
    newest = {row["subject_key"]: {"subject_key": row["subject_key"], "version_id": version,
                                   "grade": row["grade"]}
              for row, version in zip(rows, versions, strict=True)}
    _point(session, CreditGradeCurrent.__table__, "subject_key", list(newest.values()))
    return versions


def _insert_versions(session: Session, model: Any, rows: list[dict[str, Any]]) -> list[int]:
    """One multi-row INSERT for a page's versions, their ids in the order of the rows."""
    statement = insert(model).returning(model.id, sort_by_parameter_order=True)
    return list(session.scalars(statement, rows).all())


def _point(session: Session, table: Any, key: str, rows: list[dict[str, Any]]) -> None:
    """Move the ``*_current`` pointers of a page: one UPDATE (executemany) for the keys known, one INSERT
    for the new ones."""
    known: set[str] = set()
    keys = [row[key] for row in rows]
    for start in range(0, len(keys), 900):
        known.update(session.scalars(select(table.c[key]).where(table.c[key].in_(keys[start:start + 900]))))
    moved = [row for row in rows if row[key] in known]
    if moved:
        values: dict[str, Any] = {name: bindparam(f"new_{name}") for name in rows[0] if name != key}
        session.execute(update(table).where(table.c[key] == bindparam(f"new_{key}")).values(**values),
                        [{f"new_{name}": value for name, value in row.items()} for row in moved])
    added = [row for row in rows if row[key] not in known]
    if added:
        session.execute(insert(table), added)
