"""Before the deadline: a record the platform has not acknowledged by working day 5 of its 7 is alerted,
once (``quality_alerts`` keeps which were). The daily ``report__quality`` DAG sends them by email
through Airflow's SMTP provider when configured, else to its task log; the console's 质量 page lists
every record at or past working day 5 whatever was sent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection

from creditsync.quality.period import Period
from creditsync.quality.queries import Scope, facts
from creditsync.store.models import QualityAlert
from creditsync.working_days import PUBLICATION_LIMIT_WORKING_DAYS, deadline

ALERT_AT = 5  # working days after the decision without an acknowledgement
LOOK_BACK_DAYS = 45  # decisions older than this are long late: the scorecards list them, no alert
A = QualityAlert.__table__


@dataclass(frozen=True)
class Alert:
    business_key: str
    department: str
    document_no: str
    decision_date: date
    deadline: date
    working_days: int

    def line(self) -> str:
        return (f"{self.department} {self.document_no}: decided {self.decision_date}, not acknowledged after "
                f"{self.working_days} working days (deadline {self.deadline}) · 决定后第{self.working_days}个"
                f"工作日仍未公示，期限 {self.deadline}")


def due_alerts(conn: Connection, as_of: date) -> list[Alert]:
    """Records owed to the platform, unacknowledged at working day 5 or later, never alerted."""
    return [alert for alert, alerted in _unacknowledged(conn, as_of, None, new_only=True)]


def at_risk(conn: Connection, as_of: date, department: str | None = None) -> list[tuple[Alert, str | None]]:
    """Every record unacknowledged at working day 5 or later (the console's list), with the channel it
    was alerted by, if it was."""
    return _unacknowledged(conn, as_of, department, new_only=False)


def _unacknowledged(conn: Connection, as_of: date, department: str | None, *,
                    new_only: bool) -> list[tuple[Alert, str | None]]:
    scope = Scope.of(Period("alerts", as_of - timedelta(days=LOOK_BACK_DAYS), as_of), as_of, department)
    f = facts(scope).subquery("facts")
    query = (select(f.c.business_key, f.c.department, f.c.document_no, f.c.decision_date, f.c.elapsed,
                    A.c.channel)
             .select_from(f.outerjoin(A, A.c.business_key == f.c.business_key))
             .where(f.c.acked_on.is_(None), f.c.due + f.c.waiting > 0, f.c.elapsed >= ALERT_AT)
             .order_by(f.c.department, f.c.decision_date, f.c.document_no))
    if new_only:
        query = query.where(A.c.business_key.is_(None))
    return [(Alert(row.business_key, row.department, row.document_no, row.decision_date,
                   deadline(row.decision_date, PUBLICATION_LIMIT_WORKING_DAYS), int(row.elapsed)),
             row.channel) for row in conn.execute(query)]


def record_alerts(conn: Connection, alerts: list[Alert], channel: str) -> None:
    """Remember them: the next run does not alert these records again (whoever else ran meanwhile)."""
    now = datetime.now(UTC)
    already = set(conn.scalars(select(A.c.business_key).where(
        A.c.business_key.in_([a.business_key for a in alerts]))))
    rows = [{"business_key": a.business_key, "department": a.department, "document_no": a.document_no,
             "decision_date": a.decision_date, "deadline": a.deadline, "working_days": a.working_days,
             "channel": channel, "alerted_at": now} for a in alerts if a.business_key not in already]
    if rows:
        conn.execute(insert(QualityAlert), rows)
