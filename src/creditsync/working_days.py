"""Working days under the State Council holiday schedule, make-up days (调休) included (reference §8.1).

``chinese-calendar`` carries the schedule year by year and raises for a year it does not know yet:
then the count falls back to Monday-Friday for that year, with one warning per year, never a crash.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import chinese_calendar

log = logging.getLogger(__name__)

PUBLICATION_LIMIT_WORKING_DAYS = 7  # 国办发〔2019〕35号: public within 7 working days of the decision
WITHDRAWAL_LIMIT_WORKING_DAYS = 5  # regional rule for a revoked or changed penalty (reference §8.4)
SHANGHAI = ZoneInfo("Asia/Shanghai")


def is_working_day(day: date) -> bool:
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        _warn_unknown_year(day.year)
        return day.weekday() < 5


def knows_year(year: int) -> bool:
    """Whether the holiday schedule of this year is known (else weekdays stand in for it)."""
    try:
        chinese_calendar.is_workday(date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


def working_days_between(start: date, end: date) -> int:
    """Working days after ``start`` up to and including ``end`` (0 when ``end`` is not after it): a
    decision on Monday acknowledged on Tuesday took 1 working day. Counted from a per-year table
    (a first sync acknowledges years of decisions at once: no day-by-day walk per record)."""
    first = start + timedelta(days=1)
    days = 0
    for year in range(first.year, end.year + 1):
        low = first if year == first.year else date(year, 1, 1)
        high = end if year == end.year else date(year, 12, 31)
        counts = _running_counts(year)
        days += counts[_day_of_year(high)] - counts[_day_of_year(low) - 1]
    return max(days, 0)


@cache
def _running_counts(year: int) -> tuple[int, ...]:
    """Index n: the working days of ``year`` up to and including its n-th day (index 0: none)."""
    counts, day = [0], date(year, 1, 1)
    while day.year == year:
        counts.append(counts[-1] + is_working_day(day))
        day += timedelta(days=1)
    return tuple(counts)


def _day_of_year(day: date) -> int:
    return day.toordinal() - date(day.year, 1, 1).toordinal() + 1


def add_working_days(start: date, count: int) -> date:
    """The ``count``-th working day after ``start``: the deadline of a limit in working days."""
    if count < 0:
        raise ValueError("count must not be negative")
    day = start
    while count:
        day += timedelta(days=1)
        count -= is_working_day(day)
    return day


def local_date(moment: datetime) -> date:
    """The calendar day in China of a timestamp (stored in UTC; SQLite returns it without a zone)."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(SHANGHAI).date()


def working_days_taken(start: date, acknowledged_at: datetime) -> int:
    """Working days from a decision (or a withdrawal's cause) to the platform's acknowledgement:
    ``records.published_within_days`` / ``withdrawn_within_days``."""
    return working_days_between(start, local_date(acknowledged_at))


def deadline(start: date, limit: int) -> date:
    """The last day to meet a limit in working days: publication ``deadline(decision_date,
    PUBLICATION_LIMIT_WORKING_DAYS)``, withdrawal ``deadline(revoked_on, WITHDRAWAL_LIMIT_WORKING_DAYS)``."""
    return add_working_days(start, limit)


@cache
def _warn_unknown_year(year: int) -> None:
    log.warning("the holiday schedule of %s is not known to chinese-calendar %s: counting Monday to "
                "Friday as working days for that year", year, chinese_calendar.__version__)
