"""CLI start-up: CPU seconds (user + system, from ``wait4``) of every ``creditsync`` command's
``--help`` (what starting the command costs before it does anything), and of three commands run for
real against a SQLite store: ``departments`` (the repository's adapters/), ``quarantine list`` and
``audit history``, on an empty store (start-up alone) and on one as after a first sync: one open
quarantine entry per stream of every repository department, quarantined before it had a business key (so
the listing finds its 文书号 through the department's mapping, as it must for such records), and 300
audit entries (all listed: rendering them is part of the figure). Median of ``--runs`` runs each;
target ≤ 0.5 s for the three.

``--before SRC``: the same three commands with an earlier ``src/`` first on PYTHONPATH (e.g. from
``git archive COMMIT src``), run interleaved with the current code, so a busy machine slows both alike.
``python -c pass`` and ``import typer`` are measured too: the floor every command pays.

    .venv/bin/python benchmarks/cli_startup.py [--runs 5] [--before /tmp/before/src]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
EXECUTABLE = Path(sys.executable).with_name("creditsync")
TITLE = "CLI start-up: CPU seconds of every command (median)"
BENCH_ARGS = ["--runs", "5"]
QUICK_ARGS = ["--runs", "1", "--only-run"]
RUN = (("departments",), ("quarantine", "list"), ("audit", "history"))
TARGET_S = 0.5


def cpu_seconds(args: tuple[str, ...], env: dict[str, str], program: tuple[str, ...] = ()) -> float:
    process = subprocess.Popen([*(program or (str(EXECUTABLE),)), *args], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode not in (0, 1):
        raise RuntimeError(f"creditsync {' '.join(args)} exited {process.returncode}")
    return usage.ru_utime + usage.ru_stime


def command_paths() -> list[tuple[str, ...]]:
    from typer.main import get_command

    from creditsync.cli.main import app

    paths: list[tuple[str, ...]] = [()]
    pending: list[tuple[tuple[str, ...], Any]] = [((), get_command(app))]
    while pending:
        path, command = pending.pop()
        for name, sub in getattr(command, "commands", {}).items():
            if getattr(sub, "commands", None):
                pending.append(((*path, name), sub))
            else:
                paths.append((*path, name))
    return sorted(paths)


def collect(argv: list[str]) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only-run", action="store_true", help="only the three commands run for real")
    parser.add_argument("--before", type=Path, help="an earlier src/ to compare with, run interleaved")
    options = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CREDITSYNC_", "AIRFLOW"))}
        env.update(CREDITSYNC_HOME=str(REPO), COLUMNS="120")
        empty = dict(env, CREDITSYNC_DB_URL=f"sqlite:///{folder}/empty.db")
        filled = dict(env, CREDITSYNC_DB_URL=f"sqlite:///{folder}/filled.db")
        for store in (empty, filled):
            subprocess.run([str(EXECUTABLE), "db-upgrade"], env=store, check=True, capture_output=True)
        _seed(filled["CREDITSYNC_DB_URL"])
        python = (sys.executable, "-c")
        rows = [_row("(floor) python -c pass", "floor", [cpu_seconds(("pass",), env, python)
                                                          for _ in range(options.runs)], False),
                _row("(floor) import typer", "floor", [cpu_seconds(("import typer",), env, python)
                                                        for _ in range(options.runs)], False)]
        for label, store in (("empty store", empty), ("after a first sync", filled)):
            for args in RUN:
                now, before = [], []
                for _ in range(options.runs):
                    now.append(cpu_seconds(args, store))
                    if options.before:
                        before.append(cpu_seconds(args, dict(store, PYTHONPATH=str(options.before))))
                rows.append(_row(" ".join(args), f"run, {label}", now, True, before))
        if not options.only_run:
            rows += [_row(" ".join(path) or "(no command)", "--help",
                          [cpu_seconds((*path, "--help"), empty) for _ in range(options.runs)], False)
                     for path in command_paths()]
    return rows


def _seed(url: str) -> None:
    """What the listings find after a first sync (the rows written directly: benchmark data)."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import insert

    from creditsync.departments import load_departments
    from creditsync.store import guard, open_store
    from creditsync.store.tables import audit_log, quarantine

    now = datetime.now(UTC)
    entries = [{"run_id": "bench", "department": config.department, "category": stream.category,
                "source_key": f"{config.department}-{stream.category}", "business_key": None,
                "stage": "validation", "raw_masked": {"decision_no": "长市监处罚〔2026〕1号"},
                "errors": [{"field": "(record)", "kind": "invalid", "zh": "日期无效", "en": "bad date"}],
                "created_at": now}
               for config in load_departments(REPO / "adapters", check_sources=False)
               for stream in config.streams]
    trail = [{"id": n, "ts": now - timedelta(minutes=300 - n), "event": "record_version", "actor": "bench",
              "department": "market_supervision", "category": "penalty", "run_id": "bench",
              "details": {"business_key": f"penalty:market_supervision:{n}", "version": 1},
              "prev_hash": f"{n - 1:064x}", "hash": f"{n:064x}"} for n in range(1, 301)]
    store = open_store(url, migrate=False)
    with store.engine.begin() as connection, guard.lifecycle_writes():
        connection.execute(insert(quarantine), entries)
        connection.execute(insert(audit_log), trail)
    store.dispose()


def _row(command: str, how: str, samples: list[float], targeted: bool,
         before: list[float] | None = None) -> dict[str, Any]:
    median = statistics.median(samples)
    verdict = ("met" if median <= TARGET_S else "missed") if targeted else ""
    name = command if command.startswith("(") else f"creditsync {command}"
    return {"command": name, "how": how, "CPU s (median)": f"{median:.3f}",
            "CPU s (min-max)": f"{min(samples):.3f}-{max(samples):.3f}",
            "before, same runs (median)": f"{statistics.median(before):.3f}" if before else "",
            "target": "≤ 0.5" if targeted else "", "verdict": verdict}


def main() -> int:
    rows = collect(sys.argv[1:])
    columns = list(rows[0])
    print("| " + " | ".join(columns) + " |\n|" + "---|" * len(columns))
    for row in rows:
        print("| " + " | ".join(str(row[c]) for c in columns) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
