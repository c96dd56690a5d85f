"""Reconciliation against the real platform simulator: answers lost in flight are settled from the
query-back, and every way a delivered record can differ on the platform is found and repaired (or
reported, checking only), each repair in the audit trail with its actor."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import fabricate
import pytest
from pipeline_harness import Harness
from typer.testing import CliRunner

from creditsync.cli.main import app
from creditsync.exceptions import RetriableError
from creditsync.pipeline import pull, push
from creditsync.pipeline.reconcile import reconcile
from creditsync.privacy import MASKED
from creditsync.scaffold.sample_records import sample_records
from creditsync.simulators import synthetic as syn
from creditsync.simulators.platform import FaultConfig
from creditsync.store.models import AuditEntry, OutboxItem, Record, RecordVersion

pytestmark = pytest.mark.integration
DEPARTMENT = "market_supervision"
HANDOVER = "manual_handover"
EDITED = "平台上被改动"
ACTOR = "auditor-li@reconcile-test"


def run_cli(*args: str, department: str = DEPARTMENT) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(app, ["reconcile", department, "--format", "json", *args])
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.output)


def handover_file(tmp_path: Path) -> Path:
    """Three valid penalties in the standard template; the first one names its legal representative's
    ID number (so its stored payload is masked once acknowledged), the others hold none."""
    rng = random.Random(11)
    authority = syn.make_uscc(rng, dept_code="1", kind="1")
    samples = sample_records("penalty", "济南市长清区市场监督管理局", authority, count=4)[:3]  # 4th: broken
    rows = [{k: v for k, v in row.items() if k.startswith("CF_")} for row in samples]  # no source id
    rows[0] |= {"CF_FR_ZJLX": "身份证", "CF_FR_ZJHM": syn.make_id_number(rng)}
    path = tmp_path / "handover.jsonl"
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), "utf-8")
    return path


def push_file(path: Path) -> None:
    result = CliRunner().invoke(app, ["push", "--category", "penalty", "--input", str(path)])
    assert result.exit_code == 0, result.output


def published(harness: Harness, with_id_number: bool) -> Record:
    """A published record whose stored (acknowledged, so masked) content held an ID number, or not."""
    for record in harness.rows(Record, Record.state == "published"):
        [version] = harness.rows(RecordVersion, RecordVersion.business_key == record.business_key)
        if any(MASKED.search(str(v)) for v in version.payload_masked.values()) == with_id_number:
            return record
    raise AssertionError("no such record")


def platform_sql(harness: Harness, sql: str, *params: Any) -> None:
    store = harness.simulator.store
    with store.batch():
        store._db.execute(sql, params)


@pytest.mark.parametrize("harness_db", ["sqlite", "postgresql"], indirect=True)
def test_answers_lost_in_flight_are_settled_from_the_query_back(harness: Harness,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREDITSYNC_ACTOR", ACTOR)
    ctx = harness.context()
    pull(ctx)
    harness.simulator.set_faults(FaultConfig(lost_ack_rate=1.0))  # every batch committed, no answer
    with pytest.raises(RetriableError):
        push(ctx, harness.client)
    harness.simulator.set_faults(FaultConfig())
    in_flight = [item for item in harness.pending() if item.attempts]
    assert in_flight and harness.stats()["records"] == len(in_flight)

    code, checked = run_cli("--check-only")
    assert code == 1 and checked["in_flight"]["unresolved"] == len(in_flight)
    assert {f["problem"] for f in checked["findings"]} == {"answer_lost"}
    assert harness.count(AuditEntry, AuditEntry.event == "reconciled") == 0  # checking changes nothing

    code, repaired = run_cli("--repair")
    assert code == 0 and repaired["in_flight"]["repaired"] == len(in_flight)
    settled = {item.business_key for item in in_flight}
    for record in harness.rows(Record, Record.business_key.in_(settled)):
        assert record.state == "published" and record.platform_id
    entries = harness.rows(AuditEntry, AuditEntry.event == "reconciled")
    assert {e.business_key for e in entries} == settled and {e.actor for e in entries} == {ACTOR}
    assert harness.chain_ok()

    harness.sync()  # the rest goes; nothing settled is sent again
    stats = harness.stats()
    assert stats["records"] == stats["business_keys"] == len(harness.expected_published())
    assert run_cli("--check-only")[0] == 0


def _delete(harness: Harness, record: Record) -> None:
    platform_sql(harness, "DELETE FROM records WHERE platform_id = ?", record.platform_id)


def _withdraw_there(harness: Harness, record: Record) -> None:
    platform_sql(harness, "UPDATE records SET withdrawn = 1 WHERE platform_id = ?", record.platform_id)


def _edit_there(harness: Harness, record: Record) -> None:
    platform_sql(harness, "UPDATE records SET data = json_set(data, '$.CF_SY', ?) WHERE platform_id = ?",
                 EDITED, record.platform_id)


def _forget_id(harness: Harness, record: Record) -> None:
    """The gateway holds a wrong platform id (as the gateway wrote it: sealed); the platform has the row
    under the right one."""
    fabricate.reseal(harness.gateway.store, record.business_key, platform_id="0" * 32)


Tamper = Callable[[Harness, Record], None]
# (tamper with one published record, whether its payload held an ID number, the problem found, the
#  record's state after --repair, and after the file is pushed again)
CASES: list[tuple[Tamper, bool, str, str, str]] = [
    (_delete, False, "missing", "pending", "published"),  # queued again as a new row
    (_delete, True, "missing", "pending", "published"),  # masked: sent again when the file is re-read
    (_edit_there, False, "content_differs", "pending", "published"),  # queued again as a correction
    (_withdraw_there, False, "withdrawn_there", "repaired", "repaired"),  # never published again
    (_forget_id, True, "missing", "published", "published"),  # the platform's id is adopted
]


@pytest.mark.parametrize(("tamper", "with_id", "problem", "repaired_state", "pushed_state"), CASES,
                         ids=["missing", "missing-masked", "content-differs", "withdrawn-there", "wrong-id"])
def test_a_delivered_record_that_differs_on_the_platform_is_found_and_repaired(
    harness: Harness, tmp_path: Path, tamper: Tamper, with_id: bool, problem: str, repaired_state: str,
    pushed_state: str,
) -> None:
    path = handover_file(tmp_path)
    push_file(path)
    record = published(harness, with_id)
    tamper(harness, record)

    code, checked = run_cli("--check-only", department=HANDOVER)
    assert code == 1
    assert [(f["business_key"], f["problem"]) for f in checked["findings"]] == [
        (record.business_key, problem)]

    code, repaired = run_cli("--repair", department=HANDOVER)
    assert harness.record(record.document_no).state == repaired_state
    [entry] = harness.rows(AuditEntry, AuditEntry.event == "reconciled")
    assert (entry.business_key, entry.details["problem"]) == (record.business_key, problem)
    assert code == (1 if entry.details["action"] == "reread" else 0), repaired

    push_file(path)
    after = harness.record(record.document_no)
    assert after.state == pushed_state
    assert run_cli("--check-only", department=HANDOVER)[0] == 0
    stats = harness.stats()
    assert stats["records"] == stats["business_keys"] == 3
    if after.state == "published":
        assert harness.client.record(str(after.platform_id))["data"]["CF_SY"] != EDITED
    else:
        assert harness.client.record(str(after.platform_id))["status"] == "withdrawn"
    assert harness.chain_ok()


def test_a_withdrawal_that_did_not_take_is_queued_again_with_a_fresh_key(harness: Harness) -> None:
    target = harness.valid_penalty(1)
    harness.sync()
    harness.source.update(target["id"], status="撤销")
    harness.sync()
    record = harness.record(target["decision_no"])
    assert record.state == "withdrawn"
    platform_sql(harness, "UPDATE records SET withdrawn = 0 WHERE platform_id = ?", record.platform_id)

    code, repaired = run_cli("--repair")
    assert code == 0 and [f["problem"] for f in repaired["findings"]] == ["published_there"]
    withdrawals = harness.rows(OutboxItem, OutboxItem.business_key == record.business_key,
                               OutboxItem.action == "withdraw")
    keys = [item.idempotency_key for item in withdrawals]
    assert len(set(keys)) == 2
    harness.sync()

    assert harness.client.record(str(record.platform_id))["status"] == "withdrawn"
    assert harness.record(target["decision_no"]).state == "withdrawn"
    assert run_cli("--check-only")[0] == 0


def test_reconcile_streams_in_chunks_and_an_unknown_department_is_a_usage_error(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    harness.sync()
    monkeypatch.setattr("creditsync.pipeline.reconcile.CHUNK", 3)
    ctx = harness.context()
    report = reconcile(ctx, harness.client, ["license", "penalty"], repair=False)
    assert report.delivered.checked == report.delivered.matching == len(harness.expected_published())
    assert report.consistent

    result = CliRunner().invoke(app, ["reconcile", "no_such_department"])
    assert result.exit_code == 2 and "unknown department" in result.output


def test_delivered_records_are_read_back_in_batches_not_one_request_each(harness: Harness) -> None:
    harness.sync()
    delivered = len(harness.expected_published())
    before = harness.stats()["requests"]

    report = reconcile(harness.context(), harness.client, ["license", "penalty"], repair=False)

    assert report.delivered.checked == report.delivered.matching == delivered
    # per category: one query-back of the in-flight keys at most, one read of ≤ 50 copies per chunk
    assert harness.stats()["requests"] - before <= 2 * (delivered // 50 + 2) < delivered
