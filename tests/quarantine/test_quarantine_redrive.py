"""``creditsync quarantine redrive``: once the department has fixed its data the source is re-read (the
cursor goes back, audited with who and why); fixed records are delivered exactly once and close their
quarantine entries; the platform's rejections go again under a fresh idempotency key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cli_support import invoke, penalties, write_rows
from pipeline_harness import Harness, opened

from creditsync.pipeline import pull, push, report
from creditsync.schema.identifiers import make_uscc
from creditsync.store.models import AuditEntry, OutboxItem, QuarantineItem, RecordVersion

pytestmark = pytest.mark.integration
BOTH_STORES = pytest.mark.parametrize("harness_db", ["sqlite", "postgresql"], indirect=True)
ACTOR = "auditor-zhang"
PLATFORM_SAYS = "处罚机关统一社会信用代码校验不通过"


@pytest.fixture(autouse=True)
def actor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREDITSYNC_ACTOR", ACTOR)


def redrive(*args: str, expect: int = 0) -> str:
    result = invoke("quarantine", "redrive", *args)
    assert result.exit_code == expect, result.output
    return result.output


def redrives(harness: Harness) -> list[AuditEntry]:
    return harness.rows(AuditEntry, AuditEntry.event == "manual_redrive")


def receipts(harness: Harness, business_key: str) -> int:
    """Acceptances of the record's items, each bound to the trail by a receipts_stored entry."""
    return harness.count(OutboxItem, OutboxItem.business_key == business_key, OutboxItem.status == "acked",
                         OutboxItem.receipt_entry_id.is_not(None))


def push_file(path: Path) -> int:
    return invoke("push", "--category", "penalty", "--input", str(path), "--department", "handover").exit_code


def open_entries(harness: Harness, source_key: str) -> list[QuarantineItem]:
    return harness.rows(QuarantineItem, QuarantineItem.source_key == source_key,
                        QuarantineItem.resolved_at.is_(None))


def fix_silently(harness: Harness, record_id: str) -> dict[str, Any]:
    """The department corrects the USCC in its database without touching the modification time."""
    broken = harness.source.store.get(record_id)
    assert broken is not None
    return harness.source.update(record_id, credit_code=make_uscc(str(broken["credit_code"])[:17]),
                                 updated_at=broken["updated_at"])


@BOTH_STORES
def test_a_silently_fixed_record_is_delivered_once_after_a_redrive(harness: Harness) -> None:
    harness.sync()
    cursor = harness.cursors()["penalty"]
    fix_silently(harness, "P000008")
    harness.sync()
    assert len(open_entries(harness, "P000008")) == 1  # the cursor has moved past it: not re-read
    before = harness.stats()

    shown = redrive("market_supervision", "--category", "penalty", "--from-start",
                    "--reason", "部门已更正信用代码")

    assert f"penalty: cursor {cursor} → (start)" in shown
    assert harness.cursors() == {"penalty": None, "license": harness.last_cursor("license")}
    [entry] = redrives(harness)
    assert (entry.actor, entry.category, entry.details["mode"]) == (ACTOR, "penalty", "cursor_reset")
    assert (entry.details["reason"], entry.details["cursor_from"], entry.details["cursor_to"]) == (
        "部门已更正信用代码", cursor, None)

    harness.sync()

    after = harness.stats()
    assert after["records"] == after["business_keys"] == before["records"] + 1
    assert after["idempotency_keys"] == before["idempotency_keys"] + 1  # nothing else went again
    record = harness.record(harness.document("P000008"))
    assert record.state == "published" and receipts(harness, record.business_key) == 1
    assert open_entries(harness, "P000008") == []
    [closed] = harness.rows(QuarantineItem, QuarantineItem.source_key == "P000008")
    assert closed.resolution and closed.resolution.startswith("fixed at source")
    assert harness.cursors()["penalty"] == cursor
    assert harness.chain_ok()


def test_back_to_a_given_cursor_value(harness: Harness) -> None:
    harness.sync()
    earlier = sorted(r["updated_at"] for r in harness.records("license"))[5]
    redrive("market_supervision", "-c", "license", "--since-cursor", earlier, "--reason", "补录")
    assert harness.cursors()["license"] == earlier
    assert harness.sync()["pulled"]["license"]["read"] == 35  # from the 6th oldest on, inclusive


