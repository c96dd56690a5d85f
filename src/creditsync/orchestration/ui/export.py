"""The audit trail's filtered set as a spreadsheet, written while it is read (never the whole table in
memory): CSV streamed row by row in UTF-8 with a byte-order mark, so Excel and WPS open the Chinese
intact; XLSX through openpyxl's write-only workbook into a temporary file, then sent."""

from __future__ import annotations

import csv
import io
import json
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from openpyxl import Workbook

from creditsync.orchestration.ui import labels
from creditsync.orchestration.ui.clock import local_text, zone_label

BOM = "\ufeff"
ROWS_PER_CHUNK = 200


def columns() -> list[tuple[str, str]]:
    """(key, header): Chinese header with the English term, the time column naming its zone."""
    return [("id", "序号 id"), ("ts", f"时间 time, {zone_label()}"), ("ts_utc", "UTC"),
            ("event", "事件 event"), ("event_zh", "事件说明 event (zh)"), ("actor", "操作者 actor"),
            ("department", "部门 department"), ("category", "类别 category"),
            ("business_key", "业务键 business key"), ("run_id", "运行 run"), ("details", "详情 details"),
            ("hash", "哈希 hash")]


def _values(entry: dict[str, Any]) -> list[Any]:
    row = dict(entry, ts_utc=entry["ts"], ts=local_text(entry["ts"]),
               event_zh=labels.EVENTS.get(entry["event"], ""),
               details=json.dumps(entry["details"], ensure_ascii=False, sort_keys=True, default=str))
    return [row[key] if row[key] is not None else "" for key, _ in columns()]


def csv_chunks(entries: Iterable[dict[str, Any]]) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write(BOM)
    writer.writerow([header for _, header in columns()])
    for count, entry in enumerate(entries, start=1):
        writer.writerow(_values(entry))
        if count % ROWS_PER_CHUNK == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def write_xlsx(entries: Iterable[dict[str, Any]]) -> Path:
    """A temporary file the caller sends and deletes."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("审计日志")
    sheet.freeze_panes = "A2"
    for index, width in enumerate((8, 20, 26, 20, 14, 20, 22, 12, 48, 44, 80, 66)):
        sheet.column_dimensions[chr(ord("A") + index)].width = width
    sheet.append([header for _, header in columns()])
    for entry in entries:
        sheet.append(_values(entry))
    handle = tempfile.NamedTemporaryFile(prefix="creditsync-audit-", suffix=".xlsx", delete=False)  # noqa: SIM115
    handle.close()
    book.save(handle.name)
    return Path(handle.name)


