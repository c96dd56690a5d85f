"""The platform's side of the upload templates, for the demo and the tests: a person uploading each
workbook of ``outgoing/`` (renamed into ``taken/`` first), the platform importing it with the API
simulator's core, and its result workbook in ``returned/`` (every row with 导入结果, 错误信息 and
平台记录编号)."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import zipfile
from pathlib import Path

from creditsync.schema import get_category
from creditsync.simulators.envelope import push_in_batches
from creditsync.simulators.platform import PlatformSimulator
from creditsync.simulators.platform_store import IncomingRecord
from creditsync.sinks.template_file import workbook as wb

log = logging.getLogger(__name__)
ACTIONS = {wb.OPERATIONS["withdraw"]: "withdraw"}


class TemplateSimulator:
    def __init__(self, folder: Path, platform: PlatformSimulator) -> None:
        self.folder, self.platform = folder, platform
        self.taken, self.returned = folder / "taken", folder / "returned"
        for path in (self.taken, self.returned, folder / "refused"):
            path.mkdir(parents=True, exist_ok=True)
        self._stop = threading.Event()
        self.serial = len(list(self.returned.glob("*.xlsx")))

    def run_once(self) -> int:
        for path in sorted((self.folder / "outgoing").glob("*/[!.]*.xlsx")):
            with contextlib.suppress(FileNotFoundError):
                os.replace(path, self.taken / f"{path.parent.name}__{path.name}")
        done = 0
        for path in sorted(self.taken.glob("[!.]*.xlsx")):
            category = path.name.split("__", 1)[0]
            try:
                rows = list(wb.read(path))
            except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:  # not a workbook: set aside
                log.warning("workbook %s refused: %s", path.name, exc)
                os.replace(path, self.folder / "refused" / path.name)
                continue
            self.platform.count("requests")
            incoming = [self._incoming(category, row) for row in rows]
            results = push_in_batches(self.platform, category, incoming)
            for row, result in zip(rows, results, strict=True):
                rejected = result["status"] == "rejected"
                row.update({wb.RESULT: "失败" if rejected else wb.OK, wb.ERRORS: "；".join(result["errors"]),
                            wb.PLATFORM_ID: result["platform_id"] or ""})
            self.serial += 1  # the same workbook name may come again (a day's second upload)
            wb.write(self.returned / f"{path.stem}_{self.serial:04d}_结果.xlsx", category, rows,
                     extra=[wb.RESULT, wb.ERRORS, wb.PLATFORM_ID])
            path.unlink()
            done += len(rows)
        return done

    def run(self, interval_s: float) -> None:
        while not self._stop.wait(interval_s):
            self.run_once()

    def stop(self) -> None:
        self._stop.set()

    def _incoming(self, category: str, row: dict[str, str]) -> IncomingRecord:
        codes = wb.codes_by_title(category)
        data = {codes[title]: value for title, value in row.items() if title in codes and value != ""}
        action = ACTIONS.get(row.get(wb.OPERATION, ""), "upsert")
        authority, number = get_category(category).key_fields  # the platform's own business key
        business_key = f"{category}:{data.get(authority, '')}:{data.get(number, '')}"
        return IncomingRecord(row[wb.KEY], business_key, action, row.get(wb.TARGET) or None, data)
