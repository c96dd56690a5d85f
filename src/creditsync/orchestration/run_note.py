"""The note a department's DAG run carries in the Airflow grid when it was not clean: its figures and a
link to the console's quarantine page. Plain functions over the totals the report step stored
(``SyncRun.counts``), so the listener that writes the note only looks one row up."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from creditsync.store.states import OutboxStatus

MARK = "**CreditSync**"  # opens the gateway's part of a note; an operator's own text around it stays
NOTE_LIMIT = 1000  # Airflow's dag_run_note.content is a String(1000)
STATUS_WORDS = {"partial": "部分成功 partial", "failed": "失败 failed", "incomplete": "未完成 incomplete",
                "running": "运行中 running", "success": "成功 success"}
FIGURES = (("read", "读取 read"), ("published", "发布 published"), ("corrected", "更正 corrected"),
           ("withdrawn", "撤回 withdrawn"), ("quarantined", "隔离 quarantined"), ("revoked", "撤销 revoked"))


def run_figures(counts: Mapping[str, Any]) -> dict[str, int]:
    """What an operator asks of a run, from the report step's summary (creditsync.pipeline.report)."""
    records = {k: int(v) for k, v in (counts.get("records") or {}).items() if isinstance(v, int)}
    outbox = counts.get("outbox") or {}
    return {
        "read": records.get("read", 0),
        "published": int(outbox.get(str(OutboxStatus.ACKED), 0)),
        "corrected": records.get("changed", 0),
        "withdrawn": records.get("withdrawal_queued", 0),
        "quarantined": int(counts.get("quarantined", records.get("quarantined", 0)) or 0),
        "revoked": records.get("revoked", 0),
    }


def is_clean(status: str, figures: Mapping[str, int]) -> bool:
    return status == "success" and not figures["quarantined"]


def run_note(status: str, counts: Mapping[str, Any], quarantine_href: str) -> str | None:
    """The gateway's note for a run, or None for a clean one (so a note in the grid means "look")."""
    figures = run_figures(counts)
    if is_clean(status, figures):
        return None
    lines = [f"{MARK} {STATUS_WORDS.get(status, status)}: {figures['quarantined']} 条隔离 quarantined",
             " · ".join(f"{label} {figures[key]}" for key, label in FIGURES)]
    if figures["quarantined"]:
        lines.append(f"[隔离记录 Quarantine]({quarantine_href})")
    problems = [str(p) for p in counts.get("problems") or []]
    if problems:
        lines.append("问题 problems: " + "; ".join(problems))
    return _cut("\n\n".join(lines), NOTE_LIMIT)


def all_published_or_why(summary: Mapping[str, Any]) -> str | None:
    """None when the report step's summary is of a clean run, else why not (the skip's message)."""
    figures = run_figures(summary)
    pending = int(summary.get("pending_department") or 0)
    status = str(summary.get("status") or "")
    if status == "success" and not figures["quarantined"] and not pending:
        return None
    return (f"部分成功 partial run ({STATUS_WORDS.get(status, status)}): {figures['quarantined']} 条隔离 "
            f"quarantined, {pending} 条待推送 pending delivery")


def quarantine_href(base_path: str, department: str) -> str:
    """The console's quarantine page for the department, under Airflow's ``[api] base_url`` path."""
    return f"{base_path.rstrip('/')}/quarantine?{urlencode({'department': department})}"


def merge_note(existing: str | None, ours: str | None) -> str | None:
    """Replace the gateway's part of the note (a re-run updates it) and keep whatever an operator wrote
    before it; None when nothing is left."""
    own = (existing or "").split(MARK, 1)[0].rstrip()
    merged = "\n\n".join(part for part in (own, ours) if part)
    return _cut(merged, NOTE_LIMIT) if merged else None


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
