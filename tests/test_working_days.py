"""Working days under the State Council schedule (2026 National Day and its make-up Saturday), and the
weekday fallback for a year the calendar does not know."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime

import pytest

from creditsync import working_days
from creditsync.working_days import (
    PUBLICATION_LIMIT_WORKING_DAYS,
    WITHDRAWAL_LIMIT_WORKING_DAYS,
    add_working_days,
    deadline,
    is_working_day,
    knows_year,
    working_days_between,
    working_days_taken,
)

UNKNOWN_YEAR = 2099  # far beyond any schedule the State Council has published


@pytest.mark.parametrize(("day", "working"), [
    (date(2026, 9, 30), True),  # Wednesday before the holiday
    (date(2026, 10, 1), False),  # National Day
    (date(2026, 10, 5), False),  # Monday, still the holiday
    (date(2026, 10, 7), False),
    (date(2026, 10, 8), True),
    (date(2026, 10, 10), True),  # Saturday, make-up working day
    (date(2026, 10, 11), False),  # Sunday
    (date(2026, 9, 20), True),  # Sunday, make-up working day
    (date(2026, 9, 25), False),  # 中秋节, a Friday
])
def test_working_day_follows_the_2026_schedule(day: date, working: bool) -> None:
    assert is_working_day(day) is working


@pytest.mark.parametrize(("start", "end", "expected"), [
    (date(2026, 9, 30), date(2026, 10, 10), 3),  # 10-08, 10-09 and the make-up Saturday 10-10
    (date(2026, 9, 30), date(2026, 10, 9), 2),
    (date(2026, 9, 30), date(2026, 10, 7), 0),  # the whole holiday
    (date(2026, 9, 30), date(2026, 9, 30), 0),
    (date(2026, 10, 10), date(2026, 9, 30), 0),  # end before start
    (date(2026, 9, 18), date(2026, 9, 21), 2),  # Sunday 09-20 is a make-up day
])
def test_working_days_between_across_national_day(start: date, end: date, expected: int) -> None:
    assert working_days_between(start, end) == expected


def test_a_plain_weekday_count_would_be_wrong_across_national_day() -> None:
    weekdays = sum(1 for d in range(1, 11) if date(2026, 10, d).weekday() < 5)
    assert weekdays == 7
    assert working_days_between(date(2026, 9, 30), date(2026, 10, 10)) == 3


@pytest.mark.parametrize(("start", "count", "deadline"), [
    (date(2026, 9, 30), 7, date(2026, 10, 15)),  # publication limit from the day before the holiday
    (date(2026, 9, 30), 3, date(2026, 10, 10)),  # lands on the make-up Saturday
    (date(2026, 9, 30), 0, date(2026, 9, 30)),
    (date(2026, 10, 9), 1, date(2026, 10, 10)),
])
def test_add_working_days_gives_the_deadline(start: date, count: int, deadline: date) -> None:
    assert add_working_days(start, count) == deadline
    assert working_days_between(start, deadline) == count


def test_add_working_days_refuses_a_negative_count() -> None:
    with pytest.raises(ValueError, match="negative"):
        add_working_days(date(2026, 1, 5), -1)


def test_unknown_year_falls_back_to_weekdays_with_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    assert not knows_year(UNKNOWN_YEAR)
    working_days._warn_unknown_year.cache_clear()
    with caplog.at_level(logging.WARNING, logger=working_days.__name__):
        # 2099-01-01 is a Thursday: Thu, Fri, then Mon-Fri of the next week.
        assert working_days_between(date(2098, 12, 31), date(2099, 1, 9)) == 7
        assert add_working_days(date(2099, 1, 2), 1) == date(2099, 1, 5)
    warnings = [r for r in caplog.records if str(UNKNOWN_YEAR) in r.getMessage()]
    assert len(warnings) == 1
    assert "Monday to Friday" in warnings[0].getMessage()


@pytest.mark.parametrize(("acked_at", "taken"), [
    (datetime(2026, 10, 9, 15, 59, tzinfo=UTC), 2),  # 23:59 in 济南: still 10-09
    (datetime(2026, 10, 9, 16, 0, tzinfo=UTC), 3),  # 00:00 on 10-10 in 济南, the make-up Saturday
    (datetime(2026, 10, 9, 16, 0), 3),  # SQLite gives it back without a zone: UTC
])
def test_working_days_taken_counts_in_china_time(acked_at: datetime, taken: int) -> None:
    assert working_days_taken(date(2026, 9, 30), acked_at) == taken


def test_the_publication_deadline_of_a_decision_before_national_day() -> None:
    assert deadline(date(2026, 9, 29), PUBLICATION_LIMIT_WORKING_DAYS) == date(2026, 10, 14)
    assert deadline(date(2026, 9, 30), WITHDRAWAL_LIMIT_WORKING_DAYS) == date(2026, 10, 13)
