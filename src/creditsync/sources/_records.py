"""Turning a source's items (JSON objects, flattened XML elements) into RawRecords, and dotted paths
into them. The cursor rules themselves live in :mod:`creditsync.sources.cursor`."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from creditsync.sources.base import RawRecord

MISSING: Any = object()


def dig(obj: Any, path: str) -> Any:
    """``obj["a"]["b"]`` for ``"a.b"``; ``""`` is ``obj`` itself; MISSING when absent."""
    if not path:
        return obj
    for part in path.split("."):
        if not isinstance(obj, Mapping) or part not in obj:
            return MISSING
        obj = obj[part]
    return obj


def to_record(stream: str, item: Any, key_field: str, cursor_field: str | None,
              position: str | None = None) -> RawRecord:
    """A RawRecord, or a flagged one (``error`` set, ``cursor`` None) when the item is malformed; its
    reason names ``position`` (page and item, record number) so the department can find it.

    A malformed item is the department's problem, not a reason to stop the stream: the pipeline
    quarantines it and reports it back, and the rest of the page still flows.
    """
    at = f" ({position})" if position else ""
    if not isinstance(item, dict):
        return _bad(stream, {"value": item}, f"item is {type(item).__name__}, not an object{at}")
    key = dig(item, key_field)
    if not _usable(key):
        return _bad(stream, item, f"item has no usable {key_field!r} (got {_short(key)}){at}")
    cursor = None
    if cursor_field:
        value = dig(item, cursor_field)
        if not _usable(value):
            return _bad(stream, item, f"item has no usable {cursor_field!r} (got {_short(value)}){at}",
                        str(key))
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
