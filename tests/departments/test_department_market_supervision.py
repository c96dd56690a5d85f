"""长清区市场监督管理局 (REST/JSON) passes the department conformance suite against its simulator."""

from __future__ import annotations

from pathlib import Path

import pytest

from creditsync.departments import DepartmentConfig
from creditsync.simulators.departments import market_supervision
from creditsync.simulators.departments.market_supervision_data import BROKEN, NULL_ID
from creditsync.testing import DepartmentConformance, LiveSource

pytestmark = pytest.mark.integration


class TestMarketSupervision(DepartmentConformance):
    department = "market_supervision"
    project_root = Path(__file__).resolve().parents[2]
    expected_invalid = frozenset(BROKEN) - NULL_ID  # the item without an id is keyed by its content

    def start_source(self, config: DepartmentConfig, workdir: Path) -> LiveSource:
        sim = market_supervision.start_in_thread(token="t-conf", seed=7)
        url = sim.url.replace("http://", "http://:t-conf@")
        return LiveSource(env={"AIRFLOW_CONN_MARKET_SUPERVISION_SOURCE": url}, stop=sim.stop)
