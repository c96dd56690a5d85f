"""Quality scorecards (`creditsync report quality`) on N records in PostgreSQL.

    .venv/bin/python benchmarks/quality_scale.py [--records N] [--admin-url URL] [--keep | --url URL]

A fresh database at the current schema (Alembic), then N records of four departments decided over
2026-01-01…2026-11-30, generated set-based (INSERT … SELECT generate_series): one version each (with or
without the fields the evaluation looks for), one acknowledged upsert each acknowledged 0-14 days after
the decision (3 % refused by the platform instead, 1 % still pending), a platform quarantine entry for
each refused one and validation entries for 2 % more never stored. Timed once each: the scorecard of
the year for every department, one department's quarter, and the command itself (table, JSON and the
XLSX workbook) run as a process. Every answer is checked against a plain count.

``run.py`` calls :func:`collect`; run alone it prints the same rows as a Markdown table.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).parent))
from _pg import fresh_database

from creditsync.quality import parse_period, scorecards
from creditsync.store.db import upgrade
from creditsync.working_days import PUBLICATION_LIMIT_WORKING_DAYS, local_date, working_days_between

TITLE = "Quality scorecards at scale (PostgreSQL)"
BENCH_ARGS = ["--records", "1000000"]
QUICK_ARGS = ["--records", "20000"]
ADMIN_URL = os.environ.get("CREDITSYNC_BENCH_PG", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
AS_OF = date(2026, 12, 7)
EXECUTABLE = Path(sys.executable).parent / "creditsync"
Row = dict[str, Any]

DEPARTMENT_OF_I = ("(ARRAY['market_supervision', 'ecology_environment', 'emergency_management', "
                   "'health'])[i % 4 + 1]")
# i = 1…N: department i % 4, decided 2026-01-01 + i % 334 days, refused when i % 100 < 3, pending when
# i % 100 = 3, without 许可编号/公示截止期 when i % 10 = 9, acknowledged (i * 7) % 15 days after the decision.
GENERATE = [
    f"""INSERT INTO records (business_key, department, category, document_no, subject_name, source_key,
         decision_date, version, mapped_hash, state, first_seen_at, updated_at, published_at, platform_id)
       SELECT 'k' || i, {DEPARTMENT_OF_I}, CASE WHEN (i / 4) % 2 = 0 THEN 'license' ELSE 'penalty' END,
         '长市监罚〔2026〕' || i || '号', '某某公司' || i,
         's' || i, DATE '2026-01-01' + (i % 334), 1, md5(i::text),
         CASE WHEN i % 100 < 3 THEN 'rejected' WHEN i % 100 = 3 THEN 'pending' ELSE 'published' END,
         now(), now(),
         CASE WHEN i % 100 > 3 THEN (DATE '2026-01-01' + (i % 334) + (i * 7) % 15) + TIME '02:00' END,
         CASE WHEN i % 100 > 3 THEN md5('p' || i) END
       FROM generate_series(1, :n) AS i""",
    """INSERT INTO record_versions (business_key, version, run_id, source_key, source_hash, mapped_hash,
         adapter, payload_masked, created_at)
       SELECT 'k' || i, 1, 'bench', 's' || i, md5(i::text), md5(i::text), 'bench',
         CASE WHEN i % 10 = 9 THEN json_build_object('XK_WSH', 'x' || i)
              ELSE json_build_object('XK_XKZS', '许可证', 'XK_XKBH', 'B' || i, 'CF_GSJZQ', '2027/01/01') END,
         now()
       FROM generate_series(1, :n) AS i""",
    """INSERT INTO outbox (idempotency_key, business_key, department, category, action, version, run_id,
         status, attempts, platform_errors, created_at, acked_at)
       SELECT md5('o' || i), r.business_key, r.department, r.category, 'upsert', 1, 'bench',
         CASE WHEN i % 100 < 3 THEN 'rejected' WHEN i % 100 = 3 THEN 'pending' ELSE 'acked' END, 1, '[]',
         now(), CASE WHEN i % 100 > 3 THEN r.published_at END
       FROM generate_series(1, :n) AS i JOIN records r ON r.business_key = 'k' || i""",
    """INSERT INTO quarantine (run_id, department, category, source_key, business_key, stage, errors,
         raw_masked, created_at)
       SELECT 'bench', r.department, r.category, r.source_key, r.business_key, 'platform',
         '[{"field": "(platform)", "kind": "platform", "zh": "许可机关代码与登记信息不符", "en": ""}]',
         '{}', (r.decision_date + 2) + TIME '02:00'
       FROM records r WHERE r.state = 'rejected'""",
    f"""INSERT INTO quarantine (run_id, department, category, source_key, stage, errors, raw_masked,
         created_at)
       SELECT 'bench', {DEPARTMENT_OF_I}, 'penalty', 'bad' || i, 'validation',
         '[{{"field": "CF_NR", "kind": "invalid", "zh": "处罚内容不能为空", "en": "must not be empty"}}]',
         '{{}}', (DATE '2026-01-01' + (i % 334)) + TIME '02:00'
       FROM generate_series(1, :n / 50) AS i""",
]


def _row(records: int, measurement: str, seconds: float | str, detail: str = "") -> Row:
    shown = seconds if isinstance(seconds, str) else f"{seconds:,.2f} s"
    return {"records": f"{records:,}", "measurement": measurement, "result": shown, "detail": detail}


def load(url: str, total: int) -> list[Row]:
    engine = create_engine(url)
    started = time.perf_counter()
    with engine.begin() as conn:
        for statement in GENERATE:
            conn.execute(text(statement), {"n": total})
    generated = time.perf_counter() - started
    started = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))
        server = conn.execute(text("SELECT split_part(version(), ' ', 2), current_setting('shared_buffers'), "
                                   "current_setting('work_mem')")).one()
    engine.dispose()
    return [_row(total, "server", "PostgreSQL {}, shared_buffers {}, work_mem {}".format(*server)),
            _row(total, "generate (INSERT … SELECT generate_series)", generated,
                 "records, versions, outbox, quarantine"),
            _row(total, "ANALYZE", time.perf_counter() - started)]


def expected(url: str) -> dict[str, int]:
    """health's year counted the slow way, record by record in Python with creditsync.working_days, to
    check the scorecard's set-based figures against."""
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT decision_date, published_at, state FROM records "
                                 "WHERE department = 'health'")).all()
    engine.dispose()
    taken = lru_cache(maxsize=None)(working_days_between)
    late = 0
    for decided, published, state in rows:
        acknowledged = local_date(published) if published is not None else None
        if acknowledged is not None and acknowledged <= AS_OF:
            late += taken(decided, acknowledged) > PUBLICATION_LIMIT_WORKING_DAYS
        elif state in ("pending", "rejected") or acknowledged is not None:  # owed on AS_OF
            late += taken(decided, AS_OF) > PUBLICATION_LIMIT_WORKING_DAYS
    return {"records": len(rows), "late": late}


