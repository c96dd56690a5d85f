"""The scorecard as the command line, the console and the daily DAG ask for it: from the store and
the configured departments (their Chinese names, the thresholds from the environment)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path

from creditsync import settings as settings_module
from creditsync.departments import load_departments
from creditsync.exceptions import ConfigurationError
from creditsync.quality.period import Period
from creditsync.quality.queries import REFUSED
from creditsync.quality.scorecard import Counts, DepartmentScore, Scorecard, scorecards, targets_from
from creditsync.quality.workbook import write_workbook
from creditsync.quarantine import Describer, QuarantineFilter, QuarantineView, entries, write_report
from creditsync.settings import Settings
from creditsync.store import Store
from creditsync.working_days import local_date

log = logging.getLogger(__name__)


def today() -> date:
    """Today in China: the day the deadlines are counted to."""
    return local_date(datetime.now(UTC))


def department_names(settings: Settings) -> dict[str, str]:
    try:
        return {d.department: d.name for d in load_departments(settings.adapters_dir, check_sources=False)}
    except ConfigurationError as exc:  # a broken department file must not hide the scorecard
        log.warning("department names unavailable: %s", exc)
        return {}


def build(store: Store, settings: Settings, period: Period, *, as_of: date | None = None,
          department: str | None = None, overdue_limit: int | None = None) -> Scorecard:
    targets = targets_from(settings_module.quality_targets())
    with store.engine.connect() as conn:
        return scorecards(conn, period, as_of=as_of or today(), department=department,
                          names=department_names(settings), targets=targets, overdue_limit=overdue_limit)


@contextmanager
def open_refusals(store: Store, settings: Settings,
                  departments: list[str]) -> Iterator[dict[str, Iterator[QuarantineView]]]:
    """Each department's open refusals (what it must fix), streamed while the session is open."""
    describer = Describer(settings)
    with store.reader() as session:
        yield {name: (view for view in entries(session, QuarantineFilter(department=name), describer)
                      if view.stage in REFUSED) for name in departments}


def write_xlsx(store: Store, settings: Settings, scorecard: Scorecard, path: Path) -> Path:
    with open_refusals(store, settings, list(scorecard.departments)) as refusals:
        return write_workbook(scorecard, path, refusals)


@dataclass(frozen=True)
class DailyFiles:
    folder: Path
    scorecards: list[Path]
    feedback: list[Path]


def write_daily_files(store: Store, settings: Settings, period: Period, as_of: date,
                      folder: Path | None = None) -> DailyFiles:
    """Each department's scorecard workbook and its rejection feedback (one row per record to fix, with
    the reason: creditsync.quarantine's report) in the configured folder, for the daily DAG."""
    target = folder or settings.quality_reports_dir
    scorecard = build(store, settings, period, as_of=as_of)
    names = department_names(settings)
    cards, feedback = [], []
    for department in sorted({*scorecard.departments, *names}):
        score = scorecard.departments.get(department) or DepartmentScore(
            department, names.get(department, department), weeks={week: Counts() for week in period.weeks()})
        one = replace(scorecard, departments={department: score})
        cards.append(write_xlsx(store, settings, one, target / f"质量评分-{department}-{period.label}.xlsx"))
        path = target / f"退回整改-{department}-{as_of.isoformat()}.xlsx"
        with store.reader() as session:
            write_report(session, department, names.get(department, department), path,
                         describer=Describer(settings))
        feedback.append(path)
    return DailyFiles(target, cards, feedback)
