"""A store that looks like a real one: records with their versions, acknowledged pushes, a quarantined
row, and the entries describing them, ending with a run_finished entry (which checkpoints the head).
Written by the lifecycle itself, as a sync would."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from creditsync.audit import AuditEvent, AuditTrail, TrailReport, load_audit_config, verify_trail
from creditsync.delivery.client import Receipt
from creditsync.exceptions import FieldError
from creditsync.hashing import content_hash
from creditsync.lifecycle import ChangeSet, ChunkPlan, RunScope, SourceItem, decide_chunk
from creditsync.lifecycle.receipts import Sent, apply_answers, mark_attempts
from creditsync.store import Store
from creditsync.store.models import OutboxItem
from creditsync.store.states import QuarantineStage

NOW = datetime.now(UTC)
DEPARTMENT, CATEGORY, RUN = "health", "penalty", "run-1"


def populate(store: Store, records: int = 1000, run_id: str = RUN, start: int = 0) -> None:
    """Records published through the lifecycle itself (versions bound per chunk, answers per batch),
    one quarantined row, between a run_started and a run_finished entry."""
    trail = AuditTrail(actor="tester")
    scope = RunScope(DEPARTMENT, run_id, trail)
    with store.transaction() as session:
        trail.append(session, AuditEvent.RUN_STARTED, department=DEPARTMENT, run_id=run_id)
        items = [_item(n) for n in range(start, start + records)]
        items.append(SourceItem(f"bad-{start}", f"bad-{start}", {"n": start},
                                stage=QuarantineStage.VALIDATION,
                                problems=[FieldError("CF_XDR_MC", "不能为空", "must not be empty")]))
        decision = decide_chunk(session, scope.sealer, DEPARTMENT, CATEGORY, run_id, items)
        plan = ChunkPlan(ChangeSet(scope), CATEGORY, None, "test", decision)
        plan.plan(session)
        plan.changes.apply(session)
        pending = session.execute(select(OutboxItem.id, OutboxItem.idempotency_key, OutboxItem.business_key,
                                         OutboxItem.version).where(OutboxItem.run_id == run_id)).all()
        sent = [Sent(p.id, p.idempotency_key, p.business_key, CATEGORY, "upsert", p.version) for p in pending]
        changes = ChangeSet(scope)
        mark_attempts(session, changes, sent, batch_id=f"{run_id}#1", category=CATEGORY)
        answers = {s.idempotency_key: Receipt(s.idempotency_key, "accepted",
                                              f"P{s.business_key.rsplit(':', 1)[1]}")
                   for s in sent}
        apply_answers(session, changes, sent, answers, batch_id=f"{run_id}#1")
        changes.apply(session)
        trail.append(session, AuditEvent.RUN_FINISHED, department=DEPARTMENT, run_id=run_id, status="success")


def _item(n: int) -> SourceItem:
    key = f"{CATEGORY}:X:{n}"
    payload = {"CF_WSH": f"D{n}", "CF_XDR_MC": "某公司"}
    return SourceItem(str(n), f"s{n}", {"n": n}, key=key, payload=payload, masked=payload,
                      mapped_hash=content_hash(payload),
                      fields={"document_no": f"D{n}", "subject_name": "某公司", "decision_date": None})


def check(store: Store) -> TrailReport:
    with store.reader() as session:
        return verify_trail(session, load_audit_config())


def problems(report: TrailReport) -> str:
    return " | ".join(([report.chain.problem] if report.chain.problem else []) + report.problems)
