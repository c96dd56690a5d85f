"""A hostile insider with write access to the store (not to the key, not to the checkpoint log): each
way of rewriting the trail that once passed ``audit verify`` now fails it, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from audit_support import check, populate, problems
from fabricate import insider
from sqlalchemy import delete, select, update

from creditsync.audit import AuditTrail
from creditsync.audit.retention import prune
from creditsync.audit.trail import canonical_ts
from creditsync.exceptions import ConfigurationError
from creditsync.store import Store
from creditsync.store.models import AuditEntry, AuditHead, OutboxItem, QuarantineItem, Record
from creditsync.store.states import OutboxStatus, QuarantineStage, RecordState

KEY = "k" * 24 + "0123456789abcdef"
NOW = datetime.now(UTC)


@pytest.fixture
def keyed(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CREDITSYNC_AUDIT_KEY", KEY)
    return KEY


def _plain_hash(prev_hash: str, entry: AuditEntry) -> str:
    """What an intruder without the key computes: the old, unkeyed sha256 chain."""
    content = {name: getattr(entry, name) for name in
               ("id", "event", "actor", "department", "category", "business_key", "run_id", "details")}
    content["ts"] = canonical_ts(entry.ts)
    body = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


def _rechain(store: Store, from_id: int, *, scheme: str | None = None) -> None:
    """Recompute every hash from ``from_id`` on, as an intruder without the key can, and move the head."""
    with insider(store) as session:
        entries = list(session.scalars(select(AuditEntry).where(AuditEntry.id >= from_id - 1)
                                       .order_by(AuditEntry.id)))
        prev = entries[0].hash if from_id > 1 else "0" * 64
        for entry in entries if from_id == 1 else entries[1:]:
            entry.scheme = scheme or entry.scheme
            entry.prev_hash, entry.hash = prev, _plain_hash(prev, entry)
            prev = entry.hash
        session.execute(update(AuditHead).values(last_id=entries[-1].id, last_hash=prev))


def test_an_untouched_store_verifies(store: Store, keyed: str) -> None:
    populate(store, 50)
    report = check(store)
    assert report.ok, problems(report)
    assert report.checkpoints == 1
    assert any("keyed, key" in note for note in report.notes)


def test_deleting_every_entry_and_the_head_is_caught(store: Store) -> None:
    """Once: 'intact: 0 entries verified' with 1,000 records in the store."""
    populate(store, 1000)
    with insider(store) as session:
        session.execute(delete(AuditEntry))
        session.execute(delete(AuditHead))
    report = check(store)
    assert not report.ok
    found = problems(report)
    assert "record penalty:X:0 (version 1) has no entry binding its version" in found
    assert "was acknowledged but the trail has no entry binding its receipt" in found
    assert "quarantine row 1 (health bad-0) has no entry" in found
    assert "which is not in the trail (removed)" in found
    assert "the head names nothing (the head is missing)" in found


def test_deleting_every_entry_is_caught_by_the_tables_alone(store: Store, tmp_path: Path) -> None:
    """Even with no checkpoint log at all, 1,000 records with no entries fail."""
    populate(store, 1000)
    (tmp_path / "checkpoints" / "audit.jsonl").unlink()
    with insider(store) as session:
        session.execute(delete(AuditEntry))
        session.execute(delete(AuditHead))
    report = check(store)
    assert not report.ok and report.chain.checked == 0
    assert "has no entry binding its version" in problems(report)


def test_cutting_the_tail_and_moving_the_head_back_is_caught(store: Store, keyed: str) -> None:
    populate(store, 20)
    with store.reader() as session:
        last = session.scalar(select(AuditHead.last_id)) or 0
        keep = session.get(AuditEntry, last - 1)
        assert keep is not None
    with insider(store) as session:  # only run_finished goes: no table row points at it
        session.execute(delete(AuditEntry).where(AuditEntry.id > keep.id))
        session.execute(update(AuditHead).values(last_id=keep.id, last_hash=keep.hash))
    report = check(store)
    assert report.chain.ok  # the chain alone cannot tell
    assert not report.ok
    assert f"behind checkpoint 1 (entry {last}): entries were cut off the end" in problems(report)


def test_recomputing_the_plain_chain_after_an_edit_is_caught(store: Store, keyed: str) -> None:
    populate(store, 20)
    with insider(store) as session:
        session.execute(update(AuditEntry).where(AuditEntry.id == 5).values(details={"version": 2}))
    _rechain(store, 5)
    report = check(store)
    assert not report.ok and report.chain.entry_id == 5
    assert "entry 5 (receipts_stored) was altered" in problems(report)


def test_rewriting_the_tail_as_unkeyed_is_caught(store: Store, keyed: str) -> None:
    populate(store, 20)
    with insider(store) as session:
        session.execute(update(AuditEntry).where(AuditEntry.id == 5).values(details={"version": 2}))
    _rechain(store, 5, scheme="sha256")
    report = check(store)
    assert not report.ok and report.chain.entry_id == 5
    assert "unkeyed after keyed entries" in problems(report)


def test_rewriting_the_whole_chain_as_unkeyed_is_caught(store: Store, keyed: str) -> None:
    """Downgrading every entry leaves a chain that checks out by itself: the checkpoint does not."""
    populate(store, 20)
    _rechain(store, 1, scheme="sha256")
    report = check(store)
    assert report.chain.ok and not report.ok
    assert "is not the one checkpoint 1 recorded (rewritten)" in problems(report)


def test_recomputing_the_chain_is_caught_by_checkpoints_even_unkeyed(store: Store) -> None:
    populate(store, 20)
    with insider(store) as session:
        session.execute(update(AuditEntry).where(AuditEntry.id == 5).values(details={"version": 2}))
    _rechain(store, 5)
    report = check(store)
    assert report.chain.ok and not report.ok
    assert any("unkeyed (development)" in note for note in report.notes)
    assert "(rewritten)" in problems(report)


def test_pruning_with_a_short_window_through_the_api_is_refused(store: Store, tmp_path: Path) -> None:
    populate(store, 5)
    with pytest.raises(ConfigurationError, match="shorter than the minimum 180 days"):
        prune(store, keep_days=10, archive_dir=tmp_path, now=NOW + timedelta(days=30))
    assert check(store).ok


def _prune_everything_older_than(store: Store, days: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREDITSYNC_AUDIT_MIN_KEEP_DAYS", str(days))
    outcome = prune(store, keep_days=days, now=NOW + timedelta(days=days + 1))
    assert outcome.entries > 0
    monkeypatch.delenv("CREDITSYNC_AUDIT_MIN_KEEP_DAYS")


def test_an_anchor_pruned_under_the_minimum_fails_verify(store: Store,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A prune done while the minimum was lowered (or forged in the anchor) shows once it is back."""
    populate(store, 5)
    _prune_everything_older_than(store, 10, monkeypatch)
    assert "pruned with a 10-day window, shorter than the minimum 180 days" in problems(check(store))


