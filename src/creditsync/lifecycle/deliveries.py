"""A delivered file, judged as a whole although it is read a chunk at a time.

A file's rows update decisions by their 文书号 (a row is a place, ``<file>#<row>``, not an id). When one
row revokes a decision or holds it back (a publication rule: a minor, secrecy) and another row of the
same file gives it content, the department's file contradicts itself: the revocation or hold applies
and the other row is held. Within a chunk the rows are seen together; across the chunks of a run (a
file longer than the department's ``batch_size``) :class:`ReadThisRun` remembers which rows took a
decision down. Only those are kept, so the memory stays as small as the contradictions are rare; the
pull stores it with the run's stream, so that a pull retried in the same run, reading the file again
from its start, knows what the file's later rows did (its earlier rows are then held, as in one read).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from creditsync.sources.base import is_place_key

if TYPE_CHECKING:
    from creditsync.lifecycle.source import SourceItem


def file_of(item: SourceItem) -> str:
    """The file a row was read from (its place key without the row number)."""
    return item.source_key.rpartition("#")[0]


def file_named(source_key: str | None) -> str | None:
    """The file a stored source key names, if it is a file row's place key (None for an id)."""
    return source_key.rpartition("#")[0] if source_key is not None and is_place_key(source_key) else None


def takes_down(item: SourceItem) -> bool:
    """The row revokes its decision or holds it back: applied whatever other rows say."""
    return item.revoked or item.held_back is not None


@dataclass
class ReadThisRun:
    """The file rows that took a decision down earlier in this run: (file, business key) → the row."""

    taken_down: dict[tuple[str, str], str] = field(default_factory=dict)
    files: set[str] = field(default_factory=set)  # the files this try has read rows of, so far

    def taker(self, item: SourceItem) -> str | None:
        """The source key of a row of the item's file that took its decision down in an earlier chunk."""
        if item.identifies or item.key is None:
            return None
        return self.taken_down.get((file_of(item), item.key))

    def remember(self, items: Sequence[SourceItem]) -> None:
        for item in items:
            if not item.identifies and item.key is not None and takes_down(item):
                self.taken_down.setdefault((file_of(item), item.key), item.source_key)

    def rows(self) -> list[list[str]]:
        """As stored with the run's stream (``RunStream.taken_down``)."""
        return [[file, key, row] for (file, key), row in sorted(self.taken_down.items())]

    @classmethod
    def restored(cls, rows: list[list[str]] | None) -> ReadThisRun:
        """What an earlier try stored (the files it read are read again: they are not counted read)."""
        return cls({(file, key): row for file, key, row in rows or []})
