"""``creditsync quarantine list``: every invalid or rejected record with every reason, ours and the
platform's, in Chinese, with its 文书号, filtered and formatted, and never a full ID number."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import pytest
from cli_support import invoke, json_document, penalties, run_cli, write_rows
from pipeline_harness import Harness, leaked
from rich.cells import cell_len as wcswidth

from creditsync.quarantine.entries import chinese_part

pytestmark = pytest.mark.integration
BOTH_STORES = pytest.mark.parametrize("harness_db", ["sqlite", "postgresql"], indirect=True)
PLATFORM_SAYS = "处罚机关统一社会信用代码校验不通过"
# source id → (stage, field of its first problem): market_supervision_data.BROKEN
EXPECTED = {
    "P000008": ("validation", "CF_XDR_SHXYM"),
    "P000020": ("validation", "CF_XDR_MC"),
    "P000032": ("mapping", "CF_NR_FK"),
    "L000012": ("validation", "XK_YXQZI"),
    "L000024": ("validation", "XK_XDR_ZJHM"),
}


def listed(*args: str) -> list[dict[str, object]]:
    result = invoke("quarantine", "list", "--format", "json", *args)
    assert result.exit_code == 0, result.output
    return json_document(result.stdout)


def sync_with_one_platform_rejection(harness: Harness) -> str:
    target = harness.valid_penalty(2)
    harness.validator.rejections[target["decision_no"]] = PLATFORM_SAYS
    harness.sync()
    return str(target["id"])


@BOTH_STORES
def test_every_reason_with_its_document_number_and_field_name(harness: Harness) -> None:
    rejected = sync_with_one_platform_rejection(harness)

    rows = {row["source_key"]: row for row in listed("--department", "market_supervision")}

    for source_id, (stage, code) in EXPECTED.items():
        row = rows[source_id]
        assert (row["stage"], row["errors"][0]["field"]) == (stage, code)  # type: ignore[index]
        assert row["document_no"] == harness.document(source_id)
        assert row["errors"][0]["title"]  # type: ignore[index]
    assert rows["P000020"]["subject_name"] is None  # its name is the problem
    assert rows["P000008"]["subject_name"]
    platform = rows[rejected]
    assert platform["stage"] == "platform" and platform["business_key"]
    assert platform["errors"] == [{"field": "(platform)", "kind": "platform", "title": "平台校验",
                                   "message": PLATFORM_SAYS, "message_zh": PLATFORM_SAYS, "message_en": ""}]
    unreadable = [row for key, row in rows.items() if str(key).startswith("bad:")]
    assert len(unreadable) == 1 and unreadable[0]["stage"] == "source"
    assert unreadable[0]["document_no"] == harness.document("P000044")  # found through the mapping


def test_the_chinese_part_of_each_message_is_kept_apart(harness: Harness) -> None:
    harness.sync()
    row = next(r for r in listed("--category", "penalty") if r["source_key"] == "P000032")
    problem = row["errors"][0]  # type: ignore[index]
    assert problem["message"].startswith(problem["message_zh"] + " (")
    assert problem["message_zh"] == "金额不是有效数字：'两千元'（元→万元）"


@pytest.mark.parametrize(("message", "chinese"), [
    ("行政相对人名称不能为空 (subject name must not be empty)", "行政相对人名称不能为空"),
    ("源记录无法读取：no 'id' (got None) (the source record is unreadable: no 'id' (got None))",
     "源记录无法读取：no 'id' (got None)"),
    ("处罚决定日期格式不正确，应为yyyy-MM-dd", "处罚决定日期格式不正确，应为yyyy-MM-dd"),
    ("(only English)", "(only English)"),
    ("unbalanced (", "unbalanced ("),
])
def test_chinese_part(message: str, chinese: str) -> None:
    assert chinese_part(message) == chinese


@pytest.mark.parametrize(("args", "expected"), [
    (("--category", "license"), {"L000012", "L000024"}),
    (("--stage", "mapping"), {"P000032"}),
    (("--stage", "platform"), {"REJECTED"}),
    (("--department", "health"), set()),
])
def test_filters(harness: Harness, args: tuple[str, ...], expected: set[str]) -> None:
    rejected = sync_with_one_platform_rejection(harness)
    found = {str(row["source_key"]) for row in listed(*args)}
    assert found == {rejected if key == "REJECTED" else key for key in expected}


def test_table_and_csv_never_show_an_id_number(harness: Harness) -> None:
    harness.sync()
    table = invoke("quarantine", "--department", "market_supervision")  # the group alone lists
    spreadsheet = invoke("quarantine", "list", "--format", "csv")

    assert table.exit_code == spreadsheet.exit_code == 0
    assert "6 shown" in table.stdout and "XK_XDR_ZJHM 证件号码" in table.stdout
    rows = list(csv.DictReader(io.StringIO(spreadsheet.stdout)))
    assert {row["field"] for row in rows} >= {code for _stage, code in EXPECTED.values()}
    assert leaked(harness.id_numbers(), table.output + spreadsheet.output) == []


def test_closed_entries_only_with_all(harness: Harness) -> None:
    harness.sync()
    first = listed()[0]
    assert invoke("quarantine", "resolve", str(first["id"]), "--reason", "已线下处理").exit_code == 0

    assert first["id"] not in {row["id"] for row in listed()}
    closed = next(row for row in listed("--all") if row["id"] == first["id"])
    assert closed["resolved_at"] and "已线下处理" in str(closed["resolution"])


FORMULA_NAME = "=cmd|' /C calc'!A0"


def quarantine_a_formula_name(harness: Harness, tmp_path: Path) -> None:
    """A handed-over file whose subject name is a formula, on a record invalid for another reason."""
    rows = penalties(2, invalid=[1])
    rows[1]["CF_XDR_MC"] = FORMULA_NAME
    path = write_rows(tmp_path / "handover.csv", rows)
    assert invoke("push", "--category", "penalty", "--input", str(path), "--department", "handover"
                  ).exit_code == 1


def test_formula_injection_in_the_csv_listing_is_neutralised(harness: Harness, tmp_path: Path) -> None:
    quarantine_a_formula_name(harness, tmp_path)

    result = invoke("quarantine", "list", "--format", "csv")

    assert result.exit_code == 0, result.output
    [row] = list(csv.DictReader(io.StringIO(result.stdout)))
    assert row["subject_name"] == "'" + FORMULA_NAME
    assert not any(value.startswith(("=", "+", "-", "@", "\t", "\r")) for value in row.values())


def test_the_json_format_is_one_document(harness: Harness) -> None:
    harness.sync()
    result = invoke("quarantine", "list", "--format", "json")
    document = json.loads(result.stdout)  # JSON lines would not parse as one document
    assert isinstance(document, list) and len(document) == 6
    lines = invoke("quarantine", "list", "--format", "jsonl").stdout.splitlines()
    assert [json.loads(line) for line in lines] == document


def test_the_table_is_readable_at_80_columns(harness: Harness) -> None:
    harness.sync()
    result = run_cli("quarantine", "list", "--department", "market_supervision",
                     env={**os.environ, "COLUMNS": "80"})

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(wcswidth(line) for line in lines) <= 80
    shown = "".join(line.replace("│", "").strip() for line in lines)
    for source_id in EXPECTED:  # every entry, its 文书号 and its problem's field code, unbroken
        assert source_id in shown
        assert harness.document(source_id) in shown
    for _stage, code in EXPECTED.values():
        assert code in shown
    assert "6 shown" in result.stdout
