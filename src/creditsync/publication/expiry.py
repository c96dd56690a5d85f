"""``creditsync expire``: take every record whose display period is over off display (终止公示, cause
``expired``), audited. Such a record ends ``expired`` once the platform confirms the withdrawal and is
never published again.

The last display day is re-derived for every candidate from what the gateway vouches for: the record's
sealed decision date and severity and its current version's content (CF_GSJZQ), under the rules in force
on the decision date; never taken from a column alone (an edited ``display_until`` would end a display
weeks early as a normal 公示期满). A record whose row fails its seal is not touched, and alarmed. The
stored ``severity``/``display_until`` are kept current on the way (for the console and the quality
reports), through the lifecycle.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from creditsync.audit import AuditTrail
from creditsync.exceptions import ConfigurationError, SkippableRecordError
from creditsync.lifecycle import ChangeSet, RunScope, now
from creditsync.lifecycle.stored import load_records, raise_tamper_alarm, under_its_number
from creditsync.lifecycle.withdrawals import take_off_display
from creditsync.publication.display_period import record_display_until
from creditsync.publication.severity import Severity, severity_of
from creditsync.schema.values import shanghai_today
from creditsync.store import Store
from creditsync.store.bulk import lock_department
from creditsync.store.models import Record, RecordVersion
from creditsync.store.states import NEVER_REPUBLISH, RecordState, WithdrawCause

log = logging.getLogger(__name__)

CATEGORIES_WITH_DISPLAY_PERIODS = ("penalty",)
CHUNK = 500
EXPIRY_SCOPE = "(publication)"  # the scope of a run that spans departments; entries name each record's own


@dataclass(frozen=True)
class ExpiredRecord:
    business_key: str
    department: str
    category: str
    document_no: str
    display_until: date
    queued: bool  # False: the platform never had it (or it was off display already): ended at once


@dataclass
class ExpiryReport:
    today: date
    run_id: str
    dry_run: bool
    expired: list[ExpiredRecord] = field(default_factory=list)
    periods_filled: int = 0
    tampered: int = 0

    @property
    def departments(self) -> list[str]:
        """Departments with a withdrawal to deliver."""
        return sorted({r.department for r in self.expired if r.queued})


def expire(store: Store, today: date, *, dry_run: bool = False, audit: AuditTrail | None = None,
           severity_defaults: Mapping[str, Severity | str] | None = None) -> ExpiryReport:
    """One expiry run as of ``today`` (not later than today: a run dated ahead would withdraw what is still
    on display). A dry run changes nothing and writes no audit entry."""
    if today > shanghai_today():
        raise ConfigurationError(f"--today {today} is in the future (today is {shanghai_today()} in "
                                 "Asia/Shanghai): expiry only ever runs as of a day that has come "
                                 "日期不能晚于今天")
    audit = audit or AuditTrail()
    report = ExpiryReport(today, f"expire__{today.isoformat()}__{now().strftime('%Y%m%dT%H%M%S%f')}", dry_run)
    scope = RunScope(EXPIRY_SCOPE, report.run_id, audit)
    for keys in _candidates(store, today):
        with store.sessions() as session:
            _expire_chunk(session, scope, keys, today, report, severity_defaults or {})
            if dry_run:
                session.rollback()
            else:
                session.commit()
    return report


def _candidates(store: Store, today: date) -> Iterator[list[str]]:
    """Penalties that may be due (their stored last day is past, or not computed yet), not off display
    for good, in chunks (keyset by business key). One an operator holds off display is among them: its
    period ends all the same (公示期满 is the stronger cause), so a release cannot show it again. An old
    文书号 the decision has left is not: the decision's period runs under its new number."""
    after = ""
    while True:
        with store.reader() as session:
            keys = list(session.scalars(select(Record.business_key).where(
                Record.category.in_(CATEGORIES_WITH_DISPLAY_PERIODS),
                or_(Record.display_until < today, Record.display_until.is_(None)),
                Record.state.not_in([str(s) for s in NEVER_REPUBLISH]), under_its_number(),
                Record.business_key > after).order_by(Record.business_key).limit(CHUNK)))
        if not keys:
            return
        yield keys
        after = keys[-1]


def _expire_chunk(session: Session, scope: RunScope, keys: list[str], today: date, report: ExpiryReport,
                  severity_defaults: Mapping[str, Severity | str]) -> None:
    stored = load_records(session, scope.sealer, set(keys))
    for department in sorted({row["department"] for row in stored.rows.values()}):
        lock_department(session, department)
    stored = load_records(session, scope.sealer, set(keys), lock=True)  # as of holding the locks
    changes = ChangeSet(scope)
    raise_tamper_alarm(session, changes, stored.tampered.values(), where="expire")
    report.tampered += len(stored.tampered)
    payloads = _current_payloads(session, stored.rows.values())
    due: dict[str, date] = {}
    for key, row in stored.rows.items():
        period = _display_period(row, payloads.get(key), severity_defaults)
        if period is None:
            continue
        severity, last_day = period
        if (row["severity"], row["display_until"]) != (severity, last_day):
            changes.write_record({**row, "severity": severity, "display_until": last_day})
            report.periods_filled += 1
        if last_day < today and row["state"] != RecordState.EXPIRED:
            due[key] = last_day
    for key in sorted(due):
        severity = (changes.record(key) or stored.rows[key])["severity"]
        for done in take_off_display(changes, stored, [key], WithdrawCause.EXPIRED, today=today,
                                     display_until=due[key], severity=severity):
            report.expired.append(ExpiredRecord(done.business_key, done.department, done.category,
                                                done.document_no, due[key], done.queued))
    changes.apply(session)


def _current_payloads(session: Session, rows: Any) -> dict[str, dict[str, Any]]:
    wanted = [(row["business_key"], row["version"]) for row in rows]
    if not wanted:
        return {}
    found = session.execute(select(RecordVersion.business_key, RecordVersion.version,
                                   RecordVersion.payload_masked).where(
        RecordVersion.business_key.in_([key for key, _ in wanted])))
    versions = dict(wanted)
    return {key: dict(payload) for key, version, payload in found if versions.get(key) == version}


def _display_period(row: Mapping[str, Any], payload: dict[str, Any] | None,
                    severity_defaults: Mapping[str, Severity | str]) -> tuple[str, date] | None:
    """(severity, last display day), re-derived from the sealed record and its current version."""
    if payload is None or row["decision_date"] is None:
        return None
    content = {**payload, "CF_JDRQ": row["decision_date"].isoformat()}  # the sealed date wins
    try:
        severity = Severity(row["severity"]) if row["severity"] else severity_of(
            content, department_default=severity_defaults.get(row["department"]),
            record_key=row["business_key"])
    except SkippableRecordError as exc:
        log.warning("no display period for %s: %s", row["business_key"], exc)
        return None
    last_day = record_display_until(row["category"], content, severity)
    return (str(severity), last_day) if last_day is not None else None
