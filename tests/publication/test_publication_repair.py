"""信用修复: ``creditsync repair`` by hand and ``creditsync repair --pull`` from the platform's feed. A
repaired record is withdrawn at once and never published again, whatever the department sends."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import fabricate
import pytest
from publication_support import DEPARTMENT, Gateway
from schema_factories import AUTHORITY, SOURCE_UNIT, penalty_row, uscc_for

from creditsync.audit import AuditTrail
from creditsync.exceptions import ConfigurationError
from creditsync.lifecycle import RunScope
from creditsync.publication.repair import RepairDecision, RepairSource, repair
from creditsync.publication.repair_feed import REPAIRS_PATH_ENV
from creditsync.store import Store
from creditsync.store.models import Cursor, OutboxItem, Record
from creditsync.store.states import OutboxAction, OutboxStatus, RecordState

pytestmark = pytest.mark.integration

DOC = "长市监罚〔2026〕601号"
OTHER = "长市监罚〔2026〕602号"
DECISION = "济信修〔2026〕18号"


def _rows(**changes: Any) -> list[dict[str, Any]]:
    return [penalty_row(CF_WSH=DOC, CF_JDRQ="2026/05/01", **changes),
            penalty_row(CF_WSH=OTHER, CF_JDRQ="2026/05/01", **changes)]


def _push(gateway: Gateway, tmp_path: Path, rows: list[dict[str, Any]], name: str = "handover.jsonl") -> int:
    path = tmp_path / name
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return gateway.cli("push", "--category", "penalty", "--input", str(path), "--department",
                       DEPARTMENT).exit_code


def test_a_repair_by_hand_withdraws_at_once_and_a_corrected_resend_never_republishes(
        gateway: Gateway, tmp_path: Path) -> None:
    assert _push(gateway, tmp_path, _rows()) == 0

    result = gateway.cli("repair", DOC, "--decision-no", DECISION, "--reason", "已履行行政处罚决定并完成整改",
                         "--decided-on", "2026-11-20")
    assert result.exit_code == 0, result.output
    assert DECISION in result.stdout

    record = gateway.record(DOC)
    assert (record.state, record.repair_decision_no) == (RecordState.REPAIRED, DECISION)
    assert record.withdrawn_within_days == 0  # queued and acknowledged the same day
    assert gateway.on_platform(record)["status"] == "withdrawn"
    repair = next(e for e in gateway.audit(record.business_key) if e.event == "credit_repair")
    assert repair.details["decision_no"] == DECISION and repair.details["previous_state"] == "published"
    assert repair.details["decided_on"] == "2026-11-20"

    assert _push(gateway, tmp_path, _rows(CF_SY="更正后的违法事实。"), "corrected.jsonl") == 0

    record = gateway.record(DOC)
    assert record.state == RecordState.REPAIRED
    assert gateway.on_platform(record)["status"] == "withdrawn"
    actions = [i.action for i in gateway.outbox(record.business_key)]
    assert actions == [OutboxAction.UPSERT, OutboxAction.WITHDRAW]
    assert gateway.record(OTHER).version == 2  # the other record's correction went through
    trace = gateway.cli("audit", "trace", DOC)
    assert trace.exit_code == 0 and DECISION in trace.stdout


def test_recording_the_same_repair_twice_changes_nothing(gateway: Gateway, tmp_path: Path) -> None:
    assert _push(gateway, tmp_path, _rows()) == 0
    args = ("repair", DOC, "--decision-no", DECISION, "--reason", "整改完成")
    assert gateway.cli(*args).exit_code == 0
    entries = gateway.audit_count()

    again = gateway.cli(*args)

    assert again.exit_code == 0 and "already recorded" in again.stdout
    assert gateway.audit_count() == entries


@pytest.mark.parametrize(("args", "message"), [
    (("repair", "长市监罚〔2026〕999号", "--decision-no", DECISION, "--reason", "x"), "no record"),
    (("repair", DOC, "--reason", "x"), "--decision-no"),
    (("repair", DOC, "--decision-no", DECISION), "--reason"),
    (("repair", DOC, "--decision-no", DECISION, "--reason", "x", "--decided-on", "20/11/2026"), "not a date"),
    (("repair", "--decision-no", DECISION, "--reason", "x"), "--pull"),
    (("repair", DOC, "--pull"), "--pull"),
])
def test_a_repair_without_what_it_needs_is_a_usage_error(gateway: Gateway, tmp_path: Path,
                                                         args: tuple[str, ...], message: str) -> None:
    assert _push(gateway, tmp_path, _rows()) == 0

    result = gateway.cli(*args)

    assert result.exit_code == 2
    assert message in result.output
    assert gateway.record(DOC).state == RecordState.PUBLISHED


def test_a_document_number_of_two_authorities_must_be_named_by_business_key(
        gateway: Gateway, tmp_path: Path) -> None:
    other_authority = uscc_for("11370102", "00418799")
    rows = [penalty_row(CF_WSH=DOC), penalty_row(CF_WSH=DOC, CF_CFJGDM=other_authority)]
    assert _push(gateway, tmp_path, rows) == 0

    result = gateway.cli("repair", DOC, "--decision-no", DECISION, "--reason", "x")

    assert result.exit_code == 2
    assert f"penalty:{AUTHORITY}:{DOC}" in result.output
    assert f"penalty:{other_authority}:{DOC}" in result.output
    key = f"penalty:{other_authority}:{DOC}"
    assert gateway.cli("repair", key, "--decision-no", DECISION, "--reason", "x").exit_code == 0


def test_repairs_granted_on_the_platform_are_pulled_once(gateway: Gateway, tmp_path: Path) -> None:
    assert _push(gateway, tmp_path, _rows()) == 0
    record = gateway.record(DOC)
    assert record.platform_id is not None
    gateway.simulator.repairs.grant(record.platform_id, DECISION, "信用修复申请已通过")
    gateway.simulator.repairs.grant(_unknown_platform_row(gateway), "济信修〔2026〕19号", "另一部门的记录")

    first = json.loads(gateway.cli("repair", "--pull", "--format", "json").stdout)

    assert (first["received"], len(first["applied"]), len(first["unmatched"])) == (2, 1, 1)
    record = gateway.record(DOC)
    assert (record.state, record.repair_decision_no) == (RecordState.REPAIRED, DECISION)
    # the platform stopped the display itself: nothing to withdraw
    assert [i.action for i in gateway.outbox(record.business_key)] == [OutboxAction.UPSERT]
    assert gateway.record(OTHER).state == RecordState.PUBLISHED
    second = json.loads(gateway.cli("repair", "--pull", "--format", "json").stdout)
    assert (second["received"], second["since"]) == (0, first["cursor"])

    assert _push(gateway, tmp_path, _rows(CF_SY="更正后的违法事实。"), "corrected.jsonl") == 0
    assert gateway.record(DOC).state == RecordState.REPAIRED


def test_the_repair_feed_path_is_configurable(gateway: Gateway, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    assert _push(gateway, tmp_path, _rows()) == 0
    gateway.simulator.repairs.path = "/credit/xyxf/list"
    record = gateway.record(DOC)
    assert record.platform_id is not None
    gateway.simulator.repairs.grant(record.platform_id, DECISION, "信用修复")

    assert gateway.cli("repair", "--pull").exit_code == 3  # refused (接口不存在): incomplete, run again
    monkeypatch.setenv(REPAIRS_PATH_ENV, "/credit/xyxf/list")
    assert gateway.cli("repair", "--pull").exit_code == 0
    assert gateway.record(DOC).state == RecordState.REPAIRED


def _unknown_platform_row(gateway: Gateway) -> str:
    """A record the platform holds that this gateway never sent (another department's)."""
    from creditsync.simulators.platform_store import IncomingRecord

    row = penalty_row(CF_WSH="外部罚〔2026〕1号", CF_SJLYDM=SOURCE_UNIT)
    with gateway.simulator.store.batch() as store:
        incoming = IncomingRecord("k" * 64, "penalty:x:外部罚〔2026〕1号", "upsert", None, row)
        return store.create("penalty", incoming)


def test_a_repair_before_the_record_was_ever_sent_ends_it_at_once(store: Store) -> None:
    key = f"penalty:{AUTHORITY}:{DOC}"
    fabricate.write(store, records=[fabricate.record_row(key, department=DEPARTMENT, document_no=DOC)],
                    outbox=[fabricate.outbox_row(key, department=DEPARTMENT)])
    outcome = repair(store, _scope(), key, RepairDecision(DECISION, "整改完成"))
    assert not outcome.withdrawal_queued
    with store.reader() as session:
        record = session.get(Record, key)
        assert record is not None and record.state == RecordState.REPAIRED
        items = session.query(OutboxItem).all()
        assert [(i.action, i.status) for i in items] == [(OutboxAction.UPSERT, OutboxStatus.SUPERSEDED)]
        assert session.get(Cursor, ("(platform)", "repairs")) is None


def test_a_platform_repair_needs_no_withdrawal_even_when_one_would_be_due(store: Store) -> None:
    key = f"penalty:{AUTHORITY}:{OTHER}"
    fabricate.write(store, records=[fabricate.record_row(key, department=DEPARTMENT, document_no=OTHER,
                                                         state="published", platform_id="p" * 32)])
    decision = RepairDecision(DECISION, "平台已修复", source=RepairSource.PLATFORM)
    assert not repair(store, _scope(), key, decision).withdrawal_queued
    with store.reader() as session:
        assert session.query(OutboxItem).count() == 0
        assert session.get(Record, key).state == RecordState.REPAIRED  # type: ignore[union-attr]


def test_a_repair_dated_in_the_future_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="in the future"):
        RepairDecision(DECISION, "整改完成", date(2099, 1, 1))


def _scope() -> RunScope:
    return RunScope(DEPARTMENT, "repair-test", AuditTrail("operator"))
