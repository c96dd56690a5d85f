"""Where each department stands for a period: 及时率, 合规率, 完整率, withdrawal timeliness, the top
rejection reasons, the weekly trend and the records behind the figures (docs/quality.md).

:func:`scorecards` asks the database for sums (quality.queries) and only shapes them here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from datetime import date
from functools import lru_cache
from typing import Any

from sqlalchemy.engine import Connection

from creditsync.exceptions import ConfigurationError, FieldError
from creditsync.privacy import mask_text
from creditsync.quality import queries
from creditsync.quality.period import Period
from creditsync.quality.queries import Scope
from creditsync.schema import CATEGORIES
from creditsync.working_days import PUBLICATION_LIMIT_WORKING_DAYS, deadline


@dataclass(frozen=True)
class Targets:
    """The evaluation's thresholds each rate is held against (docs/quality.md)."""

    timeliness: float = 0.95
    compliance: float = 0.95
    completeness: float = 0.90


REPORT_WORK_MEM = "64MB"  # PostgreSQL, for the report's own transaction only
RATE_NAMES = {"timeliness": "及时率", "compliance": "合规率", "completeness": "完整率",
              "withdrawal_timeliness": "撤销及时率"}


def targets_from(text: str | None) -> Targets:
    """``timeliness=0.95,compliance=95%,完整率=90``: by English or Chinese name, as a fraction or a
    percentage; names left out keep their default."""
    if not text:
        return Targets()
    chosen: dict[str, float] = {}
    aliases = {**{name: name for name in RATE_NAMES}, **{zh: name for name, zh in RATE_NAMES.items()}}
    for part in filter(None, (p.strip() for p in text.replace("，", ",").split(","))):
        name, _, value = part.partition("=")
        key = aliases.get(name.strip())
        if key is None or key == "withdrawal_timeliness":
            raise ConfigurationError(f"quality target {name.strip()!r}: use timeliness, compliance or "
                                     "completeness (及时率, 合规率, 完整率)")
        chosen[key] = _fraction(value)
    return Targets(**chosen)


def _fraction(text: str) -> float:
    value = text.strip().rstrip("%")
    try:
        number = float(value)
    except ValueError:
        raise ConfigurationError(f"quality target {text!r} is not a number") from None
    number = number / 100 if number > 1 or text.strip().endswith("%") else number
    if not 0 <= number <= 1:
        raise ConfigurationError(f"quality target {text!r} is not between 0 and 100%")
    return number


@dataclass
class Counts:
    records: int = 0  # decided in the period and stored
    due: int = 0  # acknowledged, or past the 7-working-day deadline
    on_time: int = 0
    waiting: int = 0  # not acknowledged yet, still within the deadline
    refused: int = 0  # stored, but quarantined or rejected by the platform at some point
    never_stored: int = 0  # refused before the store ever held them
    complete: int = 0
    missing_required: int = 0  # never stored for a missing required field
    withdrawals: int = 0
    withdrawn_on_time: int = 0

    def add(self, row: dict[str, Any]) -> None:
        for name in asdict(self):
            self.__dict__[name] += int(row.get(name) or 0)

    @property
    def late(self) -> int:
        return self.due - self.on_time

    @property
    def timeliness(self) -> float | None:
        return _rate(self.on_time, self.due)

    @property
    def compliance(self) -> float | None:
        return _rate(self.records - self.refused, self.records + self.never_stored)

    @property
    def completeness(self) -> float | None:
        return _rate(self.complete, self.records + self.missing_required)

    @property
    def withdrawal_timeliness(self) -> float | None:
        return _rate(self.withdrawn_on_time, self.withdrawals)

    def rates(self) -> dict[str, float | None]:
        return {"timeliness": self.timeliness, "compliance": self.compliance,
                "completeness": self.completeness, "withdrawal_timeliness": self.withdrawal_timeliness}


@dataclass(frozen=True)
class Reason:
    field: str
    field_title: str
    kind: str
    example: str
    count: int


@dataclass(frozen=True)
class LateRecord:
    business_key: str
    category: str
    document_no: str
    subject_name: str
    decision_date: date
    deadline: date
    status: str  # late (published late) | missing (overdue, not published) | waiting (within the deadline)
    acknowledged_on: date | None
    working_days: int  # taken to publication, or elapsed so far
    days_late: int  # working days past the deadline (0 while waiting)
    state: str
    reason: str


@dataclass
class DepartmentScore:
    department: str
    name: str
    totals: Counts = field(default_factory=Counts)
    weeks: dict[date, Counts] = field(default_factory=dict)
    reasons: list[Reason] = field(default_factory=list)
    overdue: list[LateRecord] = field(default_factory=list)

    def below(self, targets: Targets) -> list[str]:
        """The rates under their target (a rate without records is not under anything)."""
        rates = self.totals.rates()
        return [name for name in ("timeliness", "compliance", "completeness")
                if (rate := rates[name]) is not None and rate < getattr(targets, name)]


