"""Content hashes: the same hash for the same content whatever the key order or how non-ASCII text is
spelt. A record's ``mapped_hash`` (is the department's version new?), a source row's ``source_hash``
(is this bad row the one already quarantined?) and reconciliation's comparison with the platform's copy
all use :func:`content_hash`, so stored hashes stay comparable across releases."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import msgspec

_EXACT = frozenset((str, int, bool, type(None)))  # msgspec writes these as json.dumps does (not floats)
_CONTAINERS = frozenset((dict, list))


def content_hash(data: Any) -> str:
    """A stable sha256 of JSON-able content (key order and non-ASCII spelling do not matter).

    The text hashed is ``json.dumps(sort_keys, ensure_ascii=False, compact, default=str)``'s; content of
    strings, integers, booleans and nulls only (every payload) is encoded by msgspec, whose output is
    byte for byte the same for those (a test keeps it so) and several times faster."""
    if _exact(data):
        return hashlib.sha256(msgspec.json.encode(data, order="sorted")).hexdigest()
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _exact(value: Any) -> bool:
    """Whether msgspec's text is json.dumps's for ``value``; member types gathered in C per level."""
    if isinstance(value, dict):
        if not set(map(type, value)) <= {str}:
            return False
        members: Any = value.values()
    elif isinstance(value, list):
        members = value
    else:
        return type(value) in _EXACT
    kinds = set(map(type, members))
    if kinds <= _EXACT:
        return True
    if not kinds <= _EXACT | _CONTAINERS:
        return False
    return all(_exact(item) for item in members if type(item) in _CONTAINERS)
