"""Feedback up: a 联合奖惩措施实施反馈 record goes through the normal pipeline (validate, store, outbox, push,
receipt) and reaches the platform exactly once, also when handed over twice; a measure applied after the
subject's list entry was repaired is refused with the reason; the mapping language speaks the category."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from credit_support import APP_KEY, REPO, admin, feed_client, place
from sqlalchemy import select

from creditsync.audit import AuditTrail
from creditsync.credit.feed import pull_all
from creditsync.mapping import load_mapping
from creditsync.pipeline.runner import Gateway, push_file
from creditsync.schema import shanghai_today, validate_record
from creditsync.simulators.platform import RunningSimulator
from creditsync.store import Store
from creditsync.store.models import QuarantineItem, Record

sys.path.insert(0, str(REPO / "tests" / "schema"))
from schema_factories import AUTHORITY, COMPANY, SOURCE_UNIT, subject


def _feedback(number: str, entry_id: str, applied: str, measure: str = "限制参与招标投标") -> dict[str, Any]:
    return {**subject("法人及非法人组织", "FK"), "FK_FKBH": number, "FK_MDLB": "失信联合惩戒对象名单",
            "FK_MDBH": entry_id, "FK_CSDM": "CJ01", "FK_CSMC": measure, "FK_SXBM": "SC-ZTB-001",
            "FK_HCBH": "c" * 32, "FK_SSRQ": applied, "FK_SSQK": "资格审查不予通过", "FK_SSR": "王某",
            "FK_SSJG": "长清区市场监督管理局", "FK_SSJGDM": AUTHORITY, "FK_SJLY": "长清区市场监督管理局",
            "FK_SJLYDM": SOURCE_UNIT}


def _hand_over(gateway: Gateway, tmp_path: Path, name: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    path = tmp_path / name
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return push_file(gateway, path, "measure_feedback", "market_supervision")


@pytest.fixture
def gateway(store: Store, store_url: str, platform: RunningSimulator, tmp_path: Path,
            monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("CREDITSYNC_HOME", str(tmp_path))
    monkeypatch.setenv("CREDITSYNC_DB_URL", store_url)
    monkeypatch.setenv("CREDITSYNC_PLATFORM_URL", platform.url)
    monkeypatch.setenv("CREDITSYNC_PLATFORM_APP_KEY", APP_KEY)
    handle = Gateway.open()
    yield handle
    handle.store.dispose()


def test_feedback_reaches_the_platform_once_and_a_measure_after_repair_is_refused(
        gateway: Gateway, store: Store, platform: RunningSimulator, tmp_path: Path) -> None:
    entry = place(platform, COMPANY, ["CJ01"])
    pull_all(store, feed_client(platform), AuditTrail("scheduler"))
    applied = [_feedback("FK-2026-0001", entry["entry_id"], "2026-11-20")]

    first = _hand_over(gateway, tmp_path, "first.jsonl", applied)
    again = _hand_over(gateway, tmp_path, "again.jsonl", applied)  # the same feedback handed over twice

    assert first["summary"]["quarantined"] == 0 and again["summary"]["quarantined"] == 0, first
    stats = platform.stats()
    assert (stats["records"], stats["business_keys"], stats["batches"]) == (1, 1, 1)  # once, not twice

    admin(platform, f"lists/{entry['entry_id']}/repair", {"decision_no": "济信修〔2026〕5号"})
    pull_all(store, feed_client(platform), AuditTrail("scheduler"))
    # applied on the day of the repair (Beijing time, as the end of an entry is dated): refused
    late = _hand_over(gateway, tmp_path, "late.jsonl", [_feedback("FK-2026-0002", entry["entry_id"],
                                                                   shanghai_today().isoformat())])
    earlier = _hand_over(gateway, tmp_path, "earlier.jsonl", [_feedback("FK-2026-0003", entry["entry_id"],
                                                                         "2026-11-21")])

    assert late["summary"]["quarantined"] == 1, late
    assert platform.stats()["records"] == 2  # the one applied before the repair still goes up
    with store.reader() as session:
        refused = session.scalars(select(QuarantineItem).where(
            QuarantineItem.category == "measure_feedback")).one()
        stored = session.execute(select(Record.document_no, Record.state).where(
            Record.category == "measure_feedback")).all()
    assert refused.errors[0]["kind"] == "repaired" and "信用修复" in refused.errors[0]["zh"]
    assert "不得再实施限制参与招标投标" in refused.errors[0]["zh"]
    assert sorted(stored) == [("FK-2026-0001", "published"), ("FK-2026-0003", "published")]
    assert earlier["summary"]["quarantined"] == 0


def test_the_mapping_language_speaks_the_feedback_category() -> None:
    mapping = load_mapping(REPO / "docs" / "examples" / "credit" / "measure_feedback.yaml")
    data, problems = mapping.map_fields({
        "id": "SP-88", "party_name": " 济南某某科技有限公司 ", "credit_code": COMPANY.lower(),
        "entry_id": "e" * 32,
        "measure_code": "cj01", "measure_name": "限制参与招标投标", "matter_code": "SC-ZTB-001",
        "matter_name": "资格审查", "check_id": "f" * 32, "applied_on": "2026/11/20",
        "what_was_done": "不予通过", "officer": "王某"})
    assert problems == []
    result = validate_record("measure_feedback", data)
    assert result.errors == [] and result.record is not None
    assert result.record.business_key() == "measure_feedback:11370113004325179R:SP-88"
    assert data["FK_CSDM"] == "CJ01" and data["FK_SSRQ"] == "2026-11-20"
