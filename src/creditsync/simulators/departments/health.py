"""Simulator of 长清区卫生健康局's hand-over folder (department ``health``): staff export licences and
penalties from their office software (GBK CSV, XLSX, Chinese headers) and drop them into a shared folder.

    <workdir>/inbox/    five files at start (see :mod:`health_data` for their contents and defects),
                        then a new small file every ``interval_s`` seconds until SIGTERM/SIGINT

Files appear atomically: each is written under a hidden temporary name (``.<name>.part``) and then
renamed, so nobody ever reads half a file (the file adapter ignores such names as well).
``creditsync source-sim health --workdir .sim`` drops into ``.sim/health/inbox``, the
inbox ``adapters/health.yaml`` reads. The interval comes from CREDITSYNC_HEALTH_DROP_INTERVAL_S
(default 60). Typical use in tests::

    desk = HealthDesk(tmp_path / "health", seed=7, today=date(2026, 6, 1))
    desk.drop_initial(); desk.drop_next()
    desk.broken    # {"penalty_20260601_02.csv#4": "统一社会信用代码校验位错误 …", "penalty_…_04.csv": …}
"""

from __future__ import annotations

import csv
import io
import logging
import os
import random
import signal
import threading
from datetime import date
from pathlib import Path
from typing import Any

from creditsync.settings import HEALTH_DROP_INTERVAL_S, simulator_interval
from creditsync.simulators.departments import SimulatorOptions
from creditsync.simulators.departments.health_data import (
    DropFile,
    Exporter,
    UnquotedCsvText,
    initial_files,
    next_file,
)

logger = logging.getLogger(__name__)

DEPARTMENT = "health"
DEFAULT_INTERVAL_S = 60.0
_SHEETS = {"license": "行政许可", "penalty": "行政处罚"}


class HealthDesk:
    """The department's export desk writing into ``<workdir>/inbox``; same seed, same files."""

    def __init__(self, workdir: Path, seed: int = 7, today: date | None = None) -> None:
        self.inbox = Path(workdir) / "inbox"
        self.exporter = Exporter(random.Random(seed))
        self._today = today
        self.dropped: list[DropFile] = []

    @property
    def today(self) -> date:
        return self._today or date.today()

    def drop_initial(self) -> list[Path]:
        return [self._drop(drop) for drop in initial_files(self.exporter, self.today)]

    def drop_next(self) -> Path:
        return self._drop(next_file(self.exporter, self.today))

    @property
    def broken(self) -> dict[str, str]:
        """``<file>#<row>`` → defect for each broken row, ``<file>`` → reason for each refused file."""
        found: dict[str, str] = {}
        for drop in self.dropped:
            if drop.failure:
                found[drop.name] = drop.failure
            found.update({f"{drop.name}#{row}": reason for row, reason in drop.broken.items()})
        return found

    def _drop(self, drop: DropFile) -> Path:
        path = write_drop(self.inbox, drop)
        self.dropped.append(drop)
        logger.info("%s: dropped %s (%d rows)", DEPARTMENT, path.name, len(drop.rows))
        return path


def write_drop(inbox: Path, drop: DropFile) -> Path:
    """Write ``drop`` under a temporary name, then rename it into place (atomic on one filesystem)."""
    inbox.mkdir(parents=True, exist_ok=True)
    temp, final = inbox / f".{drop.name}.part", inbox / drop.name
    if drop.encoding is None:
        _write_xlsx(temp, drop)
    else:
        temp.write_bytes(csv_bytes(drop))
    os.replace(temp, final)
    return final


def csv_bytes(drop: DropFile) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)  # Excel's dialect: commas, CRLF, quotes only where needed
    writer.writerow(drop.columns)
    for row in drop.rows:
        values: list[str] = []
        for column in drop.columns:
            value = row.get(column)
            # An unquoted comma splits the value: what a hand-edited export looks like.
            values.extend(value.split(",") if isinstance(value, UnquotedCsvText) else [_csv_text(value)])
        writer.writerow(values)
    assert drop.encoding is not None
    return buffer.getvalue().encode(drop.encoding)


def _csv_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return f"{value:%Y/%m/%d}"
    if isinstance(value, int):
        return f"{value}.00"  # money in 元, as the office software prints it
    return str(value)


def _write_xlsx(path: Path, drop: DropFile) -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = _SHEETS[drop.kind]
    sheet.append(list(drop.columns))
    for row in drop.rows:
        sheet.append([_xlsx_value(row.get(column)) for column in drop.columns])
    workbook.save(path)


def _xlsx_value(value: Any) -> Any:
    return None if value == "" else value  # empty cells stay empty, dates become date cells


def run_health_simulator(workdir: Path, seed: int = 7, interval_s: float | None = None,
                         stop: threading.Event | None = None) -> HealthDesk:
    """Drop the initial files, then one file every ``interval_s`` until ``stop`` (default: SIGTERM/SIGINT)."""
    interval = interval_s if interval_s is not None else float(
        simulator_interval(HEALTH_DROP_INTERVAL_S, float(DEFAULT_INTERVAL_S)))
    desk = HealthDesk(workdir, seed)
    stop = stop or _stop_on_signals()
    paths = desk.drop_initial()
    print(f"{DEPARTMENT} simulator: {len(paths)} files in {desk.inbox}; a new one every {interval:g} s",
          flush=True)
    while not stop.wait(interval):
        print(f"{DEPARTMENT} simulator: dropped {desk.drop_next().name}", flush=True)
    logger.info("%s simulator stopping", DEPARTMENT)
    return desk


def run_from_options(options: SimulatorOptions) -> None:
    """Entry point of ``creditsync source-sim health`` (see ``SIMULATORS``)."""
    run_health_simulator(options.workdir, options.seed)


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda _signum, _frame: stop.set())
    return stop
