"""Step 4: close the run with its totals, and fail it loudly if any source could not be read."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import func, select

from creditsync.audit.events import AuditEvent
from creditsync.exceptions import FatalError
from creditsync.lifecycle.transitions import Outcome
from creditsync.pipeline.context import SyncContext, now
from creditsync.store.models import OutboxItem, QuarantineItem, RunStream, SyncRun
from creditsync.store.states import OutboxStatus, QuarantineStage

THRESHOLD_MIN_RECORDS = 20  # bad_record_threshold judges a run's share only from this many records on


def summarise(ctx: SyncContext) -> dict[str, Any]:
    with ctx.store.reader() as session:
        streams = session.scalars(select(RunStream).where(RunStream.run_id == ctx.run_id)).all()
        outbox = dict(session.execute(
            select(OutboxItem.status, func.count()).where(OutboxItem.run_id == ctx.run_id)
            .group_by(OutboxItem.status)).all())
        rejected = session.scalar(select(func.count()).select_from(QuarantineItem).where(
            QuarantineItem.run_id == ctx.run_id,
            QuarantineItem.stage.in_([QuarantineStage.PLATFORM, QuarantineStage.PROTECTED]))) or 0
        pending_all = session.scalar(select(func.count()).select_from(OutboxItem).where(
            OutboxItem.department == ctx.name, OutboxItem.status == OutboxStatus.PENDING)) or 0
    totals: Counter[str] = Counter()
    for stream in streams:
        totals.update({k: int(v) for k, v in (stream.counts or {}).items()})
    # What the streams refused (an unchanged bad record read again, after a re-drive or at the cursor,
    # keeps its open entry but is refused again) plus what the platform rejected and what a publication
    # rule held back: the streams' own figure, summed, and the entries this run made after reading.
    quarantined = totals.get(Outcome.QUARANTINED.value, 0) + int(rejected)
    return {
        "streams": {s.category: dict(s.counts or {}, error=s.error) for s in streams},
        "records": dict(totals),
        "outbox": outbox,
        "quarantined": int(quarantined),
        "pending_department": int(pending_all),
        "failed_streams": [s.category for s in streams if s.error],
    }


def report(ctx: SyncContext) -> dict[str, Any]:
    summary = summarise(ctx)
    problems = [f"source stream {c} failed: {summary['streams'][c]['error']}"
                for c in summary["failed_streams"]]
    problems += [p for c, counts in summary["streams"].items()
                 if (p := threshold_problem(ctx, c, _ints(counts)))]
    summary["problems"] = problems
    status = "failed" if problems else (
        "partial" if summary["quarantined"] or summary["pending_department"] else "success")
    with ctx.store.transaction() as session:
        run = session.get(SyncRun, ctx.run_id)
        if run is not None:
            run.status, run.finished_at, run.counts = status, now(), summary
        ctx.audit.append(session, AuditEvent.RUN_FINISHED, department=ctx.name, run_id=ctx.run_id,
                         status=status, summary=summary)
    if problems:
        delivered = " (valid records were delivered; see the quarantine)" if _read_any(summary) else ""
        raise FatalError("; ".join(problems) + delivered, department=ctx.name, run_id=ctx.run_id)
    return dict(summary, status=status)


def _read_any(summary: dict[str, Any]) -> bool:
    return any(int(counts.get("read") or 0) for counts in summary["streams"].values())


def threshold_problem(ctx: SyncContext, category: str, totals: dict[str, int]) -> str | None:
    """A broken export must be loud: the run fails (in the report step, after the valid records were
    pushed) when too large a share of a source is invalid. A share of a handful of records
    says nothing about the export: an hourly run that re-reads one bad record at the cursor (or sees a
    single bad edit) would otherwise fail, and keep failing, since its cursor never moves. Records held
    back by a publication rule (minors) are not invalid."""
    seen = sum(v for k, v in totals.items() if k in _OUTCOMES and k != Outcome.PROTECTED)
    invalid = totals.get(Outcome.QUARANTINED.value, 0)
    limit = ctx.department.bad_record_threshold
    if seen >= THRESHOLD_MIN_RECORDS and invalid / seen > limit:
        return (f"{invalid} of {seen} {category} records from {ctx.name} are invalid "
                f"({invalid / seen:.0%} > threshold {limit:.0%})")
    return None


_OUTCOMES = frozenset(outcome.value for outcome in Outcome)


def _ints(counts: dict[str, Any]) -> dict[str, int]:
    return {k: int(v) for k, v in counts.items() if isinstance(v, int)}
