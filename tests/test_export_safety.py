"""The one neutraliser of cells and fields people open in a spreadsheet (OWASP CSV injection)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook

from creditsync.export_safety import neutralise, neutralise_row, text_cell_value


@pytest.mark.parametrize(("value", "written"), [
    ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
    ("+1+1", "'+1+1"),
    ("-2+3", "'-2+3"),
    ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
    ("\t=1", "'\t=1"),
    ("\r=1", "'\r=1"),
    ("  =1+1", "'  =1+1"),  # leading blanks do not hide the sign
    ("＝1+1", "'＝1+1"),  # the full-width sign
    ("济南长清德润酒店管理有限公司", "济南长清德润酒店管理有限公司"),
    ("a=b", "a=b"),
    ("", ""),
    (1.5, 1.5),
    (-3, -3),  # a number stays a number
    (None, None),
    (date(2026, 3, 2), date(2026, 3, 2)),
])
def test_neutralise(value: Any, written: Any) -> None:
    assert neutralise(value) == written


def test_neutralise_row() -> None:
    assert neutralise_row([1, "=A1", "ok"]) == [1, "'=A1", "ok"]


def test_an_xlsx_cell_is_a_string_never_a_formula(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for column, value in enumerate(("=1+1", "ok", 7), start=1):
        text_cell_value(sheet.cell(row=1, column=column), value)
    book.save(tmp_path / "x.xlsx")

    [row] = load_workbook(tmp_path / "x.xlsx").active.iter_rows()  # type: ignore[union-attr]
    assert [(cell.value, cell.data_type) for cell in row] == [("'=1+1", "s"), ("ok", "s"), (7, "n")]
