"""``creditsync report quality`` in every format, over the hand-counted autumn (quality_support.py)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from cli_support import invoke
from openpyxl import load_workbook
from pipeline_harness import Harness
from quality_support import DEPARTMENT, OTHER, document, write_autumn

pytestmark = pytest.mark.integration
OCTOBER = ("--period", "2026-10", "--as-of", "2026-10-23")


@pytest.fixture
def autumn(harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Harness:
    write_autumn(harness, tmp_path, monkeypatch)
    return harness


def test_json_and_csv_carry_the_hand_counted_rates(autumn: Harness) -> None:
    result = invoke("report", "quality", *OCTOBER, "--department", DEPARTMENT, "--format", "json")
    assert result.exit_code == 0, result.output
    [score] = json.loads(result.output)["departments"]
    assert score["rates"] == {"timeliness": 0.6, "compliance": 0.5714, "completeness": 0.7143,
                              "withdrawal_timeliness": 1.0}
    assert score["below_target"] == ["timeliness", "compliance", "completeness"]
    assert [(r["document_no"], r["days_late"]) for r in score["overdue"]] == [
        (document("E"), 1), (document("D"), 1), (document("G"), 0)]

    result = invoke("report", "quality", "--period", "2026", "--as-of", "2026-10-23", "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = {row["department"]: row for row in csv.DictReader(io.StringIO(result.output))}
    assert set(rows) == {DEPARTMENT, OTHER}
    assert (rows[DEPARTMENT]["records"], rows[DEPARTMENT]["late"], rows[DEPARTMENT]["timeliness"]) == (
        "10", "4", "0.5556")
    assert rows[OTHER]["withdrawal_timeliness"] == "0.0"


def test_the_workbook_has_a_sheet_per_department_with_what_to_fix_and_what_is_late(
    autumn: Harness, tmp_path: Path
) -> None:
    path = tmp_path / "质量.xlsx"
    result = invoke("report", "quality", *OCTOBER, "--format", "xlsx", "--output", str(path))
    assert result.exit_code == 0, result.output
    book = load_workbook(path)
    assert book.sheetnames == ["总览", "长清区卫生健康局", "长清区市场监督管理局"]
    sheet = book["长清区市场监督管理局"]
    rows = [[c for c in row if c is not None] for row in sheet.iter_rows(values_only=True)]
    texts = [" ".join(str(c) for c in row) for row in rows]
    fix_at = next(i for i, t in enumerate(texts) if t.startswith("待整改记录"))
    late_at = next(i for i, t in enumerate(texts) if t.startswith("逾期记录"))
    to_fix = texts[fix_at + 2:late_at - 1]
    # open refusals: I (missing 许可内容), F and G (refused by the platform); H was fixed
    assert len(to_fix) == 3 and any("许可内容不能为空" in t for t in to_fix)
    assert not any(document("H") in t for t in to_fix)
    late = {row[1]: row for row in rows[late_at + 2:]}
    assert late[document("D")][4:10] == ["2026-10-10", "2026-10-20", "逾期公示", "2026-10-21", 8, 1]
    assert late[document("G")][6] == "待公示（未到期限）"
    overview = [row for row in book["总览"].iter_rows(values_only=True) if row[0] == "长清区市场监督管理局"]
    assert overview[0][1:6] == (6, 5, 3, 2, 1)


def test_the_table_and_usage_errors(autumn: Harness) -> None:
    result = invoke("report", "quality", *OCTOBER, "--department", DEPARTMENT)
    assert result.exit_code == 0, result.output
    assert "60.0%" in result.output and "57.1%" in result.output and document("G") in result.output
    assert invoke("report", "quality", "--period", "2026-13").exit_code == 2
    assert invoke("report", "quality", "--as-of", "yesterday").exit_code == 2
