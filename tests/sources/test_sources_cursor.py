"""The typed cursor every source and the pipeline share: instants compared as instants (any offset, any
precision), row versions as numbers, text as text; formats read from records and sent back in the
department's own format and zone; order, inclusive start, highest of a chunk and boundary re-reads."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from creditsync.exceptions import FatalError
from creditsync.sources.base import RawRecord
from creditsync.sources.cursor import (
    Cursor,
    CursorKind,
    PageState,
    compare_cursors,
    is_at_or_after,
    max_cursor,
)
from creditsync.sources.cursor_formats import CursorFormat

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("left", "right", "order"),
    [
        ("2026-05-10T10:00:00+08:00", "2026-05-10T02:00:00Z", 0),  # one instant, two offsets
        ("2026-05-10T10:00:00+08:00", "2026-05-10T03:00:00Z", -1),  # as text it would sort after
        ("2026-05-10T10:00:00Z", "2026-05-10T10:00:00.123Z", -1),  # as text "Z" > "."
        ("2026-05-10T10:00:00.1Z", "2026-05-10T10:00:00.100000000Z", 0),  # precision is not order
        ("2026-05-10T10:00:00.000000001Z", "2026-05-10T10:00:00Z", 1),  # nanoseconds kept
        ("2026-05-10T09:59:59.999999-01:00", "2026-05-10T10:00:00Z", 1),
        ("2026-05-10 10:00:00", "2026-05-10T10:00:00", 0),  # local times: space or T
        ("2026-05-10", "2026-05-10T00:00:00", 0),  # a date is its midnight
        ("2026-05-10T10:00+0800", "2026-05-10T02:00:00Z", 0),  # compact offsets
        ("9", "12", -1),  # row versions compare as numbers, not as text
        ("12", "0012", 0),
        ("2026-05-03T08:00:00.000000Z|a.csv", "2026-05-03T08:00:00.000000Z|b.csv", -1),  # file ties
        ("2026-05-03T16:00:00+08:00|b.csv", "2026-05-03T08:00:00Z|a.csv", 1),
        ("7", "2026-01-01", -1),  # mixed kinds: numbers first, never an exception
        ("2026-01-01", "abc", -1),
    ],
)
def test_cursors_compare_by_what_they_mean(left: str, right: str, order: int) -> None:
    assert compare_cursors(left, right) == order
    assert compare_cursors(right, left) == -order
    a, b = Cursor.parse(left), Cursor.parse(right)
    assert (a == b) is (order == 0) and (hash(a) == hash(b) if order == 0 else True)


@pytest.mark.parametrize(("text", "kind", "stored"), [
    ("2026-05-10T10:00:00+08:00", CursorKind.INSTANT, "2026-05-10T10:00:00+08:00"),
    ("2026-05-10T10:00:00.5+08:00", CursorKind.INSTANT, "2026-05-10T10:00:00.500000+08:00"),
    ("2026-05-10T02:00:00.123456789Z", CursorKind.INSTANT, "2026-05-10T02:00:00.123456789Z"),
    ("2026-05-10 09:30", CursorKind.INSTANT, "2026-05-10T09:30:00"),
    ("0042", CursorKind.NUMBER, "42"),
    ("A-17", CursorKind.TEXT, "A-17"),
])
def test_a_cursor_is_stored_as_canonical_text_with_its_kind(text: str, kind: CursorKind, stored: str) -> None:
    cursor = Cursor.parse(text)
    assert cursor.kind is kind and str(cursor) == stored
    assert Cursor.parse(str(cursor), cursor.kind) == cursor


def test_a_cursor_of_a_declared_kind_must_be_one() -> None:
    with pytest.raises(ValueError):
        Cursor.parse("2026-05-10", CursorKind.NUMBER)
    with pytest.raises(ValueError):
        Cursor.parse("yesterday", CursorKind.INSTANT)
    assert Cursor.parse("123", CursorKind.TEXT).kind is CursorKind.TEXT


def test_datetimes_become_instants_in_their_zone() -> None:
    local = datetime(2026, 5, 10, 10, 0)
    assert Cursor.of_instant(local, SHANGHAI) == Cursor.parse("2026-05-10T02:00:00Z")
    assert Cursor.of_instant(local).is_local
    assert Cursor.parse("2026-05-10T10:00:00+08:00").as_datetime(UTC) == datetime(2026, 5, 10, 2, tzinfo=UTC)
    assert Cursor.of_instant(date(2026, 5, 10)) == Cursor.parse("2026-05-10")


# -- formats, both ways ------------------------------------------------------------------------------

EPOCH_MS = 1778378400123  # 2026-05-10T02:00:00.123Z


@pytest.mark.parametrize(("fmt", "value", "zone", "instant"), [
    ("epoch_ms", EPOCH_MS, None, "2026-05-10T02:00:00.123Z"),
    ("epoch_ms", str(EPOCH_MS), SHANGHAI, "2026-05-10T10:00:00.123+08:00"),
    ("epoch_s", 1778378400, None, "2026-05-10T02:00:00Z"),
    ("epoch_s", "1778378400.5", None, "2026-05-10T02:00:00.5Z"),
    ("iso8601", "2026-05-10T10:00:00", SHANGHAI, "2026-05-10T02:00:00Z"),  # no offset: the zone's
    ("iso8601", "2026-05-10T02:00:00Z", SHANGHAI, "2026-05-10T02:00:00Z"),  # an offset wins
    ("iso8601", datetime(2026, 5, 10, 10), SHANGHAI, "2026-05-10T02:00:00Z"),
    ({"type": "date", "pattern": "%Y%m%d%H%M%S"}, "20260510100000", SHANGHAI, "2026-05-10T02:00:00Z"),
])
def test_formats_read_records_as_instants(fmt: Any, value: Any, zone: Any, instant: str) -> None:
    assert CursorFormat.model_validate(fmt).read(value, zone) == Cursor.parse(instant)


@pytest.mark.parametrize(("fmt", "value"), [
    ("epoch_ms", "12:00"), ("epoch_ms", True), ("epoch_ms", ""), ("iso8601", 1778378400),
    ("iso8601", "5月10日"),
    ("row_version", "1.5"), ("row_version", None), ({"type": "date", "pattern": "%Y%m%d"}, "2026-05-10"),
])
def test_formats_refuse_values_that_are_not_theirs(fmt: Any, value: Any) -> None:
    with pytest.raises((ValueError, ArithmeticError)):
        CursorFormat.model_validate(fmt).read(value)


@pytest.mark.parametrize(("fmt", "zone", "sent"), [
    ("iso8601", SHANGHAI, "2026-05-10T10:00:00.123+08:00"),  # written in the department's zone
    ("iso8601", None, "2026-05-10T02:00:00.123Z"),
    ("epoch_ms", SHANGHAI, str(EPOCH_MS)),
    ("epoch_s", None, "1778378400"),  # floored: an inclusive filter then re-reads, never skips
    ({"type": "date", "pattern": "%Y-%m-%d %H:%M:%S"}, SHANGHAI, "2026-05-10 10:00:00"),
])
def test_formats_send_the_cursor_in_the_departments_own_way(fmt: Any, zone: Any, sent: str) -> None:
    cursor = CursorFormat(type="epoch_ms").read(EPOCH_MS)
    assert CursorFormat.model_validate(fmt).render(cursor, zone) == sent


def test_an_epoch_cursor_sent_as_iso_and_read_back_is_not_later_than_it() -> None:
    cursor = CursorFormat(type="epoch_ms").read(EPOCH_MS)
    iso = CursorFormat(type="iso8601")
    assert iso.read(iso.render(cursor, SHANGHAI)) <= cursor
    assert CursorFormat(type="row_version").render(Cursor.of_number(42)) == "42"
    with pytest.raises(ValueError, match="needs a"):
        CursorFormat(type="row_version").render(cursor)


def test_a_date_format_needs_a_pattern_with_a_year() -> None:
    with pytest.raises(ValueError):
        CursorFormat(type="date")
    with pytest.raises(ValueError):
        CursorFormat(type="date", pattern="%m%d")
    assert CursorFormat.model_validate("epoch_ms").type == "epoch_ms"


def test_a_stored_cursor_is_read_in_the_streams_format() -> None:
    ms = CursorFormat(type="epoch_ms")
    assert ms.parse_stored("2026-05-10T02:00:00.123000Z") == ms.read(EPOCH_MS)
    assert ms.parse_stored(str(EPOCH_MS)) == ms.read(EPOCH_MS)  # typed by hand in the format itself
    assert CursorFormat().parse_stored("2026-05-10T10:00:00", SHANGHAI) == Cursor.parse("2026-05-10T02:00Z")


# -- the rules -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "cursor", "expected"),
                         [("5", None, True), ("5", "5", True), ("4", "5", False), ("10", "9", True),
                          ("2026-05-10T10:00:00+08:00", "2026-05-10T02:00:00Z", True)])
def test_a_read_includes_the_cursor_value_itself(value: str, cursor: str | None, expected: bool) -> None:
    assert is_at_or_after(value, cursor) is expected


def record(key: str, cursor: str | None, error: str | None = None) -> RawRecord:
    return RawRecord(stream="penalty", key=key, data={}, cursor=cursor, error=error)


def test_a_raw_records_text_cursor_becomes_typed() -> None:
    assert record("a", "2026-05-10T10:00:00+08:00").cursor == Cursor.parse("2026-05-10T02:00:00Z")
    assert RawRecord("p", "a", {}, Decimal("3") and 3).cursor == Cursor.of_number(3)  # type: ignore[arg-type]


def test_max_cursor_is_the_highest_not_the_last_and_ignores_bad_records() -> None:
    chunk = [record("a", "2026-05-03T08:00:00+08:00"), record("b", "2026-05-03T00:30:00Z"),
             record("c", None, "no key")]
    assert max_cursor(None, chunk) == Cursor.parse("2026-05-03T00:30:00Z")  # later, though "smaller"
    assert max_cursor(Cursor.parse("2026-06-01"), chunk) == Cursor.parse("2026-06-01")
    assert max_cursor(None, []) is None


def test_page_state_skips_a_re_read_boundary_record_and_keeps_new_ones_at_the_same_cursor() -> None:
    state = PageState()
    assert state.accept(record("a", "5"), "here") and state.accept(record("b", "5"), "here")
    assert not state.accept(record("a", "5"), "here")  # the next page restarts at cursor 5
    assert state.accept(record("c", "5"), "here")
    assert state.accept(record("a", "6"), "here")  # a later change of the same record is new
    assert state.accept(record("x", None, "bad"), "here")


def test_a_sorted_source_mixing_z_and_plus_eight_never_trips_the_ordering_check() -> None:
    stamps = ["2026-05-10T09:00:00+08:00", "2026-05-10T01:30:00Z", "2026-05-10T09:45:00.5+08:00",
              "2026-05-10T01:45:00.500000001Z", "2026-05-10T10:00:00+08:00", "2026-05-10T02:00:00Z"]
    state = PageState()
    accepted = [state.accept(record(f"r{n}", stamp), "here") for n, stamp in enumerate(stamps)]
    assert accepted == [True] * len(stamps)
    assert not state.accept(record("r5", "2026-05-10T10:00:00+08:00"), "here")  # the same instant, re-read


def test_page_state_refuses_a_source_that_is_not_sorted_by_the_cursor() -> None:
    state = PageState()
    state.accept(record("a", "2026-02-01T08:00:00+08:00"), "here")
    with pytest.raises(FatalError, match="ascending cursor order"):
        state.accept(record("b", "2026-01-31T23:59:59Z"), "here")
