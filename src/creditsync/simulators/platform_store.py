"""The platform simulator's core, without HTTP: its memory, its rules and its dice.

- :class:`PlatformStore`: published rows and remembered idempotency keys, in SQLite.
- :func:`parse_push` and :func:`apply_record`: the record semantics, kept apart from HTTP so they read
  like docs/platform-protocol.md: a known key answers its original result, an upsert without
  ``platform_id`` always creates a row, an upsert with one corrects that row, a withdrawal stops display.
- What goes wrong, and when: :mod:`creditsync.simulators.platform_faults`.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
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


# Returns the Chinese messages that reject a record; empty means valid.
Checker = Callable[[IncomingRecord], list[str]]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class PlatformStore:
    """One SQLite connection behind one lock: the simulator's load is tiny, and a single writer makes
    each batch atomic with respect to the others (no two threads can create the same key twice)."""

    def __init__(self, path: str | None = None) -> None:
        self._lock = threading.RLock()
        self._db = sqlite3.connect(path or ":memory:", check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        if path:
            self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    @contextmanager
    def batch(self) -> Iterator[PlatformStore]:
        """All-or-nothing: a batch is committed whole, or not at all if processing fails midway."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def remembered(self, key: str) -> RecordResult | None:
        row = self._one("SELECT * FROM receipts WHERE idempotency_key = ?", (key,))
        return _result(row) if row else None

    def remember(self, category: str, result: RecordResult) -> None:
        self._db.execute(
            "INSERT INTO receipts VALUES (?, ?, ?, ?, ?, ?)",
            (result.idempotency_key, category, result.status, result.platform_id,
             json.dumps(result.errors, ensure_ascii=False), _now()),
        )

    def create(self, category: str, record: IncomingRecord) -> str:
        platform_id = uuid.uuid4().hex
        now = _now()
        self._db.execute(
            "INSERT INTO records (platform_id, category, business_key, data, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (platform_id, category, record.business_key, _dump(record.data), now, now),
        )
        return platform_id

    def correct(self, platform_id: str, record: IncomingRecord) -> None:
        self._db.execute(
            "UPDATE records SET data = ?, business_key = ?, version = version + 1, updated_at = ?"
            " WHERE platform_id = ?",
            (_dump(record.data), record.business_key, _now(), platform_id),
        )

    def withdraw(self, platform_id: str) -> None:
        self._db.execute(
            "UPDATE records SET withdrawn = 1, updated_at = ? WHERE platform_id = ?", (_now(), platform_id)
        )

    def find(self, platform_id: str) -> dict[str, Any] | None:
        row = self._one("SELECT * FROM records WHERE platform_id = ?", (platform_id,))
        return _public_record(row) if row else None

    def rows(self) -> list[dict[str, Any]]:
        """Every row the platform holds (tests count them per document number)."""
        with self._lock:
            found = self._db.execute("SELECT * FROM records ORDER BY created_at").fetchall()
        return [_public_record(row) for row in found]

    def results_for(self, category: str, keys: list[str]) -> list[RecordResult]:
        marks = ",".join("?" * len(keys))
        with self._lock:
            rows = self._db.execute(
                f"SELECT * FROM receipts WHERE category = ? AND idempotency_key IN ({marks})",
                (category, *keys),
            ).fetchall()
        return [_result(row) for row in rows]

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

    def _one(self, sql: str, params: tuple[Any, ...]) -> sqlite3.Row | None:
        with self._lock:
            row: sqlite3.Row | None = self._db.execute(sql, params).fetchone()
        return row


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


def apply_record(store: PlatformStore, category: str, record: IncomingRecord, check: Checker) -> RecordResult:
    """Process one record inside ``store.batch()``; a known key returns its original result unchanged."""
    seen = store.remembered(record.idempotency_key)
    if seen is not None:
        return replace(seen, status="duplicate") if seen.status == "accepted" else seen
    result = _decide(store, category, record, check)
    store.remember(category, result)
    return result


def _decide(store: PlatformStore, category: str, record: IncomingRecord, check: Checker) -> RecordResult:
    pid = record.platform_id
    if pid is not None and (problem := _target_problem(store, category, pid, record.action)):
        return _rejected(record, [problem])
    if record.action == "withdraw":
        if pid is None:
            return _rejected(record, [WITHDRAW_NEEDS_ID_ZH])
        store.withdraw(pid)
        return RecordResult(record.idempotency_key, "accepted", pid)
    errors = check(record)
    if errors:
        return _rejected(record, errors)
    if pid is None:
        # No platform_id means "new row", even for a business key already published: real platforms
        # duplicate exactly like this, which is why corrections must carry the platform_id.
        return RecordResult(record.idempotency_key, "accepted", store.create(category, record))
    store.correct(pid, record)
    return RecordResult(record.idempotency_key, "accepted", pid)


def _target_problem(store: PlatformStore, category: str, platform_id: str, action: str) -> str | None:
    target = store.find(platform_id)
    if target is None:
        return NOT_FOUND_ZH
    if target["category"] != category:
        return CATEGORY_MISMATCH_ZH
    # Withdrawing twice is harmless; correcting a withdrawn record would publish it again (§8.3).
    if target["status"] == "withdrawn" and action == "upsert":
        return WITHDRAWN_ZH
    return None


def _rejected(record: IncomingRecord, errors: list[str]) -> RecordResult:
    return RecordResult(record.idempotency_key, "rejected", None, errors)


def _dump(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True)


def _result(row: sqlite3.Row) -> RecordResult:
    return RecordResult(row["idempotency_key"], row["status"], row["platform_id"], json.loads(row["errors"]))


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
