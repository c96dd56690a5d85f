"""A published record's later life: corrected at the source (same platform row, new version), then
revoked (终止公示 on the platform, never published again), and the story the audit trail tells."""

from __future__ import annotations

import re
from typing import Any

import pytest
from pipeline_harness import Harness, leaked
from typer.testing import CliRunner

from creditsync.audit.history import trace
from creditsync.cli.main import app
from creditsync.store.models import OutboxItem, RecordVersion

pytestmark = pytest.mark.integration
BOTH_STORES = pytest.mark.parametrize("harness_db", ["sqlite", "postgresql"], indirect=True)
CORRECTED = "（经复核更正）"


def correct(harness: Harness, record: dict[str, Any]) -> str:
    """Correct the record at the source and sync; returns the corrected 违法事实."""
    facts = record["facts"] + CORRECTED
    harness.source.update(record["id"], facts=facts)
    harness.sync()
    return facts


def revoke(harness: Harness, record: dict[str, Any]) -> dict[str, Any]:
    harness.source.update(record["id"], status="撤销")
    return harness.sync()


@BOTH_STORES
def test_a_correction_updates_the_platform_row_in_place(harness: Harness) -> None:
    target = harness.valid_penalty(3)
    harness.sync()
    first = harness.record(target["decision_no"])
    before = harness.stats()

    facts = correct(harness, target)

    after = harness.stats()
    assert after["records"] == after["business_keys"] == before["records"]
    assert after["idempotency_keys"] == before["idempotency_keys"] + 1
    row = harness.client.record(str(first.platform_id))
    assert row is not None and row["version"] == 2 and row["status"] == "published"
    assert row["data"]["CF_SY"] == facts
    record = harness.record(target["decision_no"])
    assert (record.version, record.state, record.platform_id) == (2, "published", first.platform_id)
    versions = harness.rows(RecordVersion, RecordVersion.business_key == record.business_key)
    assert sorted(v.version for v in versions) == [1, 2]
    assert versions[-1].payload_masked["CF_SY"] == facts
    with harness.gateway.store.reader() as session:
        story = trace(session, target["decision_no"])
        bound = {e.id: e for e in story.entries if e.event == "versions_stored"}
        assert [bound[v.audit_entry_id].details["count"] >= 1 for v in story.versions] == [True, True]


@BOTH_STORES
def test_a_revoked_penalty_is_withdrawn_and_never_published_again(harness: Harness) -> None:
    target = harness.valid_penalty(5)
    harness.sync()
    correct(harness, target)
    platform_id = str(harness.record(target["decision_no"]).platform_id)

    result = revoke(harness, target)

    assert result["pulled"]["penalty"].get("withdrawal_queued") == 1
    assert result["pushed"]["acked"] == 1
    assert harness.record(target["decision_no"]).state == "withdrawn"
    row = harness.client.record(platform_id)
    assert row is not None and row["status"] == "withdrawn"
    settled = harness.stats()
    assert settled["withdrawn"] == 1

    # The department edits the revoked record again, and the sync after that re-reads it: still off.
    harness.source.update(target["id"], facts=target["facts"] + "（撤销后补录）")
    again = harness.sync()
    harness.sync()

    assert again["pulled"]["penalty"].get("unchanged") == 1
    assert harness.stats() == settled
    assert harness.record(target["decision_no"]).state == "withdrawn"
    assert harness.count(OutboxItem, OutboxItem.status == "pending") == 0


def test_audit_trace_tells_the_story_of_a_corrected_then_revoked_record(harness: Harness) -> None:
    target = harness.valid_penalty(1, party_type="01")  # a natural person: the trace must mask the ID
    harness.sync()
    correct(harness, target)
    revoke(harness, target)

    result = CliRunner().invoke(app, ["audit", "trace", target["decision_no"]])

    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "state withdrawn" in out and "version 2" in out
    assert re.search(r"^v1 .* source " + target["id"], out, re.M)
    assert re.search(r"^v2 .* source " + target["id"], out, re.M)
    lines = [line for line in out.splitlines() if line.startswith("push ")]
    assert lines[0].startswith("push v1 upsert: acked")
    assert lines[1].startswith("push v2 upsert: acked")
    assert lines[2].startswith("push v2 withdraw: acked")
    events = re.findall(r"│ (versions_stored|withdrawal_queued|receipts_stored) ", out)
    assert events == ["versions_stored", "receipts_stored", "versions_stored", "receipts_stored",
                      "withdrawal_queued", "receipts_stored"]
    assert leaked(harness.id_numbers(), result.output) == []


def test_trace_of_an_unknown_record_exits_1(harness: Harness) -> None:
    harness.sync()
    result = CliRunner().invoke(app, ["audit", "trace", "长市监处罚〔1999〕1号"])
    assert result.exit_code == 1
    assert "nothing found" in result.output


@BOTH_STORES
@pytest.mark.parametrize("record_id", ["L000024", "P000032"])
def test_a_quarantined_record_is_traced_by_its_document_number(harness: Harness, record_id: str) -> None:
    harness.sync()
    document = harness.document(record_id)

    result = CliRunner().invoke(app, ["audit", "trace", document])

    assert result.exit_code == 0, result.output
    entry = rf"quarantine #\d+ \((validation|mapping), source {record_id}\) (XK_XDR_ZJHM|CF_NR_FK): "
    assert re.search(entry, result.stdout)
    assert "record_quarantined" in result.stdout
    assert leaked(harness.id_numbers(), result.output) == []
