"""The audit trail at scale on PostgreSQL: an auditor's queries, verification and appends at N entries.

    .venv/bin/python benchmarks/audit_scale.py [--entries N ...] [--admin-url URL] [--keep]

For each N: a fresh database (dropped afterwards unless ``--keep``), the gateway schema by its Alembic
migrations, N valid hash-chained entries and the ``records`` rows they describe bulk-loaded with COPY
(see ``_audit_data.py``), then timed: ``audit history --department D --since D`` (first page of 50, the
whole answer, a count), ``audit history --status record_quarantined --since``, ``audit trace`` by
文书号 and by a quarantined record's source id, ``verify_chain`` throughput, and the latency of one
append at that size. Every statement those commands run is EXPLAINed: the ``plan`` column names the
scans, and a sequential scan of ``audit_log`` or ``records`` is reported as a problem.

``run.py`` calls :func:`collect`; run alone it prints the same rows as a Markdown table.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).parent))
from _audit_data import AUDIT_COLUMNS, RECORD_COLUMNS, CopyBuffer, TrailGenerator, audit_rows
from _pg import fresh_database
from _plans import PlanRecorder

from creditsync.audit import AuditTrail, verify_chain
from creditsync.audit.history import HistoryFilter, history, trace
from creditsync.store import Store, open_store
from creditsync.store.models import AuditEntry, AuditHead

TITLE = "Audit trail at scale (PostgreSQL)"
BENCH_ARGS = ["--entries", "1000000"]  # what `make bench` runs; 10,000,000 takes ~25 min on 2 cores
QUICK_ARGS = ["--entries", "20000"]
ADMIN_URL = os.environ.get("CREDITSYNC_BENCH_PG", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
DEPARTMENT, PAGE, REPEAT = "health", 50, 5
Row = dict[str, Any]


def load(store: Store, total: int, workdir: Path) -> tuple[TrailGenerator, list[Row]]:
    """COPY the trail and its records with the secondary indexes dropped, then rebuild them."""
    generator = TrailGenerator(total)
    raw = store.engine.raw_connection()
    try:
        cursor = raw.cursor()
        indexes = _drop_indexes(cursor, ("audit_log", "records"))
        started = time.perf_counter()
        records_csv = workdir / "records.csv"
        with records_csv.open("w", encoding="utf-8", newline="") as handle:
            generator.records = csv.writer(handle, lineterminator="\n")
            cursor.copy_expert(f"COPY audit_log ({', '.join(AUDIT_COLUMNS)}) FROM STDIN WITH (FORMAT csv)",
                               CopyBuffer(audit_rows(generator)))
        with records_csv.open(encoding="utf-8") as handle:
            cursor.copy_expert(f"COPY records ({', '.join(RECORD_COLUMNS)}) FROM STDIN WITH (FORMAT csv)",
                               handle)
        loaded = time.perf_counter() - started
        started = time.perf_counter()
        cursor.execute("SET maintenance_work_mem = '1GB'")
        for statement in indexes:
            cursor.execute(statement)
        cursor.execute("ANALYZE audit_log; ANALYZE records")
        indexed = time.perf_counter() - started
        cursor.execute("INSERT INTO audit_head (id, last_id, last_hash) VALUES (1, %s, %s)",
                       (total, generator.last_hash))
        cursor.execute("SELECT pg_total_relation_size('audit_log'), count(*) FROM records")
        size, records = cursor.fetchone() or (0, 0)
        cursor.execute("SELECT split_part(version(), ' ', 2), current_setting('shared_buffers'), "
                       "current_setting('work_mem')")
        server = "PostgreSQL {}, shared_buffers {}, work_mem {} (defaults)".format(*(cursor.fetchone() or ()))
        raw.commit()
    finally:
        raw.close()
    return generator, [
        _row(total, "server", server),
        _row(total, "load: generate + COPY (hash-chained)", f"{total / loaded:,.0f} entries/s",
             f"{loaded:,.0f} s; {records:,} records rows"),
        _row(total, "load: build indexes + ANALYZE", f"{indexed:,.0f} s",
             f"audit_log with indexes {size / 1024**3:,.2f} GiB"),
    ]


def _drop_indexes(cursor: Any, tables: tuple[str, ...]) -> list[str]:
    """Every index but the primary keys; returns the statements that recreate them."""
    cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s) "
                   "AND indexname NOT LIKE '%%_pkey'", (list(tables),))
    found = cursor.fetchall()
    for name, _definition in found:
        cursor.execute(f'DROP INDEX "{name}"')
    return [definition for _name, definition in found]


def timed(action: Callable[[], Any], repeat: int = REPEAT) -> tuple[float, float, Any]:
    """(first run, median of the next ``repeat``) in ms: the first may read from disk, the rest cached."""
    started = time.perf_counter()
    result = action()
    first = (time.perf_counter() - started) * 1000
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        runs.append((time.perf_counter() - started) * 1000)
    return first, statistics.median(runs), result


def queries(store: Store, generator: TrailGenerator, total: int) -> list[Row]:
    since = (datetime.now(UTC) - timedelta(days=30)).date()
    plans = PlanRecorder(store.engine, big_tables=("audit_log", "records"))
    by_department = HistoryFilter(department=DEPARTMENT, since=since)
    by_event = HistoryFilter(status="record_quarantined", since=since)
    cases: list[tuple[str, Callable[[Any], Any], str]] = [
        (f"history --department {DEPARTMENT} --since -30d: first page",
         lambda s: len(list(islice(history(s, by_department), PAGE))), "{} rows"),
        (f"history --department {DEPARTMENT} --since -30d: whole answer",
         lambda s: sum(1 for _ in history(s, by_department)), "{:,} rows"),
        (f"count --department {DEPARTMENT} --since -30d",
         lambda s: s.scalar(select(func.count()).select_from(AuditEntry).where(
             AuditEntry.department == DEPARTMENT, AuditEntry.ts >= since)), "{:,}"),
        ("history --status record_quarantined --since -30d: first page",
         lambda s: len(list(islice(history(s, by_event), PAGE))), "{} rows"),
        ("trace 文书号", lambda s: len(trace(s, generator.samples["document"]).entries), "{} entries"),
        ("trace quarantined source id",
         lambda s: len(trace(s, generator.samples["quarantined"]).entries), "{} entries"),
        ("trace 文书号 of a quarantined record",
         lambda s: len(trace(s, generator.samples["quarantined_document"]).entries), "{} entries"),
        # How a paginated page would ask (not what `audit history` runs): the planner walks the primary
        # key and filters unless the order follows the time index.
        (f"page: --department {DEPARTMENT} --since -30d ORDER BY id LIMIT {PAGE}",
         lambda s: len(s.scalars(_page(since).order_by(AuditEntry.id)).all()), "{} rows"),
        (f"page: --department {DEPARTMENT} --since -30d ORDER BY ts, id LIMIT {PAGE}",
         lambda s: len(s.scalars(_page(since).order_by(AuditEntry.ts, AuditEntry.id)).all()), "{} rows"),
    ]
    rows = []
    for label, action, shape in cases:
        with store.reader() as session, plans.recording() as recorded:
            repeat = 2 if label.startswith("page") else REPEAT  # one plan takes seconds at 10M
            first, median, result = timed(lambda a=action, s=session: a(s), repeat)  # type: ignore[misc]
        rows.append(_row(total, label, f"{median:,.1f} ms", f"first {first:,.1f} ms; " + shape.format(result),
                         plans.summary(recorded)))
    return rows


def _page(since: Any) -> Any:
    return (select(AuditEntry).where(AuditEntry.department == DEPARTMENT, AuditEntry.ts >= datetime.combine(
        since, datetime.min.time(), UTC)).limit(PAGE))


def verification(store: Store, total: int) -> list[Row]:
    with store.reader() as session:
        started = time.perf_counter()
        result = verify_chain(session, chunk=20000)
        elapsed = time.perf_counter() - started
    assert result.ok and result.checked == total, result
    return [_row(total, "verify_chain (whole trail)", f"{total / elapsed:,.0f} entries/s",
                 f"{elapsed:,.1f} s", "Index Scan audit_log_pkey (streamed)")]


def appends(store: Store, total: int, count: int = 200) -> list[Row]:
    trail, latencies = AuditTrail(actor="bench"), []
    for n in range(count):
        started = time.perf_counter()
        with store.transaction() as session:
            trail.append(session, "manual_redrive", department=DEPARTMENT, category="penalty", n=n)
        latencies.append((time.perf_counter() - started) * 1000)
    latencies.sort()
    p95 = latencies[int(len(latencies) * 0.95) - 1]
    with store.reader() as session:  # leave the chain as it was counted above plus these appends
        head = session.get(AuditHead, 1)
        assert head is not None and head.last_id == total + count
    return [_row(total, "append one entry (own transaction)", f"{statistics.median(latencies):,.2f} ms",
                 f"p95 {p95:,.2f} ms over {count}")]


def measure(total: int, admin_url: str, keep: bool) -> list[Row]:
    with fresh_database(admin_url, keep) as url, tempfile.TemporaryDirectory() as folder:
        store = open_store(url, migrate=True)
        try:
            generator, rows = load(store, total, Path(folder))
            rows += queries(store, generator, total)
            rows += verification(store, total)
            rows += appends(store, total)
            rows += retention(store, total, Path(folder))
        finally:
            store.dispose()
    return rows


def retention(store: Store, total: int, folder: Path) -> list[Row]:
    """Prune the oldest year (the trail spans three) to an archive, then verify from the anchor."""
    try:
        from creditsync.audit.retention import prune
    except ImportError:
        return []
    with store.reader() as session:
        oldest = session.scalar(select(func.min(AuditEntry.ts)))
    assert oldest is not None
    keep_days = (datetime.now(UTC) - oldest - timedelta(days=365)).days
    started = time.perf_counter()
    outcome = prune(store, keep_days=keep_days, archive_dir=folder, actor="bench")
    elapsed = time.perf_counter() - started
    started = time.perf_counter()
    with store.reader() as session:
        verified = verify_chain(session, chunk=20000)
    checked = time.perf_counter() - started
    assert verified.ok, verified
    size = outcome.archive.stat().st_size / 1024**2 if outcome.archive else 0
    return [
        _row(total, f"audit prune --keep-days {keep_days} (archive + delete)",
             f"{outcome.entries / elapsed:,.0f} entries/s",
             f"{outcome.entries:,} entries in {elapsed:,.0f} s; archive {size:,.0f} MiB"),
        _row(total, "verify_chain after the prune (from the anchor)", f"{verified.checked / checked:,.0f} "
             "entries/s", f"{verified.checked:,} entries in {checked:,.1f} s"),
    ]


def _row(total: int, measure_: str, result: str, detail: str = "", plan: str = "") -> Row:
    row = {"entries": f"{total:,}", "measurement": measure_, "result": result, "detail": detail, "plan": plan}
    print(" | ".join(row.values()), file=sys.stderr, flush=True)  # progress: a 10M run takes a while
    return row


def collect(argv: list[str]) -> list[Row]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, action="append", help="trail size; repeat for several")
    parser.add_argument("--admin-url", default=ADMIN_URL, help="a PostgreSQL URL allowed to CREATE DATABASE")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args(argv)
    rows: list[Row] = []
    for total in args.entries or [1_000_000]:
        rows += measure(total, args.admin_url, args.keep)
    return rows


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
