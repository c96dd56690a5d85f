"""长清区生态环境分局 (legacy 2016 XML feed) passes the department conformance suite."""

from __future__ import annotations

from pathlib import Path

import pytest

from creditsync.departments import DepartmentConfig
from creditsync.simulators.departments import ecology_environment
from creditsync.simulators.departments.ecology_environment_data import BROKEN
from creditsync.testing import DepartmentConformance, LiveSource

pytestmark = pytest.mark.integration


class TestEcologyEnvironment(DepartmentConformance):
    department = "ecology_environment"
    project_root = Path(__file__).resolve().parents[2]
    future_cursor = "9999-12-31 23:59:59"

    def start_source(self, config: DepartmentConfig, workdir: Path) -> LiveSource:
        sim = ecology_environment.start_in_thread(token="t-conf", seed=7)
        store = sim._server.store  # records are keyed by 文书号 (CF_WSH) in the feed
        documents = {rid: (store.get(rid) or {}).get("CF_WSH") for rid in BROKEN}
        self.expected_invalid = frozenset(str(d) for d in documents.values() if d)  # type: ignore[misc]
        url = sim.url.replace("http://", "http://:t-conf@")
        return LiveSource(env={"AIRFLOW_CONN_ECOLOGY_ENVIRONMENT_SOURCE": url}, stop=sim.stop)
