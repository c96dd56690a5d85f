"""The cyclic garbage collector's settings for a sync process.

A chunk of 500 records allocates tens of thousands of dicts and lists that die with the chunk; reference
counting frees them, the collector only looks for cycles. With the default thresholds it runs a young
collection every 700 allocations and a full one, re-scanning every module, schema and compiled mapping
built at start-up, every few hundred thousand: a few per cent of a sync's CPU for nothing found.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 7_000  # allocations between young collections (default 700); older generations as default


def settle_heap() -> None:
    """Collect once, freeze what start-up built (it lives as long as the process: full collections
    stop scanning it), and collect the young generation ten times less often. Idempotent."""
    if gc.get_threshold()[0] >= YOUNG_THRESHOLD:
        return
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
