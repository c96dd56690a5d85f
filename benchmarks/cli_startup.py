"""CLI start-up: CPU seconds (user + system, from ``wait4``) of every ``creditsync`` command's
``--help`` (what starting the command costs before it does anything), and of three commands run for
real against a fresh SQLite store: ``departments`` (the repository's adapters/), ``quarantine list`` and
``audit history``. Median of ``--runs`` runs each; target ≤ 0.5 s for the three.

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
        env.update(CREDITSYNC_HOME=str(REPO), CREDITSYNC_DB_URL=f"sqlite:///{folder}/gateway.db",
                   COLUMNS="120")
        subprocess.run([str(EXECUTABLE), "db-upgrade"], env=env, check=True, capture_output=True)
        python = (sys.executable, "-c")
        rows = [_row("(floor) python -c pass", "floor", [cpu_seconds(("pass",), env, python)
                                                          for _ in range(options.runs)], False),
                _row("(floor) import typer", "floor", [cpu_seconds(("import typer",), env, python)
                                                        for _ in range(options.runs)], False)]
        for args in RUN:
            now, before = [], []
            for _ in range(options.runs):
                now.append(cpu_seconds(args, env))
                if options.before:
                    before.append(cpu_seconds(args, dict(env, PYTHONPATH=str(options.before))))
            rows.append(_row(" ".join(args), "run", now, True, before))
        if not options.only_run:
            rows += [_row(" ".join(path) or "(no command)", "--help",
                          [cpu_seconds((*path, "--help"), env) for _ in range(options.runs)], False)
                     for path in command_paths()]
    return rows


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
