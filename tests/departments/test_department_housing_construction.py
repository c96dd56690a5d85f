"""长清区住房和城乡建设局 (its own MariaDB database: GBK tables, a latin1 column holding GBK bytes, local
DATETIMEs, zero dates) passes the department conformance suite, killed connection included."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from creditsync.departments import DepartmentConfig
from creditsync.simulators.departments.housing_construction import create_database
from creditsync.simulators.departments.housing_construction_data import BROKEN_LICENCES, BROKEN_PENALTIES
from creditsync.testing import LiveSource
from creditsync.testing.sql_conformance import SqlDepartmentConformance, mariadb_server

pytestmark = pytest.mark.integration


class TestHousingConstruction(SqlDepartmentConformance):
    department = "housing_construction"
    project_root = Path(__file__).resolve().parents[2]
    expected_invalid = frozenset(BROKEN_PENALTIES) | frozenset(BROKEN_LICENCES)

    def start_source(self, config: DepartmentConfig, workdir: Path) -> LiveSource:
        source = create_database(mariadb_server(), f"creditsync_test_{uuid.uuid4().hex[:10]}", seed=7)
        self.source_admin_url = str(source.url)  # type: ignore[misc]
        return LiveSource(env={"AIRFLOW_CONN_HOUSING_CONSTRUCTION_SOURCE": source.connection_json()},
                          stop=source.drop)
