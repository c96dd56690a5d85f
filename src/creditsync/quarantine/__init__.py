"""The quarantine workflow: records that could not be published, with every reason (the gateway's and
the platform's, in Chinese), reported back to their department as XLSX, and re-driven once fixed.

    entries(session, QuarantineFilter(department="health"), Describer(settings))   # list
    write_report(session, "health", "长清区卫生健康局", path, describer=...)           # XLSX
    redrive(store, RedriveRequest(config, ["penalty"], reason, reset_cursor=True), trail)
    resolve(store, entry_id, reason, trail)
"""

from creditsync.quarantine.entries import Describer, Problem, QuarantineFilter, QuarantineView, entries
from creditsync.quarantine.redrive import (
    CursorReset,
    QuarantineError,
    RedriveOutcome,
    RedriveRequest,
    redrive,
    resolve,
)
from creditsync.quarantine.report import ReportSummary, write_report

__all__ = [
    "CursorReset",
    "Describer",
    "Problem",
    "QuarantineError",
    "QuarantineFilter",
    "QuarantineView",
    "RedriveOutcome",
    "RedriveRequest",
    "ReportSummary",
    "entries",
    "redrive",
    "resolve",
    "write_report",
]
