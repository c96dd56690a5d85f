"""The command line starts fast because it imports only what a command needs: ``creditsync --help`` and
every command's help load no Airflow, SQLAlchemy (models or engine), openpyxl, lxml or requests, and
none of the gateway's store, pipeline or audit code. Checked from the interpreter's own import log
(``-X importtime``), not from a timing. (pydantic is typer's own dependency: it converts parameters.)"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from cli_support import EXECUTABLE, json_document, json_lines, penalties, run_cli, write_rows
from typer.main import get_command

from creditsync.cli.main import app

HEAVY = ("airflow", "sqlalchemy", "openpyxl", "lxml", "requests", "alembic",
         "creditsync.store", "creditsync.pipeline", "creditsync.orchestration", "creditsync.audit")


def command_paths() -> list[tuple[str, ...]]:
    """Every command and subcommand of the installed app, e.g. ``("quarantine", "report")``."""
    paths: list[tuple[str, ...]] = [()]
    pending: list[tuple[tuple[str, ...], object]] = [((), get_command(app))]
    while pending:
        path, command = pending.pop()
        for name, sub in getattr(command, "commands", {}).items():
            paths.append((*path, name))
            pending.append(((*path, name), sub))
    return sorted(paths)


def imported_modules(*args: str) -> set[str]:
    """The modules ``creditsync ARGS`` imported, from Python's own import log on stderr."""
    env = {**os.environ, "PYTHONPROFILEIMPORTTIME": "1"}
    done = subprocess.run([str(EXECUTABLE), *args], capture_output=True, text=True, env=env, timeout=120,
                          check=False)
    modules = {line.rsplit("|", 1)[1].strip() for line in done.stderr.splitlines()
               if line.startswith("import time:") and "|" in line}
    assert "typer" in modules and "creditsync.cli.main" in modules, done.stderr[-2000:]  # the log is real
    return modules


def heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))


def test_every_command_is_listed() -> None:
    paths = command_paths()
    assert {("sync",), ("quarantine", "report"), ("audit", "verify"), ("push",)} <= set(paths)
    assert len(paths) > 15


@pytest.mark.parametrize("path", command_paths(), ids=lambda p: " ".join(p) or "creditsync")
def test_help_imports_no_heavy_stack(path: tuple[str, ...]) -> None:
    assert heavy(imported_modules(*path, "--help")) == []


def test_the_check_sees_a_heavy_import_when_there_is_one() -> None:
    """The same log shows SQLAlchemy once a command really opens the store."""
    assert "sqlalchemy" in heavy(imported_modules("db-upgrade"))


def test_validating_a_file_does_not_load_airflow_or_the_store_models(tmp_path: Path) -> None:
    path = write_rows(tmp_path / "ok.jsonl", penalties(2))
    modules = imported_modules("validate", "--category", "penalty", "--input", str(path))
    assert not [m for m in modules if m.split(".")[0] == "airflow"]
    assert "creditsync.orchestration" not in modules


def test_importing_the_app_in_process_keeps_the_heavy_stacks_out() -> None:
    code = ("import sys, creditsync.cli.main as m; "
            "print(' '.join(sorted(sys.modules)))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          timeout=120)
    assert heavy(set(done.stdout.split())) == []
    assert isinstance(app, typer.Typer)


def test_listing_the_departments_loads_no_source_adapter(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """``departments`` reads the repository's department files (REST, XML, SQL, files) without importing
    what their sources run on; ``check`` is what checks a source's options against its adapter."""
    monkeypatch.setenv("CREDITSYNC_HOME", str(Path(__file__).resolve().parents[2]))
    monkeypatch.setenv("CREDITSYNC_DB_URL", f"sqlite:///{tmp_path / 'store.db'}")
    modules = imported_modules("departments")
    assert heavy(modules) == []
    assert "creditsync.departments" in modules  # the files were read


# What a read-only listing of the store must not load: the ORM and the models (it reads Core tables,
# creditsync.store.tables), the PostgreSQL dialect on SQLite, Alembic, and what writes (the trail's writer,
# the lifecycle, re-driving, the XLSX report), nor any source adapter (a department file is read for its
# mapping's path only: its options need not be checked against the adapter, whose import is the cost).
READ_ONLY_HEAVY = ("airflow", "openpyxl", "lxml", "requests", "alembic", "sqlalchemy.orm",
                   "sqlalchemy.dialects.postgresql", "creditsync.store.models",
                   "creditsync.store.credit_models", "creditsync.pipeline", "creditsync.orchestration",
                   "creditsync.lifecycle", "creditsync.sources.registry", "creditsync.sources.rest",
                   "creditsync.sources.http_base", "creditsync.sources.xml", "creditsync.sources.sql",
                   "creditsync.sources.files", "creditsync.sources.reading", "creditsync.audit.trail",
                   "creditsync.audit.verify", "creditsync.audit.keys",
                   "creditsync.audit.checkpoints", "creditsync.quarantine.redriving",
                   "creditsync.quarantine.report")


def read_only_heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in READ_ONLY_HEAVY))


