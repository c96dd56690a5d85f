"""Content hashes stay what they were: msgspec's fast path must give json.dumps's bytes exactly, or every
stored record would look changed on its next read."""

from __future__ import annotations

import hashlib
import json
import random
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from creditsync.hashing import content_hash

CHARS = [chr(c) for c in range(0, 0x250)] + list("中〔〕\u2028\u2029\ufeff𠮷😀") + ["\ud7ff"]


def reference(data: Any) -> str:
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_payloads_of_any_text_hash_as_json_dumps_text() -> None:
    rng = random.Random(3)
    for _ in range(3000):
        data = {"".join(rng.choice(CHARS) for _ in range(rng.randint(1, 6))):
                "".join(rng.choice(CHARS) for _ in range(rng.randint(0, 40))) for _ in range(6)}
        data["nested"] = {"n": rng.randint(-10**12, 10**12), "flag": rng.random() < 0.5, "none": None,
                          "list": ["a", 1, None]}
        assert content_hash(data) == reference(data)


@pytest.mark.parametrize("value", [1e16, 1e-7, 0.1, Decimal("1.50"), date(2026, 3, 1), {"x": 2.5},
                                   [["a", [0.1]]], {"a": {"b": [1, {"c": 1e-7}]}}, [1, "x", [None, 2.5]],
                                   {"a": [True, {"b": Decimal("2")}]}, {1: "integer key"}])
def test_other_values_take_json_dumps_itself(value: Any) -> None:
    assert content_hash({"v": value}) == reference({"v": value})
