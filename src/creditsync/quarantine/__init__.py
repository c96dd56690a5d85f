"""The quarantine workflow: records that could not be published, with every reason (the gateway's and
the platform's, in Chinese), reported back to their department as XLSX, and re-driven once fixed.

    entries(session, QuarantineFilter(department="health"), Describer(settings))   # list
    write_report(session, "health", "长清区卫生健康局", path, describer=...)           # XLSX
    redrive(store, RedriveRequest(config, ["penalty"], reason, reset_cursor=True), trail)
    resolve(store, entry_id, reason, trail)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# eager: the function ``entries`` must replace the submodule of the same name here
from creditsync.quarantine.entries import Describer, Problem, QuarantineFilter, QuarantineView, entries

if TYPE_CHECKING:
    from creditsync.lifecycle.quarantine import QuarantineError
    from creditsync.quarantine.redriving import CursorReset, RedriveOutcome, RedriveRequest, redrive, resolve
    from creditsync.quarantine.report import ReportSummary, write_report

# The rest on first use: ``quarantine list`` need not import the XLSX report (openpyxl) nor what re-driving
# writes with (the audit trail's writer, the lifecycle, the source cursors) to start (benchmarks/
# RESULTS.md, CLI start-up). Re-driving lives in ``redriving``, so no submodule shadows ``redrive``.
_MODULES = {name: "creditsync.quarantine.report" for name in ("ReportSummary", "write_report")} | {
    name: "creditsync.quarantine.redriving"
    for name in ("CursorReset", "QuarantineError", "RedriveOutcome", "RedriveRequest", "redrive", "resolve")}


def __getattr__(name: str) -> Any:
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_MODULES[name]), name)


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
