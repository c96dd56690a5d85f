"""长清区应急管理局 (its own SQL database) passes the department conformance suite."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from creditsync.departments import DepartmentConfig
from creditsync.simulators.departments.emergency_management import create_database
from creditsync.simulators.departments.emergency_management_data import BROKEN_INSPECTIONS, BROKEN_PENALTIES
from creditsync.sources.registry import open_source
from creditsync.testing import DepartmentConformance, LiveSource
from creditsync.testing.conformance import Harness

pytestmark = pytest.mark.integration

# Past every position of its stream: the penalty stream's cursor is a timestamp, the inspection
# stream's (append-only table) an integer id.
FUTURE_CURSORS = {"timestamp": "9999-12-31T23:59:59", "integer": str(2**62)}


class TestEmergencyManagement(DepartmentConformance):
    department = "emergency_management"
    project_root = Path(__file__).resolve().parents[2]
    expected_invalid = frozenset(BROKEN_PENALTIES) | frozenset(BROKEN_INSPECTIONS)

    def test_future_cursor_yields_nothing(self, harness: Harness) -> None:
        adapter = open_source(harness.config)
        for stream in harness.config.streams:
            cursor = FUTURE_CURSORS[stream.options.get("cursor_type", "timestamp")]
            assert list(adapter.read(stream.category, stream.options, cursor)) == []

    def start_source(self, config: DepartmentConfig, workdir: Path) -> LiveSource:
        workdir.mkdir(parents=True, exist_ok=True)
        path = workdir / "emergency_management.db"
        create_database(f"sqlite:///{path}", seed=7)
        conn = json.dumps({"conn_type": "sqlite", "host": str(path)})
        return LiveSource(env={"AIRFLOW_CONN_EMERGENCY_MANAGEMENT_SOURCE": conn})
