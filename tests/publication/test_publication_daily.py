"""The daily publication run: repairs from the platform's feed, then expiry and delivery;
and a repair whose withdrawal could not be delivered goes when the command is run again."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from publication_support import DEPARTMENT, Gateway
from schema_factories import penalty_row

from creditsync.pipeline.daily import daily_run
from creditsync.pipeline.runner import Gateway as GatewayHandle
from creditsync.store.states import OutboxAction, OutboxStatus, RecordState

pytestmark = pytest.mark.integration

REPAIRED_DOC, EXPIRING_DOC = "长市监罚〔2026〕701号", "长市监罚〔2026〕702号"


def _push_two(gateway: Gateway, tmp_path: Path) -> None:
    rows = [penalty_row(CF_WSH=doc, CF_JDRQ="2026/05/01", CF_NR_FK="1")
            for doc in (REPAIRED_DOC, EXPIRING_DOC)]
    path = tmp_path / "handover.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    assert gateway.cli("push", "--category", "penalty", "--input", str(path), "-d", DEPARTMENT).exit_code == 0


def test_the_daily_run_applies_repairs_before_it_ends_displays(gateway: Gateway, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("creditsync.publication.expiry.shanghai_today", lambda: date(2027, 5, 2))
    _push_two(gateway, tmp_path)
    repaired = gateway.record(REPAIRED_DOC)
    assert repaired.platform_id is not None
    gateway.simulator.repairs.grant(repaired.platform_id, "济信修〔2026〕30号", "整改完成")

    handle = GatewayHandle.open()
    try:
        report = daily_run(handle, date(2027, 5, 2))
    finally:
        handle.store.dispose()

    assert [o.document_no for o in report.repairs.applied] == [REPAIRED_DOC]
    assert [r.document_no for r in report.expiry.expired] == [EXPIRING_DOC]  # the repaired one is not due
    assert gateway.record(REPAIRED_DOC).state == RecordState.REPAIRED
    expiring = gateway.record(EXPIRING_DOC)
    assert expiring.state == RecordState.EXPIRED and report.delivered == [DEPARTMENT]
    assert gateway.on_platform(expiring)["status"] == "withdrawn"


def test_a_repair_the_platform_could_not_take_goes_when_run_again(gateway: Gateway, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    _push_two(gateway, tmp_path)
    gateway.platform.stop()
    args = ("repair", REPAIRED_DOC, "--decision-no", "济信修〔2026〕31号", "--reason", "整改完成")

    assert gateway.cli(*args).exit_code == 3  # delivery incomplete
    record = gateway.record(REPAIRED_DOC)
    assert (record.state, record.withdraw_reason) == (RecordState.WITHDRAWING, "repaired")  # for good
    withdrawal = [i for i in gateway.outbox(record.business_key) if i.action == OutboxAction.WITHDRAW]
    assert [i.status for i in withdrawal] == [OutboxStatus.PENDING]

    gateway.platform = gateway.simulator.start_in_thread()
    monkeypatch.setenv("CREDITSYNC_PLATFORM_URL", gateway.platform.url)
    again = gateway.cli(*args)

    assert again.exit_code == 0 and "already recorded" in again.stdout
    record = gateway.record(REPAIRED_DOC)
    assert record.state == RecordState.REPAIRED
    assert gateway.on_platform(record)["status"] == "withdrawn"