def timed_scorecard(url: str, total: int, period: str, department: str | None) -> Row:
    engine = create_engine(url)
    started = time.perf_counter()
    with engine.connect() as conn:
        card = scorecards(conn, parse_period(period), as_of=AS_OF, department=department)
    seconds = time.perf_counter() - started
    engine.dispose()
    records = sum(s.totals.records for s in card.departments.values())
    late = sum(s.totals.late for s in card.departments.values())
    rates = ", ".join(f"{s.department} {s.totals.timeliness:.1%}/{s.totals.compliance:.1%}/"
                      f"{s.totals.completeness:.1%}" for s in card.departments.values())
    label = f"scorecards {period}" + (f" --department {department}" if department else " (every department)")
    return _row(total, label, seconds, f"{records:,} records, {late:,} late; 及时/合规/完整 {rates}")


def timed_command(url: str, total: int, *args: str) -> Row:
    env = {**os.environ, "CREDITSYNC_DB_URL": url, "COLUMNS": "200"}
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        done = subprocess.run([str(EXECUTABLE), "report", "quality", *args, "--as-of", AS_OF.isoformat()],
                              cwd=folder, env=env, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - started
        files = [p for p in Path(folder).iterdir() if p.suffix == ".xlsx"]
        size = f"; workbook {files[0].stat().st_size / 1024**2:,.1f} MiB" if files else ""
    if done.returncode != 0:
        raise RuntimeError(f"report quality {' '.join(args)} failed: {done.stderr[-500:]}")
    return _row(total, "creditsync report quality " + " ".join(args), seconds,
                f"whole process; {len(done.stdout):,} characters out{size}")


def measure(total: int, admin_url: str, keep: bool, reuse: str | None = None) -> list[Row]:
    with contextlib.nullcontext(reuse) if reuse else fresh_database(admin_url, keep) as url:
        rows = [] if reuse else _generated(url, total)
        check = expected(url)
        health = timed_scorecard(url, total, "2026", "health")
        wanted = f"{check['records']:,} records, {check['late']:,} late"
        if not health["detail"].startswith(wanted):
            raise AssertionError(f"health: {health['detail']}, counted one by one: {wanted}")
        rows.append(_row(total, "check: health's year counted record by record in Python", "same", wanted))
        rows += [timed_scorecard(url, total, "2026", None), health,
                 timed_scorecard(url, total, "2026-Q3", "market_supervision"),
                 timed_command(url, total, "--period", "2026", "--format", "table"),
                 timed_command(url, total, "--period", "2026", "--format", "json"),
                 timed_command(url, total, "--period", "2026-Q3", "--department", "health",
                               "--format", "xlsx")]
    return rows


def _generated(url: str, total: int) -> list[Row]:
    upgrade(url)
    return load(url, total)


def collect(argv: list[str]) -> list[Row]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--admin-url", default=ADMIN_URL, help="a PostgreSQL URL allowed to CREATE DATABASE")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    parser.add_argument("--url", help="measure this database, generated before with --keep (same --records)")
    args = parser.parse_args(argv)
    return measure(args.records, args.admin_url, args.keep, args.url)


def main(argv: list[str] | None = None) -> int:
    rows = collect(sys.argv[1:] if argv is None else argv)
    columns = list(rows[0]) if rows else []
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for row in rows:
        print("| " + " | ".join(str(row[c]) for c in columns) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
