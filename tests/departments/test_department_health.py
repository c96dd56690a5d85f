"""长清区卫生健康局 (XLSX/CSV files in GBK dropped in a folder) passes the department conformance suite."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from creditsync.departments import DepartmentConfig
from creditsync.simulators.departments.health import HealthDesk
from creditsync.testing import DepartmentConformance, LiveSource

pytestmark = pytest.mark.integration


class TestHealth(DepartmentConformance):
    department = "health"
    project_root = Path(__file__).resolve().parents[2]

    def start_source(self, config: DepartmentConfig, workdir: Path) -> LiveSource:
        desk = HealthDesk(workdir, seed=7)
        an_hour_ago = time.time() - 3600  # past settle_seconds: the files are complete
        for path in desk.drop_initial():
            os.utime(path, (an_hour_ago, an_hour_ago))
        self.expected_invalid = frozenset(desk.broken)  # type: ignore[misc]
        return LiveSource(options={"inbox": str(desk.inbox), "processed": str(workdir / "processed"),
                                   "failed": str(workdir / "failed")})
