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
from cli_support import EXECUTABLE, penalties, write_rows
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
