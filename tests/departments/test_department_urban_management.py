"""A department never seen before, onboarded in YAML alone, from the docs: 长清区综合行政执法局's open API
with OAuth2 client credentials, opaque next links and an ``updatedAt`` in epoch milliseconds (while its
filter wants ISO-8601), against a simulated API whose tokens expire mid-run and whose token server
says ``expires_in: 3600`` of tokens that live two requests. No Python is written for it."""

from __future__ import annotations

import json
import logging
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from creditsync.pipeline.runner import Gateway, sync_department
from creditsync.settings import load_settings
from creditsync.simulators.departments.urban_management import RunningUrbanManagement, start_in_thread
from creditsync.simulators.departments.urban_management_data import BROKEN, REVOKED
from creditsync.simulators.platform import PlatformSimulator, RunningSimulator
from creditsync.sources.cursor import Cursor, CursorKind
from creditsync.store.models import AuditEntry, QuarantineItem
from creditsync.store.models import Cursor as StoredCursor

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "docs" / "examples" / "urban_management"
GUIDE = REPO / "docs" / "adding-a-department.md"
APP_KEY = "urban-app-key"
SECRET = "um-client-secret-Zq9"
CASES = 120


def docs_yaml(marker: str) -> str:
    """The YAML block of the guide's OAuth2 walk-through that contains ``marker``."""
    text = GUIDE.read_text(encoding="utf-8")
    walk_through = text[text.index("## An API with OAuth2"):]
    blocks = re.findall(r"```yaml\n(.*?)```", walk_through, flags=re.S)
    return next(block for block in blocks if marker in block)


def test_the_walk_through_in_the_guide_is_the_department_this_test_onboards() -> None:
    assert docs_yaml("department: urban_management") == (EXAMPLE / "urban_management.yaml").read_text("utf-8")
    assert docs_yaml("version: 1") == (EXAMPLE / "penalty.yaml").read_text("utf-8")


@dataclass
class Onboarded:
    api: RunningUrbanManagement
    platform: RunningSimulator
    gateway: Gateway

    def sync(self) -> dict[str, Any]:
        return sync_department(self.gateway, "urban_management")


@pytest.fixture
def onboarded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
              new_store_url: Callable[[Path], str]) -> Iterator[Onboarded]:
    """What the guide tells a new IT person to do: two YAML files, a Connection, the platform."""
    (tmp_path / "adapters").mkdir()
    (tmp_path / "mappings" / "urban_management").mkdir(parents=True)
    (tmp_path / "adapters" / "urban_management.yaml").write_text(docs_yaml("department: urban_management"),
                                                                  encoding="utf-8")
    (tmp_path / "mappings" / "urban_management" / "penalty.yaml").write_text(docs_yaml("version: 1"),
                                                                            encoding="utf-8")
    api = start_in_thread(SECRET, count=CASES)  # three pages of 50
    api.server.token_uses = 2  # every token dies after two requests ...
    api.server.claimed_expires_in = 3600  # ... whatever the token server says
    platform = PlatformSimulator(app_key=APP_KEY).start_in_thread()
    for name, value in {
        "CREDITSYNC_HOME": str(tmp_path), "CREDITSYNC_DB_URL": new_store_url(tmp_path / "gateway.db"),
        "CREDITSYNC_PLATFORM_URL": platform.url, "CREDITSYNC_PLATFORM_APP_KEY": APP_KEY,
        "AIRFLOW_CONN_URBAN_MANAGEMENT_SOURCE": f"http://{api.client_id}:{SECRET}@{api.host}:{api.port}",
    }.items():
        monkeypatch.setenv(name, value)
    gateway = Gateway.open(load_settings())
    try:
        yield Onboarded(api, platform, gateway)
    finally:
        gateway.store.dispose()
        platform.stop()
        api.stop()


