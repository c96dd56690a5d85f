"""The scorecard's queries: set-based SQLAlchemy Core over the store, on SQLite and PostgreSQL.

One row per record decided in the period carries every fact the scorecard counts (:func:`facts`,
which the alerts read); the figures are sums of those facts by department and day (:func:`daily`,
one pass), so the database does the counting and nothing loads records into Python. Working days
come from the calendar table (quality.calendar).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import (
    String,
    Text,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
    true,
)
from sqlalchemy.engine import Connection

from creditsync.quality.calendar import WorkingCalendar, local_day, local_midnight_utc
from creditsync.quality.period import Period
from creditsync.store.models import OutboxItem, QuarantineItem, Record, RecordVersion
from creditsync.store.states import OutboxAction, OutboxStatus, QuarantineStage, RecordState
from creditsync.working_days import PUBLICATION_LIMIT_WORKING_DAYS, WITHDRAWAL_LIMIT_WORKING_DAYS

R, OUT, Q, V = (model.__table__ for model in (Record, OutboxItem, QuarantineItem, RecordVersion))
# Stages that make a record non-compliant: the department's data was refused (by us or the platform).
# A publication rule holding a record back, or an insider's edit, is not the department's format.
BEFORE_STORE = (QuarantineStage.SOURCE, QuarantineStage.MAPPING, QuarantineStage.VALIDATION)
REFUSED = (*BEFORE_STORE, QuarantineStage.PLATFORM)
# Never acknowledged and still owed to the platform: it counts against timeliness once overdue.
OWED = (RecordState.PENDING, RecordState.REJECTED)
# Optional in the standard, looked for by the 双公示 evaluations (完整率); required fields are enforced.
EXPECTED_FIELDS: dict[str, tuple[str, ...]] = {
    "license": ("XK_XKZS", "XK_XKBH"),  # 许可证书名称, 许可编号
    "penalty": ("CF_GSJZQ",),  # 公示截止期
}
MISSING_REQUIRED = "%must not be empty%"  # the English half of a required field's reason (schema.validation)


@dataclass(frozen=True)
class Scope:
    period: Period
    as_of: date
    department: str | None
    calendar: WorkingCalendar

    @classmethod
    def of(cls, period: Period, as_of: date, department: str | None) -> Scope:
        last = max(period.end, as_of)
        return cls(period, as_of, department, WorkingCalendar.spanning(period.start, last))

    @property
    def cutoff(self) -> Any:
        """Acknowledgements up to the end of ``as_of`` (China) count."""
        return local_midnight_utc(self.as_of + timedelta(days=1))

    @property
    def as_of_ordinal(self) -> int:
        return self.calendar.ordinal(self.as_of)


def _department(column: Any, scope: Scope) -> Any:
    return column == scope.department if scope.department else true()


def first_acks(scope: Scope, keys: Any = None) -> Any:
    """When the platform first acknowledged each record (its first publication), up to ``as_of``;
    only for ``keys`` (a SELECT of business keys) when given."""
    query = (select(OUT.c.business_key, func.min(OUT.c.acked_at).label("first_ack"))
             .where(OUT.c.action == str(OutboxAction.UPSERT), OUT.c.status == str(OutboxStatus.ACKED),
                    OUT.c.acked_at >= local_midnight_utc(scope.period.start), OUT.c.acked_at < scope.cutoff,
                    _department(OUT.c.department, scope)))
    if keys is not None:
        query = query.where(OUT.c.business_key.in_(keys))
    return query.group_by(OUT.c.business_key).subquery("first_acks")


def _refused_keys(scope: Scope) -> tuple[Any, Any]:
    refused = and_(Q.c.stage.in_([str(s) for s in REFUSED]), Q.c.created_at < scope.cutoff,
                   _department(Q.c.department, scope))
    # by business key: the platform's refusals (a row held as a conflicting claim names the number it
    # claims, which is another record's: it counts by its own source id, below)
    by_key = (select(Q.c.business_key).where(refused, Q.c.stage == str(QuarantineStage.PLATFORM),
                                             Q.c.business_key.is_not(None))
              .distinct().subquery("refused_keys"))
    by_source = (select(Q.c.department, Q.c.category, Q.c.source_key)
                 .where(refused, Q.c.source_key.is_not(None))
                 .distinct().subquery("refused_sources"))
    return by_key, by_source


def _complete() -> Any:
    """1 when the current version holds every field the evaluations look for (by category)."""
    whens = []
    for category, codes in EXPECTED_FIELDS.items():
        filled = and_(*[func.coalesce(V.c.payload_masked[code].as_string(), "") != "" for code in codes])
        whens.append((and_(R.c.category == category, filled), 1))
        whens.append((R.c.category == category, 0))
    return case(*whens, else_=1)


def facts(scope: Scope) -> Any:
    """One row per record decided in the period (a replaced 文书号 lives on under its new key), as a
    SELECT; :func:`materialized` writes it once to a temporary table the other queries read."""
    calendar = scope.calendar.table()
    decided, acked = calendar.alias("decided_on"), calendar.alias("acked_on")
    acks = first_acks(scope)
    refused_key, refused_source = _refused_keys(scope)
    adopted = case((R.c.published_at < scope.cutoff, R.c.published_at))  # acknowledged before outbox rows
    ack_at = func.coalesce(acks.c.first_ack, adopted)
    taken = acked.c.ordinal - decided.c.ordinal
    elapsed = literal(scope.as_of_ordinal) - decided.c.ordinal
    limit = PUBLICATION_LIMIT_WORKING_DAYS
    # not acknowledged by then, and owed: still waiting for the platform, or published only later
    owed = and_(acked.c.ordinal.is_(None),
                or_(R.c.state.in_([str(s) for s in OWED]), R.c.published_at >= scope.cutoff))
    refused = or_(refused_key.c.business_key.is_not(None), refused_source.c.source_key.is_not(None))
    return (
        select(R.c.business_key, R.c.department, R.c.category, R.c.document_no, R.c.subject_name,
               R.c.decision_date, R.c.state, decided.c.week, acked.c.day.label("acked_on"),
               taken.label("taken"), elapsed.label("elapsed"),
               case((acked.c.ordinal.is_not(None), 1), (and_(owed, elapsed > limit), 1),
                    else_=0).label("due"),
               case((and_(acked.c.ordinal.is_not(None), taken <= limit), 1), else_=0).label("on_time"),
               case((and_(owed, elapsed <= limit), 1), else_=0).label("waiting"),
               case((refused, 1), else_=0).label("refused"),
               _complete().label("complete"),
               R.c.withdrawn_within_days)
        .select_from(
            R.join(decided, decided.c.day == R.c.decision_date)
            .outerjoin(acks, acks.c.business_key == R.c.business_key)
            .outerjoin(acked, acked.c.day == local_day(ack_at))
            .outerjoin(refused_key, refused_key.c.business_key == R.c.business_key)
            .outerjoin(refused_source, and_(refused_source.c.department == R.c.department,
                                            refused_source.c.category == R.c.category,
                                            refused_source.c.source_key == R.c.source_key))
            .outerjoin(V, and_(V.c.business_key == R.c.business_key, V.c.version == R.c.version)))
        .where(R.c.decision_date >= scope.period.start, R.c.decision_date <= scope.period.end,
               R.c.state != str(RecordState.REPLACED), _department(R.c.department, scope)))


def _acked_day(scope: Scope, acks: Any) -> Any:
    """The day in China the platform first acknowledged the record, up to ``as_of`` (else NULL)."""
    adopted = case((R.c.published_at < scope.cutoff, R.c.published_at))  # acknowledged before outbox rows
    return local_day(func.coalesce(acks.c.first_ack, adopted))


def _owed_flag(scope: Scope) -> Any:
    """1 when, unless acknowledged by ``as_of``, the record is owed: still waiting for the platform, or
    published only later."""
    owed = or_(R.c.state.in_([str(s) for s in OWED]), R.c.published_at >= scope.cutoff)
    return case((owed, 1), else_=0)


def _in_period(scope: Scope) -> Any:
    return and_(R.c.decision_date >= scope.period.start, R.c.decision_date <= scope.period.end,
                R.c.state != str(RecordState.REPLACED), _department(R.c.department, scope))


def daily(conn: Connection, scope: Scope) -> list[dict[str, Any]]:
    """The counts by department and day of decision (with its week), in one pass over the store.

    The records are first summed by what their figures depend on (decision day, day of first
    acknowledgement, owed or not), a few thousand groups; the working-day calendar is joined to those
    groups, not to every record. Same figures as :func:`facts`, summed (tests/quality)."""
    acks = first_acks(scope)
    refused_key, refused_source = _refused_keys(scope)
    refused = or_(refused_key.c.business_key.is_not(None), refused_source.c.source_key.is_not(None))
    withdrawn = R.c.withdrawn_within_days
    groups = (
        select(R.c.department, R.c.decision_date, _acked_day(scope, acks).label("acked_day"),
               _owed_flag(scope).label("owed"), func.count().label("n"),
               func.sum(case((refused, 1), else_=0)).label("refused"),
               func.sum(_complete()).label("complete"), func.count(withdrawn).label("withdrawals"),
               func.sum(case((withdrawn <= WITHDRAWAL_LIMIT_WORKING_DAYS, 1), else_=0))
               .label("withdrawn_on_time"))
        .select_from(
            R.outerjoin(acks, acks.c.business_key == R.c.business_key)
            .outerjoin(refused_key, refused_key.c.business_key == R.c.business_key)
            .outerjoin(refused_source, and_(refused_source.c.department == R.c.department,
                                            refused_source.c.category == R.c.category,
                                            refused_source.c.source_key == R.c.source_key))
            .outerjoin(V, and_(V.c.business_key == R.c.business_key, V.c.version == R.c.version)))
        .where(_in_period(scope))
        .group_by(R.c.department, R.c.decision_date, literal_column("acked_day"), literal_column("owed"))
        .subquery("groups"))
    calendar = scope.calendar.table()
    decided, acked = calendar.alias("decided_on"), calendar.alias("acked_on")
    taken = acked.c.ordinal - decided.c.ordinal
    elapsed = literal(scope.as_of_ordinal) - decided.c.ordinal
    limit, n = PUBLICATION_LIMIT_WORKING_DAYS, groups.c.n
    owed = and_(acked.c.ordinal.is_(None), groups.c.owed == 1)
    query = (
        select(groups.c.department, groups.c.decision_date.label("day"), decided.c.week,
               func.sum(n).label("records"),
               func.sum(case((acked.c.ordinal.is_not(None), n), (and_(owed, elapsed > limit), n),
                             else_=0)).label("due"),
               func.sum(case((and_(acked.c.ordinal.is_not(None), taken <= limit), n),
                             else_=0)).label("on_time"),
               func.sum(case((and_(owed, elapsed <= limit), n), else_=0)).label("waiting"),
               *(func.sum(groups.c[name]).label(name)
                 for name in ("refused", "complete", "withdrawals", "withdrawn_on_time")))
        .select_from(groups.join(decided, decided.c.day == groups.c.decision_date)
                     .outerjoin(acked, acked.c.day == groups.c.acked_day))
        .group_by(groups.c.department, groups.c.decision_date, decided.c.week))
    return [dict(row._mapping) for row in conn.execute(query)]


def overdue(conn: Connection, scope: Scope, until: dict[str, date] | None = None,
            *, limit: int | None = None) -> list[dict[str, Any]]:
    """Records published late, overdue and still missing, or waiting within their deadline, by
    department and decision date; each with the open refusal that holds it back, if any.

    ``until``: only the records each department decided up to its day (the first ``limit`` listed are
    among them, :func:`daily` tells which), so that a short list reads a few days' records, not all."""
    where = _in_period(scope)
    if until is not None:
        if not until:
            return []
        where = and_(where, or_(*(and_(R.c.department == dept, R.c.decision_date <= day)
                                  for dept, day in sorted(until.items()))))
    acks = first_acks(scope, keys=select(R.c.business_key).where(where) if until is not None else None)
    calendar = scope.calendar.table()
    decided, acked = calendar.alias("decided_on"), calendar.alias("acked_on")
    taken = acked.c.ordinal - decided.c.ordinal
    elapsed = literal(scope.as_of_ordinal) - decided.c.ordinal
    owed = and_(acked.c.ordinal.is_(None), _owed_flag(scope) == 1)
    waiting = case((and_(owed, elapsed <= PUBLICATION_LIMIT_WORKING_DAYS), 1), else_=0)
    late = or_(and_(acked.c.ordinal.is_not(None), taken > PUBLICATION_LIMIT_WORKING_DAYS),
               and_(owed, elapsed > PUBLICATION_LIMIT_WORKING_DAYS))
    place = func.row_number().over(partition_by=R.c.department, order_by=(R.c.decision_date, R.c.document_no))
    listed = (
        select(R.c.business_key, R.c.department, R.c.category, R.c.document_no, R.c.subject_name,
               R.c.decision_date, R.c.state, acked.c.day.label("acked_on"), taken.label("taken"),
               elapsed.label("elapsed"), waiting.label("waiting"), place.label("place"))
        .select_from(R.join(decided, decided.c.day == R.c.decision_date)
                     .outerjoin(acks, acks.c.business_key == R.c.business_key)
                     .outerjoin(acked, acked.c.day == _acked_day(scope, acks)))
        .where(where, or_(late, waiting == 1)).subquery("listed"))
    # the newest open refusal of each record (quarantine has no index by business key: one pass, joined)
    newest = (select(func.max(Q.c.id).label("id"))
              .where(Q.c.business_key.is_not(None), Q.c.resolved_at.is_(None),
                     Q.c.stage != str(QuarantineStage.VALIDATION),  # a conflicting claim: another row's
                     _department(Q.c.department, scope))
              .group_by(Q.c.business_key).subquery("newest"))
    open_refusal = (select(Q.c.business_key, Q.c.errors).join(newest, newest.c.id == Q.c.id)
                    .subquery("open_refusal"))
    query = (select(listed.c.business_key, listed.c.department, listed.c.category, listed.c.document_no,
                    listed.c.subject_name, listed.c.decision_date, listed.c.state, listed.c.acked_on,
                    listed.c.taken, listed.c.elapsed, listed.c.waiting, open_refusal.c.errors)
             .select_from(listed.outerjoin(open_refusal,
                                           open_refusal.c.business_key == listed.c.business_key))
             .order_by(listed.c.department, listed.c.place))
    if limit:  # the first ``limit`` of each department
        query = query.where(listed.c.place <= limit)
    return [dict(row._mapping) for row in conn.execute(query)]


