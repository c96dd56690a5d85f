"""``creditsync sync <department>``: the DAG's code path from the shell, and what its exit code says."""

from __future__ import annotations

import functools
import json

import pytest
from answering_server import HTML_PAGE, Answer, answering
from cli_support import invoke, run_cli
from pipeline_harness import CONN_ENV, Harness, connection_json, leaked, no_sleep

from creditsync.delivery import PlatformClient
from creditsync.pipeline import runner
from creditsync.store.models import AuditEntry, OutboxItem

pytestmark = pytest.mark.integration


def test_first_sync_exits_1_for_its_quarantine_then_0(harness: Harness) -> None:
    first = invoke("sync", "market_supervision")
    assert first.exit_code == 1, first.output
    assert '"quarantined": 6' in first.stdout
    stats = harness.stats()
    assert stats["records"] == len(harness.expected_published())

    second = invoke("sync", "market_supervision")
    assert second.exit_code == 0, second.output
    assert harness.stats() == stats


def test_the_installed_command_syncs_and_exits_1_then_0(harness: Harness) -> None:
    first = run_cli("sync", "market_supervision")
    second = run_cli("sync", "market_supervision")
    assert (first.returncode, second.returncode) == (1, 0), first.stderr + second.stderr
    stats = harness.stats()
    assert stats["records"] == stats["business_keys"] == len(harness.expected_published())


def test_the_quarantine_command_lists_every_reason_without_id_numbers(harness: Harness) -> None:
    invoke("sync", "market_supervision")
    result = invoke("quarantine", "--department", "market_supervision")
    assert result.exit_code == 0
    for code in ("CF_XDR_SHXYM", "CF_XDR_MC", "CF_NR_FK", "XK_YXQZI", "XK_XDR_ZJHM", "(record)"):
        assert code in result.stdout
    assert "6 shown" in result.stdout
    assert leaked(harness.id_numbers(), result.output) == []


def test_dry_run_previews_and_writes_nothing(harness: Harness) -> None:
    result = invoke("sync", "market_supervision", "--dry-run")
    assert result.exit_code == 0, result.output
    preview = json.loads(result.stdout)
    assert preview["streams"]["penalty"]["would"]["quarantine"] == 4
    assert preview["streams"]["license"]["would"]["quarantine"] == 2
    assert preview["streams"]["penalty"]["would"]["publish_new"] > 40
    assert harness.stats()["requests"] == 0
    assert harness.cursors() == {}
    assert harness.count(OutboxItem) == 0 and harness.count(AuditEntry) == 0
    assert leaked(harness.id_numbers(), result.output) == []

    harness.sync()
    again = json.loads(invoke("sync", "market_supervision", "--dry-run").stdout)
    assert set(again["streams"]["penalty"]["would"]) <= {"unchanged", "quarantine", "skip_revoked"}


def test_one_category_only(harness: Harness) -> None:
    result = invoke("sync", "market_supervision", "--category", "license")
    assert result.exit_code == 1  # two broken licences
    assert set(harness.cursors()) == {"license"}


def test_an_unknown_department_exits_2(harness: Harness) -> None:
    result = invoke("sync", "no_such_department")
    assert result.exit_code == 2
    assert "unknown department" in result.output


def test_a_refused_source_token_fails_the_run_with_exit_1(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CONN_ENV, connection_json(harness.source, token="expired"))
    result = invoke("sync", "market_supervision")
    assert result.exit_code == 1
    line = " ".join(result.stderr.split())
    assert "source stream penalty failed" in line and "source stream license failed" in line, line
    assert "[department=market_supervision, run_id=cli__market_supervision__" in line  # not eaten as markup
    assert harness.stats()["requests"] == 0


def test_platform_down_exits_3_and_the_next_sync_delivers(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner, "PlatformClient", functools.partial(PlatformClient, retrying=no_sleep()))
    harness.stop_platform()
    down = invoke("sync", "market_supervision")
    assert down.exit_code == 3, down.output
    assert harness.cursors() == {}

    harness.restart_platform()
    back = invoke("sync", "market_supervision")
    # nothing was acknowledged, so the whole source is read again: its invalid records are refused again
    # (their entries stay open), and the run says so, as its streams do
    assert back.exit_code == 1 and '"quarantined": 6' in back.stdout, back.output
    stats = harness.stats()
    assert stats["records"] == stats["business_keys"] == len(harness.expected_published())


def test_a_missing_source_connection_is_a_configuration_error(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(CONN_ENV)
    result = invoke("sync", "market_supervision")
    assert result.exit_code == 2
    assert CONN_ENV in " ".join(result.output.split())


def test_an_html_page_from_the_platform_exits_3_and_the_next_sync_delivers(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner, "PlatformClient", functools.partial(PlatformClient, retrying=no_sleep()))
    with answering(Answer(200, HTML_PAGE, "text/html; charset=utf-8")) as url:
        monkeypatch.setenv("CREDITSYNC_PLATFORM_URL", url)
        down = invoke("sync", "market_supervision")

    assert down.exit_code == 3, down.output
    assert "without a valid envelope" in down.stderr and "Traceback" not in down.output
    assert harness.cursors() == {}  # nothing acknowledged, so the source is read again

    harness.restart_platform()
    again = invoke("sync", "market_supervision")  # read whole again: the invalid records are refused again
    assert again.exit_code == 1 and '"quarantined": 6' in again.stdout, again.output
    stats = harness.stats()
    assert stats["records"] == stats["business_keys"] == len(harness.expected_published())
