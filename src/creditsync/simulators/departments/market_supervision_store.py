"""The state behind the market-supervision simulator: its records, queries, edits and injected faults.

Independent of HTTP so tests (and the demo) can change records directly: :meth:`DecisionStore.update`
bumps ``updated_at`` the way the real system does when a decision is corrected or revoked, so the
next incremental read picks the change up.

Built to serve 100,000+ records fast (benchmarks): each kind keeps its records in (updated_at, id)
order, re-sorted only after an edit, so a page with ``updated_since`` is a binary search and a slice.
``invalid_share`` breaks that share of the records (drawn from the seed, on top of the documented
defects), so a benchmark knows how many of them a gateway must refuse.
"""

from __future__ import annotations

import bisect
import math
import random
import re
import threading
from collections import deque
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from creditsync.simulators.departments import market_supervision_data as data

KINDS = ("penalty", "license")
MAX_PAGE_SIZE = 100
FAULTS = ("500", "503", "429", "bad_json", "drop")


class QueryError(ValueError):
    """A bad request parameter; the HTTP layer answers 400 with this message."""


class DecisionStore:
    """Penalty and licence decisions, generated from ``seed`` relative to ``today``; thread-safe."""

    def __init__(
        self,
        seed: int = 7,
        penalties: int = 60,
        licenses: int = 40,
        today: date | None = None,
        clock: Callable[[], datetime] | None = None,
        *,
        invalid_share: float = 0.0,
        max_page_size: int = MAX_PAGE_SIZE,
    ) -> None:
        if not 0.0 <= invalid_share <= 1.0:
            raise ValueError("invalid_share must be between 0 and 1")
        self._clock = clock or (lambda: datetime.now(data.CST))
        self.today = today or self._clock().astimezone(data.CST).date()  # the department's today
        self.max_page_size = max_page_size
        self._rng = random.Random(seed)
        self._lock = threading.RLock()
        self._faults: deque[str] = deque()
        self._records: dict[str, dict[str, dict[str, Any]]] = {}
        self._next: dict[str, int] = {}
        self._moments: dict[str, datetime] = {}  # id → parsed updated_at
        self._order: dict[str, list[tuple[datetime, str]]] = {}  # per kind, sorted; rebuilt when stale
        self._stale: set[str] = set(KINDS)
        self._broken = {rid: why for rid, why in data.BROKEN.items()}
        for kind, count in (("penalty", penalties), ("license", licenses)):
            self._records[kind] = {r["id"]: r for r in data.generate(kind, self._rng, count, self.today)}
            self._next[kind] = count + 1
            self._moments.update((rid, _moment(r)) for rid, r in self._records[kind].items())
        if invalid_share:
            # Its own generator: the same seed serves the same records whatever the share.
            breaker = random.Random(f"{seed}:invalid")
            self._broken.update(data.break_share(self._records, breaker, invalid_share))
        self._latest = max(self._moments.values(), default=None)

    # -- reading ---------------------------------------------------------------------------------

    @property
    def broken_ids(self) -> dict[str, str]:
        """The deliberately broken records present in this store: id → what is wrong with it."""
        return {rid: why for rid, why in self._broken.items() if self._find(rid) is not None}

    def refused(self, kind: str) -> int:
        """How many records of ``kind`` a gateway must not publish: broken, or revoked (撤销/注销) before
        they were ever published (a benchmark's count check on a first sync)."""
        revoked = {"penalty": "撤销", "license": "注销"}[kind]
        with self._lock:
            return sum(1 for rid, r in self._records[kind].items()
                       if rid in self._broken or r.get("status") == revoked)

    def page(self, kind: str, since: datetime | None, page: int, page_size: int) -> dict[str, Any]:
        """One page of ``kind`` with ``updated_at >= since`` (inclusive), sorted by (updated_at, id)."""
        if kind not in KINDS:
            raise QueryError(f"type must be one of {', '.join(KINDS)}")
        if page < 1 or not 1 <= page_size <= self.max_page_size:
            raise QueryError(f"page must be >= 1 and page_size between 1 and {self.max_page_size}")
        with self._lock:
            order = self._sorted(kind)
            first = bisect.bisect_left(order, (since,)) if since is not None else 0  # (since,) < (since, id)
            start = first + (page - 1) * page_size
            records = self._records[kind]
            items = [served(records[rid]) for _, rid in order[start : start + page_size]]
        total = len(order) - first
        return {"items": items, "page": page, "page_size": page_size,
                "total_pages": math.ceil(total / page_size), "total": total}

    def records(self, kind: str) -> list[dict[str, Any]]:
        """Every record of ``kind`` as served (sorted by updated_at, id)."""
        with self._lock:
            records = self._records[kind]
            return [served(records[rid]) for _, rid in self._sorted(kind)]

    def get(self, record_id: str) -> dict[str, Any] | None:
        with self._lock:
            record = self._find(record_id)
            return served(record) if record is not None else None

    # -- changing --------------------------------------------------------------------------------

    def add_decision(self, kind: str, **fields: Any) -> dict[str, Any]:
        """A new realistic decision dated today (``fields`` override any of its values)."""
        if kind not in KINDS:
            raise QueryError(f"type must be one of {', '.join(KINDS)}")
        with self._lock:
            number = self._next[kind]
            self._next[kind] += 1
            decided = self._clock().astimezone(data.CST).date()
            record = data.make_record(kind, self._rng, number, decided, self.today)
            stamp = fields.pop("updated_at", None) or self._bump()
            record.update(created_at=stamp, updated_at=stamp, **fields)
            self._records[kind][record["id"]] = record
            self._moved(kind, record)
            return served(record)

    def update(self, record_id: str, **fields: Any) -> dict[str, Any]:
        """Change a record as a correction would; ``updated_at`` moves forward unless given."""
        fields.pop("id", None)
        with self._lock:
            record = self._find(record_id)
            if record is None:
                raise KeyError(record_id)
            record.update(fields)
            record["updated_at"] = fields.get("updated_at") or self._bump()
            self._moved(self._kind_of(record_id), record)
            return served(record)

    def rekey(self, record_id: str, new_id: str, **fields: Any) -> dict[str, Any]:
        """The department's system re-keyed (a new system, a migration): the decision is served under
        ``new_id`` from now on, its old id gone, with ``fields`` changed too."""
        with self._lock:
            kind = self._kind_of(record_id)
            record = self._records[kind].pop(record_id)
            del self._moments[record_id]
            record.update(fields, id=new_id, updated_at=self._bump())
            self._records[kind][new_id] = record
            self._moved(kind, record)
            return served(record)

    # -- faults ----------------------------------------------------------------------------------

    def inject_fault(self, kind: str, times: int = 1) -> None:
        """The next ``times`` list requests fail: HTTP 500/503/429, a truncated body, a dropped socket."""
        if kind not in FAULTS:
            raise QueryError(f"fault must be one of {', '.join(FAULTS)}")
        with self._lock:
            self._faults.extend([kind] * times)

    def take_fault(self) -> str | None:
        with self._lock:
            return self._faults.popleft() if self._faults else None

    # -- internals -------------------------------------------------------------------------------

    def _find(self, record_id: str) -> dict[str, Any] | None:
        for records in self._records.values():
            if record_id in records:
                return records[record_id]
        return None

    def _kind_of(self, record_id: str) -> str:
        return next(kind for kind, records in self._records.items() if record_id in records)

    def _sorted(self, kind: str) -> list[tuple[datetime, str]]:
        """(updated_at, id) of every record of ``kind``, in order; call with the lock held."""
        if kind in self._stale:
            self._order[kind] = sorted((self._moments[rid], rid) for rid in self._records[kind])
            self._stale.discard(kind)
        return self._order[kind]

    def _moved(self, kind: str, record: dict[str, Any]) -> None:
        moment = self._moments[record["id"]] = _moment(record)
        self._latest = moment if self._latest is None else max(self._latest, moment)
        self._stale.add(kind)

    def _bump(self) -> str:
        """Now, but strictly after every stored ``updated_at`` (a clock step back must not hide edits)."""
        now = self._clock().astimezone(data.CST).replace(microsecond=0)
        if self._latest is not None and now <= self._latest:
            now = self._latest + timedelta(seconds=1)
        return data.timestamp(now)


def served(record: dict[str, Any]) -> dict[str, Any]:
    """The record as the API serves it (a copy; the documented null-id defect applied)."""
    item = {key: list(value) if isinstance(value, list) else value for key, value in record.items()}
    if item["id"] in data.NULL_ID:
        item["id"] = None
    return item


def parse_since(text: str) -> datetime:
    """An ISO timestamp; naive values are Beijing time. A ``+`` decoded to a space is put back."""
    text = text.strip()
    if "T" in text:
        text = re.sub(r" (\d{2}:?\d{2})$", r"+\1", text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        example = "2026-03-01T00:00:00+08:00"
        raise QueryError(f"updated_since must be an ISO-8601 timestamp, e.g. {example}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=data.CST)


def _moment(record: dict[str, Any]) -> datetime:
    return parse_since(str(record["updated_at"]))
