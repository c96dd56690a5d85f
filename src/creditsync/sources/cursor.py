"""The cursor (watermark) of a stream, as one concept: how two cursors compare, the highest of a chunk,
whether a record is at or after the cursor, and de-duplication at a page boundary.

A cursor is the text a source gives for a record's position in time: an ISO-8601 timestamp, a row
version (digits), or the file adapter's ``<mtime>|<name>``. The pipeline commits the highest cursor of
a completed read (:func:`max_cursor`) and asks the source for records at or after it next time
(inclusive, so records sharing the last value are never lost; the overlap is deduped by content).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from creditsync.exceptions import FatalError
from creditsync.sources.base import RawRecord

__all__ = ["PageState", "compare_cursors", "is_at_or_after", "max_cursor"]


def compare_cursors(left: str, right: str) -> int:
    """-1, 0 or 1. Numbers compare as numbers (row versions), anything else as text (ISO-8601)."""
    a: tuple[int, int, str] = (0, int(left), "") if left.isdigit() else (1, 0, left)
    b: tuple[int, int, str] = (0, int(right), "") if right.isdigit() else (1, 0, right)
    return (a > b) - (a < b)


def is_at_or_after(value: str, cursor: str | None) -> bool:
    """Whether a record with cursor ``value`` belongs to a read that starts at ``cursor`` (inclusive)."""
    return cursor is None or compare_cursors(value, cursor) >= 0


def max_cursor(current: str | None, records: Iterable[RawRecord]) -> str | None:
    """The highest cursor of ``current`` and the records': the maximum, not the last, because
    whole-document sources (the XML feed) yield in the document's order. Bad records carry no cursor."""
    for record in records:
        if record.cursor is not None and (current is None or compare_cursors(record.cursor, current) > 0):
            current = record.cursor
    return current


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
