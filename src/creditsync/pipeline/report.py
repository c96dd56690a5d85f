"""Step 4: close the run with its totals, and fail it loudly if any source could not be read."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import func, select

from creditsync.exceptions import FatalError
from creditsync.pipeline.context import SyncContext, now
from creditsync.pipeline.transform import threshold_problem
from creditsync.store.models import OutboxItem, QuarantineItem, RunStream, SyncRun


def summarise(ctx: SyncContext) -> dict[str, Any]:
    with ctx.store.reader() as session:
        streams = session.scalars(select(RunStream).where(RunStream.run_id == ctx.run_id)).all()
        outbox = dict(session.execute(
            select(OutboxItem.status, func.count()).where(OutboxItem.run_id == ctx.run_id)
            .group_by(OutboxItem.status)).all())
        quarantined = session.scalar(select(func.count()).select_from(QuarantineItem).where(
            QuarantineItem.run_id == ctx.run_id)) or 0
        pending_all = session.scalar(select(func.count()).select_from(OutboxItem).where(
            OutboxItem.department == ctx.name, OutboxItem.status == "pending")) or 0
    totals: Counter[str] = Counter()
    for stream in streams:
        totals.update({k: int(v) for k, v in (stream.counts or {}).items()})
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
        ctx.audit.append(session, "run_finished", department=ctx.name, run_id=ctx.run_id,
                         status=status, summary=summary)
    if problems:
        raise FatalError("; ".join(problems) + " (valid records were delivered; see the quarantine)",
                         department=ctx.name, run_id=ctx.run_id)
    return dict(summary, status=status)


def _ints(counts: dict[str, Any]) -> dict[str, int]:
    return {k: int(v) for k, v in counts.items() if isinstance(v, int)}