def never_stored(conn: Connection, scope: Scope) -> list[dict[str, Any]]:
    """Records refused before the store ever held them, by department and week first seen: they count
    against compliance, and against completeness when a required field was missing."""
    key = func.coalesce(Q.c.source_key, cast(Q.c.id, String))
    missing = case((cast(Q.c.errors, Text).like(MISSING_REQUIRED), 1), else_=0)
    entries = (
        select(Q.c.department, func.min(Q.c.created_at).label("first_seen"),
               func.max(missing).label("missing"))
        .where(~exists().where(R.c.department == Q.c.department, R.c.category == Q.c.category,
                               R.c.source_key == Q.c.source_key),  # ix_records_source_link
               Q.c.stage.in_([str(s) for s in BEFORE_STORE]),
               Q.c.created_at >= local_midnight_utc(scope.period.start),
               Q.c.created_at < local_midnight_utc(scope.period.end + timedelta(days=1)),
               Q.c.created_at < scope.cutoff, _department(Q.c.department, scope))
        .group_by(Q.c.department, Q.c.category, key)).subquery("never_stored")
    day = local_day(entries.c.first_seen)
    query = (select(entries.c.department, day.label("day"), func.count().label("never_stored"),
                    func.sum(entries.c.missing).label("missing_required"))
             .group_by(entries.c.department, day))
    return [{**row._mapping, "week": _monday(row.day)} for row in conn.execute(query)]


