"""Helpers of the CLI tests: canonical template files in every accepted format, and running the CLI
in-process (typer's CliRunner) or as the real executable."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from click.testing import Result
from schema_factories import COMPANY, penalty_row, wrong_check
from typer.testing import CliRunner

from creditsync.cli.main import app

EXECUTABLE = Path(sys.executable).parent / "creditsync"
KINDS = ("法人及非法人组织", "个体工商户", "自然人")


def penalties(
    count: int, prefix: str = "长市监罚〔2026〕", invalid: Sequence[int] = ()
) -> list[dict[str, Any]]:
    """``count`` valid canonical penalties (subject kinds in turn, decided a month ago); the rows at
    ``invalid`` get a USCC with a wrong check digit."""
    decided = date.today() - timedelta(days=30)
    rows = []
    for n in range(count):
        row = penalty_row(KINDS[n % len(KINDS)], CF_WSH=f"{prefix}{n + 1}号",
                          CF_JDRQ=decided.strftime("%Y/%m/%d"),
                          CF_YXQ=(decided + timedelta(days=365)).strftime("%Y/%m/%d"))
        if n in invalid:
            row = {**penalty_row(CF_XDR_SHXYM=wrong_check(COMPANY)), "CF_WSH": row["CF_WSH"],
                   "CF_JDRQ": row["CF_JDRQ"], "CF_YXQ": row["CF_YXQ"]}
        rows.append(row)
    return rows


def columns(rows: Sequence[dict[str, Any]]) -> list[str]:
    return list(dict.fromkeys(code for row in rows for code in row))


def write_rows(path: Path, rows: Sequence[dict[str, Any]], encoding: str = "utf-8") -> Path:
    """By suffix: .jsonl, .json (an array), .csv (standard codes as headers), .xlsx."""
    if path.suffix == ".jsonl":
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding)
    elif path.suffix == ".json":
        path.write_text(json.dumps(list(rows), ensure_ascii=False, indent=2), encoding)
    elif path.suffix == ".csv":
        with path.open("w", encoding=encoding, newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns(rows))
            writer.writeheader()
            writer.writerows(rows)
    elif path.suffix == ".xlsx":
        _write_xlsx(path, rows)
    else:
        raise ValueError(path.suffix)
    return path


def _write_xlsx(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    header = columns(rows)
    sheet.append(header)
    for row in rows:
        sheet.append([row.get(code) for code in header])
    book.save(path)


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def run_cli(*args: str, timeout: float = 120,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The installed ``creditsync`` in its own process (the environment is the test's, or ``env``)."""
    return subprocess.run([str(EXECUTABLE), *args], capture_output=True, text=True, timeout=timeout,
                          check=False, env=env)


def json_lines(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def json_document(output: str) -> Any:
    """The one JSON document a ``--format json`` listing prints (not JSON lines)."""
    return json.loads(output)
