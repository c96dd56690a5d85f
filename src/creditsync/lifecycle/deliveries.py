"""A delivered file, judged as a whole although it is read a chunk at a time.

A file's rows update decisions by their 文书号 (a row is a place, ``<file>#<row>``, not an id). When one
row revokes a decision or holds it back (a publication rule: a minor, secrecy) and another row of the
same file gives it content, the department's file contradicts itself: the revocation or hold applies
and the other row is held. Within a chunk the rows are seen together; across the chunks of a run (a
file longer than the department's ``batch_size``) :class:`ReadThisRun` remembers which rows took a
decision down. Only those are kept, so the memory stays as small as the contradictions are rare, and
a retried pull, which reads the file again from its start, rebuilds it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from creditsync.lifecycle.source import SourceItem


def file_of(item: SourceItem) -> str:
    """The file a row was read from (its place key without the row number)."""
    return item.source_key.rpartition("#")[0]


def takes_down(item: SourceItem) -> bool:
    """The row revokes its decision or holds it back: applied whatever other rows say."""
    return item.revoked or item.held_back is not None


@dataclass
class ReadThisRun:
    """The file rows that took a decision down earlier in this run: (file, business key) → the row."""

    taken_down: dict[tuple[str, str], str] = field(default_factory=dict)

    def taker(self, item: SourceItem) -> str | None:
        """The source key of a row of the item's file that took its decision down in an earlier chunk."""
        if item.identifies or item.key is None:
            return None
        return self.taken_down.get((file_of(item), item.key))

    def remember(self, items: Sequence[SourceItem]) -> None:
        for item in items:
            if not item.identifies and item.key is not None and takes_down(item):
                self.taken_down.setdefault((file_of(item), item.key), item.source_key)
