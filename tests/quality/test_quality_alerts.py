"""Alerts before the deadline (once per record), the daily files, the report__quality DAG's shape and
the migration that keeps which records were alerted."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from openpyxl import load_workbook
from pipeline_harness import Harness
from quality_support import DEPARTMENT, OTHER, document, write_autumn
from sqlalchemy import create_engine

from creditsync.quality import parse_period
from creditsync.quality.alerts import at_risk, due_alerts, record_alerts
from creditsync.quality.reports import write_daily_files
from creditsync.store.db import alembic_config, upgrade
from creditsync.store.models import Base


@pytest.fixture
def autumn(harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Harness:
    write_autumn(harness, tmp_path, monkeypatch)
    return harness


@pytest.mark.parametrize("harness_db", ["sqlite", "postgresql"], indirect=True)
def test_a_record_unacknowledged_by_working_day_5_is_alerted_once(autumn: Harness) -> None:
    engine = autumn.gateway.store.engine
    with engine.begin() as conn:
        # 10/14 is the 6th working day after 9/30 (10/10 counts): B, C and F still unacknowledged;
        # E (decided 10/9) is at its 4th, D (decided on the make-up Saturday) at its 3rd
        alerts = due_alerts(conn, date(2026, 10, 14))
        assert [(a.document_no, a.working_days, a.deadline) for a in alerts] == [
            (document(key), 6, date(2026, 10, 15)) for key in "BCF"]
        record_alerts(conn, alerts, "log")
    with engine.begin() as conn:
        assert due_alerts(conn, date(2026, 10, 14)) == []  # once
        # the console still lists them, saying how they were alerted
        assert [(a.document_no, channel) for a, channel in at_risk(conn, date(2026, 10, 14))] == [
            (document(key), "log") for key in "BCF"]
        # a week later only G is unacknowledged besides F, and G is at its 1st working day
        assert due_alerts(conn, date(2026, 10, 21)) == []
        assert [a.document_no for a in due_alerts(conn, date(2026, 10, 27))] == [document("G")]


def test_the_daily_files_hold_each_departments_scorecard_and_feedback(autumn: Harness,
                                                                      tmp_path: Path) -> None:
    gateway = autumn.gateway
    files = write_daily_files(gateway.store, gateway.settings, parse_period("2026-Q4"), date(2026, 10, 23),
                              tmp_path / "quality")
    names = {p.name for p in files.scorecards + files.feedback}
    assert {f"质量评分-{DEPARTMENT}-2026-Q4.xlsx", f"退回整改-{DEPARTMENT}-2026-10-23.xlsx",
            f"质量评分-{OTHER}-2026-Q4.xlsx"} <= names
    card = load_workbook(tmp_path / "quality" / f"质量评分-{DEPARTMENT}-2026-Q4.xlsx")
    assert card.sheetnames == ["总览", "长清区市场监督管理局"]
    feedback = load_workbook(tmp_path / "quality" / f"退回整改-{DEPARTMENT}-2026-10-23.xlsx")
    cells = (c for sheet in feedback for row in sheet.iter_rows(values_only=True) for c in row if c)
    text = " ".join(str(c) for c in cells)
    assert "许可内容不能为空" in text and "许可机关统一社会信用代码与登记信息不符" in text


def test_the_dag_writes_then_alerts_and_publishes_its_asset() -> None:
    from creditsync.orchestration.quality_dag import DAG_ID, SCORECARDS, quality_dag

    dag = quality_dag()
    assert dag.dag_id == DAG_ID == "report__quality"
    write, alert = dag.get_task("write_scorecards"), dag.get_task("alert_before_deadline")
    assert write.outlets == [SCORECARDS] and alert.upstream_task_ids == {"write_scorecards"}
    assert SCORECARDS.uri == "creditsync://quality/scorecards"


@pytest.mark.filterwarnings("ignore:autogenerate skipping")
def test_migration_0008_makes_the_alerts_table_and_goes_back(empty_store_url: str) -> None:
    upgrade(empty_store_url)
    engine = create_engine(empty_store_url)
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in differences if "quality_alerts" in repr(d)] == []
    command.downgrade(alembic_config(empty_store_url), "0007_typed_cursors")
    with engine.connect() as conn:
        assert "quality_alerts" not in engine.dialect.get_table_names(conn)
    upgrade(empty_store_url)
    engine.dispose()
