"""``creditsync push``: a handed-over template file through validate → store → outbox → push → receipts,
against the real platform simulator. Safe to run again until it exits 0."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
from cli_support import invoke, penalties, run_cli, write_rows
from pipeline_harness import Harness, leaked, no_sleep
from schema_factories import LEGAL_REP_ID, PERSON_ID

from creditsync.delivery import PlatformClient
from creditsync.exceptions import FieldError
from creditsync.pipeline import runner
from creditsync.store.models import QuarantineItem, Record

pytestmark = pytest.mark.integration


@pytest.fixture
def quick_client(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI builds its own platform client: give it the production policy without the sleeping."""
    monkeypatch.setattr(runner, "PlatformClient", functools.partial(PlatformClient, retrying=no_sleep()))


def push_file(path: Path) -> int:
    result = invoke("push", "--category", "penalty", "--input", str(path))
    return result.exit_code


@pytest.mark.parametrize("name", ["handover.csv", "handover.xlsx", "handover.jsonl"])
def test_a_valid_file_is_delivered_once_however_often_it_is_pushed(
    harness: Harness, tmp_path: Path, name: str
) -> None:
    path = write_rows(tmp_path / name, penalties(6))

    assert push_file(path) == 0
    stats = harness.stats()
    assert stats["records"] == stats["business_keys"] == 6

    assert push_file(path) == 0
    assert harness.stats() == stats
    assert {r.state for r in harness.rows(Record)} == {"published"}


def test_a_file_with_one_invalid_record_exits_1_and_delivers_the_rest(
    harness: Harness, tmp_path: Path
) -> None:
    path = write_rows(tmp_path / "handover.csv", penalties(5, invalid=[3]))

    assert push_file(path) == 1
    assert harness.stats()["records"] == 4
    [item] = harness.rows(QuarantineItem)
    assert item.source_key == "handover.csv#4"
    assert [e["field"] for e in item.errors] == ["CF_XDR_SHXYM"]

    assert push_file(path) == 1  # still one bad record in it
    assert harness.stats()["records"] == 4
    assert harness.count(QuarantineItem) == 1


def test_platform_unreachable_exits_3_then_a_rerun_delivers_exactly_once(
    harness: Harness, tmp_path: Path, quick_client: None
) -> None:
    path = write_rows(tmp_path / "handover.xlsx", penalties(7))
    harness.stop_platform()

    result = invoke("push", "--category", "penalty", "--input", str(path))
    assert result.exit_code == 3, result.output
    assert "run again" in result.output
    assert len(harness.pending()) == 7

    harness.restart_platform()
    assert push_file(path) == 0
    stats = harness.stats()
    assert stats["records"] == stats["business_keys"] == stats["idempotency_keys"] == 7
    assert push_file(path) == 0
    assert harness.stats() == stats


def test_platform_rejections_exit_1(harness: Harness, tmp_path: Path) -> None:
    rows = penalties(3)
    harness.validator.rejections[rows[1]["CF_WSH"]] = "处罚决定日期格式不正确，应为yyyy-MM-dd"
    path = write_rows(tmp_path / "handover.jsonl", rows)

    assert push_file(path) == 1
    [item] = harness.rows(QuarantineItem)
    assert item.stage == "platform"
    assert FieldError.from_stored(item.errors[0]).message_zh == "处罚决定日期格式不正确，应为yyyy-MM-dd"
    assert push_file(path) == 1  # unchanged, so not sent again, and still reported
    assert harness.stats()["idempotency_keys"] == 3


def test_an_id_number_in_the_wrong_column_never_reaches_the_store_or_the_screen(
    harness: Harness, tmp_path: Path
) -> None:
    rows = penalties(3)
    rows[2]["CF_JDRQ"] = rows[2]["CF_XDR_ZJHM"]  # a column slip in the spreadsheet
    path = write_rows(tmp_path / "handover.csv", rows)

    result = invoke("push", "--category", "penalty", "--input", str(path))

    assert result.exit_code == 1
    for table in ("quarantine", "audit_log", "record_versions"):
        assert leaked({PERSON_ID, LEGAL_REP_ID}, harness.table_text(table)) == [], table
    shown = invoke("quarantine").output + invoke("validate", "--category", "penalty", "--input",
                                                 str(path), "--format", "json").output
    assert "CF_JDRQ" in shown
    assert leaked({PERSON_ID, LEGAL_REP_ID}, result.output + shown) == []


def test_the_installed_command_exits_0_then_0_then_1(harness: Harness, tmp_path: Path) -> None:
    good = write_rows(tmp_path / "good.csv", penalties(4))
    bad = write_rows(tmp_path / "bad.csv", penalties(3, prefix="长市监罚〔2025〕", invalid=[0]))

    first = run_cli("push", "--category", "penalty", "--input", str(good))
    stats = harness.stats()
    again = run_cli("push", "--category", "penalty", "--input", str(good))
    unchanged = harness.stats()
    partial = run_cli("push", "--category", "penalty", "--input", str(bad))

    assert (first.returncode, again.returncode, partial.returncode) == (0, 0, 1), partial.stderr
    assert stats["records"] == stats["business_keys"] == 4
    assert unchanged == stats
    assert harness.stats()["records"] == 6
