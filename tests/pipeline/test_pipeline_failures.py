"""When things go wrong: the platform is down or loses its answers, rejects records, a source stream
breaks, or too much of a source is invalid. Nothing is lost, nothing is sent twice, the cursor waits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pipeline_harness import KINDS, Harness

from creditsync.exceptions import FatalError, FieldError, RetriableError
from creditsync.pipeline import pull, push, report
from creditsync.simulators.platform import FaultConfig
from creditsync.sources import rest
from creditsync.store.models import AuditEntry, QuarantineItem, Record, RunStream, SyncRun

pytestmark = pytest.mark.integration
BOTH_STORES = pytest.mark.parametrize("harness_db", ["sqlite", "postgresql"], indirect=True)
REJECTION = "处罚机关统一社会信用代码校验不通过"


@BOTH_STORES
def test_platform_down_keeps_the_cursor_and_the_outbox_until_it_is_back(harness: Harness) -> None:
    ctx = harness.context()
    pull(ctx)
    harness.stop_platform()

    with pytest.raises(RetriableError):
        push(ctx, harness.client)

    assert harness.cursors() == {}
    waiting = harness.pending()
    assert len(waiting) == len(harness.expected_published())
    tried = [item for item in waiting if item.attempts]
    assert tried and all(item.last_error and "no answer" in item.last_error for item in tried)
    assert harness.rows(AuditEntry, AuditEntry.event == "push_failed")
    assert harness.stats()["records"] == 0

    harness.restart_platform()
    harness.sync()

    harness.delivered_once()
    assert harness.stats()["idempotency_keys"] == len(waiting)
    assert harness.cursors() == {kind: harness.last_cursor(kind) for kind in KINDS}


def test_a_correction_waits_with_the_cursor_while_the_platform_is_down(harness: Harness) -> None:
    target = harness.valid_penalty(2)
    harness.sync()
    cursors = harness.cursors()
    harness.source.update(target["id"], facts=target["facts"] + "（更正）")
    harness.stop_platform()

    with pytest.raises(RetriableError):
        harness.sync()
    assert harness.cursors() == cursors
    assert [item.business_key for item in harness.pending()] == [harness.record(target["decision_no"])
                                                                 .business_key]

    harness.restart_platform()
    harness.sync()
    harness.sync()

    harness.delivered_once()
    assert harness.cursors()["penalty"] == harness.last_cursor("penalty") != cursors["penalty"]
    row = harness.client.record(str(harness.record(target["decision_no"]).platform_id))
    assert row is not None and row["version"] == 2


@pytest.mark.parametrize("edit", [{"facts": "经复核更正的违法事实。"}, {"status": "撤销"}],
                         ids=["corrected", "revoked"])
def test_a_record_changed_before_its_unanswered_first_push_ends_as_one_platform_row(
    harness: Harness, edit: dict[str, str]
) -> None:
    ctx = harness.context()
    pull(ctx, categories=["penalty"])
    harness.stop_platform()
    with pytest.raises(RetriableError):
        push(ctx, harness.client)  # sent, never answered: the platform may or may not hold it
    target = harness.valid_penalty(0)
    key = harness.record(target["decision_no"]).business_key
    assert any(item.business_key == key and item.attempts for item in harness.pending())
    harness.source.update(target["id"], **edit)
    harness.restart_platform()

    harness.sync()

    stats = harness.stats()
    assert stats["records"] == stats["business_keys"]
    assert stats["records"] - stats["withdrawn"] == len(harness.expected_published())
    record = harness.record(target["decision_no"])
    row = harness.client.record(str(record.platform_id))
    assert row is not None
    if "facts" in edit:
        assert (row["status"], record.state) == ("published", "published")
        assert row["data"]["CF_SY"] == edit["facts"]
    else:
        assert (row["status"], record.state) == ("withdrawn", "withdrawn")
    assert harness.pending() == []


def test_lost_acknowledgements_never_create_a_second_row(harness: Harness) -> None:
    ctx = harness.context()
    pull(ctx)
    harness.simulator.set_faults(FaultConfig(lost_ack_rate=1.0, seed=3))  # committed, answer lost

    with pytest.raises(RetriableError):
        push(ctx, harness.client)
    assert harness.stats()["records"] > 0  # the platform did take the first batch
    harness.simulator.set_faults(FaultConfig())
    push(ctx, harness.client)

    harness.delivered_once()
    assert harness.stats()["idempotency_keys"] == len(harness.expected_published())


def test_platform_rejections_are_quarantined_and_not_resent_unless_changed(harness: Harness) -> None:
    target = harness.valid_penalty(4)
    harness.validator.rejections[target["decision_no"]] = REJECTION

    first = harness.sync()

    assert first["pushed"]["rejected"] == 1
    record = harness.record(target["decision_no"])
    assert record.state == "rejected" and record.platform_id is None
    [item] = harness.rows(QuarantineItem, QuarantineItem.stage == "platform")
    assert item.business_key == record.business_key and item.source_key == target["id"]
    assert item.errors == [{"field": "(platform)", "kind": "platform", "zh": REJECTION, "en": ""}]
    assert target["decision_no"] not in harness.published_documents()
    keys = harness.stats()["idempotency_keys"]

    harness.source.update(target["id"])  # touched at the source, nothing published changed
    touched = harness.sync()

    assert touched["pulled"]["penalty"].get("still_rejected") == 1
    assert harness.stats()["idempotency_keys"] == keys
    assert harness.count(QuarantineItem, QuarantineItem.stage == "platform") == 1

    del harness.validator.rejections[target["decision_no"]]
    harness.source.update(target["id"], facts=target["facts"] + "（补正）")
    harness.sync()

    harness.delivered_once()
    assert harness.record(target["decision_no"]).state == "published"
    [resolved] = harness.rows(QuarantineItem, QuarantineItem.stage == "platform")
    assert resolved.resolved_at is not None


def test_random_platform_rejections_carry_the_platform_message(harness: Harness) -> None:
    harness.simulator.set_faults(FaultConfig(reject_rate=0.2, seed=11))

    result = harness.sync()

    rejected = harness.rows(QuarantineItem, QuarantineItem.stage == "platform")
    assert result["pushed"]["rejected"] == len(rejected) == harness.stats()["rejected"] > 0
    assert all(len(q.errors) == 1
               and any("\u4e00" <= ch <= "\u9fff" for ch in FieldError.from_stored(q.errors[0]).message)
               for q in rejected)
    stats = harness.stats()
    assert stats["records"] == len(harness.expected_published()) - len(rejected)
    states = {r.business_key: r.state for r in harness.rows(Record)}
    assert {states[str(q.business_key)] for q in rejected} == {"rejected"}


def test_a_broken_source_stream_fails_alone(harness: Harness) -> None:
    cursor_before: dict[str, Any] = harness.cursors()
    attempts = rest.default_retrying().stop.max_attempt_number  # type: ignore[attr-defined]
    harness.source.inject_fault("bad_json", times=attempts)  # every attempt of the first stream (penalty)

    ctx = harness.context()
    pulled = pull(ctx)
    push(ctx, harness.client)
    with pytest.raises(FatalError, match="penalty"):
        report(ctx)

    assert "error" in pulled["penalty"] and "error" not in pulled["license"]
    [stream] = harness.rows(RunStream, RunStream.run_id == ctx.run_id, RunStream.category == "penalty")
    assert stream.error and "not valid JSON" in stream.error
    assert harness.cursors() == {**cursor_before, "license": harness.last_cursor("license")}
    licences = {r["decision_no"] for r in harness.records("license")} & harness.expected_published()
    assert harness.published_documents() == licences
    assert harness.stats()["records"] == len(licences)
    assert harness.rows(AuditEntry, AuditEntry.event == "source_failed")


def test_a_stream_that_breaks_midway_keeps_its_cursor_and_loses_nothing(
    harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    harness.use_department_file(tmp_path, batch_size=10)
    store, real_page = harness.source.store, harness.source.store.page
    calls: list[str] = []

    def breaks_after_one_page(kind: str, *args: Any) -> dict[str, Any]:
        calls.append(kind)
        body = real_page(kind, *args)
        return {**body, "items": "系统维护中"} if calls.count("penalty") > 1 and kind == "penalty" else body

    monkeypatch.setattr(store, "page", breaks_after_one_page)
    ctx = harness.context()
    pulled = pull(ctx)

    assert "no list at 'items'" in pulled["penalty"]["error"]
    assert 0 < pulled["penalty"]["read"] < 60 and pulled["license"]["read"] == 40  # one page of penalties
    push(ctx, harness.client)
    with pytest.raises(FatalError, match="penalty"):
        report(ctx)
    assert set(harness.cursors()) == {"license"}  # the penalty stream is read again from the start

    monkeypatch.setattr(store, "page", real_page)
    harness.sync()
    assert harness.published_documents() == harness.expected_published()
    stats = harness.stats()
    assert stats["records"] == stats["business_keys"] == len(harness.expected_published())


def test_too_many_bad_records_fail_the_run_after_delivering_the_valid_ones(
    harness: Harness, tmp_path: Path
) -> None:
    harness.use_department_file(tmp_path, bad_record_threshold=0.01)
    ctx = harness.context()
    pull(ctx)
    assert len(harness.pending()) == len(harness.expected_published())
    push(ctx, harness.client)

    with pytest.raises(FatalError, match="threshold 1%") as failure:
        report(ctx)
    assert "4 of 60 penalty records" in str(failure.value)
    assert "2 of 40 license records" in str(failure.value)
    harness.delivered_once()
    assert harness.count(QuarantineItem) == len(harness.source.broken_ids)
    assert harness.rows(SyncRun, SyncRun.id == ctx.run_id)[0].status == "failed"


def test_one_bad_record_at_the_cursor_does_not_fail_every_later_run(harness: Harness) -> None:
    harness.sync()
    harness.source.update("P000020")  # saved again, still broken: now the newest record of the source

    for _ in range(3):  # each run re-reads it through the cursor overlap: 1 of 1 "invalid"
        result = harness.sync()
        assert result["report"]["status"] in ("success", "partial")

    assert harness.cursors()["penalty"] == harness.last_cursor("penalty")
