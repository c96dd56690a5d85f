"""Display end dates under the rules in force on the decision date (reference §8.2)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from creditsync.publication.display_period import (
    Regime,
    display_ended,
    display_until,
    earliest_repair_date,
    record_display_until,
    rules_in_force,
)
from creditsync.publication.severity import Severity

MINOR, GENERAL, SERIOUS = Severity.MINOR, Severity.GENERAL, Severity.SERIOUS


@pytest.mark.parametrize(("decided", "regime"), [
    (date(2026, 3, 31), Regime.BEFORE_2026),
    (date(2026, 4, 1), Regime.CREDIT_REPAIR_2026),
    (date(2019, 7, 1), Regime.BEFORE_2026),
])
def test_rules_in_force_change_on_2026_04_01(decided: date, regime: Regime) -> None:
    assert rules_in_force(decided) is regime


@pytest.mark.parametrize(("decided", "severity", "last_day"), [
    # 2026 rules: 轻微 3 months, 一般 1 year, 严重 3 years
    (date(2026, 5, 1), MINOR, date(2026, 8, 1)),
    (date(2026, 5, 1), GENERAL, date(2027, 5, 1)),
    (date(2026, 5, 1), SERIOUS, date(2029, 5, 1)),
    (date(2026, 4, 1), GENERAL, date(2027, 4, 1)),
    (date(2026, 11, 30), MINOR, date(2027, 2, 28)),  # no corresponding day: the month's last day
    (date(2028, 2, 29), GENERAL, date(2029, 2, 28)),
    # earlier rules: 一般 and 轻微 1 year at most, 严重 3 years
    (date(2026, 3, 31), MINOR, date(2027, 3, 31)),
    (date(2026, 3, 31), GENERAL, date(2027, 3, 31)),
    (date(2025, 6, 15), SERIOUS, date(2028, 6, 15)),
])
def test_display_until(decided: date, severity: Severity, last_day: date) -> None:
    assert display_until(decided, severity) == last_day


@pytest.mark.parametrize(("stated", "last_day"), [
    (date(2026, 9, 1), date(2026, 9, 1)),  # within 3 months - 1 year: honoured
    (date(2026, 6, 1), date(2026, 8, 1)),  # under the 3-month minimum: raised to it
    (date(2028, 1, 1), date(2027, 5, 1)),  # over the maximum: display stops at the maximum
])
def test_a_stated_end_is_kept_within_the_rule(stated: date, last_day: date) -> None:
    assert display_until(date(2026, 5, 1), GENERAL, stated_end=stated) == last_day


@pytest.mark.parametrize(("decided", "severity", "safety", "first_day"), [
    (date(2026, 5, 1), GENERAL, False, date(2026, 8, 2)),
    (date(2026, 5, 1), MINOR, False, date(2026, 5, 2)),
    (date(2026, 5, 1), SERIOUS, False, date(2027, 5, 2)),
    (date(2025, 5, 1), GENERAL, False, date(2025, 8, 2)),
    (date(2025, 5, 1), GENERAL, True, date(2026, 5, 2)),  # 特种设备/安全生产/消防, earlier rules
    (date(2026, 5, 1), GENERAL, True, date(2026, 8, 2)),  # not under the 2026 rules
])
def test_earliest_repair_date(decided: date, severity: Severity, safety: bool, first_day: date) -> None:
    assert earliest_repair_date(decided, severity, safety_domain=safety) == first_day


@pytest.mark.parametrize(("category", "record", "severity", "expected"), [
    ("penalty", {"CF_JDRQ": "2026-05-01"}, GENERAL, date(2027, 5, 1)),
    ("penalty", {"CF_JDRQ": "2026/05/01", "CF_GSJZQ": "2026-12-31"}, GENERAL, date(2026, 12, 31)),
    ("penalty", {"CF_JDRQ": date(2026, 5, 1)}, SERIOUS, date(2029, 5, 1)),
    ("penalty", {"CF_JDRQ": "2026-05-01"}, None, None),
    ("penalty", {}, GENERAL, None),
    ("license", {"XK_JDRQ": "2026-05-01"}, GENERAL, None),  # licences have no display limit
])
def test_record_display_until(category: str, record: dict[str, Any], severity: Severity | None,
                              expected: date | None) -> None:
    assert record_display_until(category, record, severity) == expected


@pytest.mark.parametrize(("last_day", "today", "ended"), [
    (date(2027, 5, 1), date(2027, 4, 30), False),
    (date(2027, 5, 1), date(2027, 5, 1), False),  # the last day is still a display day
    (date(2027, 5, 1), date(2027, 5, 2), True),
    (None, date(2099, 1, 1), False),
])
def test_display_ended(last_day: date | None, today: date, ended: bool) -> None:
    assert display_ended(last_day, today) is ended
