"""Time travel through a penalty's display period: ``creditsync expire --today`` against a real store
and the platform simulator (the records reach it through ``creditsync push``)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from publication_support import DEPARTMENT, Gateway
from schema_factories import penalty_row

from creditsync.schema.values import shanghai_today
from creditsync.store.states import OutboxAction, OutboxStatus, RecordState

pytestmark = pytest.mark.integration

GENERAL_DOC = "长市监罚〔2026〕501号"  # fine of 1 万元 for a company: 一般, displayed one year
SERIOUS_DOC = "长市监罚〔2026〕502号"  # fine of 20 万元: 严重, displayed three years


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests travel to days that have not come yet: expiry refuses a day after today."""
    monkeypatch.setattr("creditsync.publication.expiry.shanghai_today", lambda: date(2030, 1, 1))


def _penalties(**changes: Any) -> list[dict[str, Any]]:
    common = {"CF_JDRQ": "2026/05/01", "CF_YXQ": "2027/05/01", "CF_CFLB": "罚款"}
    return [penalty_row(CF_WSH=GENERAL_DOC, CF_NR_FK="1", **common, **changes),
            penalty_row(CF_WSH=SERIOUS_DOC, CF_NR_FK="20", **common, **changes)]


def _push(gateway: Gateway, tmp_path: Path, rows: list[dict[str, Any]], name: str = "handover.jsonl",
          *, check: bool = True) -> None:
    path = tmp_path / name
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    result = gateway.cli("push", "--category", "penalty", "--input", str(path), "--department", DEPARTMENT)
    assert result.exit_code == 0 or not check, result.output


def _expire(gateway: Gateway, today: str, *extra: str) -> dict[str, Any]:
    result = gateway.cli("expire", "--today", today, "--format", "json", *extra)
    assert result.exit_code == 0, result.output
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def test_a_general_penalty_is_withdrawn_on_the_day_after_its_year_and_not_before(
        gateway: Gateway, tmp_path: Path) -> None:
    _push(gateway, tmp_path, _penalties())
    general = gateway.record(GENERAL_DOC)
    assert general.state == RecordState.PUBLISHED

    report = _expire(gateway, "2027-05-01")  # the last display day
    assert report["expired"] == [] and report["periods_filled"] == 0  # the sync computed both periods
    general = gateway.record(GENERAL_DOC)
    assert (general.severity, str(general.display_until)) == ("一般", "2027-05-01")
    assert gateway.record(SERIOUS_DOC).display_until.isoformat() == "2029-05-01"  # type: ignore[union-attr]
    assert gateway.on_platform(general)["status"] == "published"

    report = _expire(gateway, "2027-05-02")
    assert [(r["document_no"], r["display_until"], r["queued"]) for r in report["expired"]] == [
        (GENERAL_DOC, "2027-05-01", True)]
    general = gateway.record(GENERAL_DOC)
    assert general.state == RecordState.EXPIRED  # delivered and confirmed
    assert general.withdraw_reason == "expired" and general.withdrawn_within_days is not None
    assert gateway.on_platform(general)["status"] == "withdrawn"
    withdrawals = [i for i in gateway.outbox(general.business_key) if i.action == OutboxAction.WITHDRAW]
    assert [(i.status, i.version) for i in withdrawals] == [(OutboxStatus.ACKED, 1)]
    assert withdrawals[0].receipt_entry_id is not None  # the answer is bound to the trail
    events = {e.event: e.details for e in gateway.audit(general.business_key)}
    assert events["withdrawal_queued"]["cause"] == "expired"
    assert events["withdrawal_queued"]["display_until"] == "2027-05-01"
    assert events["withdrawal_queued"]["state"] == RecordState.WITHDRAWING
    assert gateway.record(SERIOUS_DOC).state == RecordState.PUBLISHED

    assert _expire(gateway, "2027-05-03")["expired"] == []  # nothing twice
    assert gateway.cli("audit", "verify").exit_code == 0


