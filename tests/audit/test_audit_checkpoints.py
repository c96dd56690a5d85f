"""The checkpoint log outside the store: signed, chained, shared safely by several writers, and
configured (key included) from the environment or an Airflow-style Connection."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest
from audit_support import populate
from sqlalchemy import delete, func, select
from typer.testing import CliRunner

from creditsync import secrets
from creditsync.audit.checkpoints import CheckpointLog
from creditsync.audit.keys import AuditKeyring, load_audit_config, load_keyring
from creditsync.cli.main import app
from creditsync.exceptions import ConfigurationError
from creditsync.store import Store
from creditsync.store.models import AuditEntry, AuditHead

KEY = b"s" * 40


def _log(tmp_path: Path, key: bytes | None = KEY) -> CheckpointLog:
    return CheckpointLog(tmp_path / "log.jsonl", AuditKeyring(key))


def _write(log: CheckpointLog, count: int) -> None:
    for n in range(1, count + 1):
        log.append("sqlite:/store.db", n * 10, f"{n:064x}", "tester")


def _lines(log: CheckpointLog) -> list[dict[str, object]]:
    return [json.loads(line) for line in log.path.read_text().splitlines()]


def _rewrite(log: CheckpointLog, lines: list[dict[str, object]]) -> None:
    log.path.write_text("".join(json.dumps(line) + "\n" for line in lines))


def test_an_untouched_log_checks_out(tmp_path: Path) -> None:
    log = _log(tmp_path)
    _write(log, 5)
    read = log.check()
    assert read.problems == [] and [p.seq for p in read.checkpoints] == [1, 2, 3, 4, 5]
    assert [p.entry_id for p in read.checkpoints] == [10, 20, 30, 40, 50]


def test_an_edited_checkpoint_line_is_caught(tmp_path: Path) -> None:
    log = _log(tmp_path)
    _write(log, 3)
    lines = _lines(log)
    lines[1]["entry_hash"] = "f" * 64
    _rewrite(log, lines)
    assert "line 2: its signature does not match (forged or edited)" in " ".join(log.check().problems)


def test_a_removed_checkpoint_line_is_caught(tmp_path: Path) -> None:
    log = _log(tmp_path)
    _write(log, 3)
    _rewrite(log, [line for n, line in enumerate(_lines(log)) if n != 1])
    assert "does not follow the line before it" in " ".join(log.check().problems)


def test_a_checkpoint_forged_without_the_key_is_caught(tmp_path: Path) -> None:
    _write(_log(tmp_path), 2)
    forger = _log(tmp_path, b"f" * 40)  # a key of its own, chained correctly to the last line
    forger.append("sqlite:/store.db", 5, "0" * 64, "intruder")
    assert "line 3: signed with key" in " ".join(_log(tmp_path).check().problems)


def test_an_unsigned_line_after_signed_ones_is_caught(tmp_path: Path) -> None:
    _write(_log(tmp_path), 2)
    _log(tmp_path, None).append("sqlite:/store.db", 5, "0" * 64, "intruder")
    assert "an unsigned line after signed ones" in " ".join(_log(tmp_path).check().problems)


def _append_many(path: str, worker: int) -> None:
    log = CheckpointLog(Path(path), AuditKeyring(KEY))
    for n in range(40):
        log.append("sqlite:/store.db", worker * 1000 + n, "0" * 64, f"worker-{worker}")


def test_concurrent_writers_keep_the_log_chained(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    workers = [multiprocessing.get_context("spawn").Process(target=_append_many, args=(str(path), w))
               for w in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    read = _log(tmp_path).check()
    assert read.problems == [] and len(read.checkpoints) == 120


def test_a_damaged_last_line_does_not_stop_checkpoints(tmp_path: Path) -> None:
    log = _log(tmp_path)
    _write(log, 2)
    with log.path.open("a") as handle:
        handle.write('{"seq": 3, "trunc')  # a crash mid-line
    log.append("sqlite:/store.db", 99, "0" * 64, "tester")
    read = log.check()
    assert read.problems and "cannot be read" in read.problems[0]


def test_the_key_comes_from_an_airflow_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(secrets, "_resolver", None)
    monkeypatch.setenv("AIRFLOW_CONN_CREDITSYNC_AUDIT", json.dumps(
        {"conn_type": "generic", "password": "c" * 40, "extra": {"retired_keys": ["r" * 40]}}))
    keyring = load_keyring()
    assert keyring.current == b"c" * 40 and keyring.retired == (b"r" * 40,)
    assert keyring.describe().startswith("keyed, key ")
    assert "c" * 40 not in repr(keyring)


def test_the_environment_key_wins_over_the_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(secrets, "_resolver", None)
    monkeypatch.setenv("AIRFLOW_CONN_CREDITSYNC_AUDIT", json.dumps({"password": "c" * 40}))
    monkeypatch.setenv("CREDITSYNC_AUDIT_KEY", "e" * 40)
    assert load_keyring().current == b"e" * 40


def test_no_key_is_development_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(secrets, "_resolver", None)
    assert load_keyring().describe() == "unkeyed (development)"


@pytest.mark.parametrize(("variables", "words"), [
    ({"CREDITSYNC_AUDIT_KEY": "short"}, "shorter than 32 characters"),
    ({"CREDITSYNC_AUDIT_REQUIRE_KEY": "1"}, "no audit key is configured"),
    ({"CREDITSYNC_AUDIT_MIN_KEEP_DAYS": "half a year"}, "whole number of days"),
])
def test_bad_audit_settings_are_named(monkeypatch: pytest.MonkeyPatch, variables: dict[str, str],
                                      words: str) -> None:
    monkeypatch.setattr(secrets, "_resolver", None)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError, match=words):
        load_audit_config()


def test_the_checkpoint_and_verify_commands(store: Store, store_url: str, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREDITSYNC_DB_URL", store_url)
    monkeypatch.setenv("CREDITSYNC_HOME", str(tmp_path))
    runner = CliRunner()
    empty = runner.invoke(app, ["audit", "checkpoint"])
    populate(store, 10)
    done = runner.invoke(app, ["audit", "checkpoint"])
    verified = runner.invoke(app, ["audit", "verify"])

    assert empty.exit_code == 0 and "nothing to checkpoint" in empty.output
    assert done.exit_code == 0, done.output
    with store.reader() as session:
        head = session.scalar(select(func.max(AuditEntry.id)))
    assert f"checkpoint 2: entry {head} (unkeyed (development))" in done.output
    assert verified.exit_code == 0, verified.output
    said = " ".join(verified.output.split())
    assert "unkeyed (development)" in said and "2 checkpoints of this store" in said
    with store.transaction() as session:
        session.execute(delete(AuditEntry))
        session.execute(delete(AuditHead))
    broken = runner.invoke(app, ["audit", "verify"])
    said = " ".join(broken.output.split())
    assert broken.exit_code == 1
    assert "audit trail not intact: its 0 entries chain up" in said
    assert f"checkpoint 2 names entry {head}, which is not in the trail (removed)" in said


def test_an_unreadable_log_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    log = CheckpointLog(tmp_path, AuditKeyring(KEY))  # a folder where the file should be
    read = log.check()
    assert read.checkpoints == [] and "cannot be read" in read.problems[0]
