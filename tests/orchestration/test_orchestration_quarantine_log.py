"""The task log's list of a run's quarantined records, and a cleared run that runs again."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from creditsync.lifecycle.rows import quarantine_row
from creditsync.orchestration.quarantine_log import log_run_quarantine, run_quarantine_lines
from creditsync.pipeline.context import SyncContext
from creditsync.pipeline.runner import Gateway
from creditsync.settings import load_settings
from creditsync.store.bulk import insert_rows
from creditsync.store.guard import lifecycle_writes
from creditsync.store.models import AuditEntry, QuarantineItem, SyncRun
from creditsync.store.states import QuarantineStage

REPO = Path(__file__).resolve().parents[2]
RUN = "sync__market_supervision/manual__2026-11-30T01:00:00+00:00"
ID_NUMBER = "110101199003074514"


@pytest.fixture
def ctx(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[SyncContext]:
    monkeypatch.setenv("CREDITSYNC_HOME", str(REPO))
    monkeypatch.setenv("CREDITSYNC_DB_URL", sqlite_url)
    gateway = Gateway.open(load_settings())
    context = gateway.context(gateway.department("market_supervision"), RUN, trigger="airflow")
    context.ensure_run()
    yield context
    gateway.store.dispose()


def quarantine(ctx: SyncContext, count: int, run_id: str = RUN) -> None:
    stamp = datetime(2026, 11, 30, tzinfo=UTC)
    rows = [quarantine_row(
        run_id=run_id, department=ctx.name, category="penalty", source_key=f"P{n:06d}", business_key=None,
        stage=QuarantineStage.VALIDATION, raw={"id": f"P{n:06d}", "CF_WSH": f"长市监处罚〔2026〕{n}号"},
        errors=[{"field": "CF_XDR_MC", "message": "行政相对人名称不能为空 (subject name must not be empty)"}],
        source_hash=f"h{n}", created_at=stamp) for n in range(count)]
    with lifecycle_writes(), ctx.store.transaction() as session:  # as the lifecycle writes them
        insert_rows(session, QuarantineItem, rows)


def test_each_quarantined_record_of_the_run_is_listed_with_its_document_number_and_reason(
    ctx: SyncContext, caplog: pytest.LogCaptureFixture
) -> None:
    quarantine(ctx, 2)
    quarantine(ctx, 1, run_id="sync__market_supervision/another_run")
    with caplog.at_level(logging.WARNING):
        assert log_run_quarantine(ctx, logging.getLogger("test")) == 2
    assert "2 quarantined record(s) in run" in caplog.text
    listed = ("[penalty/validation] 文书号 长市监处罚〔2026〕1号 | source key P000001 | "
              "CF_XDR_MC 行政相对人名称: 行政相对人名称不能为空 (subject name must not be empty)")
    assert listed in caplog.text
    assert caplog.text.count("[penalty/validation]") == 2


def test_a_long_list_is_capped_with_how_many_more(ctx: SyncContext) -> None:
    quarantine(ctx, 7)
    lines, total = run_quarantine_lines(ctx, limit=5)
    assert total == 7 and len(lines) == 6
    assert lines[-1].startswith("... and 2 more")


def test_id_numbers_in_a_listed_record_are_masked(ctx: SyncContext) -> None:
    """A department keyed by the person's ID number: the source key is one."""
    stamp = datetime(2026, 11, 30, tzinfo=UTC)
    row = quarantine_row(run_id=RUN, department=ctx.name, category="penalty", source_key=ID_NUMBER,
                         business_key=None, stage=QuarantineStage.MAPPING, raw={"id": ID_NUMBER},
                         errors=[{"field": "CF_XDR_ZJHM", "message": f"bad {ID_NUMBER}"}], source_hash="h",
                         created_at=stamp)
    with lifecycle_writes(), ctx.store.transaction() as session:
        insert_rows(session, QuarantineItem, [row])
    (line,), _ = run_quarantine_lines(ctx)
    assert ID_NUMBER not in line and "110101********4514" in line


def test_a_finished_run_that_runs_again_is_running_once_more_and_says_so(ctx: SyncContext) -> None:
    with ctx.store.transaction() as session:
        run = session.get(SyncRun, RUN)
        assert run is not None
        run.status, run.finished_at, run.counts = "partial", datetime.now(UTC), {"records": {"read": 5}}
    ctx.try_number = 2
    ctx.ensure_run()
    with ctx.store.reader() as session:
        run = session.get(SyncRun, RUN)
        assert run is not None and run.status == "running" and run.finished_at is None
        assert run.counts == {"records": {"read": 5}}  # the report step adds the re-run's to these
        events = session.scalars(select(AuditEntry.event).where(AuditEntry.run_id == RUN)).all()
    assert events == ["run_started", "run_resumed"]
