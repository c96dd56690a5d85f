"""One dropped CSV or XLSX file read as a table: a header row, then data rows as ``{column: text}``.

Reading happens in two streamed passes. :func:`inspect_table` reads the whole file once to prove it is
usable (encoding, workbook structure, header, CSV structure) without keeping rows; only then does
:func:`table_rows` stream the rows. So a file either yields all its rows or fails as a whole before
the first one: never half a file delivered and the other half in ``failed/``.

Every value becomes text, whichever format it came in, so one mapping serves a department's CSV and
XLSX files alike: date cells become ``YYYY-MM-DD``, numbers lose Excel's float noise (``2000.0`` →
``2000``), empty cells become ``""``.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

from creditsync.sources._file_encoding import EncodingProblem, detect_encoding
from creditsync.sources.limits import SourceLimits, zip_problem

CSV_SUFFIXES = frozenset({".csv"})
XLSX_SUFFIXES = frozenset({".xlsx", ".xlsm"})
DEFAULT_LIMITS = SourceLimits()
_BLANKS = " \t\r\n\u3000\ufeff\u200b"  # incl. the 全角 space, BOM and zero-width space


class FileProblem(Exception):
    """The file as a whole cannot be used; it is moved to ``failed/`` with this reason."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(f"{zh} ({en})")
        self.zh, self.en = zh, en


@dataclass(frozen=True)
class TableSpec:
    """How to read a stream's files, from its options."""

    encoding: str = "auto"
    delimiter: str = ","
    sheet: str | None = None
    required: tuple[str, ...] = ()
    known: frozenset[str] | None = None  # required ∪ optional columns; None: no notion of "extra"
    limits: SourceLimits = DEFAULT_LIMITS  # an XLSX is checked against them before it is unpacked


@dataclass(frozen=True)
class TableLayout:
    """What the first pass learnt: how to decode, the columns, and how many data rows there are."""

    encoding: str | None
    header: tuple[str, ...]
    extra: tuple[str, ...]
    rows: int


@dataclass(frozen=True)
class Row:
    """Data row ``number`` as a spreadsheet shows it (the header is row 1); ``error`` for a bad row."""

    number: int
    data: dict[str, Any]
    error: str | None = None


def inspect_table(path: Path, spec: TableSpec) -> TableLayout:
    """First pass over the whole file; raises :class:`FileProblem` if it cannot be used at all."""
    encoding = _encoding(path, spec)
    rows = _raw_rows(path, spec, encoding)
    try:
        header = _header(next(rows, None), spec)
        count = sum(1 for values in rows if not _blank(values))
    except (csv.Error, UnicodeDecodeError) as exc:
        raise FileProblem("CSV 文件格式错误", f"the CSV file is malformed: {exc}") from exc
    known = spec.known
    extra = tuple(name for name in header if name and known is not None and name not in known)
    return TableLayout(encoding, header, extra, count)


def table_rows(path: Path, spec: TableSpec, layout: TableLayout) -> Iterator[Row]:
    """Second pass: each non-blank data row, in file order."""
    rows = _raw_rows(path, spec, layout.encoding)
    next(rows, None)  # the header, checked by inspect_table
    strict = layout.encoding is not None  # CSV: a row must have exactly one value per column
    for number, values in enumerate(rows, start=2):
        if _blank(values):
            continue
        yield _row(number, layout.header, values, strict, spec.delimiter)


def _row(number: int, header: tuple[str, ...], values: list[str], strict: bool, delimiter: str) -> Row:
    if strict and (merged := _merged_column(header, values, delimiter)):
        # A quote closed lines later swallowed whole rows into one value: never publish that as a name.
        return Row(number, {"values": values},
                   f"第 {number} 行“{merged}”列的值跨越多行且含有分隔符，"
                   "可能有未闭合的引号把后面的行并入了这一行 "
                   f"(row {number}: the {merged!r} value spans lines holding delimiters: an unclosed "
                   "quote probably merged the following rows into this one)")
    if strict and len(values) != len(header):
        # A stray delimiter shifts every later value into the wrong column: never guess which.
        return Row(number, {"values": values},
                   f"第 {number} 行有 {len(values)} 个值，表头有 {len(header)} 列 "
                   f"(row {number} has {len(values)} values but the header has {len(header)} columns)")
    padded = values + [""] * (len(header) - len(values))
    return Row(number, {name: value for name, value in zip(header, padded, strict=False) if name})


def _merged_column(header: tuple[str, ...], values: list[str], delimiter: str) -> str | None:
    """The column whose value looks like several CSV rows glued together by an unclosed quote."""
    for index, value in enumerate(values):
        later_lines = value.splitlines()[1:]
        if any(delimiter in line for line in later_lines):
            return header[index] if index < len(header) and header[index] else f"#{index + 1}"
    return None


def _encoding(path: Path, spec: TableSpec) -> str | None:
    suffix = path.suffix.lower()
    if suffix in XLSX_SUFFIXES:
        if problem := zip_problem(path, spec.limits):
            raise FileProblem("Excel 文件解压后过大（疑似压缩炸弹），未读取",
                              f"the workbook was not opened: {problem}")
        return None
    if suffix not in CSV_SUFFIXES:
        raise FileProblem(f"不支持的文件类型 {suffix or '（无扩展名）'}，请提交 .csv 或 .xlsx 文件",
                          f"unsupported file type {suffix or '(none)'}: send .csv or .xlsx")
    try:
        return detect_encoding(path, spec.encoding)
    except EncodingProblem as problem:
        raise FileProblem(problem.zh, problem.en) from None


