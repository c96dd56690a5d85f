"""The per-record limit checks, as a table: flat records take the fast paths, and every path answers as
the full walk does (an oversized value is found wherever it sits, whatever its script)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from creditsync.sources.limits import is_flat, oversized_fields, too_deep

BIG = "罚" * 40  # 120 UTF-8 bytes, 40 characters


@pytest.mark.parametrize(("data", "flat"), [
    ({"a": "x", "b": 1, "c": 1.5, "d": None, "e": True}, True),
    ({"a": ["x", 1, None]}, True),
    ({"a": ["x", ["nested"]]}, False),
    ({"a": {"b": 1}}, False),
    ({"a": date(2026, 1, 1)}, False),
    ({"a": ("tuple",)}, False),
    (["not", "an", "object"], False),
    ({}, True),
])
def test_flat_records(data: Any, flat: bool) -> None:
    assert is_flat(data) is flat


@pytest.mark.parametrize(("data", "limit", "found"), [
    ({"a": "x" * 100}, 100, []),
    ({"a": "x" * 101}, 100, [("a", 101)]),
    ({"a": BIG, "b": "short"}, 119, [("a", 120)]),
    ({"a": BIG}, 120, []),
    ({"a": {"b": [1, BIG]}}, 100, [("a.b.1", 120)]),
    ({"a": [BIG, "x"], "z": BIG}, 100, [("a.0", 120), ("z", 120)]),
    ({"a": b"\x00" * 101}, 100, [("a", 101)]),  # bytes: not JSON, measured by the walk
    ({"a": date(2026, 1, 1), "b": "y" * 200}, 100, [("b", 200)]),
    ({"when": date(2026, 1, 1), "note": "ok"}, 64, []),
])
def test_oversized_fields_whatever_the_record_holds(data: Any, limit: int, found: list[Any]) -> None:
    assert oversized_fields(data, limit) == found


@pytest.mark.parametrize(("data", "limit", "deep"), [
    ({"a": [1, 2]}, 2, False),
    ({"a": [[1]]}, 2, True),
    ({"a": {"b": {"c": 1}}}, 3, False),
    ({"a": {"b": {"c": {}}}}, 3, True),
])
def test_depth(data: Any, limit: int, deep: bool) -> None:
    assert too_deep(data, limit) is deep
