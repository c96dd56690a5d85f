"""The working-day calendar as a small table the scorecard queries join, so that the database counts
working days (chinese-calendar's schedule, make-up days included) without one Python call per record.

Each day carries its ordinal: the working days from the calendar's first day up to and including it.
``working_days_between(a, b)`` is then ``ordinal(b) - ordinal(a)`` (creditsync.working_days), whatever
holidays and 调休 lie between.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Date, Integer, column, values
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from creditsync.working_days import SHANGHAI, is_working_day


@dataclass(frozen=True)
class WorkingCalendar:
    first: date
    last: date
    ordinals: dict[date, int]

    @classmethod
    def spanning(cls, first: date, last: date) -> WorkingCalendar:
        ordinals, count, day = {}, 0, first
        while day <= last:
            count += is_working_day(day)
            ordinals[day] = count
            day += timedelta(days=1)
        return cls(first, last, ordinals)

    def ordinal(self, day: date) -> int:
        return self.ordinals[min(max(day, self.first), self.last)]

    def table(self) -> Any:
        """``calendar(day, ordinal, week)``: a CTE of literal rows (VALUES), on SQLite and PostgreSQL."""
        rows = [(day, ordinal, day - timedelta(days=day.weekday())) for day, ordinal in self.ordinals.items()]
        return values(column("day", Date), column("ordinal", Integer), column("week", Date),
                      name="calendar").data(rows).cte("calendar")


def local_midnight_utc(day: date) -> datetime:
    """The start of a day in China, in UTC (how the store keeps timestamps)."""
    return datetime.combine(day, time(0), SHANGHAI).astimezone(UTC)


class local_day(FunctionElement[date]):  # named as the SQL function it stands for
    """The calendar day in China of a stored timestamp (UTC), in SQL."""

    type = Date()
    inherit_cache = True
    name = "local_day"


@compiles(local_day, "postgresql")
def _local_day_pg(element: local_day, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(({compiler.process(element.clauses, **kw)} AT TIME ZONE 'Asia/Shanghai') AS DATE)"


@compiles(local_day, "sqlite")
def _local_day_sqlite(element: local_day, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite keeps the UTC time without its zone; China has kept UTC+8 all year since 1991
    return f"date({compiler.process(element.clauses, **kw)}, '+8 hours')"
