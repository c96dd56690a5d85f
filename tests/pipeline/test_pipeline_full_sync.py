"""A whole sync of market_supervision against the real simulators: what reaches the platform, what is
quarantined and why, and that running it again (or retrying any step of the same run) sends nothing twice."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from pipeline_harness import KINDS, READABLE_TABLES, Harness, leaked, opened

from creditsync.exceptions import FieldError, RetriableError
from creditsync.lifecycle import ChangeSet
from creditsync.pipeline import pull, push, report
from creditsync.sources import rest
from creditsync.sources.rest import RestSourceAdapter
from creditsync.store.models import (
    AuditEntry,
    OutboxItem,
    QuarantineItem,
    Record,
    RecordVersion,
)

pytestmark = pytest.mark.integration
RETRIES = rest.default_retrying().stop.max_attempt_number  # type: ignore[attr-defined]
BOTH_STORES = pytest.mark.parametrize("harness_db", ["sqlite", "postgresql"], indirect=True)

# Each deliberately broken record of the simulator: (stage, field code, words of the reason).
BROKEN_REASONS: dict[str, tuple[str, str, str]] = {
    "P000008": ("validation", "CF_XDR_SHXYM", "校验位"),
    "P000020": ("validation", "CF_XDR_MC", "不能为空"),
    "P000032": ("mapping", "CF_NR_FK", "两千元"),
    "P000044": ("source", "(record)", "'id'"),
    "L000012": ("validation", "XK_YXQZI", "有效期自"),
    "L000024": ("validation", "XK_XDR_ZJHM", "校验位"),
}


def platform_snapshot(harness: Harness) -> dict[str, Any]:
    stats = harness.stats()
    return {k: stats[k] for k in ("records", "business_keys", "withdrawn", "idempotency_keys", "rejected")}


@BOTH_STORES
def test_full_sync_delivers_every_valid_record_and_quarantines_the_broken_ones(harness: Harness) -> None:
    expected = harness.expected_published()
    assert set(harness.source.broken_ids) == set(BROKEN_REASONS)

    result = harness.sync()

    stats = harness.stats()
    assert stats["records"] == stats["business_keys"] == len(expected)
    assert stats["withdrawn"] == stats["rejected"] == 0
    assert harness.published_documents() == expected
    assert all(r.platform_id for r in harness.rows(Record, Record.state == "published"))
    assert result["report"]["status"] == "partial"  # partial: there is quarantine
    assert result["report"]["quarantined"] == len(BROKEN_REASONS)
    assert harness.count(OutboxItem, OutboxItem.status != "acked") == 0
    assert harness.chain_ok()
    assert harness.cursors() == {kind: harness.last_cursor(kind) for kind in KINDS}


def test_each_broken_record_is_quarantined_with_a_reason_naming_its_field(harness: Harness) -> None:
    harness.sync()

    quarantine = harness.quarantine_by_document()
    broken = harness.broken_documents()
    assert set(quarantine) == set(broken)
    for document, record_id in broken.items():
        stage, field, words = BROKEN_REASONS[record_id]
        item = quarantine[document]
        assert item.stage == stage, record_id
        assert [e["field"] for e in item.errors] == [field], (record_id, item.errors)
        assert words in FieldError.from_stored(item.errors[0]).message, (record_id, item.errors)
        assert item.resolved_at is None
    assert quarantine[harness.document("P000008")].source_key == "P000008"


def test_an_unreadable_record_is_reported_with_its_place_in_the_source_and_its_subject(
    harness: Harness,
) -> None:
    harness.sync()

    item = harness.quarantine_by_document()[harness.document("P000044")]  # it has no usable id
    [error] = item.errors
    assert item.stage == "source" and re.search(r"page \d+, item \d+",
                                                FieldError.from_stored(error).message), error
    subject = harness.source.store.get("P000044") or {}
    assert f"行政相对人：{subject.get('party_name')}" in FieldError.from_stored(error).message, error


def test_a_broken_record_saved_again_keeps_one_open_entry_with_its_newest_reasons(harness: Harness) -> None:
    harness.sync()
    harness.source.update("P000020")  # saved again unchanged
    harness.sync()
    harness.source.update("P000020", party_name="", illegal_type="")  # edited, and worse
    harness.sync()

    entries = harness.rows(QuarantineItem, QuarantineItem.source_key == "P000020")
    open_entries = [q for q in entries if q.resolved_at is None]
    assert len(open_entries) == 1
    assert {e["field"] for e in open_entries[0].errors} == {"CF_XDR_MC", "CF_WFXW"}
    assert all(q.resolution and q.resolution.startswith("superseded") for q in entries if q.resolved_at)
    assert harness.count(QuarantineItem, QuarantineItem.resolved_at.is_(None)) == len(BROKEN_REASONS)


def test_revoked_penalties_that_were_never_published_are_never_sent_but_stay_traceable(
    harness: Harness,
) -> None:
    revoked = {r["decision_no"] for r in harness.records("penalty") if r["status"] == "撤销"}
    assert revoked, "the seed must revoke some penalties"

    harness.sync()

    kept = {r.document_no: r for r in harness.rows(Record, Record.document_no.in_(revoked))}
    assert set(kept) == revoked and {r.state for r in kept.values()} == {"revoked"}
    assert not {r.platform_id for r in kept.values()} - {None}
    queued = {item.business_key for item in harness.rows(OutboxItem)}
    assert not queued & {r.business_key for r in kept.values()}
    assert not revoked & set(harness.quarantine_by_document())
    events = harness.rows(AuditEntry, AuditEntry.event == "revoked_unpublished")
    assert len(events) == len(revoked)


@BOTH_STORES
def test_running_the_sync_again_sends_nothing_twice(harness: Harness) -> None:
    harness.sync()
    before = platform_snapshot(harness)
    quarantined = harness.count(QuarantineItem)
    cursors = harness.cursors()

    second = harness.sync()
    third = harness.sync()

    assert platform_snapshot(harness) == before
    assert harness.count(QuarantineItem) == quarantined
    assert harness.cursors() == cursors
    for run in (second, third):
        assert run["pushed"] == {"batches": 0, "acked": 0, "rejected": 0}
        counts = run["report"]["records"]
        assert counts["read"] >= 1 and counts.get("new", 0) == counts.get("changed", 0) == 0
        assert run["report"]["quarantined"] == 0
    assert harness.chain_ok()


def _each_step_twice(harness: Harness, run_id: str) -> None:
    for _ in range(2):
        pull(harness.context(run_id))
    for _ in range(2):
        push(harness.context(run_id), harness.client)
    for _ in range(2):
        report(harness.context(run_id))


def _whole_run_twice(harness: Harness, run_id: str) -> None:
    harness.sync(harness.context(run_id))
    harness.sync(harness.context(run_id))


def _pull_again_after_push(harness: Harness, run_id: str) -> None:
    pull(harness.context(run_id))
    push(harness.context(run_id), harness.client)
    pull(harness.context(run_id))  # Airflow cleared the upstream task after push ran
    harness.sync(harness.context(run_id))


@BOTH_STORES
@pytest.mark.parametrize("retry", [_each_step_twice, _whole_run_twice, _pull_again_after_push],
                         ids=["each-step-twice", "whole-run-twice", "pull-after-push"])
def test_retrying_steps_of_the_same_run_sends_nothing_twice(
    harness: Harness, retry: Callable[[Harness, str], None]
) -> None:
    expected = harness.expected_published()

    retry(harness, "scheduled__2026-05-10T00:00:00+00:00")

    stats = harness.stats()
    assert stats["records"] == stats["business_keys"] == stats["idempotency_keys"] == len(expected)
    assert harness.published_documents() == expected
    assert harness.count(QuarantineItem) == len(BROKEN_REASONS)
    assert harness.count(RecordVersion) == len(expected) + harness.revoked_unpublished()
    assert harness.cursors() == {kind: harness.last_cursor(kind) for kind in KINDS}
    assert harness.chain_ok()


@BOTH_STORES
def test_a_pull_that_died_midway_resumes_without_processing_a_row_twice(
    harness: Harness, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    harness.use_department_file(tmp_path, batch_size=10)
    run_id = "manual__pull-crash"
    calls = {"n": 0}
    real = ChangeSet.apply

    def dies_on_the_3rd_chunk(self: ChangeSet, session: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("worker killed")
        real(self, session)

    monkeypatch.setattr(ChangeSet, "apply", dies_on_the_3rd_chunk)
    with pytest.raises(RuntimeError):
        pull(harness.context(run_id))
    assert harness.count(OutboxItem) + harness.count(QuarantineItem) <= 20  # two chunks committed

    monkeypatch.setattr(ChangeSet, "apply", real)
    counts = pull(harness.context(run_id))
    push(harness.context(run_id), harness.client)

    expected = harness.expected_published()
    assert counts["penalty"].get("new", 0) + counts["license"].get("new", 0) <= len(expected)
    assert harness.count(RecordVersion) - harness.revoked_unpublished() == harness.stats()["records"]
    assert harness.stats()["records"] == len(expected)
    assert harness.count(QuarantineItem) == len(BROKEN_REASONS)
    assert harness.chain_ok()


def test_every_source_adapter_the_pull_opens_is_closed(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed: list[str] = []
    real_close = RestSourceAdapter.close

    def counting_close(self: RestSourceAdapter) -> None:
        closed.append(self.department)
        real_close(self)

    monkeypatch.setattr(RestSourceAdapter, "close", counting_close)
    harness.source.inject_fault("500", times=RETRIES)  # the first stream fails: its adapter too

    pulled = pull(harness.context())

    assert "error" in pulled["penalty"]
    assert closed == ["market_supervision"] * len(KINDS)


def test_no_full_id_number_is_kept_outside_the_undelivered_outbox(harness: Harness) -> None:
    numbers = harness.id_numbers()
    person = harness.valid_penalty(party_type="01")
    harness.sync()
    harness.stop_platform()  # a correction of a natural person's penalty waits in the outbox
    harness.source.update(person["id"], facts=person["facts"] + "（更正）")
    with pytest.raises(RetriableError, match="no answer"):
        harness.sync()

    for table in READABLE_TABLES:
        assert leaked(numbers, harness.table_text(table)) == [], table
    acked = "\n".join(repr(item.sealed) for item in harness.rows(OutboxItem, OutboxItem.status == "acked"))
    assert leaked(numbers, acked) == []
    waiting = harness.pending()
    assert len(waiting) == 1
    assert opened(waiting[0])["CF_XDR_ZJHM"] == person["id_no"]  # only here, until acknowledged
