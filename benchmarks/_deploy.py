"""A throw-away deployment for the end-to-end benchmarks: a CREDITSYNC_HOME holding one department's
YAML and its mapping, a fresh store (SQLite file, or a PostgreSQL database created and dropped), and
``creditsync sync DEPT`` run in its own process with its CPU time and peak RSS taken from ``wait4``.
Shared by ``e2e_rest.py`` and ``e2e_xml.py``; not a benchmark itself.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from creditsync.store.db import upgrade

REPO = Path(__file__).resolve().parent.parent
PG_SERVER = os.environ.get("CREDITSYNC_BENCH_PG", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")


@dataclass(frozen=True)
class SyncRun:
    exit_code: int
    wall_s: float
    cpu_s: float  # user + system of the sync process
    peak_rss_mib: float
    report: dict[str, Any]
    stderr_tail: str


def write_home(home: Path, department: str, adapter_yaml: str, category: str,
               mapping_of: str | None = None) -> None:
    """``home/adapters/DEPT.yaml`` as given, and the repository's mapping of ``category`` for that
    department (or for the department ``mapping_of``)."""
    (home / "adapters").mkdir(parents=True)
    (home / "adapters" / f"{department}.yaml").write_text(adapter_yaml, encoding="utf-8")
    mappings = home / "mappings" / department
    mappings.mkdir(parents=True)
    shutil.copy(REPO / "mappings" / (mapping_of or department) / f"{category}.yaml", mappings)


@contextlib.contextmanager
def fresh_store(kind: str, home: Path) -> Iterator[str]:
    """The URL of a new store at the current schema; a PostgreSQL database is dropped afterwards."""
    if kind == "sqlite":
        (home / "var").mkdir(exist_ok=True)
        url = f"sqlite:///{home / 'var' / 'creditsync.db'}"
        upgrade(url)  # creditsync db-upgrade, as the deployment's init step runs it
        yield url
        return
    import psycopg2  # only the PostgreSQL runs need it

    name = f"bench_e2e_{secrets.token_hex(4)}"
    parts = urlsplit(PG_SERVER)
    admin = psycopg2.connect(urlunsplit(("postgresql", *parts[1:])))
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        url = urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))
        upgrade(url)
        yield url
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.close()


def run_sync(home: Path, department: str, env: Mapping[str, str]) -> SyncRun:
    """``creditsync sync DEPARTMENT`` exactly as an operator runs it, measured from outside."""
    command = [str(Path(sys.executable).with_name("creditsync")), "sync", department]
    # e.g. CREDITSYNC_BENCH_WRAP='py-spy record --gil -f raw -o /tmp/sync.txt --': profile the sync
    command = shlex.split(os.environ.get("CREDITSYNC_BENCH_WRAP", "")) + command
    out_path, err_path = home / "sync.out", home / "sync.err"
    with out_path.open("w") as out, err_path.open("w") as err:
        started = time.perf_counter()
        # Output to files and wait4 ourselves: Popen.wait would reap the child and lose its rusage.
        process = subprocess.Popen(command, cwd=home, stdout=out, stderr=err,
                                   env={**os.environ, "CREDITSYNC_HOME": str(home), **env})
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
    process.returncode = code = os.waitstatus_to_exitcode(status)
    return SyncRun(code, wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024,
                   _report(out_path.read_text()), err_path.read_text()[-2000:])


def _report(stdout: str) -> dict[str, Any]:
    start = stdout.find("{")
    try:
        found: dict[str, Any] = json.loads(stdout[start:]) if start >= 0 else {}
    except json.JSONDecodeError:
        return {}
    return found


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def machine_note() -> str:
    return ("shared machine: 2 cores used by up to nine concurrent workloads, so wall times vary between "
            "runs; the CPU-seconds columns are the steadier measure")
