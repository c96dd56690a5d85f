"""长清区住房和城乡建设局 (its own MariaDB database: GBK tables, a latin1 column holding GBK bytes, local
DATETIMEs, zero dates) passes the department conformance suite, killed connection included."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from creditsync.departments import DepartmentConfig
from creditsync.pipeline.runner import sync_department
from creditsync.schema.document_no import canonical_document_no
from creditsync.simulators.departments.housing_construction import SourceDatabase, create_database
from creditsync.simulators.departments.housing_construction_data import (
    BROKEN_LICENCES,
    BROKEN_PENALTIES,
    OUTSIDE_GBK,
)
from creditsync.testing import Harness, LiveSource
from creditsync.testing.sql_conformance import SqlDepartmentConformance, mariadb_server, syncing_gateway

pytestmark = pytest.mark.integration


class TestHousingConstruction(SqlDepartmentConformance):
    """Runs the suite, plus the test below on the same harness."""

    department = "housing_construction"
    project_root = Path(__file__).resolve().parents[2]
    expected_invalid = frozenset(BROKEN_PENALTIES) | frozenset(BROKEN_LICENCES)

    def start_source(self, config: DepartmentConfig, workdir: Path) -> LiveSource:
        source = create_database(mariadb_server(), f"creditsync_test_{uuid.uuid4().hex[:10]}", seed=7)
        self.source_admin_url = str(source.url)  # type: ignore[misc]
        _SOURCES[config.department] = source
        return LiveSource(env={"AIRFLOW_CONN_HOUSING_CONSTRUCTION_SOURCE": source.connection_json()},
                          stop=source.drop)

    def test_text_arrives_on_the_platform_intact(self, harness: Harness,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
        with syncing_gateway(harness, monkeypatch) as gateway:
            sync_department(gateway, self.department)
        check_text_on_the_platform(harness)

    def test_a_status_set_to_revoked_withdraws_the_published_record(
            self, harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
        with syncing_gateway(harness, monkeypatch) as gateway:
            sync_department(gateway, self.department)
            before = harness.platform.stats()
            assert before["withdrawn"] == 0
            _source(harness).update_penalty("ZJCF-0001", ajzt="已撤销")  # how the case system deletes
            sync_department(gateway, self.department)
        after = harness.platform.stats()
        assert after["withdrawn"] == 1 and after["records"] == before["records"]


_SOURCES: dict[str, SourceDatabase] = {}


def _source(harness: Harness) -> SourceDatabase:
    return _SOURCES[harness.config.department]


def check_text_on_the_platform(harness: Harness) -> None:
    """GBK tables, GBK bytes in a latin1 column, a utf8mb3 table and 𠮷 in a utf8mb4 column, as the
    platform stores them after a sync."""
    store = harness.platform.simulator.store
    ids = [row[0] for row in store._db.execute("SELECT platform_id FROM records")]
    published = {record["data"].get("CF_WSH") or record["data"]["XK_XKBH"]: record["data"]
                 for record in (store.find(pid) for pid in ids) if record}
    cases = {row["ajbh"]: row for row in _source(harness).rows("xzcf")}
    units = {row["dwid"]: row for row in _source(harness).rows("dwxx", order="dwid")}
    first = published[canonical_document_no(cases["ZJCF-0001"]["cfjdswh"])]  # 第 dropped (GB/T 9704)
    assert first["CF_XDR_MC"] == units[cases["ZJCF-0001"]["dwid"]]["dwmc"]  # GBK bytes in latin1
    assert first["CF_WFXW"] == cases["ZJCF-0001"]["wfxw"]  # a GBK table
    key, text = OUTSIDE_GBK
    assert published[canonical_document_no(cases[key]["cfjdswh"])]["BZ"] == text  # 𠮷 in a utf8mb4 column
    licence = published["ZJXK-0001"]
    assert licence["XK_XDR_MC"] == units[1]["dwmc"]  # a utf8mb3 table
