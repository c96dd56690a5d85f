"""``creditsync quarantine report``: the workbook a department corrects its data from, read back."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from cli_support import invoke, json_document, penalties, write_rows
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet
from pipeline_harness import Harness, leaked

from creditsync.schema import field_titles

pytestmark = pytest.mark.integration
BOTH_STORES = pytest.mark.parametrize("harness_db", ["sqlite", "postgresql"], indirect=True)
HEADER = ["序号", "源记录标识", "决定文书号", "行政相对人名称", "问题字段", "问题说明", "环节",
          "首次发现时间"]
PLATFORM_SAYS = "处罚决定日期格式不正确，应为yyyy-MM-dd"


def report(tmp_path: Path, *extra: str, department: str = "market_supervision") -> Any:
    path = tmp_path / "退回更正.xlsx"
    result = invoke("quarantine", "report", department, "--output", str(path), *extra)
    assert result.exit_code == 0, result.output
    return load_workbook(path)


def rows(sheet: Worksheet) -> list[dict[str, Any]]:
    values = list(sheet.iter_rows(values_only=True))
    return [dict(zip(values[0], row, strict=True)) for row in values[1:]]


def every_cell(book: Any) -> str:
    return "\n".join(str(v) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True)
                     for v in row if v is not None)


@BOTH_STORES
def test_one_sheet_per_category_with_every_problem(harness: Harness, tmp_path: Path) -> None:
    rejected = harness.valid_penalty(1)
    harness.validator.rejections[rejected["decision_no"]] = PLATFORM_SAYS
    harness.sync()

    book = report(tmp_path)

    assert book.sheetnames == ["说明", "行政许可（license）", "行政处罚（penalty）"]
    licences, penalties = rows(book["行政许可（license）"]), rows(book["行政处罚（penalty）"])
    assert [r["序号"] for r in penalties] == list(range(1, len(penalties) + 1))
    by_source = {r["源记录标识"]: r for r in licences + penalties}
    assert set(by_source) >= {"P000008", "P000020", "P000032", "L000012", "L000024", rejected["id"]}
    usc = by_source["P000008"]
    title = field_titles("penalty")["CF_XDR_SHXYM"]
    assert usc["问题字段"] == f"CF_XDR_SHXYM {title}"
    assert usc["问题说明"].startswith("统一社会信用代码校验位错误") and "(" not in usc["问题说明"]
    assert (usc["决定文书号"], usc["环节"]) == (harness.document("P000008"), "校验")
    assert usc["行政相对人名称"]
    assert by_source["P000032"]["环节"] == "映射"
    platform = by_source[rejected["id"]]
    assert (platform["问题字段"], platform["问题说明"], platform["环节"]) == ("(platform) 平台校验",
                                                                          PLATFORM_SAYS, "平台")
    assert platform["决定文书号"] == rejected["decision_no"]
    assert all(isinstance(r["首次发现时间"], datetime) for r in licences + penalties)
    assert leaked(harness.id_numbers(), every_cell(book)) == []


def test_the_sheets_are_ready_to_filter(harness: Harness, tmp_path: Path) -> None:
    harness.sync()
    book = report(tmp_path)
    sheet = book["行政处罚（penalty）"]

    assert [c.value for c in sheet[1]] == HEADER
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:H{sheet.max_row}"
    assert all(cell.font.b for cell in sheet[1]) and sheet["A1"].fill.fgColor.rgb.endswith("1F4E78")
    assert sheet.column_dimensions["F"].width == 60
    guide = "\n".join(str(row[0]) for row in book["说明"].iter_rows(values_only=True) if row[0])
    assert "长清区市场监督管理局" in guide and "如何更正" in guide
    assert "creditsync quarantine redrive" in guide
    assert "行政处罚 4 条记录" in guide and "行政许可 2 条记录" in guide


def test_all_adds_what_was_closed(harness: Harness, tmp_path: Path) -> None:
    harness.sync()
    listed = json_document(invoke("quarantine", "list", "--format", "json", "--category", "license").stdout)
    entry = next(row for row in listed if row["source_key"] == "L000012")
    assert invoke("quarantine", "resolve", str(entry["id"]), "--reason", "已撤回").exit_code == 0

    open_only = rows(report(tmp_path)["行政许可（license）"])
    everything = rows(report(tmp_path, "--all")["行政许可（license）"])

    assert {r["源记录标识"] for r in open_only} == {"L000024"}
    assert "处理情况" not in open_only[0]
    closed = next(r for r in everything if r["源记录标识"] == "L000012")
    assert closed["处理情况"].startswith("已关闭") and "已撤回" in closed["处理情况"]
    assert next(r for r in everything if r["源记录标识"] == "L000024")["处理情况"] == "待更正"


def test_a_department_with_nothing_to_correct(harness: Harness, tmp_path: Path) -> None:
    book = report(tmp_path, department="health")
    assert book.sheetnames == ["说明"]
    assert "当前没有需要更正的记录" in every_cell(book)


def test_the_output_must_be_a_workbook(harness: Harness, tmp_path: Path) -> None:
    result = invoke("quarantine", "report", "market_supervision", "--output", str(tmp_path / "r.csv"))
    assert result.exit_code == 2


FORMULA_NAME = "=cmd|' /C calc'!A0"


def test_formula_injection_in_the_xlsx_report_is_neutralised(harness: Harness, tmp_path: Path) -> None:
    rows = penalties(3, invalid=[1, 2])
    rows[1]["CF_XDR_MC"] = FORMULA_NAME
    rows[2]["CF_XDR_MC"] = "@SUM(1+1)*cmd|' /C calc'!A0"
    path = write_rows(tmp_path / "handover.csv", rows)
    assert invoke("push", "--category", "penalty", "--input", str(path), "--department", "handover"
                  ).exit_code == 1

    book = report(tmp_path, department="handover")

    cells = [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row
             if cell.value is not None]
    assert not [cell.coordinate for cell in cells if cell.data_type == "f"]
    names = {r["行政相对人名称"] for r in rows_of(book, "行政处罚（penalty）")}
    assert names == {"'" + FORMULA_NAME, "'@SUM(1+1)*cmd|' /C calc'!A0"}
    assert not any(str(cell.value).startswith(("=", "+", "-", "@")) for cell in cells)


def test_an_unknown_department_fails_with_exit_2(harness: Harness, tmp_path: Path) -> None:
    result = invoke("quarantine", "report", "nosuch", "--output", str(tmp_path / "r.xlsx"))
    assert result.exit_code == 2
    assert "unknown department 'nosuch'" in " ".join(result.output.split())
    assert not (tmp_path / "r.xlsx").exists()


def rows_of(book: Any, title: str) -> list[dict[str, Any]]:
    return rows(book[title])
