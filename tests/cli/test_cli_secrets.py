"""A platform that repeats the appKey in its error message: the key never reaches the terminal or the
log, whether it came from CREDITSYNC_PLATFORM_APP_KEY or from the platform Connection's password."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from answering_server import answering, envelope
from cli_support import invoke, penalties, write_rows
from pipeline_harness import Harness

from creditsync.cli.exit_codes import EXIT_INCOMPLETE, EXIT_USAGE

pytestmark = pytest.mark.integration
KEY = "sk-live-8f3a9c2e77"


def push(tmp_path: Path, *options: str) -> tuple[int, str]:
    path = write_rows(tmp_path / "handover.csv", penalties(2))
    result = invoke(*options, "push", "--category", "penalty", "--input", str(path))
    return result.exit_code, result.output + result.stderr


@pytest.mark.parametrize(("status", "code"), [(401, EXIT_USAGE), (400, EXIT_INCOMPLETE)])
def test_the_app_key_echoed_by_the_platform_is_masked(
    harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, status: int, code: int
) -> None:
    monkeypatch.setenv("CREDITSYNC_PLATFORM_APP_KEY", KEY)
    with answering(envelope(status, "appKey {app_key} 无权报送该类数据")) as url:
        monkeypatch.setenv("CREDITSYNC_PLATFORM_URL", url)
        exit_code, shown = push(tmp_path, "--verbose")  # the traceback too

    assert exit_code == code
    assert "appKey *** 无权报送该类数据" in shown
    assert KEY not in shown


def test_the_connection_password_echoed_by_the_platform_is_masked(
    harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "conn/pass+word 9911"  # URL-encoded in the Connection, plain in the header
    monkeypatch.delenv("CREDITSYNC_PLATFORM_APP_KEY")
    monkeypatch.delenv("CREDITSYNC_PLATFORM_URL")
    with answering(envelope(401, "appKey {app_key} 已过期")) as url:
        host, port = url.removeprefix("http://").split(":")
        monkeypatch.setenv("AIRFLOW_CONN_CREDITSYNC_PLATFORM", json.dumps(
            {"conn_type": "http", "host": host, "port": int(port), "password": secret}))
        exit_code, shown = push(tmp_path)

    assert exit_code == EXIT_USAGE
    assert "appKey *** 已过期" in shown and secret not in shown


def test_log_records_quoting_a_secret_are_masked(
    harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The CLI puts the redacting filter on the log handlers; a record naming the key is masked."""
    monkeypatch.setenv("CREDITSYNC_PLATFORM_APP_KEY", KEY)
    assert invoke("--verbose", "departments").exit_code == 0
    with caplog.at_level(logging.INFO):
        logging.getLogger("creditsync.test").warning("retrying with appKey %s", KEY)

    assert "retrying with appKey ***" in caplog.text
    assert KEY not in caplog.text
