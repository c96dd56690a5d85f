"""The cursor (watermark) of a stream as one typed value, and the rules every source shares.

A :class:`Cursor` is one of three kinds, stored with its kind (``cursors.kind``):

* ``instant``: a moment in time, compared as a moment: ``…T10:00:00+08:00`` equals ``…T02:00:00Z``,
  ``…10:00:00Z`` sorts before ``…10:00:00.123Z``, and nanoseconds are kept. A time written without an
  offset (a database ``DATETIME`` with no zone configured) is a *local* instant: it compares as if it
  were UTC, which is right as long as one stream never mixes local and zoned values (the stream's
  ``timezone`` option turns local values into zoned ones). An optional ``tie`` breaks ties between
  equal instants (the file source's file name).
* ``number``: a row version or serial id, compared as an integer (``9`` before ``12``).
* ``text``: an opaque value compared as text (a token the department defines the order of).

Kinds order ``number < instant < text`` so that a mixed comparison never raises; a stream's cursor
format (:mod:`creditsync.sources.cursor_formats`) keeps one kind per stream.

The pipeline commits the highest cursor of a completed read (:func:`max_cursor`) and asks the source
for records at or after it next time (inclusive, so records sharing the last value are never lost;
the overlap is removed at the boundary by :class:`PageState` and deduped by content downstream).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone, tzinfo
from enum import StrEnum
from functools import lru_cache, total_ordering
from typing import TYPE_CHECKING, Any

from creditsync.exceptions import FatalError

if TYPE_CHECKING:
    from creditsync.sources.base import RawRecord

__all__ = ["Cursor", "CursorKind", "PageState", "compare_cursors", "is_at_or_after", "max_cursor"]

NS = 1_000_000_000
_ISO = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?"
    r"\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$", re.ASCII)
_NUMBER = re.compile(r"^[+-]?\d+$", re.ASCII)


class CursorKind(StrEnum):
    NUMBER = "number"
    INSTANT = "instant"
    TEXT = "text"


_RANK = {CursorKind.NUMBER: 0, CursorKind.INSTANT: 1, CursorKind.TEXT: 2}


@total_ordering
@dataclass(frozen=True, eq=False)
class Cursor:
    """A typed watermark; build one with :meth:`parse`, :meth:`of_instant`, :meth:`of_epoch_ns`,
    :meth:`of_number` or :meth:`of_text`. ``str(cursor)`` is its stored text."""

    kind: CursorKind
    number: int = 0  # NUMBER
    epoch_ns: int = 0  # INSTANT: nanoseconds since 1970-01-01 UTC (local instants: as if UTC)
    offset_min: int | None = None  # INSTANT: minutes east of UTC as written; None: a local time
    value: str = ""  # TEXT
    tie: str = ""  # INSTANT: orders equal instants (the file source's file name)
    _key: tuple[Any, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        primary: Any = {CursorKind.NUMBER: self.number, CursorKind.INSTANT: self.epoch_ns,
                        CursorKind.TEXT: self.value}[self.kind]
        object.__setattr__(self, "_key", (_RANK[self.kind], primary, self.tie))

    # -- construction ----------------------------------------------------------------------------

    @classmethod
    def of_number(cls, value: int) -> Cursor:
        return cls(CursorKind.NUMBER, number=int(value))

    @classmethod
    def of_text(cls, value: str) -> Cursor:
        return cls(CursorKind.TEXT, value=value)

    @classmethod
    def of_epoch_ns(cls, epoch_ns: int, offset_min: int | None = 0, tie: str = "") -> Cursor:
        return cls(CursorKind.INSTANT, epoch_ns=epoch_ns, offset_min=offset_min, tie=tie)

    @classmethod
    def of_instant(cls, moment: datetime | date, zone: tzinfo | None = None, tie: str = "") -> Cursor:
        """A datetime (or a date: its midnight); a naive one takes ``zone`` when given."""
        if not isinstance(moment, datetime):
            moment = datetime(moment.year, moment.month, moment.day)
        if moment.tzinfo is None and zone is not None:
            moment = moment.replace(tzinfo=zone)
        offset = moment.utcoffset()
        wall = moment.replace(tzinfo=None)
        seconds = calendar.timegm(wall.timetuple())
        minutes = None if offset is None else int(offset.total_seconds() // 60)
        epoch = (seconds - (minutes or 0) * 60) * NS + wall.microsecond * 1000
        return cls(CursorKind.INSTANT, epoch_ns=epoch, offset_min=minutes, tie=tie)

    @classmethod
    def parse(cls, text: str, kind: CursorKind | str | None = None) -> Cursor:
        """Stored text back into a cursor of ``kind`` (None: guessed from the text: digits are a
        number, an ISO-8601 date or time an instant, anything else text). ValueError if it is not."""
        text = text.strip()
        wanted = CursorKind(kind) if kind else _guess(text)
        if wanted is CursorKind.NUMBER:
            if not _NUMBER.match(text):
                raise ValueError(f"{text!r} is not a whole number")
            return cls.of_number(int(text))
        if wanted is CursorKind.INSTANT:
            moment, _, tie = text.partition("|")
            return parse_instant(moment, tie=tie)
        return cls.of_text(text)

    @classmethod
    def coerce(cls, value: Cursor | str | int | None) -> Cursor | None:
        if value is None or isinstance(value, Cursor):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return cls.of_number(value)
        return cls.parse(str(value))

    # -- reading ---------------------------------------------------------------------------------

    @property
    def is_local(self) -> bool:
        return self.kind is CursorKind.INSTANT and self.offset_min is None

    def as_datetime(self, zone: tzinfo | None = None) -> datetime:
        """The instant as a datetime (microseconds; nanoseconds are floored): in ``zone`` when given,
        else at its own offset; a local instant stays naive (or is taken to be in ``zone``)."""
        self._expect(CursorKind.INSTANT)
        seconds, rest = divmod(self.epoch_ns + (self.offset_min or 0) * 60 * NS, NS)
        wall = datetime(1970, 1, 1) + timedelta(seconds=seconds, microseconds=rest // 1000)
        if self.offset_min is None:
            return wall if zone is None else wall.replace(tzinfo=zone)
        moment = wall.replace(tzinfo=timezone(timedelta(minutes=self.offset_min)))
        return moment.astimezone(zone) if zone is not None else moment

    def _expect(self, kind: CursorKind) -> None:
        if self.kind is not kind:
            raise ValueError(f"cursor {self} is a {self.kind}, not a {kind}")

    def __str__(self) -> str:
        if self.kind is CursorKind.NUMBER:
            return str(self.number)
        if self.kind is CursorKind.TEXT:
            return self.value
        return _iso(self) + (f"|{self.tie}" if self.tie else "")

    # -- comparison ------------------------------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Cursor) and self._key == other._key

    def __lt__(self, other: Cursor) -> bool:
        return self._key < other._key

    def __hash__(self) -> int:
        return hash(self._key)


@lru_cache(maxsize=8192)  # records of one page share their timestamps' texts often
def parse_instant(text: str, zone: tzinfo | None = None, tie: str = "") -> Cursor:
    """ISO-8601 (``2026-05-10``, ``2026-05-10 09:30``, ``…T09:30:15.123456789+08:00``, ``…Z``) with up to
    nine fraction digits; a time without offset takes ``zone`` when given, else stays local."""
    match = _ISO.match(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not an ISO-8601 date or time")
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    wall = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0))
    nanos = int((fraction or "").ljust(9, "0")) if fraction else 0
    if offset is None:
        if zone is None:
            return Cursor.of_epoch_ns(calendar.timegm(wall.timetuple()) * NS + nanos, None, tie)
        base = Cursor.of_instant(wall, zone)
        return Cursor.of_epoch_ns(base.epoch_ns + nanos, base.offset_min, tie)
    minutes = _offset_minutes(offset)
    epoch = (calendar.timegm(wall.timetuple()) - minutes * 60) * NS + nanos
    return Cursor.of_epoch_ns(epoch, minutes, tie)


def _offset_minutes(text: str) -> int:
    if text in ("Z", "z"):
        return 0
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    minutes = int(digits[:2]) * 60 + int(digits[2:4] or 0)
    if minutes >= 24 * 60:
        raise ValueError(f"offset {text!r} is out of range")
    return sign * minutes


def _guess(text: str) -> CursorKind:
    if _NUMBER.match(text):
        return CursorKind.NUMBER
    if _ISO.match(text.partition("|")[0].strip()):
        return CursorKind.INSTANT
    return CursorKind.TEXT


def _iso(cursor: Cursor) -> str:
    """Wall time at the cursor's own offset, as sources usually write it: whole seconds, else six
    fraction digits, nine when it has nanoseconds."""
    local_ns = cursor.epoch_ns + (cursor.offset_min or 0) * 60 * NS
    seconds, nanos = divmod(local_ns, NS)
    wall = datetime(1970, 1, 1) + timedelta(seconds=seconds)
    fraction = "" if nanos == 0 else f".{nanos // 1000:06d}" if nanos % 1000 == 0 else f".{nanos:09d}"
    return f"{wall:%Y-%m-%dT%H:%M:%S}{fraction}{_offset_text(cursor.offset_min)}"


def _offset_text(minutes: int | None) -> str:
    if minutes is None:
        return ""
    if minutes == 0:
        return "Z"
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{rest:02d}"


# -- the rules the pipeline and the sources share ----------------------------------------------------


def compare_cursors(left: Cursor | str, right: Cursor | str) -> int:
    """-1, 0 or 1; text is parsed first (kind guessed), so ``"9" < "12"`` and ``Z`` equals ``+08:00``."""
    a, b = Cursor.coerce(left), Cursor.coerce(right)
    assert a is not None and b is not None
    return (a > b) - (a < b)


def is_at_or_after(value: Cursor | str, cursor: Cursor | str | None) -> bool:
    """Whether a record with cursor ``value`` belongs to a read that starts at ``cursor`` (inclusive)."""
    return cursor is None or compare_cursors(value, cursor) >= 0


def max_cursor(current: Cursor | None, records: Iterable[RawRecord]) -> Cursor | None:
    """The highest cursor of ``current`` and the records': the maximum, not the last, because
    whole-document sources (the XML feed) yield in the document's order. Bad records carry no cursor."""
    for record in records:
        if record.cursor is not None and (current is None or record.cursor > current):
            current = record.cursor
    return current


@dataclass
class PageState:
    """Checks that good records come in ascending cursor order and drops exact re-reads.

    A record whose cursor equals the last one yielded and whose key was already yielded at that
    cursor is a re-read of the page boundary (keyset paging restarts there): it is skipped.
    """

    where: str = ""
    last: Cursor | None = None
    keys_at_last: set[str] = field(default_factory=set)

    def accept(self, record: RawRecord, where: str | None = None) -> bool:
        if record.error is not None or record.cursor is None:
            return True
        if self.last is not None:
            if record.cursor < self.last:
                raise FatalError(
                    f"{where or self.where}: records are not in ascending cursor order ({record.cursor} "
                    f"after {self.last}), so the watermark would be unsafe; the source must sort by the "
                    "cursor and filter inclusively (>=)", record_key=record.key)
            if record.cursor == self.last and record.key in self.keys_at_last:
                return False
            if record.cursor > self.last:
                self.keys_at_last = set()
        self.last = record.cursor
        self.keys_at_last.add(record.key)
        return True

