"""长清区应急管理局's case database on PostgreSQL (as a Kingbase or PostgreSQL department would run it)
passes the SQL department conformance suite, killed connection included."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from creditsync.departments import DepartmentConfig
from creditsync.simulators.departments.emergency_management import create_database
from creditsync.simulators.departments.emergency_management_data import BROKEN_INSPECTIONS, BROKEN_PENALTIES
from creditsync.testing import LiveSource
from creditsync.testing.sql_conformance import SqlDepartmentConformance

pytestmark = pytest.mark.integration


class TestEmergencyManagementOnPostgreSQL(SqlDepartmentConformance):
    department = "emergency_management"
    project_root = Path(__file__).resolve().parents[2]
    expected_invalid = frozenset(BROKEN_PENALTIES) | frozenset(BROKEN_INSPECTIONS)

    @pytest.fixture(autouse=True)
    def _server(self, pg_server: str) -> None:
        self.pg_server = pg_server  # skips (fails in CI) without PostgreSQL

    def start_source(self, config: DepartmentConfig, workdir: Path) -> LiveSource:
        name = f"creditsync_test_{uuid.uuid4().hex[:10]}"
        admin = sa.create_engine(self.pg_server, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        url = make_url(self.pg_server).set(database=name)
        create_database(url.render_as_string(hide_password=False), seed=7).dispose()
        self.source_admin_url = url.render_as_string(hide_password=False)  # type: ignore[misc]
        connection = {"conn_type": "postgres", "host": url.host, "port": url.port, "login": url.username,
                      "password": url.password, "schema": name}

        def drop() -> None:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.dispose()

        return LiveSource(env={"AIRFLOW_CONN_EMERGENCY_MANAGEMENT_SOURCE": json.dumps(connection)}, stop=drop)
