"""Exit codes by cause (creditsync.cli.exit_codes): an unusable platform answer, a store that cannot be
written or a full disk leave records pending and exit 3 with one line on stderr, never 1 with a
traceback; ``--verbose`` shows the traceback."""

from __future__ import annotations

import errno
import functools
import gc
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from answering_server import HTML_PAGE, Answer, answering, envelope
from cli_support import EXECUTABLE, invoke, penalties, run_cli, write_rows
from click.testing import Result
from pipeline_harness import APP_KEY, Harness, no_sleep

from creditsync.cli.exit_codes import EXIT_INCOMPLETE, EXIT_INVALID, EXIT_USAGE, classify
from creditsync.delivery import PlatformClient, PushItem
from creditsync.delivery.errors import BatchTooLargeError, PlatformAuthError, PlatformProtocolError
from creditsync.exceptions import (
    ConfigurationError,
    CreditSyncError,
    FatalError,
    RateLimitedError,
    RetriableError,
)
from creditsync.pipeline import runner
from creditsync.store.models import OutboxItem

pytestmark = pytest.mark.integration


@pytest.fixture
def quick_client(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "PlatformClient", functools.partial(PlatformClient, retrying=no_sleep()))


def push(path: Path, *options: str) -> Result:
    return invoke(*options, "push", "--category", "penalty", "--input", str(path))


def stderr_lines(result: Result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.strip()]


@pytest.mark.parametrize("answer", [
    Answer(200, HTML_PAGE, "text/html; charset=utf-8"),
    Answer(200, '{"code": 200, "data": '),  # cut off
    Answer(200, "\x00\x01garbage"),
], ids=["html-200", "truncated-json", "garbage"])
def test_an_unusable_platform_answer_exits_3_with_one_line_and_records_pending(
    harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, quick_client: None, answer: Answer
) -> None:
    path = write_rows(tmp_path / "handover.csv", penalties(3))
    with answering(answer) as url:
        monkeypatch.setenv("CREDITSYNC_PLATFORM_URL", url)
        result = push(path)

    assert result.exit_code == EXIT_INCOMPLETE, result.output
    [line] = stderr_lines(result)
    assert "run again" in line and "platform answered 200 without a valid envelope" in line
    assert "Traceback" not in result.output
    assert len(harness.pending()) == 3

    harness.restart_platform()  # the platform is back: the same command finishes the delivery
    assert push(path).exit_code == 0
    assert harness.stats()["records"] == 3


