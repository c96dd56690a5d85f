"""The platform simulator's core, without HTTP: its memory, its rules and its dice.

- :class:`PlatformStore`: published rows and remembered idempotency keys, in SQLite.
- :func:`parse_push` and :func:`apply_batch`: the record semantics, kept apart from HTTP so they read
  like docs/platform-protocol.md: a known key answers its original result, an upsert without
  ``platform_id`` always creates a row, an upsert with one corrects that row, a withdrawal stops display.
- What goes wrong, and when: :mod:`creditsync.simulators.platform_faults`.

A batch is decided in memory and written set-wise: one query for the keys it carries, one for the rows
it targets, then one ``executemany`` per kind of write, all in one transaction. Records are still
decided one by one in request order, so a batch answers exactly what record-at-a-time processing did.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    platform_id  TEXT PRIMARY KEY,
    category     TEXT NOT NULL,
    business_key TEXT NOT NULL,
    data         TEXT NOT NULL,
    withdrawn    INTEGER NOT NULL DEFAULT 0,
    version      INTEGER NOT NULL DEFAULT 1,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS receipts (
    idempotency_key TEXT PRIMARY KEY,
    category        TEXT NOT NULL,
    status          TEXT NOT NULL,
    platform_id     TEXT,
    errors          TEXT NOT NULL,
    received_at     TEXT NOT NULL
);
"""

NOT_FOUND_ZH = "平台记录不存在，请核对平台记录编号"
WITHDRAWN_ZH = "该记录已终止公示，不能更正"
CATEGORY_MISMATCH_ZH = "平台记录编号与数据类别不一致"
WITHDRAW_NEEDS_ID_ZH = "终止公示须提供平台记录编号"
_ACTIONS = ("upsert", "withdraw")
# SQLite's default limit of host parameters per statement is 32,766 (3.32+); stay far below it.
_IN_CHUNK = 900
_DUMP = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_NO_ERRORS = "[]"


@dataclass(frozen=True)
class IncomingRecord:
    idempotency_key: str
    business_key: str
    action: str
    platform_id: str | None
    data: dict[str, Any]


@dataclass(frozen=True)
class RecordResult:
    idempotency_key: str
    status: str  # accepted | duplicate | rejected
    platform_id: str | None
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "idempotency_key": self.idempotency_key,
            "status": self.status,
            "platform_id": self.platform_id,
            "errors": list(self.errors),
        }


@dataclass
class Target:
    """What a correction or withdrawal needs to know about the row it names."""

    category: str
    withdrawn: bool


