"""The period a scorecard covers: a month (``2026-09``), a quarter (``2026-Q3``) or a year (``2026``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from creditsync.exceptions import ConfigurationError

_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_QUARTER = re.compile(r"^(\d{4})-[Qq]([1-4])$")
_YEAR = re.compile(r"^(\d{4})$")


@dataclass(frozen=True)
class Period:
    label: str
    start: date
    end: date  # inclusive

    @property
    def label_zh(self) -> str:
        if "Q" in self.label:
            year, quarter = self.label.split("-Q")
            return f"{year}年第{quarter}季度"
        if "-" in self.label:
            year, month = self.label.split("-")
            return f"{year}年{int(month)}月"
        return f"{self.label}年"

    def weeks(self) -> list[date]:
        """The Mondays of the weeks the period touches (the trend's buckets)."""
        first = self.start - timedelta(days=self.start.weekday())
        return [first + timedelta(weeks=n) for n in range((self.end - first).days // 7 + 1)]


def parse_period(text: str) -> Period:
    """``YYYY-MM``, ``YYYY-Qn`` or ``YYYY``; anything else is a usage error."""
    value = text.strip()
    if match := _MONTH.match(value):
        year, month = int(match[1]), int(match[2])
        if not 1 <= month <= 12:
            raise ConfigurationError(f"no month {month} in period {text!r}")
        return Period(f"{year:04d}-{month:02d}", date(year, month, 1), _month_end(year, month))
    if match := _QUARTER.match(value):
        year, quarter = int(match[1]), int(match[2])
        first = 3 * quarter - 2
        return Period(f"{year:04d}-Q{quarter}", date(year, first, 1), _month_end(year, first + 2))
    if match := _YEAR.match(value):
        year = int(match[1])
        return Period(f"{year:04d}", date(year, 1, 1), date(year, 12, 31))
    raise ConfigurationError(f"period {text!r}: use YYYY-MM, YYYY-Qn or YYYY (e.g. 2026-09, 2026-Q3, 2026)")


def current_quarter(today: date) -> Period:
    return parse_period(f"{today.year}-Q{(today.month - 1) // 3 + 1}")


def _month_end(year: int, month: int) -> date:
    following = date(year + month // 12, month % 12 + 1, 1)
    return following - timedelta(days=1)
