"""Binding many rows to one audit entry: a Merkle root over their leaf hashes (RFC 6962 shape).

A chunk of versions or a batch of receipts gets one entry in the chain whose details hold the root of
its rows' leaves; each row keeps what its leaf is computed from. Verifying a row recomputes its leaf
and the root of its entry's rows: a row altered, added or removed changes the root.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

EMPTY_ROOT = hashlib.sha256(b"").hexdigest()


def leaf_hash(content: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + content).digest()


def merkle_root(leaves: Sequence[bytes]) -> str:
    """The root (hex) over leaf hashes in the order given; the order is part of what is bound."""
    if not leaves:
        return EMPTY_ROOT
    level = list(leaves)
    while len(level) > 1:
        paired = [hashlib.sha256(b"\x01" + level[i] + level[i + 1]).digest()
                  for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])  # an odd node is promoted unchanged
        level = paired
    return level[0].hex()