# Returns the Chinese messages that reject a record; empty means valid.
Checker = Callable[[IncomingRecord], list[str]]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class PlatformStore:
    """One SQLite connection behind one lock: a single writer makes each batch atomic with respect to
    the others (no two threads can create the same key twice)."""

    def __init__(self, path: str | None = None) -> None:
        self._lock = threading.RLock()
        self._db = sqlite3.connect(path or ":memory:", check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        if path:
            self._db.execute("PRAGMA journal_mode=WAL")
            # WAL keeps the file consistent; only a power cut could lose the last commits.
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    @contextmanager
    def batch(self) -> Iterator[BatchWriter]:
        """All-or-nothing: a batch is committed whole, or not at all if processing fails midway."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                writer = BatchWriter(self)
                yield writer
                writer.flush()
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def remembered(self, keys: Iterable[str]) -> dict[str, RecordResult]:
        """The original result of each of ``keys`` the platform knows, whatever its category."""
        rows = self._in("SELECT idempotency_key, status, platform_id, errors FROM receipts"
                        " WHERE idempotency_key IN ({})", list(keys))
        return {row[0]: _result(row) for row in rows}

    def targets(self, platform_ids: Iterable[str]) -> dict[str, Target]:
        rows = self._in("SELECT platform_id, category, withdrawn FROM records WHERE platform_id IN ({})",
                        list(platform_ids))
        return {row[0]: Target(row[1], bool(row[2])) for row in rows}

    def find(self, platform_id: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM records WHERE platform_id = ?", (platform_id,)).fetchone()
        return _public_record(row) if row else None

    def rows(self) -> list[dict[str, Any]]:
        """Every row the platform holds (tests count them per document number)."""
        with self._lock:
            found = self._db.execute("SELECT * FROM records ORDER BY created_at").fetchall()
        return [_public_record(row) for row in found]

    def results_for(self, category: str, keys: list[str]) -> list[RecordResult]:
        known = self._in("SELECT idempotency_key, status, platform_id, errors, category FROM receipts"
                         " WHERE idempotency_key IN ({})", keys)
        return [_result(row) for row in known if row[4] == category]

    def counts(self) -> dict[str, int]:
        with self._lock:
            records = self._db.execute(
                "SELECT COUNT(*), COUNT(DISTINCT category || ':' || business_key),"
                " COALESCE(SUM(withdrawn), 0) FROM records"
            ).fetchone()
            receipts = self._db.execute(
                "SELECT COUNT(*), COALESCE(SUM(status = 'rejected'), 0) FROM receipts"
            ).fetchone()
        return {
            "records": records[0],
            "business_keys": records[1],
            "withdrawn": records[2],
            "idempotency_keys": receipts[0],
            "rejected": receipts[1],
        }

    def _in(self, sql: str, values: list[str]) -> list[sqlite3.Row]:
        """``sql`` with ``IN ({})`` run over ``values`` in chunks small enough for SQLite's limits."""
        rows: list[sqlite3.Row] = []
        with self._lock:
            for start in range(0, len(values), _IN_CHUNK):
                chunk = values[start : start + _IN_CHUNK]
                rows += self._db.execute(sql.format(",".join("?" * len(chunk))), chunk).fetchall()
        return rows


class BatchWriter:
    """The writes of one batch, collected in request order and flushed with one ``executemany`` each."""

    def __init__(self, store: PlatformStore) -> None:
        self._db = store._db
        self.now = _now()
        self.creates: list[tuple[str, str, str, str, str, str]] = []
        self.corrections: list[tuple[str, str, str, str]] = []
        self.withdrawals: list[tuple[str, str]] = []
        self.receipts: list[tuple[str, str, str, str | None, str, str]] = []
        self.store = store

    def create(self, category: str, record: IncomingRecord) -> str:
        platform_id = os.urandom(16).hex()
        now = self.now
        self.creates.append((platform_id, category, record.business_key, _DUMP(record.data), now, now))
        return platform_id

    def correct(self, platform_id: str, record: IncomingRecord) -> None:
        self.corrections.append((_DUMP(record.data), record.business_key, self.now, platform_id))

    def withdraw(self, platform_id: str) -> None:
        self.withdrawals.append((self.now, platform_id))

    def remember(self, category: str, result: RecordResult) -> None:
        errors = _DUMP(result.errors) if result.errors else _NO_ERRORS
        self.receipts.append((result.idempotency_key, category, result.status, result.platform_id, errors,
                              self.now))

    def flush(self) -> None:
        # Corrections and withdrawals only name rows that existed before this batch, and they run in
        # request order among themselves (a withdrawal after a correction leaves the row withdrawn).
        self._db.executemany(
            "INSERT INTO records (platform_id, category, business_key, data, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?)", self.creates)
        self._db.executemany(
            "UPDATE records SET data = ?, business_key = ?, version = version + 1, updated_at = ?"
            " WHERE platform_id = ?", self.corrections)
        self._db.executemany("UPDATE records SET withdrawn = 1, updated_at = ? WHERE platform_id = ?",
                             self.withdrawals)
        self._db.executemany("INSERT INTO receipts VALUES (?, ?, ?, ?, ?, ?)", self.receipts)


class Problem(Exception):
    """Answer the whole request with this status and Chinese message."""

    def __init__(self, status: int, msg: str) -> None:
        super().__init__(msg)
        self.status = status
        self.msg = msg


def parse_push(body: bytes) -> list[IncomingRecord]:
    """The request body, checked strictly: any malformation refuses the whole batch with 400."""
    try:
        doc = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Problem(400, "请求体不是合法的JSON") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("batch_id"), str):
        raise Problem(400, "请求体须为对象，且batch_id为字符串")
    records = doc.get("records")
    if not isinstance(records, list):
        raise Problem(400, "records须为数组")
    return [_parse_record(i, item) for i, item in enumerate(records)]


