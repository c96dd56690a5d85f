"""Quality scorecards: where each department stands before the 双公示 evaluation (docs/quality.md).

Above the lifecycle (it reads the facts the lifecycle wrote), below the command line and the console.
"""

from creditsync.quality.period import Period, current_quarter, parse_period
from creditsync.quality.scorecard import (
    RATE_NAMES,
    DepartmentScore,
    LateRecord,
    Reason,
    Scorecard,
    Targets,
    scorecards,
    targets_from,
)

__all__ = ["RATE_NAMES", "DepartmentScore", "LateRecord", "Period", "Reason", "Scorecard", "Targets",
           "current_quarter", "parse_period", "scorecards", "targets_from"]