@dataclass
class Scorecard:
    period: Period
    as_of: date
    targets: Targets
    departments: dict[str, DepartmentScore]

    def as_dict(self) -> dict[str, Any]:
        return {"period": self.period.label, "from": self.period.start.isoformat(),
                "to": self.period.end.isoformat(), "as_of": self.as_of.isoformat(),
                "targets": asdict(self.targets),
                "departments": [_department_dict(score, self.targets) for score in self.departments.values()]}


def scorecards(conn: Connection, period: Period, *, as_of: date, department: str | None = None,
               names: dict[str, str] | None = None, targets: Targets | None = None,
               overdue_limit: int | None = None) -> Scorecard:
    """Every department's scorecard for ``period``, as things stood at the end of ``as_of``."""
    scope = Scope.of(period, as_of, department)
    names = names or {}
    scores: dict[str, DepartmentScore] = {}

    def score(dept: str) -> DepartmentScore:
        if dept not in scores:
            scores[dept] = DepartmentScore(dept, names.get(dept, dept),
                                           weeks={week: Counts() for week in period.weeks()})
        return scores[dept]

    if department:
        score(department)
    if conn.dialect.name == "postgresql":  # the joins of a year's records hash in memory, not in batches
        conn.exec_driver_sql(f"SET LOCAL work_mem = '{REPORT_WORK_MEM}'")
        conn.exec_driver_sql("SET LOCAL jit = off")  # compiling costs more than it saves on these joins
    days = queries.daily(conn, scope)
    late = queries.overdue(conn, scope, _listed_until(days, overdue_limit) if overdue_limit else None,
                           limit=overdue_limit)
    for row in days + queries.never_stored(conn, scope):
        dept = score(row["department"])
        dept.totals.add(row)
        dept.weeks.setdefault(_day(row["week"]), Counts()).add(row)
    for row in queries.rejection_reasons(conn, scope):
        score(row["department"]).reasons.append(_reason(row))
    for row in late:
        score(row["department"]).overdue.append(_late(row))
    ordered = dict(sorted(scores.items()))
    return Scorecard(period, as_of, targets or Targets(), ordered)


def _listed_until(days: list[dict[str, Any]], limit: int) -> dict[str, date]:
    """Each department's decision day by which ``limit`` of its records are listed as late, missing or
    waiting (or its last day with any): the late list need not read records decided after it."""
    listed: dict[str, int] = {}
    until: dict[str, date] = {}
    for row in sorted(days, key=lambda r: (r["department"], _day(r["day"]))):
        dept = row["department"]
        count = int(row["due"] or 0) - int(row["on_time"] or 0) + int(row["waiting"] or 0)
        if count and listed.get(dept, 0) < limit:
            listed[dept] = listed.get(dept, 0) + count
            until[dept] = _day(row["day"])
    return until


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _reason(row: dict[str, Any]) -> Reason:
    category_titles = {f.code: f.title for c in CATEGORIES.values() for f in c.fields}
    code = str(row["field"] or "")
    return Reason(code, category_titles.get(code, code), str(row["kind"] or ""),
                  mask_text(str(row["example"] or "")), int(row["count"]))


@lru_cache(maxsize=4096)
def _deadline(decided: date) -> date:
    return deadline(decided, PUBLICATION_LIMIT_WORKING_DAYS)


def _late(row: dict[str, Any]) -> LateRecord:
    decided = _day(row["decision_date"])
    acked = _day(row["acked_on"]) if row["acked_on"] is not None else None
    if row["waiting"]:
        status, worked = "waiting", int(row["elapsed"])
    elif acked is not None:
        status, worked = "late", int(row["taken"])
    else:
        status, worked = "missing", int(row["elapsed"])
    late_by = 0 if status == "waiting" else worked - PUBLICATION_LIMIT_WORKING_DAYS
    return LateRecord(str(row["business_key"]), str(row["category"]), str(row["document_no"]),
                      str(row["subject_name"]), decided, _deadline(decided), status, acked, worked, late_by,
                      str(row["state"]), _reason_text(row["errors"]))


def _reason_text(errors: Any) -> str:
    if not errors:
        return ""
    return mask_text("；".join(FieldError.from_stored(e).message_zh for e in errors if isinstance(e, dict)))


def _department_dict(score: DepartmentScore, targets: Targets) -> dict[str, Any]:
    totals = score.totals
    return {
        "department": score.department, "name": score.name,
        "counts": {**asdict(totals), "late": totals.late}, "rates": totals.rates(),
        "below_target": score.below(targets),
        "weeks": [{"week": week.isoformat(), "counts": {**asdict(c), "late": c.late}, "rates": c.rates()}
                  for week, c in sorted(score.weeks.items())],
        "reasons": [asdict(r) for r in score.reasons],
        "overdue": [{**_shallow(r), "decision_date": r.decision_date.isoformat(),
                     "deadline": r.deadline.isoformat(),
                     "acknowledged_on": r.acknowledged_on.isoformat() if r.acknowledged_on else None}
                    for r in score.overdue],
    }


def _shallow(row: LateRecord) -> dict[str, Any]:
    """asdict without its deep copies (plain values only): a year's late list has 100,000s of rows."""
    return {name: getattr(row, name) for name in LATE_FIELDS}


LATE_FIELDS = tuple(f.name for f in fields(LateRecord))
