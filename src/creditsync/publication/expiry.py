"""``creditsync expire``: take every record whose display period is over off display (终止公示, reason
"公示期满"), audited. Such a record ends ``expired`` once the platform acknowledges the withdrawal and is
never published again.

One run: (1) settle the rule-driven withdrawals the platform has acknowledged since the last run;
(2) give penalties stored before display periods existed their severity and last display day, from
their latest mapped version; (3) queue a withdrawal for each record whose last display day is past.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from creditsync.audit import AuditTrail
from creditsync.exceptions import SkippableRecordError
from creditsync.publication.display_period import record_display_until
from creditsync.publication.severity import Severity, severity_of
from creditsync.publication.withdrawal import WithdrawReason, now, queue_withdrawal, settle_acknowledged
from creditsync.store import Store
from creditsync.store.models import Record, RecordVersion
from creditsync.store.states import RecordState

log = logging.getLogger(__name__)

# On display, or about to be: what an expired display period takes down.
EXPIRABLE = (RecordState.PUBLISHED, RecordState.PENDING, RecordState.REJECTED)
CATEGORIES_WITH_DISPLAY_PERIODS = ("penalty",)


@dataclass(frozen=True)
class ExpiredRecord:
    business_key: str
    department: str
    category: str
    document_no: str
    display_until: date
    queued: bool  # False: the platform never had it, so it ended at once


@dataclass
class ExpiryReport:
    today: date
    run_id: str
    dry_run: bool
    expired: list[ExpiredRecord] = field(default_factory=list)
    settled: list[str] = field(default_factory=list)  # acknowledged since the last run: now final
    periods_filled: int = 0

    @property
    def departments(self) -> list[str]:
        """Departments with a withdrawal to deliver."""
        return sorted({r.department for r in self.expired if r.queued})


def expire(store: Store, today: date, *, dry_run: bool = False, audit: AuditTrail | None = None,
           severity_defaults: Mapping[str, Severity | str] | None = None) -> ExpiryReport:
    """One expiry run as of ``today``. ``severity_defaults``: per department, the severity of penalties
    that map none. A dry run changes nothing and writes no audit entry."""
    audit = audit or AuditTrail()
    report = ExpiryReport(today, f"expire__{today.isoformat()}__{now().strftime('%Y%m%dT%H%M%S%f')}",
                          dry_run)
    with store.sessions() as session:
        report.settled = settle_acknowledged(session, run_id=report.run_id, audit=audit)
        report.periods_filled = fill_display_periods(session, severity_defaults or {})
        for record in session.scalars(_due(today).with_for_update()):
            assert record.display_until is not None
            queued = queue_withdrawal(session, record, WithdrawReason.EXPIRED, run_id=report.run_id,
                                      audit=audit, state_while_queued=RecordState.WITHDRAWING,
                                      display_until=record.display_until, severity=record.severity,
                                      today=today)
            report.expired.append(ExpiredRecord(record.business_key, record.department, record.category,
                                                record.document_no, record.display_until, queued))
        if dry_run:
            session.rollback()
        else:
            session.commit()
    return report


def settle_withdrawals(store: Store, audit: AuditTrail | None = None) -> list[str]:
    """After a push: rule-driven withdrawals the platform acknowledged end ``expired`` / ``repaired``."""
    run_id = f"settle__{now().strftime('%Y%m%dT%H%M%S%f')}"
    with store.transaction() as session:
        return settle_acknowledged(session, run_id=run_id, audit=audit or AuditTrail())


def fill_display_periods(session: Session, severity_defaults: Mapping[str, Severity | str]) -> int:
    """Severity and last display day for penalties on display that have none yet (stored before the
    rules existed, or by a step that does not set them), from their latest mapped version."""
    query = select(Record).where(Record.category.in_(CATEGORIES_WITH_DISPLAY_PERIODS),
                                 Record.display_until.is_(None), Record.state.in_(EXPIRABLE))
    filled = 0
    for record in session.scalars(query.with_for_update()):
        payload = session.scalar(select(RecordVersion.payload_masked).where(
            RecordVersion.business_key == record.business_key, RecordVersion.version == record.version))
        if payload is None:
            continue
        try:
            severity = severity_of(payload, department_default=severity_defaults.get(record.department),
                                   record_key=record.business_key)
        except SkippableRecordError as exc:
            log.warning("no display period for %s: %s", record.business_key, exc)
            continue
        last_day = record_display_until(record.category, payload, severity)
        if last_day is not None:
            record.severity, record.display_until = severity.value, last_day
            filled += 1
    return filled


def _due(today: date) -> Select[Record]:
    return (select(Record)
            .where(Record.display_until < today, Record.state.in_(EXPIRABLE))
            .order_by(Record.display_until, Record.business_key))
