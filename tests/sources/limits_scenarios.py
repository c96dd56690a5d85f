"""Hostile sources, each run in a process of its own so that its peak memory can be measured:
``python limits_scenarios.py SCENARIO WORKDIR`` pulls one department through the real pipeline and
prints one JSON line: what happened, how long it took and the process's peak RSS.

Scenarios: ``trickle`` (a REST page one byte at a time), ``huge_page`` (a REST page with a 200 MB field),
``deep_json`` (a page nested 100,000 deep), ``xlsx_bomb`` (a workbook whose one cell unpacks to 300 MB),
``csv_field`` (a dropped CSV with a 200 MB field)."""

from __future__ import annotations

import json
import os
import resource
import shutil
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
MIB = 1024 * 1024


def main(scenario: str, workdir: Path) -> dict[str, Any]:
    from creditsync.store.db import upgrade

    home = workdir / "home"
    (home / "adapters").mkdir(parents=True)
    db_url = f"sqlite:///{workdir / 'gateway.db'}"
    upgrade(db_url)  # creditsync db-upgrade
    os.environ.update(CREDITSYNC_HOME=str(home), CREDITSYNC_DB_URL=db_url,
                      CREDITSYNC_MAPPINGS_DIR=str(REPO / "mappings"))
    if scenario in ("xlsx_bomb", "csv_field"):
        return _files(scenario, home, workdir)
    return _rest(scenario, home)


def _rest(scenario: str, home: Path) -> dict[str, Any]:
    from creditsync.simulators.departments.urban_management import start_in_thread

    example = REPO / "docs" / "examples" / "urban_management"
    os.environ["CREDITSYNC_MAPPINGS_DIR"] = str(home / "mappings")
    (home / "mappings" / "urban_management").mkdir(parents=True)
    shutil.copy(example / "penalty.yaml", home / "mappings" / "urban_management" / "penalty.yaml")
    limits = "  limits: {page_timeout_s: 2, read_timeout_s: 60}\n" if scenario == "trickle" else ""
    config = (example / "urban_management.yaml").read_text(encoding="utf-8")
    (home / "adapters" / "urban_management.yaml").write_text(
        config.replace("  kind: rest\n", "  kind: rest\n" + limits), encoding="utf-8")
    api = start_in_thread("limits-secret", count=5)
    api.server.trickle_s = 0.05 if scenario == "trickle" else None
    api.server.huge_field_bytes = 200 * MIB if scenario == "huge_page" else None
    api.server.deep_page = 100_000 if scenario == "deep_json" else None
    os.environ["AIRFLOW_CONN_URBAN_MANAGEMENT_SOURCE"] = f"http://{api.client_id}:limits-secret@{api.host}:{api.port}"
    try:
        result = _pull("urban_management")
    finally:
        api.stop()
    result["api_requests"] = len(api.server.queries)
    return result


def _files(scenario: str, home: Path, workdir: Path) -> dict[str, Any]:
    inbox = workdir / "inbox"
    inbox.mkdir()
    config = (REPO / "adapters" / "health.yaml").read_text(encoding="utf-8")
    (home / "adapters" / "health.yaml").write_text(
        config.replace("inbox: .sim/health/inbox", f"inbox: {inbox}")
        .replace("settle_seconds: 5", "settle_seconds: 0"),
        encoding="utf-8")
    if scenario == "xlsx_bomb":
        _bomb(inbox / "penalty_bomb.xlsx", 300 * MIB)
    else:
        _huge_csv(inbox / "penalty_huge.csv", 200 * MIB)
    result = _pull("health")
    failed = workdir / "failed"
    result["failed"] = sorted(p.name for p in failed.iterdir()) if failed.is_dir() else []
    reasons = [p.read_text(encoding="utf-8-sig") for p in failed.glob("*.error.txt")]
    result["reasons"] = reasons
    result["file_bytes"] = sum(p.stat().st_size for p in failed.iterdir()) if failed.is_dir() else 0
    return result


def _huge_csv(path: Path, size: int) -> None:
    """A penalty export with every column, whose 违法事实 is ``size`` bytes (written in pieces)."""
    columns = ["行政相对人名称", "行政相对人类别", "决定文书号", "违法行为类型", "违法事实", "处罚依据",
               "处罚类别", "处罚内容", "处罚决定日期", "当前状态"]
    with path.open("w", encoding="utf-8") as handle:
        handle.write(",".join(columns) + "\n某公司,法人及非法人组织,长卫罚〔2026〕1号,其他,")
        piece = "经查" * (MIB // 6)
        for _ in range(size // (len(piece) * 3)):
            handle.write(piece)
        handle.write(",《条例》,罚款,罚款1000元。,2026-05-01,正常\n")


def _bomb(path: Path, size: int) -> None:
    """A workbook whose sheet holds one cell of ``size`` bytes: about 300 KB on disk."""
    head = ('<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
            'spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>')
    tail = "</t></is></c></row></sheetData></worksheet>"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as book:
        book.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats'
                      '.org/package/2006/content-types"/>')
        with book.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(head.encode())
            block = b"A" * MIB
            for _ in range(size // MIB):
                sheet.write(block)
            sheet.write(tail.encode())


def _pull(department: str) -> dict[str, Any]:
    from creditsync.exceptions import CreditSyncError
    from creditsync.pipeline import pull, report
    from creditsync.pipeline.runner import Gateway

    gateway = Gateway.open()
    ctx = gateway.context(gateway.department(department))
    started = time.monotonic()
    pulled = pull(ctx)
    elapsed = time.monotonic() - started
    try:
        summary: Any = report(ctx)
        outcome = "ok"
    except CreditSyncError as exc:
        summary, outcome = None, f"{type(exc).__name__}: {exc}"
    gateway.store.dispose()
    return {"pulled": pulled, "elapsed_s": elapsed, "outcome": outcome,
            "quarantined": summary["quarantined"] if summary else None}


def peak_rss_mb() -> float:
    """This process's peak resident memory since it started (VmHWM; getrusage's ru_maxrss would
    include the parent's peak from before exec on Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # not Linux: KiB as well


if __name__ == "__main__":
    done = main(sys.argv[1], Path(sys.argv[2]))
    done["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(done, ensure_ascii=False, default=str))
