"""Publication rules over a record's life (reference §8): whether a record may be shown, for how long,
and by when it had to reach (or leave) the platform.

Pure functions the sync core calls per record:

- :func:`hold_back_reason` (protection): minors and configured hold-back rules;
- :func:`severity_of` (severity) and :func:`record_display_until` (display_period);
- :func:`working_days_between` (working_days): publication and withdrawal times.

Commands over the store: :mod:`creditsync.publication.expiry` (公示期满) and
:mod:`creditsync.publication.repair` (信用修复).
"""

from creditsync.publication.display_period import display_ended, display_until, record_display_until
from creditsync.publication.protection import (
    MINOR_REASON,
    HoldBackRule,
    hold_back_reason,
    parse_hold_back_rules,
)
from creditsync.publication.severity import Severity, SeverityRule, parse_severity, severity_of
from creditsync.working_days import (
    PUBLICATION_LIMIT_WORKING_DAYS,
    WITHDRAWAL_LIMIT_WORKING_DAYS,
    add_working_days,
    deadline,
    is_working_day,
    working_days_between,
    working_days_taken,
)

__all__ = [
    "MINOR_REASON",
    "PUBLICATION_LIMIT_WORKING_DAYS",
    "WITHDRAWAL_LIMIT_WORKING_DAYS",
    "HoldBackRule",
    "Severity",
    "SeverityRule",
    "add_working_days",
    "deadline",
    "display_ended",
    "display_until",
    "hold_back_error",
    "hold_back_reason",
    "is_working_day",
    "parse_hold_back_rules",
    "parse_severity",
    "record_display_until",
    "severity_of",
    "working_days_between",
    "working_days_taken",
]