def test_a_deleted_archive_fails_verify(store: Store, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    populate(store, 5)
    monkeypatch.setenv("CREDITSYNC_AUDIT_MIN_KEEP_DAYS", "10")
    _prune_everything_older_than(store, 10, monkeypatch)
    monkeypatch.setenv("CREDITSYNC_AUDIT_MIN_KEEP_DAYS", "10")
    report = check(store)
    assert report.ok, problems(report)  # the pruned rows are older than the anchor's cutoff: skipped
    archive = next((tmp_path / "audit-archive").glob("audit-*.jsonl.gz"))
    archive.unlink()
    assert f"its archive {archive} is missing" in problems(check(store))


def test_a_record_with_no_entries_fails_verify(store: Store) -> None:
    populate(store, 3)
    with insider(store) as session:
        session.add(Record(business_key="penalty:X:slipped-in", department="health", category="penalty",
                           document_no="D", subject_name="某公司", mapped_hash="h",
                           state=RecordState.PUBLISHED, first_seen_at=NOW, updated_at=NOW))
    found = problems(check(store))
    assert "record penalty:X:slipped-in (version 1) has no entry binding its version" in found


def test_a_record_version_without_its_entry_fails_verify(store: Store) -> None:
    populate(store, 3)
    with insider(store) as session:
        session.execute(update(Record).where(Record.business_key == "penalty:X:1").values(version=2))
    assert "record penalty:X:1 (version 2) has no entry binding its version" in problems(check(store))


def test_an_acked_push_without_a_receipt_fails_verify(store: Store) -> None:
    populate(store, 3)
    with insider(store) as session:
        session.add(OutboxItem(idempotency_key="forged", business_key="penalty:X:1", department="health",
                               category="penalty", action="upsert", version=1, run_id="r",
                               status=OutboxStatus.ACKED, created_at=NOW, acked_at=NOW))
    found = problems(check(store))
    assert "(penalty:X:1 v1) was acknowledged but the trail has no entry binding its receipt" in found


def test_a_quarantine_row_without_an_entry_fails_verify(store: Store) -> None:
    populate(store, 3)
    with insider(store) as session:
        session.add(QuarantineItem(run_id="run-1", department="health", category="penalty",
                                   source_key="never-audited", stage=QuarantineStage.VALIDATION, errors=[],
                                   raw_masked={}, created_at=NOW))
    assert "quarantine row 2 (health never-audited) has no entry" in problems(check(store))


def test_the_first_few_discrepancies_are_named(store: Store) -> None:
    populate(store, 20)
    with insider(store) as session:
        session.execute(delete(AuditEntry).where(AuditEntry.event == "versions_stored"))
    found = check(store).problems
    assert sum("has no entry binding its version" in p for p in found) == 5
    assert "… and more of the same kind" in found


def test_existing_unkeyed_entries_still_verify_after_a_key_is_configured(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    populate(store, 5)  # unkeyed, as every trail before keys
    monkeypatch.setenv("CREDITSYNC_AUDIT_KEY", KEY)
    populate(store, 5, run_id="run-2", start=100)
    report = check(store)
    assert report.ok, problems(report)
    assert report.chain.schemes["sha256"] == 6 and len(report.chain.schemes) == 2  # one run's entries
    assert any("unkeyed entries written before the key was configured" in n for n in report.notes)


def test_entries_signed_with_a_retired_key_verify(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREDITSYNC_AUDIT_KEY", KEY)
    populate(store, 3)
    monkeypatch.setenv("CREDITSYNC_AUDIT_KEY", "n" * 40)
    populate(store, 3, run_id="run-2", start=100)
    broken = check(store)
    assert not broken.ok and "which is not configured" in problems(broken)
    monkeypatch.setenv("CREDITSYNC_AUDIT_RETIRED_KEYS", KEY)
    report = check(store)
    assert report.ok, problems(report)


def test_the_wrong_key_fails_verify(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREDITSYNC_AUDIT_KEY", KEY)
    populate(store, 3)
    monkeypatch.setenv("CREDITSYNC_AUDIT_RETIRED_KEYS", "w" * 40)
    monkeypatch.setenv("CREDITSYNC_AUDIT_KEY", "w" * 40)
    assert not check(store).ok


def test_a_keyed_trail_without_any_checkpoint_fails(store: Store, keyed: str, tmp_path: Path) -> None:
    populate(store, 3)
    (tmp_path / "checkpoints" / "audit.jsonl").unlink()
    assert "the head is not anchored outside the store" in problems(check(store))


def test_a_rolled_back_run_end_writes_no_checkpoint(store: Store, tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), store.transaction() as session:
        AuditTrail(actor="tester").append(session, "run_finished", run_id="r")
        raise RuntimeError("the run failed after all")
    with store.transaction() as session:
        AuditTrail(actor="tester").append(session, "note")
    assert not (tmp_path / "checkpoints" / "audit.jsonl").exists()
    assert check(store).ok
