"""The cursor rules every source and the pipeline share: order, inclusive start, highest of a chunk,
and de-duplication where keyset paging re-reads a page boundary."""

from __future__ import annotations

import pytest

from creditsync.exceptions import FatalError
from creditsync.sources.base import RawRecord
from creditsync.sources.cursor import PageState, compare_cursors, is_at_or_after, max_cursor


@pytest.mark.parametrize(
    ("left", "right", "order"),
    [
        ("9", "12", -1),  # row versions compare as numbers, not as text
        ("12", "12", 0),
        ("2026-05-03 08:00:00", "2026-05-01 23:59:59", 1),
        ("2026-05-03T08:00:00.000000Z|a.csv", "2026-05-03T08:00:00.000000Z|b.csv", -1),
        ("7", "2026-01-01", -1),  # mixed formats: numbers first, never an exception
    ],
)
def test_compare_cursors(left: str, right: str, order: int) -> None:
    assert compare_cursors(left, right) == order
    assert compare_cursors(right, left) == -order


@pytest.mark.parametrize(("value", "cursor", "expected"),
                         [("5", None, True), ("5", "5", True), ("4", "5", False), ("10", "9", True)])
def test_a_read_includes_the_cursor_value_itself(value: str, cursor: str | None, expected: bool) -> None:
    assert is_at_or_after(value, cursor) is expected


def record(key: str, cursor: str | None, error: str | None = None) -> RawRecord:
    return RawRecord(stream="penalty", key=key, data={}, cursor=cursor, error=error)


def test_max_cursor_is_the_highest_not_the_last_and_ignores_bad_records() -> None:
    chunk = [record("a", "2026-05-03"), record("b", "2026-05-01"), record("c", None, "no key")]
    assert max_cursor(None, chunk) == "2026-05-03"
    assert max_cursor("2026-06-01", chunk) == "2026-06-01"
    assert max_cursor(None, []) is None


def test_page_state_skips_a_re_read_boundary_record_and_keeps_new_ones_at_the_same_cursor() -> None:
    state = PageState()
    assert state.accept(record("a", "5"), "here") and state.accept(record("b", "5"), "here")
    assert not state.accept(record("a", "5"), "here")  # the next page restarts at cursor 5
    assert state.accept(record("c", "5"), "here")
    assert state.accept(record("a", "6"), "here")  # a later change of the same record is new
    assert state.accept(record("x", None, "bad"), "here")


def test_page_state_refuses_a_source_that_is_not_sorted_by_the_cursor() -> None:
    state = PageState()
    state.accept(record("a", "2026-02-01"), "here")
    with pytest.raises(FatalError, match="ascending cursor order"):
        state.accept(record("b", "2026-01-01"), "here")