def _monday(day: Any) -> date:
    found = day if isinstance(day, date) else date.fromisoformat(str(day)[:10])
    return found - timedelta(days=found.weekday())


def rejection_reasons(conn: Connection, scope: Scope, *, top: int = 10) -> list[dict[str, Any]]:
    """The reasons refused records were given in the period, by department, field and kind, commonest
    first (a record with two problems counts under both)."""
    period_from = local_midnight_utc(scope.period.start)
    period_to = min(local_midnight_utc(scope.period.end + timedelta(days=1)), scope.cutoff)
    stages = ", ".join(f"'{stage}'" for stage in REFUSED)
    department = "AND q.department = :department" if scope.department else ""
    if conn.dialect.name == "postgresql":
        elements = "CROSS JOIN LATERAL json_array_elements(q.errors) AS e(value)"
        field, kind, zh = "e.value ->> 'field'", "e.value ->> 'kind'", "e.value ->> 'zh'"
    else:
        elements = ", json_each(q.errors) AS e"
        field, kind, zh = ("json_extract(e.value, '$.field')", "json_extract(e.value, '$.kind')",
                           "json_extract(e.value, '$.zh')")
    sql = text(f"""
        SELECT department, field, kind, example, count FROM (
          SELECT q.department AS department, {field} AS field, {kind} AS kind, MIN({zh}) AS example,
                 COUNT(*) AS count,
                 ROW_NUMBER() OVER (PARTITION BY q.department ORDER BY COUNT(*) DESC, {field}) AS place
          FROM quarantine q {elements}
          WHERE q.stage IN ({stages}) AND q.created_at >= :period_from AND q.created_at < :period_to
                {department}
          GROUP BY q.department, {field}, {kind}) ranked
        WHERE place <= :top ORDER BY department, count DESC, field""")
    params = {"period_from": _bound(conn, period_from), "period_to": _bound(conn, period_to), "top": top,
              **({"department": scope.department} if scope.department else {})}
    return [dict(row._mapping) for row in conn.execute(sql, params)]


def _bound(conn: Connection, moment: Any) -> Any:
    """A timestamp as the dialect stores it (SQLite: UTC text without a zone, as SQLAlchemy writes it)."""
    if conn.dialect.name == "sqlite":
        return moment.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    return moment