@pytest.mark.parametrize(("args", "words"), [
    (("--reason", "x"), "say what to re-drive"),
    (("--from-start", "--since-cursor", "2020-01-01"), "not both"),
    (("--since-cursor", "2999-01-01T00:00:00+08:00"), "only moves the cursor back"),
    (("--from-start", "--category", "permits"), "has no stream permits"),
])
def test_what_a_redrive_refuses(harness: Harness, args: tuple[str, ...], words: str) -> None:
    harness.sync()
    cursors = harness.cursors()
    output = redrive("market_supervision", *args, expect=2)
    assert words in " ".join(output.split())
    assert harness.cursors() == cursors and redrives(harness) == []


def test_an_unconfigured_source_has_no_cursor_to_reset(harness: Harness) -> None:
    assert "unknown department" in redrive("nowhere", "--from-start", expect=2)


def test_a_run_in_flight_cannot_undo_the_redrive(harness: Harness) -> None:
    ctx = harness.context()
    pull(ctx)  # pulled and queued; its cursor would advance once the push is answered

    redrive("market_supervision", "--from-start", "--reason", "重新读取")
    push(ctx, harness.client)
    report(ctx)

    assert harness.cursors() == {"penalty": None, "license": None}
    assert all(ctx.run_id in e.details["cancelled_runs"] for e in redrives(harness))
    harness.sync()
    stats = harness.stats()
    assert stats["records"] == stats["business_keys"] == len(harness.expected_published())
    assert harness.cursors()["penalty"] == harness.last_cursor("penalty")


def test_a_platform_rejection_goes_again_under_a_new_key(harness: Harness, tmp_path: Path) -> None:
    rows = penalties(3)  # the 个体工商户 row holds no ID number: its stored payload is still whole
    document = rows[1]["CF_WSH"]
    harness.validator.rejections[document] = PLATFORM_SAYS
    path = write_rows(tmp_path / "handover.jsonl", rows)
    assert push_file(path) == 1
    record = harness.record(document)
    assert record.state == "rejected" and len(open_entries(harness, str(record.source_key))) == 1
    del harness.validator.rejections[document]  # the platform corrected its rule

    shown = redrive("handover", "--platform-rejected", "--reason", "市平台已修正校验规则")

    assert "re-queued 1 rejected record" in shown
    first, again = harness.rows(OutboxItem, OutboxItem.business_key == record.business_key)
    assert (first.status, again.status, again.version) == ("rejected", "pending", first.version)
    [version] = harness.rows(RecordVersion, RecordVersion.business_key == record.business_key)
    assert again.idempotency_key != first.idempotency_key and opened(again) == version.payload_masked
    assert first.sealed is None  # answered: the content is kept once, masked, in record_versions
    assert harness.record(document).state == "pending"
    assert open_entries(harness, str(record.source_key)) == []
    [entry] = redrives(harness)
    assert (entry.business_key, entry.actor, entry.details["mode"]) == (record.business_key, ACTOR,
                                                                        "platform_requeue")

    assert push_file(path) == 0
    stats = harness.stats()
    assert stats["records"] == stats["business_keys"] == 3
    assert harness.record(document).state == "published" and receipts(harness, record.business_key) == 1


@BOTH_STORES
def test_a_rejected_record_with_an_id_number_is_resent_from_the_source(harness: Harness) -> None:
    target = harness.valid_penalty(0, party_type="01")  # 自然人: the payload holds the ID number
    harness.validator.rejections[target["decision_no"]] = PLATFORM_SAYS
    harness.sync()
    rejected = harness.record(target["decision_no"])
    del harness.validator.rejections[target["decision_no"]]

    refused = redrive("market_supervision", "--platform-rejected", expect=2)
    assert "held an ID number" in refused
    assert harness.record(target["decision_no"]).mapped_hash == rejected.mapped_hash  # nothing changed
    redrive("market_supervision", "--platform-rejected", "--from-start", "-c", "penalty",
            "--reason", "规则已修正")
    harness.sync()

    record = harness.record(target["decision_no"])
    assert (record.state, record.version) == ("published", 2)
    row = harness.client.record(str(record.platform_id))
    assert row is not None and row["data"]["CF_XDR_ZJHM"] == target["id_no"]  # whole, from the source
    stats = harness.stats()
    assert stats["records"] == stats["business_keys"] == len(harness.expected_published())
    assert open_entries(harness, target["id"]) == []
    modes = sorted(e.details["mode"] for e in redrives(harness))
    assert modes == ["cursor_reset", "source_reread"]
