"""The task log's list of a run's quarantined records: what IT staff read first when a run is partial.

One line per record (文书号 when the mapping found one, source key, field, reason), ID numbers masked,
at most ``LIMIT`` lines and then how many more the console's quarantine page holds."""

from __future__ import annotations

import logging

from sqlalchemy import func, select

from creditsync.pipeline.context import SyncContext
from creditsync.privacy import mask_text
from creditsync.quarantine import Describer, QuarantineView
from creditsync.store.models import QuarantineItem

LIMIT = 50


def log_run_quarantine(ctx: SyncContext, logger: logging.Logger, limit: int = LIMIT) -> int:
    """Logs the run's quarantine entries (every try of it) and returns how many there are."""
    lines, total = run_quarantine_lines(ctx, limit)
    if lines:
        logger.warning("%s: %d quarantined record(s) in run %s:\n%s", ctx.name, total, ctx.run_id,
                       "\n".join(lines))
    return total


def run_quarantine_lines(ctx: SyncContext, limit: int = LIMIT) -> tuple[list[str], int]:
    describer = Describer(ctx.settings)
    of_run = QuarantineItem.run_id == ctx.run_id
    with ctx.store.reader() as session:
        total = session.scalar(select(func.count()).select_from(QuarantineItem).where(of_run)) or 0
        items = session.scalars(
            select(QuarantineItem).where(of_run).order_by(QuarantineItem.id).limit(limit)).all()
        lines = [quarantine_line(describer.describe(session, item)) for item in items]
    if total > len(lines):
        lines.append(f"... and {total - len(lines)} more (see the console's quarantine page)")
    return lines, total


def quarantine_line(view: QuarantineView) -> str:
    reasons = "; ".join(f"{p.field_label}: {p.message}" for p in view.problems) or "(no reason recorded)"
    line = (f"[{view.category}/{view.stage}] 文书号 {view.document_no or '-'} | "
            f"source key {view.source_key or '-'} | {reasons}")
    return mask_text(line)

