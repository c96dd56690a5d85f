"""The framework around every source: one stream read, with the contract's obligations enforced.

:func:`read_stream` is what ``SourceAdapter.read`` runs. It validates and merges the stream's options,
hands the source a :class:`StreamRead` (the options, the typed cursor, the clock, the rate limiter),
and turns whatever the source yields into :class:`RawRecord`\\ s: key and cursor from each dict, the
malformed ones flagged, oversized or too deeply nested ones refused with the value not kept, the
order checked and the boundary re-reads dropped, and the deadlines of :mod:`creditsync.sources.limits`
watched between records. A source that does not retry its own requests (``retry_reads``) is read
again from the last cursor it gave after a transient failure, a few times, within the deadline.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from creditsync.exceptions import ConfigurationError, RetriableError
from creditsync.sources._records import MISSING, dig
from creditsync.sources.base import ItemError, RawRecord, RecordShape
from creditsync.sources.cursor import Cursor, PageState
from creditsync.sources.limits import ReadClock, oversized_fields, too_deep, without_oversized

if TYPE_CHECKING:
    from creditsync.sources.base import SourceAdapter

log = logging.getLogger(__name__)

READ_RETRIES = 3
RETRY_WAITS_S = (1.0, 4.0, 15.0)


@dataclass
class StreamRead:
    """What a source's ``records`` gets for one read of one stream."""

    name: str
    options: Any  # the stream's options model: source defaults merged with the stream's own
    cursor: Cursor | None
    shape: RecordShape
    clock: ReadClock
    throttle: Callable[[], float]
    where: str
    preview: bool = False  # write nothing: no ledgers, no moved files (creditsync check, previews)
    max_pages: int | None = None  # stop after this many pages (creditsync check reads one)
    pages: int = 0
    items_in_page: int = field(default=0, repr=False)
    item_word: str = field(default="item", repr=False)

    @property
    def limits(self) -> Any:
        return self.clock.limits

    def cursor_text(self) -> str | None:
        """The cursor written in the stream's own cursor format (None on a first read)."""
        return None if self.cursor is None else self.shape.render(self.cursor)

    def start_page(self, label: str | None = None, item: str = "item") -> None:
        """A source starts fetching a page: rate limited, its clock started, named in errors (a bad
        item is "<label>, <item> N")."""
        self.pages += 1
        self.items_in_page, self.item_word = 0, item
        self.throttle()
        self.clock.start_page(label or f"page {self.pages}")

    def more_pages(self) -> bool:
        return self.max_pages is None or self.pages < self.max_pages

    def check(self) -> None:
        """Raise if the read or the current page is past its deadline (sources reading slowly call
        this between chunks)."""
        self.clock.check()

    def remaining(self) -> float:
        """Seconds before the read or the page reaches its deadline."""
        return self.clock.remaining()

    def position(self) -> str:
        self.items_in_page += 1
        if not self.pages:
            return f"record {self.items_in_page}"
        return f"{self.clock.page_label}, {self.item_word} {self.items_in_page}"


def read_stream(adapter: SourceAdapter, stream: str, stream_options: Mapping[str, Any] | None,
                cursor: Cursor | str | None, *, preview: bool = False,
                max_pages: int | None = None) -> Iterator[RawRecord]:
    where = adapter._where(stream)
    options = adapter.stream_options(stream, stream_options)
    shape = adapter.record_shape(options)
    start = _start(shape, cursor, where)
    clock = ReadClock(adapter.limits, where)
    throttle = _free if adapter.rate_limits_requests else adapter.rate_limiter.acquire
    read = StreamRead(stream, options, start, shape, clock, throttle, where, preview, max_pages)
    return _Reader(adapter, read).records()


def _free() -> float:
    return 0.0


def _start(shape: RecordShape, cursor: Cursor | str | None, where: str) -> Cursor | None:
    """The cursor to read from, as the stream's cursor format says (a stored cursor of another kind is
    read again as text in that format, else refused: the format was changed under it)."""
    if cursor is None or not shape.cursor_field:
        return None
    text = str(cursor)
    if isinstance(cursor, Cursor) and cursor.kind is shape.cursor_format.kind:
        return cursor
    try:
        return shape.parse_stored(text)
    except (ValueError, ArithmeticError) as exc:
        raise ConfigurationError(
            f"{where}: the stored cursor {text!r} is not a {shape.cursor_format.label} cursor ({exc}); was "
            "the cursor format changed? re-drive the stream from the start "
            "(creditsync quarantine redrive DEPARTMENT --from-start)") from None


