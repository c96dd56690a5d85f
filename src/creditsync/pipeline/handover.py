"""Files handed over by departments without a system: the standard template (standard field codes as
column headers) as CSV, XLSX, JSONL or a JSON array. Rows stream one at a time."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from creditsync.exceptions import ConfigurationError
from creditsync.sources.base import RawRecord

SUFFIXES = (".csv", ".xlsx", ".jsonl", ".ndjson", ".json", ".xml")


def read_template_file(path: Path, category: str) -> Iterator[RawRecord]:
    """Yield each row as a RawRecord keyed ``<file name>#<row number>`` (1-based data rows)."""
    if not path.exists():
        raise ConfigurationError(f"input file not found: {path}")
    for index, data in enumerate(_rows(path), start=1):
        if not isinstance(data, dict):
            yield RawRecord(stream=category, key=f"{path.name}#{index}", data={"value": data},
                            cursor=None, error=f"row {index} is not an object")
            continue
        yield RawRecord(stream=category, key=f"{path.name}#{index}", data=data, cursor=None)


def _rows(path: Path) -> Iterator[Any]:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _csv_rows(path)
    if suffix == ".xlsx":
        return _xlsx_rows(path)
    if suffix in (".jsonl", ".ndjson"):
        return _jsonl_rows(path)
    if suffix == ".json":
        return _json_rows(path)
    if suffix == ".xml":  # hardened and streamed; records: the root's repeated child (see read_xml_file)
        from creditsync.sources.xml import read_xml_file

        return read_xml_file(path)
    raise ConfigurationError(f"{path}: unsupported file type (use one of {', '.join(SUFFIXES)})")


def _csv_rows(path: Path) -> Iterator[dict[str, Any]]:
    raw = path.read_bytes()[:4096]
    encoding = "utf-8-sig" if _is_utf8(raw) else "gb18030"
    with path.open(encoding=encoding, newline="") as handle:
        for row in csv.DictReader(handle):
            yield {k.strip(): v for k, v in row.items() if k is not None}


def _is_utf8(sample: bytes) -> bool:
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start > len(sample) - 4  # a multi-byte character cut by the sample's end
    return True


def _xlsx_rows(path: Path) -> Iterator[dict[str, Any]]:
    from openpyxl import load_workbook

    workbook = load_workbook(path, read_only=True, data_only=True)
    try:
        rows = workbook.active.iter_rows(values_only=True) if workbook.active else iter(())
        header = [str(h).strip() if h is not None else "" for h in next(rows, ())]
        for values in rows:
            if all(v is None or v == "" for v in values):
                continue
            yield {h: ("" if v is None else v) for h, v in zip(header, values, strict=False) if h}
    finally:
        workbook.close()


def _jsonl_rows(path: Path) -> Iterator[Any]:
    with path.open(encoding="utf-8-sig") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError as exc:
                yield f"line {number}: invalid JSON ({exc.msg})"


def _json_rows(path: Path) -> Iterator[Any]:
    """A JSON array; a file of one object per line is accepted too."""
    text = path.read_text(encoding="utf-8-sig")
    stripped = text.lstrip()
    if not stripped.startswith("["):
        yield from _jsonl_rows(path)
        return
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"{path}: invalid JSON: {exc}") from exc
    yield from data


def write_csv_template(columns: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(columns)
    return buffer.getvalue()
