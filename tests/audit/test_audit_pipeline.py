"""A real sync (both simulators, the DAG's steps) under a key: the run's end checkpoints the head, the
trail matches the records, receipts and quarantine it wrote, and removing the run's entries is caught."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select

TESTS = Path(__file__).resolve().parents[1]
if str(TESTS / "pipeline") not in sys.path:
    sys.path.insert(0, str(TESTS / "pipeline"))

from pipeline_harness import Harness, harness, harness_db  # noqa: E402

from creditsync.audit import load_audit_config, verify_trail  # noqa: E402
from creditsync.audit.checkpoints import CheckpointLog  # noqa: E402
from creditsync.store.models import AuditEntry, QuarantineItem, Record  # noqa: E402

__all__ = ["harness", "harness_db"]
pytestmark = pytest.mark.integration


def test_a_keyed_sync_checkpoints_and_verifies(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREDITSYNC_AUDIT_KEY", "a" * 64)
    harness.sync()
    config = load_audit_config()
    store = harness.gateway.store
    with store.reader() as session:
        report = verify_trail(session, config)
        last = session.scalar(select(func.max(AuditEntry.id)))
        records = session.scalar(select(func.count()).select_from(Record))
        quarantined = session.scalar(select(func.count()).select_from(QuarantineItem))
    assert records and quarantined, "the harness's source should give both published and bad records"
    assert report.ok, report.problems
    assert set(report.chain.schemes) == {config.keyring.scheme}
    points = CheckpointLog(config.checkpoints, config.keyring).check().checkpoints
    assert [p.entry_id for p in points] == [last]  # written by the run's end, after its commit

    with store.transaction() as session:
        described = ["versions_stored", "record_quarantined"]
        session.execute(delete(AuditEntry).where(AuditEntry.event.in_(described)))
    with store.reader() as session:
        broken = verify_trail(session, config)
    assert not broken.ok
    assert any("has no entry binding its version" in p for p in broken.problems)
    assert any(p.startswith("quarantine row") for p in broken.problems)
