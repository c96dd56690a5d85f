"""Turning response items into RawRecords, and keeping a stream's cursor order honest."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from creditsync.exceptions import FatalError
from creditsync.sources._http import MISSING, dig
from creditsync.sources.base import RawRecord


def to_record(stream: str, item: Any, key_field: str, cursor_field: str | None) -> RawRecord:
    """A RawRecord, or a flagged one (``error`` set, ``cursor`` None) when the item is malformed.

    A malformed item is the department's problem, not a reason to stop the stream: the pipeline
    quarantines it and reports it back, and the rest of the page still flows.
    """
    if not isinstance(item, dict):
        return _bad(stream, {"value": item}, f"item is {type(item).__name__}, not an object")
    key = dig(item, key_field)
    if not _usable(key):
        return _bad(stream, item, f"item has no usable {key_field!r} (got {_short(key)})")
    cursor = None
    if cursor_field:
        value = dig(item, cursor_field)
        if not _usable(value):
            return _bad(stream, item, f"item has no usable {cursor_field!r} (got {_short(value)})", str(key))
        cursor = str(value)
    return RawRecord(stream=stream, key=str(key), data=item, cursor=cursor)


def _usable(value: Any) -> bool:
    return isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip() != ""


def _short(value: Any) -> str:
    return "nothing" if value is MISSING else repr(value)[:40]


def _bad(stream: str, data: dict[str, Any], error: str, key: str | None = None) -> RawRecord:
    # With no id of its own the item is keyed by its content, so re-reading it yields the same key.
    if key is None:
        text = json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)
        key = "bad:" + hashlib.sha256(text.encode()).hexdigest()[:16]
    return RawRecord(stream=stream, key=key, data=data, cursor=None, error=error)


@dataclass
class PageState:
    """Checks that good records come in ascending cursor order and drops exact re-reads.

    A record whose cursor equals the last one yielded and whose key was already yielded at that
    cursor is a re-read of the page boundary (keyset paging restarts there): it is skipped.
    """

    last: str | None = None
    keys_at_last: set[str] = field(default_factory=set)

    def accept(self, record: RawRecord, where: str) -> bool:
        if record.error is not None or record.cursor is None:
            return True
        if self.last is not None:
            order = compare_cursors(record.cursor, self.last)
            if order < 0:
                raise FatalError(
                    f"{where}: records are not in ascending cursor order ({record.cursor!r} after "
                    f"{self.last!r}), so the watermark would be unsafe; the source must sort by the "
                    "cursor and filter inclusively (else set keyset_paging: false)",
                    record_key=record.key,
                )
            if order == 0 and record.key in self.keys_at_last:
                return False
            if order > 0:
                self.keys_at_last = set()
        self.last = record.cursor
        self.keys_at_last.add(record.key)
        return True


def compare_cursors(left: str, right: str) -> int:
    """Numbers compare as numbers (row versions), anything else as text (ISO-8601 timestamps)."""
    a: tuple[int, int, str] = (0, int(left), "") if left.isdigit() else (1, 0, left)
    b: tuple[int, int, str] = (0, int(right), "") if right.isdigit() else (1, 0, right)
    return (a > b) - (a < b)