def _parse_record(index: int, item: Any) -> IncomingRecord:
    if not isinstance(item, dict):
        raise Problem(400, f"records[{index}]须为对象")
    key, business_key, action = item.get("idempotency_key"), item.get("business_key"), item.get("action")
    platform_id, data = item.get("platform_id"), item.get("data", {})
    if not (isinstance(key, str) and key and isinstance(business_key, str)):
        raise Problem(400, f"records[{index}]缺少idempotency_key或business_key")
    if action not in _ACTIONS or not (platform_id is None or isinstance(platform_id, str)):
        raise Problem(400, f"records[{index}]的action或platform_id取值无效")
    if not isinstance(data, dict):
        raise Problem(400, f"records[{index}].data须为对象")
    return IncomingRecord(key, business_key, action, platform_id, data)


def apply_batch(
    store: PlatformStore, category: str, records: list[IncomingRecord], check: Checker
) -> list[RecordResult]:
    """Decide and write a whole batch in one transaction; results in request order.

    A known key returns its original result unchanged (``duplicate`` for an accepted one), also when it
    was first seen earlier in the same batch.
    """
    with store.batch() as writer:
        seen = store.remembered(r.idempotency_key for r in records)
        targets = store.targets({r.platform_id for r in records if r.platform_id is not None})
        results = []
        for record in records:
            known = seen.get(record.idempotency_key)
            if known is not None:
                results.append(_again(known))
                continue
            result = _decide(writer, targets, category, record, check)
            writer.remember(category, result)
            seen[record.idempotency_key] = result
            results.append(result)
    return results


def _again(seen: RecordResult) -> RecordResult:
    if seen.status != "accepted":
        return seen
    return RecordResult(seen.idempotency_key, "duplicate", seen.platform_id, seen.errors)


def _decide(
    writer: BatchWriter, targets: dict[str, Target], category: str, record: IncomingRecord, check: Checker
) -> RecordResult:
    pid = record.platform_id
    if pid is not None and (problem := _target_problem(targets.get(pid), category, record.action)):
        return _rejected(record, [problem])
    if record.action == "withdraw":
        if pid is None:
            return _rejected(record, [WITHDRAW_NEEDS_ID_ZH])
        writer.withdraw(pid)
        targets[pid].withdrawn = True  # a later correction of it in this batch is refused
        return RecordResult(record.idempotency_key, "accepted", pid)
    errors = check(record)
    if errors:
        return _rejected(record, errors)
    if pid is None:
        # No platform_id means "new row", even for a business key already published: real platforms
        # duplicate exactly like this, which is why corrections must carry the platform_id.
        return RecordResult(record.idempotency_key, "accepted", writer.create(category, record))
    writer.correct(pid, record)
    return RecordResult(record.idempotency_key, "accepted", pid)


def _target_problem(target: Target | None, category: str, action: str) -> str | None:
    if target is None:
        return NOT_FOUND_ZH
    if target.category != category:
        return CATEGORY_MISMATCH_ZH
    # Withdrawing twice is harmless; correcting a withdrawn record would publish it again (§8.3).
    if target.withdrawn and action == "upsert":
        return WITHDRAWN_ZH
    return None


def _rejected(record: IncomingRecord, errors: list[str]) -> RecordResult:
    return RecordResult(record.idempotency_key, "rejected", None, errors)


def _result(row: sqlite3.Row) -> RecordResult:
    errors = json.loads(row[3]) if row[3] != _NO_ERRORS else []
    return RecordResult(row[0], row[1], row[2], errors)


def _public_record(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "platform_id": row["platform_id"],
        "category": row["category"],
        "business_key": row["business_key"],
        "data": json.loads(row["data"]),
        "status": "withdrawn" if row["withdrawn"] else "published",
        "version": row["version"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }
