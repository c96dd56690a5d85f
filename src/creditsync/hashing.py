"""Content hashes: the same hash for the same content whatever the key order or how non-ASCII text is
spelt. A record's ``mapped_hash`` (is the department's version new?), a source row's ``source_hash``
(is this bad row the one already quarantined?) and reconciliation's comparison with the platform's copy
all use :func:`content_hash`, so stored hashes stay comparable across releases."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def content_hash(data: Any) -> str:
    """A stable sha256 of JSON-able content (key order and non-ASCII spelling do not matter)."""
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
