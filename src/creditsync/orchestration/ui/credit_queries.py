"""What the 信用核查 pages read: a subject's list entries (every version), grade, checks, feedback records
and draws; a department's draws and checks. Subjects are found by the keyed hash of their number."""

from __future__ import annotations

from typing import Any

from sqlalchemy import desc, select

from creditsync.credit.check import LIST_NAMES
from creditsync.credit.subjects import Subject
from creditsync.store import Store
from creditsync.store.credit_models import (
    CreditCheck,
    CreditDraw,
    CreditGradeVersion,
    CreditListCurrent,
    CreditListVersion,
)
from creditsync.store.models import Record

LIMIT = 200
FEEDBACK_CATEGORIES = ("measure_feedback", "interview")


def subject_story(store: Store, subject: Subject) -> dict[str, Any]:
    with store.reader() as session:
        current = dict(session.execute(select(CreditListCurrent.entry_id, CreditListCurrent.version_id).where(
            CreditListCurrent.subject_key == subject.key)).all())
        versions = session.scalars(select(CreditListVersion).where(
            CreditListVersion.subject_key == subject.key).order_by(CreditListVersion.id)).all()
        grades = session.scalars(select(CreditGradeVersion).where(
            CreditGradeVersion.subject_key == subject.key).order_by(desc(CreditGradeVersion.id))).all()
        checks = session.scalars(select(CreditCheck).where(CreditCheck.subject_key == subject.key)
                                 .order_by(desc(CreditCheck.checked_at)).limit(LIMIT)).all()
        draws = [d for d in session.scalars(select(CreditDraw).order_by(desc(CreditDraw.committed_at))
                                            .limit(LIMIT)).all() if _drawn(d, subject.key)]
        names = {v.subject_name for v in versions} | {g.subject_name for g in grades}
        feedback = session.scalars(select(Record).where(
            Record.category.in_(FEEDBACK_CATEGORIES), Record.subject_name.in_(names or {""}))
            .order_by(desc(Record.updated_at)).limit(LIMIT)).all()
    return {
        "subject": subject.shown, "kind": subject.kind, "name": next(iter(sorted(names)), ""),
        "entries": [_version(v, current.get(v.entry_id) == v.id) for v in versions],
        "grades": [{"grade": g.grade, "graded_on": g.graded_on, "version": g.id, "known_at": g.known_at}
                   for g in grades],
        "checks": [_check(c) for c in checks],
        "feedback": [{"business_key": r.business_key, "category": r.category, "document_no": r.document_no,
                      "department": r.department, "state": r.state, "updated_at": r.updated_at}
                     for r in feedback],
        "draws": [_draw(d) for d in draws],
    }


def department_story(store: Store, department: str) -> dict[str, Any]:
    with store.reader() as session:
        checks = session.scalars(select(CreditCheck).where(CreditCheck.department == department)
                                 .order_by(desc(CreditCheck.checked_at)).limit(LIMIT)).all()
        draws = session.scalars(select(CreditDraw).where(CreditDraw.department == department)
                                .order_by(desc(CreditDraw.committed_at)).limit(LIMIT)).all()
    return {"department": department, "checks": [_check(c) for c in checks],
            "draws": [_draw(d) for d in draws]}


def _version(v: CreditListVersion, current: bool) -> dict[str, Any]:
    return {"version": v.id, "entry_id": v.entry_id, "event": v.event, "status": v.status,
            "list_name": LIST_NAMES.get(v.list_type, v.list_type), "cause": v.cause, "authority": v.authority,
            "decision_no": v.decision_no, "start_date": v.start_date, "end_date": v.end_date,
            "measures": v.measures, "reason": v.reason, "repair_decision_no": v.repair_decision_no,
            "changed_at": v.changed_at, "known_at": v.known_at, "current": current}


def _check(c: CreditCheck) -> dict[str, Any]:
    return {"check_id": c.id, "checked_at": c.checked_at, "actor": c.actor, "department": c.department,
            "matter": c.matter, "subject": c.subject_masked, "listed": c.listed, "grade": c.grade,
            "measures": [m["code"] for m in (c.result or {}).get("measures", [])],
            "list_versions": (c.result or {}).get("list_versions", []), "audit_entry_id": c.audit_entry_id}


def _draw(d: CreditDraw) -> dict[str, Any]:
    result = d.result or {}
    return {"draw_id": d.id, "department": d.department, "status": d.status, "committed_at": d.committed_at,
            "published_at": d.published_at, "seed_commitment": d.seed_commitment, "seed": d.seed,
            "register_hash": d.register_hash, "register_size": result.get("register_size"),
            "drawn": len(result.get("drawn", [])), "actor": d.actor}


def _drawn(draw: CreditDraw, subject_key: str) -> bool:
    return any(row.get("subject_key") == subject_key for row in (draw.result or {}).get("drawn", []))