class _Reader:
    def __init__(self, adapter: SourceAdapter, read: StreamRead) -> None:
        self.adapter, self.read = adapter, read
        self.state = PageState(read.where)
        self.limits = read.limits

    def records(self) -> Iterator[RawRecord]:
        attempt = 0
        while True:
            try:
                yield from self._attempt()
                return
            except RetriableError as exc:
                if not self.adapter.retry_reads or not self.adapter.ordered or attempt >= READ_RETRIES:
                    raise
                wait = RETRY_WAITS_S[min(attempt, len(RETRY_WAITS_S) - 1)]
                if self.read.clock.remaining() < wait:
                    raise
                attempt += 1
                log.warning("%s: %s; reading again from %s in %.0f s (attempt %d of %d)", self.read.where,
                            exc, self.state.last or self.read.cursor or "the start", wait, attempt + 1,
                            READ_RETRIES + 1)
                time.sleep(wait)
                self.read.cursor = self.state.last or self.read.cursor

    def _attempt(self) -> Iterator[RawRecord]:
        resumed_from = self.state.last
        items = iter(self.adapter.records(self.read))
        while True:
            self.read.clock.start_page(self.read.clock.page_label)  # storing the last chunk never counts
            try:
                item = next(items)
            except StopIteration:
                return
            self.read.check()
            record = self._record(item)
            if not self._wanted(record, resumed_from):
                continue
            yield record

    def _wanted(self, record: RawRecord, resumed_from: Cursor | None) -> bool:
        if record.cursor is None or record.error is not None:
            # A feed read whole: a bad item from before the cursor was reported by an earlier read.
            return self.adapter.ordered or not self._before_start(record.data)
        if not self.adapter.ordered:
            return self.read.cursor is None or record.cursor >= self.read.cursor
        if resumed_from is not None and record.cursor < resumed_from:
            return False  # read again after a failure: already delivered
        return self.state.accept(record)

    def _before_start(self, data: Mapping[str, Any]) -> bool:
        shape, start = self.read.shape, self.read.cursor
        if start is None or not shape.cursor_field:
            return False
        value = dig(data, shape.cursor_field)
        try:
            return value is not MISSING and shape.cursor_format.read(value, shape.zone) < start
        except (ValueError, ArithmeticError, OverflowError):
            return False

    # -- one item --------------------------------------------------------------------------------

    def _record(self, item: Any) -> RawRecord:
        position = self.read.position()
        if isinstance(item, ItemError):
            data = dict(item.data or {})
            return _bad(self.read.name, data, f"{item.reason} ({position})", item.key)
        if isinstance(item, RawRecord):
            return self._guarded(item)
        if not isinstance(item, Mapping):
            return _bad(self.read.name, {"value": _short(item, 200)},
                        f"item is {type(item).__name__}, not an object ({position})")
        normal = self.adapter.normalise(dict(item), self.read.options)
        if isinstance(normal, ItemError):
            data = dict(normal.data or item)
            return _bad(self.read.name, data, f"{normal.reason} ({position})", normal.key)
        return self._guarded(to_record(self.read.name, normal, self.read.shape, position))

    def _guarded(self, record: RawRecord) -> RawRecord:
        """A record whose values break the limits is quarantined, without the offending values."""
        oversized = oversized_fields(record.data, self.limits.max_field_bytes)
        if oversized:
            fields = ", ".join(f"{path} ({size} bytes)" for path, size in oversized)
            return RawRecord(record.stream, record.key, without_oversized(record.data, oversized), None,
                             f"value over max_field_bytes ({self.limits.max_field_bytes}): {fields}; "
                             "the value is not kept")
        if too_deep(record.data, self.limits.max_depth):
            return RawRecord(record.stream, record.key, {"nesting": f"over {self.limits.max_depth} levels"},
                             None, f"the record nests deeper than max_depth ({self.limits.max_depth})")
        return record


def to_record(stream: str, item: Mapping[str, Any], shape: RecordShape,
              position: str | None = None) -> RawRecord:
    """A RawRecord, or a flagged one (``error`` set, ``cursor`` None) when the item has no usable id
    or cursor; its reason names ``position`` (page and item, record number) so the department can
    find it. A malformed item is the department's problem, not a reason to stop the stream."""
    at = f" ({position})" if position else ""
    data = dict(item)
    key = dig(data, shape.key_field)
    if not _usable(key):
        return _bad(stream, data, f"item has no usable {shape.key_field!r} (got {_shown(key)}){at}")
    if not shape.cursor_field:
        return RawRecord(stream, str(key), data)
    value = dig(data, shape.cursor_field)
    if value is MISSING or value is None:
        return _bad(stream, data, f"item has no usable {shape.cursor_field!r} (got {_shown(value)}){at}",
                    str(key))
    try:
        cursor = shape.cursor_format.read(value, shape.zone)
    except (ValueError, ArithmeticError, OverflowError) as exc:
        return _bad(stream, data, f"{shape.cursor_field!r} is not a usable {shape.cursor_format.label} "
                    f"cursor ({exc}; got {_shown(value)}){at}", str(key))
    return RawRecord(stream, str(key), data, cursor)


def _usable(value: Any) -> bool:
    return isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip() != ""


def _shown(value: Any) -> str:
    return "nothing" if value is MISSING else _short(value, 40)


def _short(value: Any, limit: int) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


def _bad(stream: str, data: dict[str, Any], error: str, key: str | None = None) -> RawRecord:
    # With no id of its own the item is keyed by its content, so re-reading it yields the same key.
    if key is None:
        text = json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)
        key = "bad:" + hashlib.sha256(text.encode()).hexdigest()[:16]
    return RawRecord(stream=stream, key=key, data=data, cursor=None, error=error)
