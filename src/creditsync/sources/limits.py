"""The limits the framework enforces around every source, so that no department system (or a broken
or hostile export) can hang a sync, exhaust the worker's memory or fill the store.

Set per department under ``source.limits`` (every key optional)::

    read_timeout_s          whole read of one stream, wall clock (the pull task's Airflow
                            execution_timeout is derived from it)                          7200
    page_timeout_s          one page: a REST response, or the next record of a feed, a
                            file or a database                                             120
    max_page_bytes          one REST page, after decompression                            32 MiB
    max_depth               nesting of a page or a record (objects and lists)              64
    max_field_bytes         one value of a record (UTF-8)                                  1 MiB
    max_decompressed_bytes  an XLSX (zip) file unpacked, checked before parsing          256 MiB
    max_compression_ratio   any member of an XLSX file, unpacked ÷ packed                 200

A breach is permanent, never retried: :class:`SourceLimitError` (a FatalError) fails the stream with
the reason, a file is moved to ``failed/`` with it, and a record with an oversized value is
quarantined with the value replaced by a note (never stored whole).
"""

from __future__ import annotations

import sys
import time
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import msgspec
from pydantic import BaseModel, ConfigDict, Field

from creditsync.exceptions import FatalError

MiB = 1024 * 1024


class SourceLimits(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    read_timeout_s: float = Field(default=7200.0, gt=0, description="whole read of one stream (seconds)")
    page_timeout_s: float = Field(default=120.0, gt=0, description="one page or the next record (seconds)")
    max_page_bytes: int = Field(default=32 * MiB, ge=1024, description="one REST page, decompressed")
    max_depth: int = Field(default=64, ge=2, le=1000, description="nesting of a page or a record")
    max_field_bytes: int = Field(default=MiB, ge=64, description="one value of a record (UTF-8 bytes)")
    max_decompressed_bytes: int = Field(default=256 * MiB, ge=MiB, description="an XLSX file unpacked")
    max_compression_ratio: float = Field(default=200.0, gt=1, description="an XLSX member, unpacked ÷ packed")


class SourceLimitError(FatalError):
    """A limit of :class:`SourceLimits` was exceeded: permanent, the same input fails the same way."""

    def __init__(self, message: str, limit: str, **context: Any) -> None:
        super().__init__(message, limit=limit, **context)
        self.limit = limit


class ReadClock:
    """The whole-read deadline and the current page's deadline of one stream read.

    The page clock restarts when the framework asks the source for its next record and when a source
    starts a page (``start_page``), so the time the pipeline spends storing a chunk never counts.
    ``clock`` is a seam for tests."""

    def __init__(self, limits: SourceLimits, where: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits, self.where, self._clock = limits, where, clock
        self.started = clock()
        self.read_deadline = self.started + limits.read_timeout_s
        self.page_label = "the first page"
        self.page_started = self.started

    def start_page(self, label: str) -> None:
        self.page_label, self.page_started = label, self._clock()
        self.check()

    def remaining(self) -> float:
        """Seconds left before the first of the two deadlines."""
        now = self._clock()
        return min(self.read_deadline, self.page_started + self.limits.page_timeout_s) - now

    def check(self) -> None:
        now = self._clock()
        if now > self.read_deadline:
            raise SourceLimitError(
                f"{self.where}: the read took longer than read_timeout_s ({self.limits.read_timeout_s:g} s) "
                f"and was stopped at {self.page_label}; raise source.limits.read_timeout_s if the source "
                "is just large", "read_timeout_s")
        if now - self.page_started > self.limits.page_timeout_s:
            raise SourceLimitError(
                f"{self.where}: {self.page_label} took longer than page_timeout_s "
                f"({self.limits.page_timeout_s:g} s): the source is too slow or stalled", "page_timeout_s")


# -- values ------------------------------------------------------------------------------------------


_SCALARS = frozenset((str, int, float, bool, type(None)))
_FLAT_MEMBERS = _SCALARS | {list}


def is_flat(value: Any) -> bool:
    """An object of plain values and lists of them (most records): two levels at most, nothing to walk.
    (The member types are gathered in C: this runs on every record.)"""
    if not isinstance(value, Mapping):
        return False
    kinds = set(map(type, value.values()))
    if not kinds <= _FLAT_MEMBERS:
        return False
    return list not in kinds or all(
        set(map(type, item)) <= _SCALARS for item in value.values() if type(item) is list)


def too_deep(value: Any, limit: int) -> bool:
    """Whether objects and lists nest deeper than ``limit`` (iterative: no recursion to exhaust). Runs
    on every page and record: plain dicts and lists are told by their exact type, scalars never pushed."""
    if limit >= 2 and is_flat(value):
        return False
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = _children(item)
        if children is None:
            continue
        if depth > limit:
            return True
        flat_fits = depth + 2 <= limit  # a flat object below holds two levels at most
        stack.extend([(child, depth + 1) for child in children
                      if type(child) not in _SCALARS and not (flat_fits and is_flat(child))])
    return False


def _children(item: Any) -> Any:
    kind = type(item)
    if kind is dict:
        return item.values()
    if kind is list or kind is tuple:
        return item
    if isinstance(item, Mapping):
        return item.values()
    return item if isinstance(item, list | tuple) else None


def oversized_fields(data: Mapping[str, Any], limit: int) -> list[tuple[str, int]]:
    """``(dotted path, bytes)`` of each text value over ``limit`` UTF-8 bytes (a quick length test
    first: a character is at most four bytes). Most records are below the limit as a whole: their JSON
    text, which holds every value's UTF-8 bytes at least once, is measured in C first."""
    if _json_size(data) <= limit:
        return []
    if is_flat(data) and not any(type(item) is list for item in data.values()):
        return sorted((str(key), _size(item)) for key, item in data.items()
                      if type(item) is str and len(item) * 4 > limit and _size(item) > limit)
    found: list[tuple[str, int]] = []
    stack: list[tuple[str, Any]] = [("", data)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str | bytes):
            if len(item) * 4 > limit and (size := _size(item)) > limit:
                found.append((path or "(value)", size))
        elif isinstance(item, Mapping):
            stack.extend((f"{path}.{key}" if path else str(key), child) for key, child in item.items())
        elif isinstance(item, list | tuple):
            stack.extend((f"{path}.{index}", child) for index, child in enumerate(item))
    return sorted(found)


def without_oversized(data: Mapping[str, Any], paths: list[tuple[str, int]]) -> dict[str, Any]:
    """``data`` with each oversized value replaced by a short note: what is kept is small."""
    notes = {path: f"<{size} bytes: over max_field_bytes, not kept>" for path, size in paths}

    def walk(item: Any, path: str) -> Any:
        if path in notes:
            return notes[path]
        if isinstance(item, Mapping):
            return {key: walk(child, f"{path}.{key}" if path else str(key)) for key, child in item.items()}
        if isinstance(item, list | tuple):
            return [walk(child, f"{path}.{index}") for index, child in enumerate(item)]
        return item

    return dict(walk(data, ""))


def _json_size(data: Mapping[str, Any]) -> int:
    """Bytes of ``data`` as JSON, or an upper bound's opposite (no bound) when it is not JSON-able."""
    try:
        return len(_ENCODER.encode(data))
    except (TypeError, ValueError, OverflowError):
        return sys.maxsize


_ENCODER = msgspec.json.Encoder()


def _size(value: str | bytes) -> int:
    return len(value) if isinstance(value, bytes) else len(value.encode("utf-8", "surrogatepass"))


# -- zip files (XLSX) ---------------------------------------------------------------------------------


def zip_problem(path: Path, limits: SourceLimits) -> str | None:
    """Why a zip container (an XLSX workbook) must not be unpacked, from its directory alone (nothing
    is decompressed): the unpacked total over ``max_decompressed_bytes``, or a member packed more than
    ``max_compression_ratio`` times (a decompression bomb). Python's zipfile never unpacks a member
    past its declared size, so the declared sizes are the ones that matter."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return None  # not a zip at all: the reader reports the damaged file in its own words
    total = sum(member.file_size for member in members)
    if total > limits.max_decompressed_bytes:
        return (f"unpacked it would be {total} bytes, over max_decompressed_bytes "
                f"({limits.max_decompressed_bytes})")
    for member in members:
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > MiB and ratio > limits.max_compression_ratio:
            return (f"its part {member.filename} unpacks {ratio:.0f} times larger than it is packed "
                    f"({member.file_size} bytes), over max_compression_ratio "
                    f"({limits.max_compression_ratio:g}): a decompression bomb")
    return None
