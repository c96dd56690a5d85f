"""Every operation on a record on its timeline: a re-drive asked from one of its quarantine entries, and
when that entry was retried, on hand-made rows in SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from creditsync.audit import AuditTrail
from creditsync.orchestration.ui import record_queries
from creditsync.quarantine import RedriveRequest, redrive
from creditsync.store import Store
from creditsync.store.guard import lifecycle_writes
from creditsync.store.models import QuarantineItem


def test_a_redrive_from_a_quarantine_entry_is_on_the_records_timeline(store: Store) -> None:
    with lifecycle_writes(), store.transaction() as s:
        item = QuarantineItem(run_id="r1", department="market_supervision", category="penalty",
                              source_key="P000044", stage="validation",
                              errors=[{"field": "CF_WSH", "kind": "missing", "zh": "缺少文书号"}],
                              raw_masked={}, created_at=datetime(2026, 3, 2, tzinfo=UTC))
        s.add(item)
        s.flush()
        entry_id = item.id
    redrive(store, RedriveRequest("market_supervision", ["penalty"], "部门已更正", reset_cursor=True,
                                  quarantine_id=entry_id, source_key="P000044"), AuditTrail("operator"))
    story = record_queries.timeline(store, "P000044")
    (entry,) = [e for e in story["entries"] if e["event"] == "manual_redrive"]
    assert (entry["actor"], entry["details"]["reason"], entry["details"]["quarantine_id"]) == (
        "operator", "部门已更正", entry_id)
    (quarantined,) = story["quarantine"]
    assert quarantined["retried_at"] and quarantined["retry_outcome"] == "pending"