def test_the_department_syncs_whole_with_tokens_expiring_mid_run_and_a_lying_token_server(
        onboarded: Onboarded, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    result = onboarded.sync()

    stats = onboarded.platform.stats()
    expected = CASES - len(BROKEN) - 1  # the broken ones quarantined, the revoked one never published
    assert stats["records"] == stats["business_keys"] == expected
    assert result["report"]["quarantined"] == len(BROKEN)
    server = onboarded.api.server
    assert server.issued > 1 and server.refused >= 1  # a token died mid-run: renewed, asked again
    assert len(server.queries) > 1 and all("cursor" in q for q in server.queries[1:])  # followed the links
    with onboarded.gateway.store.reader() as session:
        stored = session.get(StoredCursor, ("urban_management", "penalty"))
        quarantined = {q.source_key for q in session.scalars(select(QuarantineItem))}
        trail = " ".join(str(e.details) for e in session.scalars(select(AuditEntry)))
    assert stored is not None and stored.kind == "instant"
    newest = max(case["updatedAt"] for case in onboarded.api.store.sorted())
    assert Cursor.parse(str(stored.value), CursorKind.INSTANT) == Cursor.of_epoch_ns(newest * 1_000_000)
    assert stored.value.endswith("+08:00")  # stored in the department's zone, readable by people
    assert quarantined == set(BROKEN)
    secrets = [SECRET, *server.tokens]
    assert not [s for s in secrets if s in caplog.text or s in trail]  # never logged, never audited


def test_the_next_run_sends_the_epoch_ms_cursor_as_iso_8601_and_picks_up_a_correction(
        onboarded: Onboarded) -> None:
    onboarded.sync()
    before = onboarded.platform.stats()
    corrected = onboarded.api.store.update("UM-0003", content="罚款1000元。", fineFen=100000)
    onboarded.api.server.queries.clear()

    second = onboarded.sync()

    first_query = onboarded.api.server.queries[0]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?\+08:00", first_query["updated_after"])
    assert second["report"]["records"].get("changed") == 1 and second["pushed"]["acked"] == 1
    after = onboarded.platform.stats()
    assert after["business_keys"] == before["business_keys"]  # a correction, not a new record
    assert corrected["fineFen"] == 100000


def test_a_revoked_case_published_before_is_withdrawn(onboarded: Onboarded) -> None:
    onboarded.sync()
    onboarded.api.store.update("UM-0005", status="REVOKED")
    onboarded.sync()
    assert onboarded.platform.stats()["withdrawn"] == 1
    assert REVOKED != "UM-0005"


def test_wrong_client_credentials_fail_the_run_naming_the_connection_without_the_secret(
        onboarded: Onboarded, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    api = onboarded.api
    monkeypatch.setenv("AIRFLOW_CONN_URBAN_MANAGEMENT_SOURCE",
                       f"http://{api.client_id}:not-the-secret-9@{api.host}:{api.port}")
    with pytest.raises(Exception, match="refused the credentials") as raised:
        onboarded.sync()
    assert "not-the-secret-9" not in str(raised.value)
    assert onboarded.platform.stats()["records"] == 0


def test_the_example_files_are_where_the_guide_says(tmp_path: Path) -> None:
    shutil.copy(EXAMPLE / "urban_management.yaml", tmp_path / "urban_management.yaml")
    from creditsync.departments import load_department_file

    config = load_department_file(tmp_path / "urban_management.yaml")
    assert config.source.options["auth"]["type"] == "oauth2_client_credentials"


def test_check_reads_one_page_maps_it_and_says_what_a_sync_would_do_writing_nothing(
        onboarded: Onboarded) -> None:
    from typer.testing import CliRunner

    from creditsync.cli.main import app
    from creditsync.store.models import SyncRun

    result = CliRunner().invoke(app, ["check", "urban_management", "--format", "json"])

    assert result.exit_code == 1, result.output  # some of the page would be quarantined
    report = json.loads(result.stdout)
    stream = report["streams"]["penalty"]
    assert report["connected"] is True and stream["read"] == 50  # one page
    assert stream["would"] == {"publish": 47, "quarantine": 2, "withdraw_or_skip_revoked": 1}
    assert {p["source_key"] for p in stream["problems"]} == set(BROKEN)
    assert len(onboarded.api.server.queries) == 1
    assert onboarded.platform.stats()["records"] == 0
    with onboarded.gateway.store.reader() as session:
        assert session.scalars(select(SyncRun)).first() is None
        assert session.scalars(select(StoredCursor)).first() is None
    assert SECRET not in result.output
