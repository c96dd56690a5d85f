"""The national 双公示 upload template as a workbook: Chinese headers in the standard's order, every
cell a string (never a formula, never a number Excel would reformat), plus three bookkeeping columns
the platform's import keeps: 数据标识 (the idempotency key), 操作类型, 原平台记录编号.

The platform's returned workbook has the same columns and, per row, 导入结果 (成功/失败), 错误信息 and
平台记录编号."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import Cell

from creditsync.schema import get_category

KEY, OPERATION, TARGET = "数据标识", "操作类型", "原平台记录编号"
RESULT, ERRORS, PLATFORM_ID = "导入结果", "错误信息", "平台记录编号"
OPERATIONS = {"new": "新增", "correct": "更正", "withdraw": "撤销"}
OK = "成功"
TEXT = "@"


def headers(category: str) -> list[str]:
    return [f.title for f in get_category(category).fields] + [KEY, OPERATION, TARGET]


def codes_by_title(category: str) -> dict[str, str]:
    return {f.title: f.code for f in get_category(category).fields}


def write(path: Path, category: str, rows: list[dict[str, str]], extra: Sequence[str] = ()) -> None:
    """``rows`` by header; written under a temporary name, then renamed over ``path``."""
    columns = headers(category) + list(extra)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = get_category(category).title_zh
    sheet.append(columns)
    for row in rows:
        sheet.append([_text(row.get(column)) for column in columns])
    for line in sheet.iter_rows(min_row=2):
        for cell in line:
            _as_string(cell)
    temporary = path.with_name(f".{path.name}.tmp")
    book.save(temporary)
    os.replace(temporary, path)


def read(path: Path) -> Iterator[dict[str, str]]:
    """Each data row by header; every value as text."""
    book = load_workbook(path, read_only=True, data_only=True)
    try:
        sheet = book.worksheets[0]
        lines = sheet.iter_rows(values_only=True)
        header = [str(v).strip() if v is not None else "" for v in next(lines, ())]
        for values in lines:
            if any(v not in (None, "") for v in values):
                yield {h: "" if v is None else str(v) for h, v in zip(header, values, strict=False) if h}
    finally:
        book.close()


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _as_string(cell: Cell) -> None:
    # A value such as "=1+1" or "0012" stays the text it is: no formula, no number.
    if cell.value is not None:
        cell.data_type = "s"
    cell.number_format = TEXT