def _raw_rows(path: Path, spec: TableSpec, encoding: str | None) -> Iterator[list[str]]:
    if encoding is None:
        return _xlsx_rows(path, spec.sheet)
    return _csv_rows(path, encoding, spec.delimiter, 2 * spec.limits.max_field_bytes)


def _csv_rows(path: Path, encoding: str, delimiter: str, longest: int) -> Iterator[list[str]]:
    with path.open(encoding=encoding, newline="") as handle:
        reader = csv.reader(_lines(handle, longest), delimiter=delimiter, strict=True)
        start = 1  # the line the row being parsed starts on
        try:
            for values in reader:
                yield values
                start = reader.line_num + 1
        except csv.Error as exc:
            raise _malformed(exc, start) from exc


def _lines(handle: Any, longest: int) -> Iterator[str]:
    """The file's lines, none longer than ``longest`` characters: a line of hundreds of megabytes (a
    broken or hostile export) is refused before it is held in memory whole."""
    number = 0
    while line := handle.readline(longest + 1):
        number += 1
        if len(line) > longest:
            raise FileProblem(f"第 {number} 行超过 {longest} 个字符，文件未读取（疑似损坏或恶意文件）",
                              f"line {number} is longer than {longest} characters: the file was not read "
                              "(damaged, or not an export)")
        yield line


def _malformed(exc: csv.Error, line: int) -> FileProblem:
    if "field larger than field limit" in str(exc):
        limit = csv.field_size_limit()
        return FileProblem(f"第 {line} 行起有一个值超过 {limit} 个字符，文件未读取（疑似损坏或恶意文件）",
                           f"a value from line {line} on is longer than {limit} characters: the file was not "
                           "read (damaged, or not an export)")
    if "end of data" in str(exc) or "EOF" in str(exc):
        return FileProblem(f"第 {line} 行的引号未闭合，其后各行都会并入同一个值",
                           f"the quote opened on line {line} is never closed: every later line would "
                           "merge into one value")
    return FileProblem(f"CSV 文件格式错误（第 {line} 行起）：{exc}",
                       f"the CSV file is malformed (from line {line}): {exc}")


def _xlsx_rows(path: Path, sheet: str | None) -> Iterator[list[str]]:
    workbook = _open_workbook(path)
    try:
        names = workbook.sheetnames
        if sheet is not None and sheet not in names:
            raise FileProblem(f"工作簿中没有名为“{sheet}”的工作表（现有：{'、'.join(names)}）",
                              f"the workbook has no sheet {sheet!r} (sheets: {', '.join(names)})")
        if not names:
            raise FileProblem("工作簿中没有工作表", "the workbook has no sheets")
        worksheet = workbook[sheet or names[0]]
        try:
            for values in worksheet.iter_rows(values_only=True):
                yield [cell_text(value) for value in values]
        except FileProblem:
            raise
        except Exception as exc:  # openpyxl raises many types for a damaged sheet: all mean "unreadable"
            raise _damaged(exc) from exc
    finally:
        workbook.close()


def _open_workbook(path: Path) -> Any:
    from openpyxl import load_workbook

    try:
        return load_workbook(path, read_only=True, data_only=True)
    except OSError:
        raise  # the file could not be opened at all: not a content problem
    except Exception as exc:  # BadZipFile, InvalidFileException, KeyError, XML errors …
        raise _damaged(exc) from exc


def _damaged(exc: Exception) -> FileProblem:
    return FileProblem("Excel 文件已损坏或不是 .xlsx 格式，无法读取",
                       f"the workbook is damaged or not an .xlsx file: {type(exc).__name__}: {exc}")


def _header(values: list[str] | None, spec: TableSpec) -> tuple[str, ...]:
    names = tuple(clean_name(value) for value in values or [])
    while names and not names[-1]:
        names = names[:-1]  # trailing empty cells of a spreadsheet row are not columns
    if not names:
        raise FileProblem("第 1 行必须是列名（表头），但该行为空",
                          "row 1 must hold the column names (a header row), but it is empty")
    duplicated = sorted({name for name in names if name and names.count(name) > 1})
    if duplicated:
        raise FileProblem(f"表头中有重复的列名：{'、'.join(duplicated)}",
                          f"duplicate column names in the header: {', '.join(duplicated)}")
    missing = [name for name in spec.required if name not in names]
    if missing:
        raise FileProblem(f"缺少必需的列：{'、'.join(missing)}",
                          f"missing required columns: {', '.join(missing)}")
    return names


def clean_name(value: str) -> str:
    return value.strip(_BLANKS)


def _blank(values: list[str]) -> bool:
    return all(not value.strip(_BLANKS) for value in values)


def cell_text(value: Any) -> str:
    """A spreadsheet cell as the text a CSV export of it would hold."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):  # Excel keeps 15 significant digits; never print an exponent
        whole = value.is_integer() and abs(value) < 1e15
        return str(int(value)) if whole else format(Decimal(repr(value)), "f")
    return str(value)
