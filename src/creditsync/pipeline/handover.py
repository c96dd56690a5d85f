"""Files handed over by departments without a system: the standard template (standard field codes as
column headers) as CSV, XLSX, JSONL, a JSON array or XML. Rows stream one at a time.

CSV and XLSX go through the file-drop source's reader (:mod:`creditsync.sources._file_tables`), so a
handed-over file and a dropped one are read by the same rules: the encoding is detected over the whole
file (UTF-8 or GBK, never a guess), every value is text, and a file that cannot be used at all (mixed
encodings, a damaged workbook, an unclosed quote) becomes one bad record naming the file and the
reason, never a traceback. XML is read hardened and streamed, as the XML feed source reads it: with
the department's ``record_tag``/``namespaces`` when the department (of a mapping) has an XML source,
else with the record element detected (the root's repeated child)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from creditsync.departments import DepartmentConfig, load_department_file
from creditsync.exceptions import ConfigurationError
from creditsync.settings import load_settings
from creditsync.sources._file_encoding import EncodingProblem, detect_encoding
from creditsync.sources._file_tables import (
    CSV_SUFFIXES,
    XLSX_SUFFIXES,
    FileProblem,
    TableSpec,
    inspect_table,
    table_rows,
)
from creditsync.sources.base import RawRecord, place_key

JSON_SUFFIXES = (".jsonl", ".ndjson", ".json")
SUFFIXES = (".csv", ".xlsx", *JSON_SUFFIXES, ".xml")
TEMPLATE = TableSpec()  # auto-detected encoding, commas, the first worksheet, no required columns


def read_template_file(path: Path, category: str,
                       department: DepartmentConfig | None = None) -> Iterator[RawRecord]:
    """Yield each row as a RawRecord keyed ``<file name>#<n>`` (n: 1-based data rows); a file that
    cannot be read at all yields one bad record keyed by the file name. ``department``: whose source
    options say how its raw samples look (XML: the record element and namespaces)."""
    if not path.exists():
        raise ConfigurationError(f"input file not found: {path}")
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES | XLSX_SUFFIXES:
        yield from _table_records(path, category)
    elif suffix in JSON_SUFFIXES:
        yield from _json_records(path, category)
    elif suffix == ".xml":
        yield from _records(path, category, _xml_rows(path, category, department))
    else:
        raise ConfigurationError(f"{path}: unsupported file type (use one of {', '.join(SUFFIXES)})")


def department_of_mapping(mapping_path: Path) -> DepartmentConfig | None:
    """The configured department whose mapping this is (``<home>/mappings/<department>/…`` beside
    ``<home>/adapters/<department>.yaml``, else in the configured adapters folder), if any."""
    folder = mapping_path.resolve().parent
    name = f"{folder.name}.yaml"
    for candidate in (folder.parent.parent / "adapters" / name, load_settings().adapters_dir / name):
        if candidate.is_file():
            return load_department_file(candidate)
    return None


def _xml_rows(path: Path, category: str, department: DepartmentConfig | None) -> Iterator[Any]:
    from creditsync.sources.xml import read_xml_file, sample_options

    if department is None or department.source.kind != "xml" \
            or category not in {stream.category for stream in department.streams}:
        return read_xml_file(path)
    opts = sample_options(department, category)
    return read_xml_file(path, opts.record_tag, namespaces=opts.namespaces, attributes=opts.attributes)


def _table_records(path: Path, category: str) -> Iterator[RawRecord]:
    try:
        layout = inspect_table(path, TEMPLATE)
    except FileProblem as problem:
        yield _unreadable(path, category, problem.zh, problem.en)
        return
    for index, row in enumerate(table_rows(path, TEMPLATE, layout), start=1):
        yield RawRecord(stream=category, key=place_key(path.name, index), data=row.data, cursor=None,
                        error=row.error)


def _json_records(path: Path, category: str) -> Iterator[RawRecord]:
    try:
        encoding = detect_encoding(path)
    except EncodingProblem as problem:
        yield _unreadable(path, category, problem.zh, problem.en)
        return
    rows = _json_rows(path, encoding) if path.suffix.lower() == ".json" else _jsonl_rows(path, encoding)
    yield from _records(path, category, rows)


def _records(path: Path, category: str, rows: Iterator[Any]) -> Iterator[RawRecord]:
    for index, data in enumerate(rows, start=1):
        key = place_key(path.name, index)
        if not isinstance(data, dict):
            yield RawRecord(stream=category, key=key, data={"value": data}, cursor=None,
                            error=f"row {index} is not an object")
            continue
        yield RawRecord(stream=category, key=key, data=data, cursor=None)


def _unreadable(path: Path, category: str, zh: str, en: str) -> RawRecord:
    return RawRecord(stream=category, key=path.name, data={"file": path.name, "reason": en}, cursor=None,
                     error=f"文件无法读取：{zh} (file unreadable: {en})")


def _jsonl_rows(path: Path, encoding: str) -> Iterator[Any]:
    with path.open(encoding=encoding) as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError as exc:
                yield f"line {number}: invalid JSON ({exc.msg})"


def _json_rows(path: Path, encoding: str) -> Iterator[Any]:
    """A JSON array; a file of one object per line is accepted too."""
    text = path.read_text(encoding=encoding).lstrip("\ufeff")
    if not text.lstrip().startswith("["):
        yield from _jsonl_rows(path, encoding)
        return
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"{path}: invalid JSON: {exc}") from exc
    yield from data
