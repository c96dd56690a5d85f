"""Dotted paths into a source's items (JSON objects, flattened XML elements). Turning items into
RawRecords is the framework's (:func:`creditsync.sources.reading.to_record`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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
