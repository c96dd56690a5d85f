"""The platform simulator's credit repair feed (docs/platform-protocol.md, "Credit repair feed").

The credit authority grants a repair on the platform: the record's display stops there, and the
repair is listed at ``GET /api/v1/repairs?since=T`` (oldest first, strictly after ``T``) for the
gateway to pull. ``path`` is settable because real platforms name it differently.
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from typing import Any

from creditsync.simulators.platform_store import PlatformStore, Problem

REPAIRS_PATH = "/api/v1/repairs"


class PlatformRepairs:
    def __init__(self, store: PlatformStore, path: str = REPAIRS_PATH) -> None:
        self.path = path
        self._store = store
        self._lock = threading.Lock()
        self._granted: list[dict[str, Any]] = []

    def grant(self, platform_id: str, decision_no: str, reason: str,
              decided_on: date | None = None) -> dict[str, Any]:
        """A repair decision for one published record: its display stops, and the feed lists it."""
        record = self._store.find(platform_id)
        if record is None:
            raise Problem(404, "平台记录不存在")
        with self._store.batch() as store:
            store.withdraw(platform_id)
        with self._lock:
            notice = {
                "platform_id": platform_id,
                "category": record["category"],
                "business_key": record["business_key"],
                "decision_no": decision_no,
                "reason": reason,
                "decided_on": (decided_on or datetime.now(UTC).date()).isoformat(),
                "repaired_at": self._next_stamp().isoformat(),
            }
            self._granted.append(notice)
        return notice

    def since(self, query: dict[str, list[str]]) -> list[dict[str, Any]]:
        """The repairs granted strictly after ``since`` (all of them without it), oldest first."""
        raw = (query.get("since") or [""])[0]
        try:
            after = datetime.fromisoformat(raw) if raw else None
        except ValueError as exc:
            raise Problem(400, f"参数since不是有效的时间：{raw}") from exc
        if after is not None and after.tzinfo is None:
            after = after.replace(tzinfo=UTC)
        with self._lock:
            return [dict(n) for n in self._granted
                    if after is None or datetime.fromisoformat(n["repaired_at"]) > after]

    def _next_stamp(self) -> datetime:
        """Strictly increasing, so a ``since`` cursor never skips or repeats a repair."""
        stamp = datetime.now(UTC)
        if self._granted:
            last = datetime.fromisoformat(self._granted[-1]["repaired_at"])
            stamp = max(stamp, last + timedelta(microseconds=1))
        return stamp
