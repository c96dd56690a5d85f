"""The ``template_file`` sink: the national Excel upload templates, for a person to upload by hand.

    outgoing/<category>/<类别>_<YYYYMMDD>[_n].xlsx   one workbook per category and day; items are added
                                                    to the day's workbook while it is still there
    uploaded/                                       where the person moves a workbook once uploaded
                                                    (the next items of the day start a new one)
    returned/*.xlsx                                 the platform's result workbooks: receipts
    .sent/<key>                                     the gateway's note that a key is in a workbook
    .workbooks/                                     the names used (never reused once uploaded)

A key is written once: never again once noted, or while in the day's workbook. Its answer is the row
of a returned workbook with its 数据标识 (导入结果 成功 with the 平台记录编号, or 失败 with 错误信息).
A withdrawal's upsert still in an outgoing workbook is taken out of it (``retract``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path

from creditsync.sinks.base import NoCopies, PushItem, Receipt, answer, unique_keys
from creditsync.sinks.exchange_db.sink import BEIJING
from creditsync.sinks.template_file import workbook as wb
from creditsync.sinks.template_file.workbook import ERRORS, KEY, OK, OPERATION, OPERATIONS, RESULT, TARGET


class TemplateFileSink(NoCopies):
    name = "template_file"
    asynchronous = True

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.outgoing, self.returned, self.sent = folder / "outgoing", folder / "returned", folder / ".sent"
        for path in (self.outgoing, self.returned, self.sent, folder / "uploaded"):
            path.mkdir(parents=True, exist_ok=True)
        self._answers: dict[str, Receipt] = {}
        self._read: dict[Path, float] = {}
        # The push step sends batches from several threads: one workbook is rewritten by one at a time.
        self._lock = threading.RLock()

    def push(self, category: str, items: Sequence[PushItem], batch_id: str) -> list[Receipt]:
        with self._lock:
            return self._push(category, items)

    def _push(self, category: str, items: Sequence[PushItem]) -> list[Receipt]:
        unique_keys(items)
        found = self.query(category, [i.idempotency_key for i in items])
        fresh = [i for i in items
                 if i.idempotency_key not in found and not (self.sent / i.idempotency_key).exists()]
        if fresh:
            path = self._todays(category)
            rows = list(wb.read(path)) if path.exists() else []
            there = {row.get(KEY) for row in rows}
            rows += [self._row(category, item) for item in fresh if item.idempotency_key not in there]
            wb.write(path, category, rows)
            for item in fresh:
                (self.sent / item.idempotency_key).touch()
        return [found[i.idempotency_key] for i in items if i.idempotency_key in found]

    def query(self, category: str, idempotency_keys: Iterable[str]) -> dict[str, Receipt]:
        with self._lock:
            self._read_returned()
            known = self._answers
            return {key: known[key] for key in dict.fromkeys(idempotency_keys) if key in known}

    def retract(self, category: str, idempotency_keys: Iterable[str]) -> set[str]:
        with self._lock:
            return self._retract(category, list(idempotency_keys))

    def _retract(self, category: str, idempotency_keys: list[str]) -> set[str]:
        keys = set(idempotency_keys) - set(self.query(category, idempotency_keys))
        gone = {key for key in keys if not (self.sent / key).exists()}  # never written
        for path in sorted((self.outgoing / category).glob("[!.]*.xlsx")):
            rows = list(wb.read(path))
            kept = [row for row in rows if row.get(KEY) not in keys]
            if len(kept) < len(rows):
                gone |= {row[KEY] for row in rows if row.get(KEY) in keys}
                wb.write(path, category, kept)
        return gone

    def close(self) -> None:
        pass

    def _todays(self, category: str) -> Path:
        """The day's workbook still waiting for upload, or the next free name of the day."""
        folder = self.outgoing / category
        folder.mkdir(parents=True, exist_ok=True)
        stem = f"{wb.get_category(category).title_zh}_{datetime.now(BEIJING):%Y%m%d}"
        books = self.folder / ".workbooks"  # every name used: an uploaded workbook is never written again
        books.mkdir(exist_ok=True)
        for n in range(1, 1000):
            name = f"{stem}.xlsx" if n == 1 else f"{stem}_{n}.xlsx"
            if (folder / name).exists() or not (books / f"{category}__{name}").exists():
                (books / f"{category}__{name}").touch()
                return folder / name
        raise RuntimeError("a thousand workbooks in one day")

    def _row(self, category: str, item: PushItem) -> dict[str, str]:
        titles = {code: title for title, code in wb.codes_by_title(category).items()}
        row = {titles[code]: str(value) for code, value in item.data.items()
               if code in titles and value is not None}
        operation = "withdraw" if item.action == "withdraw" else ("correct" if item.platform_id else "new")
        row.update({KEY: item.idempotency_key, OPERATION: OPERATIONS[operation],
                    TARGET: item.platform_id or ""})
        return row

    def _read_returned(self) -> None:
        for path in sorted(self.returned.glob("[!.]*.xlsx")):
            modified = path.stat().st_mtime
            if self._read.get(path) == modified:
                continue
            for row in wb.read(path):
                if key := row.get(KEY):
                    self._answers[key] = returned_receipt(key, row)
            self._read[path] = modified


def returned_receipt(key: str, row: dict[str, str]) -> Receipt:
    """One row of the platform's result workbook as a receipt."""
    failed = row.get(RESULT, "").strip() not in (OK, "") or bool(row.get(ERRORS, "").strip())
    if failed:
        messages = [m.strip() for m in row.get(ERRORS, "").replace("；", "\n").splitlines() if m.strip()]
        return answer(key, "rejected", None, messages or ["导入失败"])
    return answer(key, "accepted", row.get(wb.PLATFORM_ID) or None, [])
