"""信用核查: before a decision, is the subject listed, which measures apply to this matter, what grade?

One read of the subject's current entries and grade (indexed by the subject's keyed hash), one row in
``credit_checks`` and one audit entry, in one transaction: every answer given is recorded with the list
versions it was based on, so the decision can be verified later (:func:`replay`: what the gateway knew
at that moment, from the versions kept).
"""

from __future__ import annotations

import functools
import secrets
import threading
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
from sqlalchemy import (
    Connection,
    CursorResult,
    Engine,
    String,
    bindparam,
    create_engine,
    event,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from creditsync.audit import AuditTrail
from creditsync.audit.events import AuditEvent
from creditsync.audit.trail import EntryDraft
from creditsync.credit.measures import Catalogue, Matter
from creditsync.credit.subjects import Subject
from creditsync.lifecycle import now
from creditsync.schema.values import shanghai_today
from creditsync.store import Store
from creditsync.store.credit_models import (
    CreditCheck,
    CreditFeedPull,
    CreditGradeCurrent,
    CreditGradeVersion,
    CreditListCurrent,
    CreditListVersion,
)
from creditsync.store.db import JSON_CODEC

_SHANGHAI = ZoneInfo("Asia/Shanghai")  # list periods are local calendar days
LIST_NAMES = {"dishonest": "失信联合惩戒对象名单", "watch": "重点关注名单"}
_ENTRY_COLUMNS = (CreditListVersion.id, CreditListVersion.entry_id, CreditListVersion.status,
                  CreditListVersion.list_type, CreditListVersion.subject_name, CreditListVersion.cause,
                  CreditListVersion.decision_no, CreditListVersion.authority, CreditListVersion.start_date,
                  CreditListVersion.end_date, CreditListVersion.measures)


@dataclass(frozen=True)
class CheckRequest:
    subject: str  # USCC or ID number (never logged or stored in full)
    matter: str
    department: str | None = None


def check(store: Store, catalogue: Catalogue, request: CheckRequest, audit: AuditTrail, *,
          bind: bool = True) -> dict[str, Any]:
    """Answer and record one check; the answer carries its ``check_id``.

    The check row commits with the answer (one read, one insert). Its audit entry is appended by
    :func:`bind_checks`, here at once (``bind``) or, in the api-server, by a binder a moment later in
    batches: one lock of the audit chain's head per batch, not per request, which is what lets checks
    run in parallel inside an approval form."""
    subject = Subject.of(request.subject)
    matter = catalogue.matter(request.matter)
    check_id = secrets.token_hex(16)
    # Two round trips: one read, one INSERT committing on its own (no BEGIN, no separate COMMIT). The row
    # is durable before the answer leaves; a read outside a transaction sees one consistent snapshot.
    with _autocommit(store) as connection:
        stamp = now()
        rows = _read_subject(connection, subject.key)
        entries = [row for row in rows if row.id is not None]
        grade = _Grade(rows[0].grade_id, rows[0].grade, rows[0].graded_on) if rows[0].grade_id else None
        result = answer(catalogue, matter, subject, entries, grade, shanghai_today())
        result["feed_position"] = {"lists_pull": rows[0].lists_pull, "grades_pull": rows[0].grades_pull}
        _record(connection, {
            "id": check_id, "checked_at": stamp, "actor": audit.actor, "department": request.department,
            "matter": matter.code, "subject_key": subject.key, "subject_masked": subject.shown,
            "listed": result["listed"], "grade": grade.grade if grade else None, "result": result})
    entry_id = bind_checks(store, audit).get(check_id) if bind else None
    return {"check_id": check_id, "checked_at": stamp.isoformat(), "audit_entry_id": entry_id, **result}


@contextmanager
def _autocommit(store: Store) -> Iterator[Connection]:
    if store.engine.dialect.name != "postgresql":  # SQLite: its writers queue on BEGIN IMMEDIATE
        with store.engine.begin() as connection:
            yield connection
        return
    with _check_engine(store.engine).connect() as connection:
        yield connection


_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def _check_engine(engine: Engine) -> Engine:
    """The store's database without a transaction per statement and without a ping per checkout: on
    the store's own engine each check would cost a ping and two isolation-level switches, three more
    round trips. A connection that died is replaced after one failed check (pool_recycle bounds it).
    No overflow: in a burst, a check waits for one of the pool's connections rather than opening one
    that is closed again on its return (a new PostgreSQL backend each time, on the same cores)."""
    url = engine.url.render_as_string(hide_password=False)
    with _engines_lock:
        if url not in _engines:
            _engines[url] = create_engine(url, isolation_level="AUTOCOMMIT", pool_recycle=300,
                                          pool_size=10, max_overflow=0, **JSON_CODEC)
            event.listen(_engines[url], "connect", _prepare)
        return _engines[url]


# On PostgreSQL the two statements are prepared once per connection: planning the read (two joins and
# two subqueries) cost the server more than running it, on the cores the api-server shares with it.
_READ_PREPARED, _INSERT_PREPARED = "creditsync_check_read", "creditsync_check_insert"
_RECORDED = ("id", "checked_at", "actor", "department", "matter", "subject_key", "subject_masked", "listed",
             "grade", "result")


@dataclass(frozen=True)
class _Prepared:
    name: str
    sql: str  # PREPARE name AS … ($1, $2, … in the order of ``order``)
    order: tuple[str, ...]
    fixed: dict[str, Any]  # values the statement binds itself (the feeds' names)

    def execute(self, connection: Connection, values: dict[str, Any]) -> CursorResult[Any]:
        arguments = tuple(values[name] if name in values else self.fixed[name] for name in self.order)
        placeholders = ", ".join(["%s"] * len(arguments))
        return connection.exec_driver_sql(f"EXECUTE {self.name}({placeholders})", arguments)


@functools.cache
def _prepared() -> tuple[_Prepared, _Prepared]:
    from sqlalchemy.dialects.postgresql.psycopg2 import PGDialect_psycopg2  # only where PostgreSQL is

    dialect = PGDialect_psycopg2(paramstyle="numeric_dollar")
    read, insert_ = _READ.compile(dialect=dialect), _INSERT.compile(dialect=dialect, column_keys=_RECORDED)
    return (_Prepared(_READ_PREPARED, f"PREPARE {_READ_PREPARED} AS {read}", tuple(read.positiontup or ()),
                      {k: v for k, v in read.params.items() if v is not None}),
            _Prepared(_INSERT_PREPARED, f"PREPARE {_INSERT_PREPARED} AS {insert_}",
                      tuple(insert_.positiontup or ()), {}))


def _prepare(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        for statement in _prepared():
            cursor.execute(statement.sql)
    finally:
        cursor.close()
    if not dbapi_connection.autocommit:
        dbapi_connection.commit()


def _read_subject(connection: Connection, key: str) -> list[Any]:
    if connection.dialect.name == "postgresql":
        return list(_prepared()[0].execute(connection, {"k": key}).all())
    return list(connection.execute(_READ, {"k": key}).all())


def _record(connection: Connection, values: dict[str, Any]) -> None:
    if connection.dialect.name == "postgresql":  # the result's JSON as text: the statement casts it
        result = msgspec.json.encode(values["result"]).decode()
        _prepared()[1].execute(connection, {**values, "result": result})
    else:
        connection.execute(_INSERT, values)


@dataclass(frozen=True)
class _Grade:
    id: int
    grade: str
    graded_on: date | None


def _read() -> Any:
    """Entries in force or not, the grade and the feeds' positions: one statement, at least one row."""
    asked = select(bindparam("k", type_=String).label("k")).subquery()
    pulls = {feed: select(func.max(CreditFeedPull.id)).where(CreditFeedPull.feed == feed).scalar_subquery()
             for feed in ("lists", "grades")}
    return (select(*_ENTRY_COLUMNS, CreditGradeCurrent.version_id.label("grade_id"),
                   CreditGradeCurrent.grade, CreditGradeVersion.graded_on,
                   pulls["lists"].label("lists_pull"), pulls["grades"].label("grades_pull"))
            .select_from(asked)
            .outerjoin(CreditGradeCurrent, CreditGradeCurrent.subject_key == asked.c.k)
            .outerjoin(CreditGradeVersion, CreditGradeVersion.id == CreditGradeCurrent.version_id)
            .outerjoin(CreditListCurrent, CreditListCurrent.subject_key == asked.c.k)
            .outerjoin(CreditListVersion, CreditListVersion.id == CreditListCurrent.version_id))


_READ = _read()  # built once: a check only binds the subject's key
_INSERT = insert(CreditCheck)


def bind_checks(store: Store, audit: AuditTrail, limit: int = 500,
                ids: Collection[str] | None = None) -> dict[str, int]:
    """Append the audit entries of checks not in the trail yet (oldest first, under each check's own
    actor): check id → entry id. Safe to run from several processes at once.

    ``ids``: only those checks, found by their key (the api-server's binder knows the checks it
    answered). Without, every check not bound yet, found by a scan of the unbound ones: on PostgreSQL
    that scan also walks the index entries of rows bound since the last vacuum (each check's row is
    updated once), a cost that grows with the rate of checks."""
    bound: dict[str, int] = {}
    columns = [CreditCheck.__table__.c[name] for name in _BOUND_COLUMNS]
    chunks: Iterator[list[str] | None] = (
        iter([None]) if ids is None else (sorted(ids)[i:i + limit] for i in range(0, len(ids), limit)))
    for chunk in chunks:
        while True:
            with store.transaction() as session:
                query = (select(*columns).where(CreditCheck.audit_entry_id.is_(None))
                         .order_by(CreditCheck.checked_at, CreditCheck.id).limit(limit))
                if chunk is not None:
                    query = query.where(CreditCheck.id.in_(chunk))
                postgresql = session.get_bind().dialect.name == "postgresql"
                if postgresql:
                    query = query.with_for_update(skip_locked=True)
                checks = session.execute(query).all()
                if checks:
                    rows = audit.append_many(session, [_draft(c) for c in checks])
                    found = {c.id: row["id"] for c, row in zip(checks, rows, strict=True)}
                    _set_entries(session, found, postgresql)
                    bound.update(found)
            if chunk is not None or len(checks) < limit:
                break
    return bound


def _set_entries(session: Session, found: dict[str, int], postgresql: bool) -> None:
    if postgresql:  # one statement, not one UPDATE (parsed and planned) per check
        session.execute(_SET_ENTRIES, {"ids": list(found), "entries": list(found.values())})
        return
    table = CreditCheck.__table__
    session.execute(update(table).where(table.c.id == bindparam("check")).values(  # type: ignore[arg-type]
        audit_entry_id=bindparam("entry")), [{"check": c, "entry": e} for c, e in found.items()])


_SET_ENTRIES = text("UPDATE credit_checks SET audit_entry_id = given.entry FROM unnest(CAST(:ids AS text[]), "
                    "CAST(:entries AS integer[])) AS given(id, entry) WHERE credit_checks.id = given.id")
_BOUND_COLUMNS = ("id", "checked_at", "actor", "department", "matter", "subject_masked", "listed", "grade",
                  "result")


def _draft(found: Any) -> EntryDraft:
    result = found.result or {}
    return EntryDraft(AuditEvent.CREDIT_CHECKED, department=found.department, actor=found.actor, details={
        "check_id": found.id, "checked_at": found.checked_at.isoformat(), "matter": found.matter,
        "subject": found.subject_masked, "listed": found.listed,
        "measures": [m["code"] for m in result.get("measures", [])], "grade": found.grade,
        "list_versions": result.get("list_versions", []), "feed_position": result.get("feed_position")})


def answer(catalogue: Catalogue, matter: Matter, subject: Subject, entries: list[Any], grade: Any,
           today: date) -> dict[str, Any]:
    """The answer from the entries and grade known (current ones, or those of a past moment)."""
    in_force = [e for e in entries if e.status == "listed" and _covers(e, today)]
    measures, seen = [], set()
    for entry in in_force:
        for code in entry.measures:
            if code in matter.measures and code not in seen:
                seen.add(code)
                measure = catalogue.measure(code)
                measures.append({"code": code, "name": measure.name, "basis": measure.basis,
                                 "entry_id": entry.entry_id})
    return {
        "subject": subject.shown, "matter": {"code": matter.code, "name": matter.name},
        "listed": bool(in_force),
        "entries": [{"entry_id": e.entry_id, "version": e.id, "list_type": e.list_type,
                     "list_name": LIST_NAMES.get(e.list_type, e.list_type), "cause": e.cause,
                     "authority": e.authority, "decision_no": e.decision_no,
                     "start_date": e.start_date and e.start_date.isoformat(),
                     "end_date": e.end_date and e.end_date.isoformat(), "measures": list(e.measures)}
                    for e in in_force],
        "measures": measures,
        "grade": {"grade": grade.grade, "graded_on": grade.graded_on and grade.graded_on.isoformat(),
                  "version": grade.id} if grade else None,
        "list_versions": sorted(e.id for e in entries),
    }


def replay(store: Store, catalogue: Catalogue, subject: Subject, matter_code: str,
           at: datetime) -> dict[str, Any]:
    """What a check at ``at`` answered: the newest version of each entry and grade known by then."""
    matter = catalogue.matter(matter_code)
    with store.reader() as session:
        rows = session.execute(select(*_ENTRY_COLUMNS).where(
            CreditListVersion.subject_key == subject.key, CreditListVersion.known_at <= at)
            .order_by(CreditListVersion.id)).all()
        grade = session.execute(
            select(CreditGradeVersion.id, CreditGradeVersion.grade, CreditGradeVersion.graded_on)
            .where(CreditGradeVersion.subject_key == subject.key, CreditGradeVersion.known_at <= at)
            .order_by(CreditGradeVersion.id.desc()).limit(1)).first()
    newest = {row.entry_id: row for row in rows}
    day = at.astimezone(_SHANGHAI).date()
    return answer(catalogue, matter, subject, list(newest.values()), grade, day)


def stored_check(store: Store, check_id: str) -> CreditCheck | None:
    with store.reader() as session:
        return session.get(CreditCheck, check_id)


def _covers(entry: Any, day: date) -> bool:
    return (entry.start_date is None or entry.start_date <= day) and (entry.end_date is None
                                                                       or day <= entry.end_date)

