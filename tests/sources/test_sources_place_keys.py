"""A file row's key is a place (its file's name and row number), told apart from a system's own ids:
only a place may be corrected by another record claiming its 文书号 (lifecycle.claims)."""

from __future__ import annotations

import pytest

from creditsync.sources.base import is_place_key, place_key


@pytest.mark.parametrize(("key", "place"), [
    (place_key("penalty_2026.csv", 3), True),
    (place_key("行政处罚.xlsx", 12), True),
    ("penalties.jsonl#1", True),
    ("P000004", False),
    ("CF#12", False),  # an id with a hash sign: no file name
    ("penalty.csv#", False),
    ("penalty.csv#3a", False),
    ("#3", False),
    ("..#3", False),
])
def test_a_place_is_a_file_name_and_a_row(key: str, place: bool) -> None:
    assert is_place_key(key) is place
