"""How long a penalty stays on display (reference §8.2), under the rules in force on its decision date.

- From 2026-04-01, 《信用修复管理办法》: 轻微 at most 3 months (not displayed in principle), 一般 3 months
  to 1 year, 严重 1 to 3 years.
- Before: 发改办财金〔2019〕527号 / 发改委令第58号: 一般 (and 轻微) at least 3 months and at most 1 year,
  严重 1 to 3 years; 特种设备、安全生产、消防 penalties at least 1 year.

Display stops automatically at the maximum. Periods count from the decision date the way 民法典 §201
counts them: the decision day itself is not counted, and the period's last day is the corresponding
day of the final month (the month's last day when it has none). ``display_until`` is that last day;
the record comes off display the day after.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import lru_cache
from typing import Any

from dateutil.relativedelta import relativedelta

import creditsync.schema as schema  # light: its category files load on first use
from creditsync.publication.severity import Severity

CREDIT_REPAIR_RULES_FROM = date(2026, 4, 1)
DISPLAY_END_FIELD = "CF_GSJZQ"  # 公示截止期: a department may state an earlier end


class Regime(StrEnum):
    BEFORE_2026 = "发改办财金〔2019〕527号"
    CREDIT_REPAIR_2026 = "信用修复管理办法（2026）"


@dataclass(frozen=True)
class DisplayRule:
    minimum: relativedelta
    maximum: relativedelta


_MONTHS_3, _YEAR_1, _YEARS_3 = relativedelta(months=3), relativedelta(years=1), relativedelta(years=3)
RULES: Mapping[Regime, Mapping[Severity, DisplayRule]] = {
    Regime.CREDIT_REPAIR_2026: {
        Severity.MINOR: DisplayRule(relativedelta(), _MONTHS_3),
        Severity.GENERAL: DisplayRule(_MONTHS_3, _YEAR_1),
        Severity.SERIOUS: DisplayRule(_YEAR_1, _YEARS_3),
    },
    Regime.BEFORE_2026: {
        Severity.MINOR: DisplayRule(_MONTHS_3, _YEAR_1),
        Severity.GENERAL: DisplayRule(_MONTHS_3, _YEAR_1),
        Severity.SERIOUS: DisplayRule(_YEAR_1, _YEARS_3),
    },
}
SAFETY_DOMAIN_MINIMUM = _YEAR_1  # 527号: 特种设备、安全生产、消防, under the earlier rules only


def rules_in_force(decision_date: date) -> Regime:
    return Regime.CREDIT_REPAIR_2026 if decision_date >= CREDIT_REPAIR_RULES_FROM else Regime.BEFORE_2026


def display_rule(decision_date: date, severity: Severity) -> DisplayRule:
    return RULES[rules_in_force(decision_date)][severity]


@lru_cache(maxsize=4096)  # decision dates and severities repeat from record to record
def display_until(decision_date: date, severity: Severity, *, stated_end: date | None = None) -> date:
    """The last day of display. A stated end (``CF_GSJZQ``) is honoured within the rule's bounds."""
    rule = display_rule(decision_date, severity)
    latest = decision_date + rule.maximum
    if stated_end is None:
        return latest
    return min(max(stated_end, decision_date + rule.minimum), latest)


def earliest_repair_date(decision_date: date, severity: Severity, *, safety_domain: bool = False) -> date:
    """The first day credit repair may end the display (the minimum period is over)."""
    minimum = display_rule(decision_date, severity).minimum
    if safety_domain and rules_in_force(decision_date) is Regime.BEFORE_2026:
        minimum = SAFETY_DOMAIN_MINIMUM
    return decision_date + minimum + relativedelta(days=1)


def record_display_until(category: str, record: Mapping[str, Any], severity: Severity | None) -> date | None:
    """The last display day of one canonical record, or None when its category has no display limit
    (only penalties have one) or it has no decision date or severity."""
    if category != "penalty" or severity is None:
        return None
    decision = as_date(record.get(schema.get_category(category).keys.decision_date))
    if decision is None:
        return None
    return display_until(decision, severity, stated_end=as_date(record.get(DISPLAY_END_FIELD)))


def display_ended(last_day: date | None, today: date) -> bool:
    return last_day is not None and today > last_day


def as_date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value.strip():
        return date.fromisoformat(value.strip()[:10].replace("/", "-"))
    return None
