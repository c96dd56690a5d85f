"""A row's canonical text, as a table: the seal covers exactly what the columns hold, and a separator
inside a value cannot shift one column's text into the next."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from creditsync.lifecycle.seal import RowMac, canonical

SEP = "\x1f"
BEIJING = timezone(timedelta(hours=8))


@pytest.mark.parametrize(("values", "text"), [
    (["a", "b"], f"a{SEP}b"),
    (["a", None, 3], f"a{SEP}{SEP}3"),
    ([datetime(2026, 5, 1, 8, 0, tzinfo=BEIJING)], "2026-05-01T00:00:00.000000"),
    ([datetime(2026, 5, 1, 0, 0, tzinfo=UTC)], "2026-05-01T00:00:00.000000"),
    ([datetime(2026, 5, 1, 0, 0)], "2026-05-01T00:00:00.000000"),  # SQLite keeps UTC naive
    ([date(2026, 5, 1), True], f"2026-05-01{SEP}True"),
    ([f"x{SEP}y", "z"], f"x y{SEP}z"),
    ([1.5, "中文"], f"1.5{SEP}中文"),
    ([], ""),
])
def test_canonical_text(values: list[Any], text: str) -> None:
    assert canonical(values) == text.encode("utf-8")


def test_a_separator_inside_values_keeps_one_per_column_boundary() -> None:
    for values in ([f"a{SEP}b", "c"], ["a", f"b{SEP}c"], [f"{SEP}", None, f"{SEP}{SEP}"]):
        assert canonical(values).count(SEP.encode()) == len(values) - 1


ROW_TEXTS = [b"", "records\x1e长市监处罚〔2026〕1号".encode(), bytes(range(256)) * 5]


@pytest.mark.parametrize("key", [b"", b"k", bytes(range(32)), bytes(64), b"x" * 65, b"\xff" * 200])
@pytest.mark.parametrize("text", ROW_TEXTS)
def test_the_row_mac_is_rfc_2104_hmac_sha256(key: bytes, text: bytes) -> None:
    mac = RowMac(key)
    assert mac.hexdigest(text) == hmac.new(key, text, hashlib.sha256).hexdigest()
    assert mac.hexdigest(text) == mac.hexdigest(text)  # the key states are copied, never consumed
