"""Synthetic, valid hash-chained audit entries (and the ``records`` rows they describe), bulk-loaded into
PostgreSQL with COPY. A helper of ``audit_scale.py``; the leading underscore keeps ``run.py`` from
treating it as a benchmark.

The trail looks like real syncs: each run of a department reads ``RUN_SIZE`` records and writes
run_started, source_read, one record_version per record (about 1 in 100 quarantined instead),
stream_transformed, one push_attempt per 100 records (listing their keys), one push_receipt per record,
cursor_advanced and run_finished. Timestamps rise evenly over ``span_days`` ending now, so "since 30 days
ago" selects about 30/span of the trail. Hashes come from ``creditsync.audit.trail.entry_hash`` itself,
so ``verify_chain`` checks the loaded chain exactly as it checks a real one.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from creditsync.audit.trail import GENESIS, entry_hash
from creditsync.store.models import AuditEntry

DEPARTMENTS = ("market_supervision", "ecology_environment", "emergency_management", "health",
               "housing_construction", "transport", "agriculture", "culture_tourism")
AUTHORITY = "11370113MB28{:02d}{:03d}X"
RUN_SIZE, BATCH = 200, 100
AUDIT_COLUMNS = ("id", "ts", "event", "actor", "department", "category", "business_key", "run_id",
                 "details", "prev_hash", "hash")
RECORD_COLUMNS = ("business_key", "department", "category", "document_no", "subject_name", "source_key",
                  "decision_date", "version", "mapped_hash", "state", "platform_id", "first_seen_at",
                  "updated_at", "published_at")


@dataclass
class Entry:
    """Duck-typed like AuditEntry for ``entry_hash`` (an ORM object per row would dominate the load)."""

    id: int
    ts: datetime
    event: str
    actor: str
    department: str | None
    category: str | None
    business_key: str | None
    run_id: str | None
    details: dict[str, Any]


Linked = tuple[Entry, str, str]  # an entry, the hash it follows, its own hash


@dataclass
class TrailGenerator:
    total: int
    span_days: float = 3 * 365
    end: datetime = field(default_factory=lambda: datetime.now(UTC))
    last_hash: str = GENESIS
    next_id: int = 1
    records: Any = None  # a csv.writer for the records rows, written as their entries are made
    samples: dict[str, str] = field(default_factory=dict)  # keys to trace, from the newer half

    def ts(self, entry_id: int) -> datetime:
        return self.end - timedelta(days=self.span_days) * (1 - entry_id / self.total)

    def entries(self) -> Iterator[Linked]:
        """Whole runs until ``total`` entries; the last run is cut short at exactly ``total``."""
        run = 0
        while self.next_id <= self.total:
            yield from self._run(run)
            run += 1

    def _run(self, run: int) -> Iterator[Linked]:
        department = DEPARTMENTS[run % len(DEPARTMENTS)]
        category = "penalty" if run % 3 else "license"
        run_id = f"scheduled__{department}__{run:08d}"
        yield from self._emit("run_started", department, None, None, run_id, trigger="airflow", try_number=1)
        yield from self._emit("source_read", department, category, None, run_id, staged=RUN_SIZE,
                              cursor_from=f"{run - 1:08d}", cursor_to=f"{run:08d}")
        keys: list[str] = []
        for n in range(RUN_SIZE):
            key = yield from self._record(run, n, department, category, run_id)
            if key:
                keys.append(key)
        yield from self._emit("stream_transformed", department, category, None, run_id,
                              counts={"new": len(keys), "quarantined": RUN_SIZE - len(keys)})
        for start in range(0, len(keys), BATCH):
            batch = keys[start:start + BATCH]
            yield from self._emit("push_attempt", department, category, None, run_id, size=len(batch),
                                  keys=batch, batch_id=f"{run_id}#{start}", try_number=1, attempt=1)
            for key in batch:
                yield from self._emit("push_receipt", department, category, key, run_id, version=1,
                                      status="created", platform_id=os.urandom(8).hex(), attempts=1,
                                      idempotency_key=os.urandom(32).hex())
        yield from self._emit("cursor_advanced", department, category, None, run_id,
                              cursor_from=f"{run - 1:08d}", cursor_to=f"{run:08d}")
        yield from self._emit("run_finished", department, None, None, run_id, status="success")

    def _record(self, run: int, n: int, department: str, category: str,
                run_id: str) -> Generator[Linked, None, str | None]:
        source_key = f"{department[:2].upper()}{run:07d}{n:03d}"
        document = f"长{department[:2]}罚〔{2023 + run % 4}〕{run:07d}{n:03d}号"
        if n % 100 == 37:  # a broken record: quarantined under its source key and 文书号, no business key
            if self.next_id > self.total // 2:
                self.samples.setdefault("quarantined", source_key)
                self.samples.setdefault("quarantined_document", document)
            yield from self._emit("record_quarantined", department, category, None, run_id,
                                  source_key=source_key, document_no=document, stage="validation",
                                  source_hash=os.urandom(32).hex(),
                                  errors=[{"field": "CF_XDR_SHXYM", "message": "统一社会信用代码校验位错误"}])
            return None
        key = f"{category}:{AUTHORITY.format(run % 8, n % 1000)}:{document}"
        if self.next_id > self.total // 2:
            self.samples.setdefault("document", document)
        yield from self._emit("record_version", department, category, key, run_id, source_key=source_key,
                              version=1, mapped_hash=os.urandom(32).hex(), source_hash=os.urandom(32).hex(),
                              mapping_digest="9f2c" * 16, adapter="rest", try_number=1)
        stamp = self.ts(self.next_id - 1)
        if self.records is not None:
            self.records.writerow((key, department, category, document, f"济南长清第{n}商贸有限公司",
                                   source_key, stamp.date().isoformat(), 1, os.urandom(32).hex(), "published",
                                   os.urandom(8).hex(), stamp.isoformat(), stamp.isoformat(),
                                   stamp.isoformat()))
        return key

    def _emit(self, event: str, department: str | None, category: str | None, key: str | None,
              run_id: str, **details: Any) -> Iterator[Linked]:
        if self.next_id > self.total:
            return
        entry = Entry(self.next_id, self.ts(self.next_id), event, "airflow@worker-1", department, category,
                      key, run_id, details)
        prev_hash, self.last_hash = self.last_hash, entry_hash(self.last_hash, cast(AuditEntry, entry))
        self.next_id += 1
        yield entry, prev_hash, self.last_hash


class CopyBuffer:
    """What COPY reads from (psycopg2 only calls ``read``): CSV rows produced on demand, chunk by chunk."""

    def __init__(self, rows: Iterator[tuple[Any, ...]]) -> None:
        self._rows, self._pending = rows, ""

    def read(self, size: int | None = -1) -> str:
        want = size if size and size > 0 else 1 << 20
        out = io.StringIO()
        out.write(self._pending)
        writer = csv.writer(out, lineterminator="\n")
        while out.tell() < want:
            row = next(self._rows, None)
            if row is None:
                break
            writer.writerow(row)
        text = out.getvalue()
        self._pending = text[want:]
        return text[:want]


def audit_rows(generator: TrailGenerator) -> Iterator[tuple[Any, ...]]:
    for entry, prev_hash, digest in generator.entries():
        yield (entry.id, entry.ts.isoformat(), entry.event, entry.actor, entry.department, entry.category,
               entry.business_key, entry.run_id, json.dumps(entry.details, ensure_ascii=False), prev_hash,
               digest)
