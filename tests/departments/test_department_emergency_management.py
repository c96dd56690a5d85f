"""长清区应急管理局 (its own SQL database) passes the department conformance suite."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from creditsync.departments import DepartmentConfig
from creditsync.simulators.departments.emergency_management import create_database
from creditsync.simulators.departments.emergency_management_data import BROKEN_INSPECTIONS, BROKEN_PENALTIES
from creditsync.testing import DepartmentConformance, LiveSource

pytestmark = pytest.mark.integration


class TestEmergencyManagement(DepartmentConformance):
    department = "emergency_management"
    project_root = Path(__file__).resolve().parents[2]
    expected_invalid = frozenset(BROKEN_PENALTIES) | frozenset(BROKEN_INSPECTIONS)

    def start_source(self, config: DepartmentConfig, workdir: Path) -> LiveSource:
        workdir.mkdir(parents=True, exist_ok=True)
        path = workdir / "emergency_management.db"
        create_database(f"sqlite:///{path}", seed=7)
        conn = json.dumps({"conn_type": "sqlite", "host": str(path)})
        return LiveSource(env={"AIRFLOW_CONN_EMERGENCY_MANAGEMENT_SOURCE": conn})