@pytest.fixture
def filled_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """An upgraded SQLite store holding a record, a quarantine entry naming it and two audit entries."""
    from datetime import UTC, datetime

    from sqlalchemy import insert

    from creditsync.store import guard, open_store
    from creditsync.store.tables import audit_log, quarantine, records

    url = f"sqlite:///{tmp_path / 'store.db'}"
    monkeypatch.setenv("CREDITSYNC_HOME", str(Path(__file__).resolve().parents[2]))
    monkeypatch.setenv("CREDITSYNC_DB_URL", url)
    store = open_store(url, migrate=True)
    now = datetime(2026, 12, 1, 8, 30, tzinfo=UTC)
    with store.engine.begin() as connection, guard.lifecycle_writes():  # test data, written directly
        connection.execute(insert(records).values(
            business_key="penalty:health:DOC-7", department="health", category="penalty",
            document_no="长卫罚〔2026〕7号", subject_name="某某诊所", mapped_hash="0" * 64, state="rejected",
            first_seen_at=now, updated_at=now, run_id="cli-1"))
        connection.execute(insert(quarantine).values(
            run_id="cli-1", department="health", category="penalty", source_key="7",
            business_key="penalty:health:DOC-7", stage="platform", raw_masked={},
            errors=[{"field": "CF_JG", "kind": "invalid", "zh": "处罚结果不能为空", "en": "empty"}],
            created_at=now))
        # quarantined before it had a business key: its 文书号 is found through the department's mapping
        connection.execute(insert(quarantine).values(
            run_id="cli-1", department="market_supervision", category="penalty", source_key="88",
            business_key=None, stage="validation",
            raw_masked={"decision_no": "长市监处罚〔2026〕88号", "party_name": "某某商行"},
            errors=[{"field": "CF_JDRQ", "kind": "invalid", "zh": "日期无效", "en": "bad date"}],
            created_at=now))
        connection.execute(insert(audit_log), [
            {"id": 1, "ts": now, "event": "run_started", "actor": "cli", "department": "health",
             "run_id": "cli-1", "details": {"trigger": "cli"}, "prev_hash": "0" * 64, "hash": "1" * 64},
            {"id": 2, "ts": now, "event": "record_quarantined", "actor": "cli", "department": "health",
             "category": "penalty", "run_id": "cli-1", "details": {"source_key": "7"},
             "prev_hash": "1" * 64, "hash": "2" * 64}])
    store.dispose()
    return url


def test_listing_the_quarantine_reads_core_tables_only(filled_store: str) -> None:
    """``quarantine list`` shows each entry with its 文书号 and reason (from its record, or through the
    department's mapping), without the ORM, the models, re-driving (audit trail writer, lifecycle), the
    XLSX report, or the department's source adapter (requests, for a REST source)."""
    modules = imported_modules("quarantine", "list", "--format", "json")
    assert read_only_heavy(modules) == []
    assert {"sqlalchemy", "creditsync.store.tables", "creditsync.quarantine.entries",
            "creditsync.mapping.loader"} <= modules
    shown = json_document(run_cli("quarantine", "list", "--format", "json").stdout)
    assert sorted((e["document_no"], e["subject_name"], e["errors"][0]["field"]) for e in shown) == [
        ("长卫罚〔2026〕7号", "某某诊所", "CF_JG"), ("长市监处罚〔2026〕88号", "某某商行", "CF_JDRQ")]


def test_the_audit_history_reads_core_tables_only(filled_store: str) -> None:
    """``audit history`` streams the trail without the ORM, the models, or the trail's writer and keys."""
    modules = imported_modules("audit", "history", "--format", "json", "--department", "health")
    assert read_only_heavy(modules) == []
    assert {"sqlalchemy", "creditsync.store.tables", "creditsync.audit.history"} <= modules
    shown = json_lines(run_cli("audit", "history", "--format", "json", "--status", "record_quarantined")
                       .stdout)
    assert [(e["id"], e["event"], e["details"]) for e in shown] == [
        (2, "record_quarantined", {"source_key": "7"})]


def test_the_check_sees_the_orm_when_a_command_loads_it(filled_store: str) -> None:
    """The same log shows the ORM and the models once a command reads through them (``audit trace``)."""
    modules = imported_modules("audit", "trace", "长卫罚〔2026〕7号")
    assert {"sqlalchemy.orm", "creditsync.store.models"} <= set(read_only_heavy(modules))
