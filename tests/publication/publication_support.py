"""Helpers of the publication tests: a gateway store (SQLite and PostgreSQL), the platform simulator
in-thread on 127.0.0.1, and the CLI run in-process against both."""

from __future__ import annotations

import functools
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from sqlalchemy import select
from typer.testing import CliRunner

from creditsync.cli.main import app
from creditsync.delivery import PlatformClient, default_retry_policy
from creditsync.pipeline import runner
from creditsync.simulators.platform import PlatformSimulator, RunningSimulator
from creditsync.store import Store, open_store
from creditsync.store.models import AuditEntry, OutboxItem, Record

TESTS = Path(__file__).resolve().parents[1]
if str(TESTS / "schema") not in sys.path:
    sys.path.insert(0, str(TESTS / "schema"))

APP_KEY = "publication-test-key"
DEPARTMENT = "market_supervision"


@dataclass
class Gateway:
    """The gateway as its operator sees it: the CLI, the store behind it and the platform it talks to."""

    store: Store
    simulator: PlatformSimulator
    platform: RunningSimulator

    def cli(self, *args: str) -> Result:
        return CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})

    def record(self, document_no: str) -> Record:
        with self.store.reader() as session:
            found = list(session.scalars(select(Record).where(Record.document_no == document_no)))
        assert len(found) == 1, f"{document_no}: {len(found)} records"
        return found[0]

    def outbox(self, business_key: str) -> list[OutboxItem]:
        with self.store.reader() as session:
            return list(session.scalars(select(OutboxItem).where(OutboxItem.business_key == business_key)
                                        .order_by(OutboxItem.id)))

    def audit(self, business_key: str) -> list[AuditEntry]:
        with self.store.reader() as session:
            return list(session.scalars(select(AuditEntry).where(AuditEntry.business_key == business_key)
                                        .order_by(AuditEntry.id)))

    def audit_count(self) -> int:
        with self.store.reader() as session:
            return len(list(session.scalars(select(AuditEntry.id))))

    def on_platform(self, record: Record) -> dict[str, Any]:
        assert record.platform_id is not None
        found = self.simulator.store.find(record.platform_id)
        assert found is not None
        return found


@pytest.fixture
def gateway(store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Gateway]:
    simulator = PlatformSimulator(app_key=APP_KEY)
    platform = simulator.start_in_thread()
    monkeypatch.setenv("CREDITSYNC_HOME", str(tmp_path))  # no adapters/: handed-over files only
    monkeypatch.setenv("CREDITSYNC_DB_URL", store_url)
    monkeypatch.setenv("CREDITSYNC_PLATFORM_URL", platform.url)
    monkeypatch.setenv("CREDITSYNC_PLATFORM_APP_KEY", APP_KEY)
    no_sleep = default_retry_policy(sleep=lambda _seconds: None)
    monkeypatch.setattr(runner, "PlatformClient", functools.partial(PlatformClient, retrying=no_sleep))
    handle = Gateway(open_store(store_url), simulator, platform)
    try:
        yield handle
    finally:
        handle.store.dispose()
        handle.platform.stop()  # the one serving now (a test may have restarted it)
        simulator.close()
