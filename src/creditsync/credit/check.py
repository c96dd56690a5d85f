"""信用核查: before a decision, is the subject listed, which measures apply to this matter, what grade?

One read of the subject's current entries and grade (indexed by the subject's keyed hash), one row in
``credit_checks`` and one audit entry, in one transaction: every answer given is recorded with the list
versions it was based on, so the decision can be verified later (:func:`replay`: what the gateway knew
at that moment, from the versions kept).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from creditsync.audit import AuditTrail
from creditsync.audit.events import AuditEvent
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


def check(store: Store, catalogue: Catalogue, request: CheckRequest, audit: AuditTrail) -> dict[str, Any]:
    """Answer and record one check; the answer carries its ``check_id``."""
    subject = Subject.of(request.subject)
    matter = catalogue.matter(request.matter)
    with store.transaction() as session:
        stamp = now()
        entries = _current_entries(session, subject.key)
        grade = session.execute(
            select(CreditGradeVersion.id, CreditGradeVersion.grade, CreditGradeVersion.graded_on)
            .join(CreditGradeCurrent, CreditGradeCurrent.version_id == CreditGradeVersion.id)
            .where(CreditGradeCurrent.subject_key == subject.key)).first()
        result = answer(catalogue, matter, subject, entries, grade, shanghai_today())
        result["feed_position"] = _feed_position(session)
        check_id = secrets.token_hex(16)
        entry = audit.append(session, AuditEvent.CREDIT_CHECKED, department=request.department,
                             check_id=check_id, matter=matter.code, subject=subject.shown,
                             listed=result["listed"], measures=[m["code"] for m in result["measures"]],
                             grade=result["grade"] and result["grade"]["grade"],
                             list_versions=result["list_versions"], feed_position=result["feed_position"])
        session.add(CreditCheck(id=check_id, checked_at=stamp, actor=audit.actor,
                                department=request.department,
                                matter=matter.code, subject_key=subject.key, subject_masked=subject.shown,
                                listed=result["listed"], grade=result["grade"] and result["grade"]["grade"],
                                result=result, audit_entry_id=entry.id))
    return {"check_id": check_id, "checked_at": stamp.isoformat(), "audit_entry_id": entry.id, **result}


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


def _current_entries(session: Session, subject_key: str) -> list[Any]:
    return list(session.execute(
        select(*_ENTRY_COLUMNS).join(CreditListCurrent, CreditListCurrent.version_id == CreditListVersion.id)
        .where(CreditListCurrent.subject_key == subject_key)).all())


def _feed_position(session: Session) -> dict[str, int | None]:
    """The newest pull of each feed: the state of the copy the answer was read from."""
    rows = session.execute(select(CreditFeedPull.feed, func.max(CreditFeedPull.id))
                           .group_by(CreditFeedPull.feed)).all()
    found = {feed: pull_id for feed, pull_id in rows}
    return {"lists_pull": found.get("lists"), "grades_pull": found.get("grades")}


def _covers(entry: Any, day: date) -> bool:
    return (entry.start_date is None or entry.start_date <= day) and (entry.end_date is None
                                                                       or day <= entry.end_date)