@pytest.fixture
def failing_platform() -> Iterator[str]:
    """The installed ``creditsync platform-sim`` failing every request (500, 502, 503, 429, drop)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [str(EXECUTABLE), "platform-sim", "--port", str(port), "--fault-rate", "1", "--seed", "3"]
    simulator = subprocess.Popen(command, env={**os.environ, "CREDITSYNC_PLATFORM_APP_KEY": APP_KEY},
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert simulator.poll() is None and time.monotonic() < deadline, "platform-sim did not start"
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        simulator.terminate()
        simulator.wait(timeout=30)


def test_the_installed_command_exits_3_when_every_platform_request_fails(
    harness: Harness, tmp_path: Path, failing_platform: str
) -> None:
    path = write_rows(tmp_path / "handover.csv", penalties(3))
    env = {**os.environ, "CREDITSYNC_PLATFORM_URL": failing_platform, "CREDITSYNC_RETRY_MAX_WAIT_S": "0",
           "CREDITSYNC_PLATFORM_TIMEOUT_S": "5"}

    done = run_cli("push", "--category", "penalty", "--input", str(path), env=env)

    assert done.returncode == EXIT_INCOMPLETE, done.stderr
    retries = [line for line in done.stderr.splitlines() if " WARNING creditsync.http: Retrying" in line]
    lines = [line for line in done.stderr.splitlines() if line.strip() and line not in retries]
    assert len(lines) == 1, done.stderr
    [line] = lines
    assert "run again" in line and "Traceback" not in done.stderr
    assert retries, done.stderr  # each retry is logged on its own line; the failure is said once
    assert len(harness.pending()) == 3


def test_verbose_adds_the_traceback(harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    quick_client: None) -> None:
    path = write_rows(tmp_path / "handover.csv", penalties(2))
    with answering(Answer(200, HTML_PAGE, "text/html")) as url:
        monkeypatch.setenv("CREDITSYNC_PLATFORM_URL", url)
        result = push(path, "--verbose")

    assert result.exit_code == EXIT_INCOMPLETE
    assert "Traceback" in result.stderr and "PlatformProtocolError" in result.stderr
    assert "run again" in stderr_lines(result)[-1]


def test_a_read_only_store_exits_3_saying_so(harness: Harness, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    assert push(write_rows(tmp_path / "first.csv", penalties(2))).exit_code == 0
    database = harness.db_url.removeprefix("sqlite:///")
    monkeypatch.setenv("CREDITSYNC_DB_URL", f"sqlite:///file:{database}?mode=ro&uri=true")

    result = push(write_rows(tmp_path / "second.csv", penalties(2, prefix="长市监罚〔2025〕")))

    assert result.exit_code == EXIT_INCOMPLETE, result.output
    [line] = stderr_lines(result)
    assert "the store is read-only" in line and "readonly database" in line
    assert "INSERT" not in line and "Traceback" not in result.output  # no SQL, no parameters


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # openpyxl's writers
def test_a_full_disk_while_writing_the_report_exits_3(harness: Harness, tmp_path: Path) -> None:
    harness.sync()
    (tmp_path / "report.xlsx").symlink_to("/dev/full")  # every write to it fails with ENOSPC

    result = invoke("quarantine", "report", "market_supervision", "--output", str(tmp_path / "report.xlsx"))

    code, lines = result.exit_code, stderr_lines(result)
    del result  # its traceback holds the abandoned workbook writers: collect them here, under the filter
    gc.collect()
    assert code == EXIT_INCOMPLETE, lines
    [line] = lines
    assert "disk full" in line


def test_a_full_store_is_incomplete_not_rejected(tmp_path: Path) -> None:
    """SQLite's own "database or disk is full", from a database capped at a few pages."""
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'full.db'}")
    sa.event.listen(engine, "connect", lambda conn, _record: conn.execute("PRAGMA max_page_count = 8"))
    table = sa.Table("blobs", sa.MetaData(), sa.Column("data", sa.Text))
    with pytest.raises(sa.exc.OperationalError) as raised, engine.begin() as connection:
        table.create(connection)
        for _ in range(100):
            connection.execute(table.insert(), [{"data": "x" * 4000}])

    outcome = classify(raised.value)
    assert outcome.code == EXIT_INCOMPLETE
    assert "disk full" in outcome.reason and "INSERT" not in outcome.reason


def test_413_from_the_platform_is_incomplete(tmp_path: Path) -> None:
    item = PushItem(idempotency_key="k1", business_key="b1", action="upsert", data={"CF_WSH": "x"})
    with answering(envelope(413, "request entity too large")) as url, \
            pytest.raises(BatchTooLargeError) as raised:
        PlatformClient(url, APP_KEY, retrying=no_sleep()).push("penalty", [item], batch_id="b1")

    assert classify(raised.value).code == EXIT_INCOMPLETE


@pytest.mark.parametrize(("error", "code"), [
    (ConfigurationError("no platform address"), EXIT_USAGE),
    (PlatformAuthError("platform answered 401", status=401), EXIT_USAGE),
    (RetriableError("no answer from the platform"), EXIT_INCOMPLETE),
    (RateLimitedError("platform answered 429", retry_after=5), EXIT_INCOMPLETE),
    (PlatformProtocolError("platform answered 200 without a valid envelope"), EXIT_INCOMPLETE),
    (BatchTooLargeError("platform answered 413", status=413), EXIT_INCOMPLETE),
    (FatalError("2 of 10 records rejected, over the threshold"), EXIT_INVALID),
    (CreditSyncError("quarantine entry 3 was already closed"), EXIT_INVALID),
    (OSError(errno.ENOSPC, "No space left on device", "/var/x"), EXIT_INCOMPLETE),
    (OSError(errno.EROFS, "Read-only file system", "/var/x"), EXIT_INCOMPLETE),
    (ValueError("something nobody expected"), EXIT_INCOMPLETE),
])
def test_exit_code_by_failure_class(error: Exception, code: int) -> None:
    outcome = classify(error)
    assert outcome.code == code
    assert "\n" not in outcome.line


def test_pending_items_stay_after_an_unusable_answer(harness: Harness, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     quick_client: None) -> None:
    """The outbox keeps every item of the batch the platform answered with garbage."""
    path = write_rows(tmp_path / "handover.jsonl", penalties(4))
    with answering(Answer(200, "OK")) as url:
        monkeypatch.setenv("CREDITSYNC_PLATFORM_URL", url)
        assert push(path).exit_code == EXIT_INCOMPLETE
    assert {item.status for item in harness.rows(OutboxItem)} == {"pending"}