def test_a_dry_run_lists_what_would_end_and_changes_nothing(gateway: Gateway, tmp_path: Path) -> None:
    _push(gateway, tmp_path, _penalties())
    entries = gateway.audit_count()
    periods = {doc: gateway.record(doc).display_until for doc in (GENERAL_DOC, SERIOUS_DOC)}

    report = _expire(gateway, "2030-01-01", "--dry-run")

    assert sorted(r["document_no"] for r in report["expired"]) == [GENERAL_DOC, SERIOUS_DOC]
    assert report["dry_run"] is True
    for document in (GENERAL_DOC, SERIOUS_DOC):
        record = gateway.record(document)
        assert (record.state, record.display_until) == (RecordState.PUBLISHED, periods[document])
        assert [i.action for i in gateway.outbox(record.business_key)] == [OutboxAction.UPSERT]
    assert gateway.audit_count() == entries


def test_queue_only_leaves_the_withdrawal_for_the_next_push(gateway: Gateway, tmp_path: Path) -> None:
    _push(gateway, tmp_path, _penalties())

    _expire(gateway, "2027-05-02", "--queue-only")
    general = gateway.record(GENERAL_DOC)
    assert general.state == RecordState.WITHDRAWING
    assert gateway.on_platform(general)["status"] == "published"

    _push(gateway, tmp_path, _penalties())  # the department's next push delivers it
    assert gateway.on_platform(general)["status"] == "withdrawn"
    assert gateway.record(GENERAL_DOC).state == RecordState.EXPIRED  # confirmed: ended for good


def test_a_penalty_held_by_an_operator_expires_all_the_same_and_no_release_shows_it_again(
        gateway: Gateway, tmp_path: Path) -> None:
    _push(gateway, tmp_path, _penalties())
    assert gateway.cli("withdraw", GENERAL_DOC, "--reason", "核查中").exit_code == 0
    assert gateway.record(GENERAL_DOC).state == RecordState.OPERATOR_WITHDRAWN

    report = _expire(gateway, "2027-05-02")

    assert [(r["document_no"], r["queued"]) for r in report["expired"]] == [(GENERAL_DOC, False)]
    general = gateway.record(GENERAL_DOC)
    assert general.state == RecordState.EXPIRED
    released = gateway.cli("release", GENERAL_DOC, "--reason", "核查完毕")
    assert released.exit_code == 2 and "expired" in released.output
    assert gateway.on_platform(general)["status"] == "withdrawn"


def test_an_expired_penalty_sent_again_unchanged_stays_expired(gateway: Gateway, tmp_path: Path) -> None:
    _push(gateway, tmp_path, _penalties())
    _expire(gateway, "2027-05-02")

    _push(gateway, tmp_path, _penalties())

    general = gateway.record(GENERAL_DOC)
    assert general.state == RecordState.EXPIRED
    assert gateway.on_platform(general)["status"] == "withdrawn"


def test_an_expired_penalty_sent_again_corrected_is_never_republished(gateway: Gateway,
                                                                      tmp_path: Path) -> None:
    _push(gateway, tmp_path, _penalties())
    _expire(gateway, "2027-05-02")

    _push(gateway, tmp_path, _penalties(CF_SY="更正后的违法事实。"), "corrected.jsonl", check=False)

    general = gateway.record(GENERAL_DOC)
    assert general.state == RecordState.EXPIRED
    assert [i.action for i in gateway.outbox(general.business_key)][-1] == OutboxAction.WITHDRAW


def test_a_day_that_has_not_come_is_refused(gateway: Gateway, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """A run dated ahead would withdraw everything still on display as a normal 公示期满."""
    monkeypatch.setattr("creditsync.publication.expiry.shanghai_today", shanghai_today)  # the real clock
    _push(gateway, tmp_path, _penalties())
    result = gateway.cli("expire", "--today", "2099-01-01")
    assert result.exit_code == 2 and "is in the future" in result.output
    assert gateway.record(GENERAL_DOC).state == RecordState.PUBLISHED
