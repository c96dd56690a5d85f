"""A store that looks like a real one: records with their versions, acknowledged pushes, a quarantined
row, and the entries describing each, ending with a run_finished entry (which checkpoints the head)."""

from __future__ import annotations

from datetime import UTC, datetime

from creditsync.audit import AuditEvent, AuditTrail, TrailReport, load_audit_config, verify_trail
from creditsync.store import Store
from creditsync.store.models import OutboxItem, QuarantineItem, Record, RecordVersion
from creditsync.store.states import OutboxAction, OutboxStatus, QuarantineStage, RecordState

NOW = datetime.now(UTC)
DEPARTMENT, CATEGORY, RUN = "health", "penalty", "run-1"


def populate(store: Store, records: int = 1000, run_id: str = RUN, start: int = 0) -> None:
    trail = AuditTrail(actor="tester")
    with store.transaction() as session:
        trail.append(session, "run_started", department=DEPARTMENT, run_id=run_id)
        events = []
        for n in range(start, start + records):
            key = f"{CATEGORY}:X:{n}"
            session.add(Record(business_key=key, department=DEPARTMENT, category=CATEGORY,
                               document_no=f"D{n}", subject_name="某公司", mapped_hash="h",
                               state=RecordState.PUBLISHED, first_seen_at=NOW, updated_at=NOW, version=1,
                               platform_id=f"P{n}"))
            session.add(RecordVersion(business_key=key, version=1, run_id=run_id, source_key=str(n),
                                      source_hash="s", mapped_hash="h", adapter="test", payload_masked={},
                                      created_at=NOW))
            session.add(OutboxItem(idempotency_key=f"idem-{n}", business_key=key, department=DEPARTMENT,
                                   category=CATEGORY, action=OutboxAction.UPSERT, version=1, payload={},
                                   run_id=run_id, status=OutboxStatus.ACKED, attempts=1, created_at=NOW,
                                   acked_at=NOW, platform_id=f"P{n}"))
            events.append(AuditEvent("record_version", DEPARTMENT, CATEGORY, key, run_id,
                                     details={"version": 1, "source_key": str(n)}))
            events.append(AuditEvent("push_receipt", DEPARTMENT, CATEGORY, key, run_id,
                                     details={"version": 1, "idempotency_key": f"idem-{n}"}))
        session.add(QuarantineItem(run_id=run_id, department=DEPARTMENT, category=CATEGORY,
                                   source_key=f"bad-{start}", stage=QuarantineStage.VALIDATION, errors=[],
                                   raw_masked={}, created_at=NOW))
        events.append(AuditEvent("record_quarantined", DEPARTMENT, CATEGORY, None, run_id,
                                 details={"source_key": f"bad-{start}"}))
        trail.append_many(session, events)
        trail.append(session, "run_finished", department=DEPARTMENT, run_id=run_id, status="success")


def check(store: Store) -> TrailReport:
    with store.reader() as session:
        return verify_trail(session, load_audit_config())


def problems(report: TrailReport) -> str:
    return " | ".join(([report.chain.problem] if report.chain.problem else []) + report.problems)
