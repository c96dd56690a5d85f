"""The platform simulator's credit feeds (docs/platform-protocol.md §8): joint-punishment lists and grades.

The credit authority places a subject on a list (失信联合惩戒对象名单, 重点关注名单) with the measures that
apply, repairs or removes it later, and grades subjects (综合评价 A/B/C/D). Every change is an event,
listed at ``GET /api/v1/lists?since=T`` and ``GET /api/v1/grades?since=T`` (oldest first, strictly after
``T``, at most ``limit`` rows) for the gateway to pull. ``/_sim/…`` admin routes place, repair, remove and
grade subjects (no appKey: only tests and the demo call them).
"""

from __future__ import annotations

import secrets
import threading
from datetime import UTC, date, datetime, timedelta
from typing import Any

from creditsync.simulators.platform_store import Problem

LISTS_PATH = "/api/v1/lists"
GRADES_PATH = "/api/v1/grades"
LIST_TYPES = {"dishonest": "失信联合惩戒对象名单", "watch": "重点关注名单"}
GRADES = ("A", "B", "C", "D")
DEFAULT_LIMIT, MAX_LIMIT = 1000, 5000


class PlatformCredit:
    """Lists and grades held in memory; each change is an event with a strictly increasing stamp."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, dict[str, Any]] = {}
        self._list_events: list[dict[str, Any]] = []
        self._grade_events: list[dict[str, Any]] = []
        self._last = datetime.min.replace(tzinfo=UTC)

    def place(self, body: dict[str, Any]) -> dict[str, Any]:
        """Put a subject on a list; answers the ``placed`` event (its ``entry_id`` names the entry)."""
        list_type = str(body.get("list_type") or "dishonest")
        if list_type not in LIST_TYPES:
            raise Problem(400, f"未知的名单类别：{list_type}")
        subject_id = str(body.get("subject_id") or "").strip().upper()
        measures = body.get("measures") or []
        if not subject_id or not isinstance(measures, list):
            raise Problem(400, "缺少主体标识或惩戒措施")
        entry: dict[str, Any] = {
            "entry_id": secrets.token_hex(16), "list_type": list_type, "list_name": LIST_TYPES[list_type],
            "subject_id": subject_id, "subject_name": str(body.get("subject_name") or ""),
            "subject_type": "natural" if len(subject_id) == 18 and subject_id[:17].isdigit() else "legal",
            "cause": str(body.get("cause") or ""), "basis": str(body.get("basis") or ""),
            "decision_no": str(body.get("decision_no") or ""),
            "authority": str(body.get("authority") or ""),
            "authority_code": str(body.get("authority_code") or ""),
            "start_date": _day(body.get("start_date")) or datetime.now(UTC).date().isoformat(),
            "end_date": _day(body.get("end_date")), "measures": [str(m) for m in measures],
        }
        with self._lock:
            self._entries[entry["entry_id"]] = entry
            return self._list_event(entry, "placed", "listed")

    def repair(self, entry_id: str, decision_no: str = "", reason: str = "") -> dict[str, Any]:
        """信用修复: the subject leaves the list; the event says so and why."""
        return self._end(entry_id, "repaired", {"repair_decision_no": decision_no, "reason": reason})

    def remove(self, entry_id: str, reason: str = "") -> dict[str, Any]:
        """Removal for another cause (the period ended, the decision was revoked)."""
        return self._end(entry_id, "removed", {"reason": reason})

    def grade(self, body: dict[str, Any]) -> dict[str, Any]:
        subject_id = str(body.get("subject_id") or "").strip().upper()
        grade = str(body.get("grade") or "")
        if not subject_id or grade not in GRADES:
            raise Problem(400, f"评价等级须为{'/'.join(GRADES)}")
        event = {"subject_id": subject_id, "subject_name": str(body.get("subject_name") or ""),
                 "grade": grade,
                 "graded_on": _day(body.get("graded_on")) or datetime.now(UTC).date().isoformat()}
        with self._lock:
            event["changed_at"] = self._stamp()
            self._grade_events.append(event)
            return dict(event)

    def lists_since(self, query: dict[str, list[str]]) -> list[dict[str, Any]]:
        return self._since(self._list_events, query)

    def grades_since(self, query: dict[str, list[str]]) -> list[dict[str, Any]]:
        return self._since(self._grade_events, query)

    def _end(self, entry_id: str, event: str, extra: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            entry = self._entries.get(entry_id)
            if entry is None:
                raise Problem(404, "名单记录不存在")
            if entry.get("status", "listed") != "listed":
                raise Problem(409, "该主体已移出名单")
            return self._list_event(entry, event, event, extra)

    def _list_event(self, entry: dict[str, Any], event: str, status: str,
                    extra: dict[str, Any] | None = None) -> dict[str, Any]:
        entry["status"] = status
        row = {**entry, "event": event, "status": status, **(extra or {}), "changed_at": self._stamp()}
        self._list_events.append(row)
        return dict(row)

    def _since(self, events: list[dict[str, Any]], query: dict[str, list[str]]) -> list[dict[str, Any]]:
        raw = (query.get("since") or [""])[0]
        try:
            after = datetime.fromisoformat(raw) if raw else None
            limit = int((query.get("limit") or [str(DEFAULT_LIMIT)])[0])
        except ValueError as exc:
            raise Problem(400, f"参数since或limit无效：{raw}") from exc
        if not 1 <= limit <= MAX_LIMIT:
            raise Problem(400, f"limit须为1至{MAX_LIMIT}")
        if after is not None and after.tzinfo is None:
            after = after.replace(tzinfo=UTC)
        with self._lock:
            found = [dict(e) for e in events
                     if after is None or datetime.fromisoformat(e["changed_at"]) > after]
        return found[:limit]

    def _stamp(self) -> str:
        """Strictly increasing (under the lock), so a ``since`` cursor never skips or repeats an event."""
        self._last = max(datetime.now(UTC), self._last + timedelta(microseconds=1))
        return self._last.isoformat()


def _day(value: Any) -> str | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError as exc:
        raise Problem(400, f"日期无效：{value}") from exc
