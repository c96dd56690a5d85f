"""Dotted source paths (``facts.items.0.amount``) into nested dicts and lists."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any

from pydantic import StringConstraints

# Non-empty segments separated by single dots; a segment of digits also indexes a list.
PATH_PATTERN = r"^[^.]+(\.[^.]+)*$"
SourcePath = Annotated[str, StringConstraints(pattern=PATH_PATTERN)]


def resolve(record: Mapping[str, Any], path: str) -> Any:
    """The value at ``path``, or None when any step is missing (required checks are the schema's job)."""
    current: Any = record
    for segment in path.split("."):
        current = _step(current, segment)
        if current is None:
            return None
    return current


def _step(container: Any, segment: str) -> Any:
    if isinstance(container, Mapping):
        return container.get(segment)
    if _is_list(container) and segment.isascii() and segment.isdigit():
        index = int(segment)
        return container[index] if index < len(container) else None
    return None


def _is_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str | bytes)
