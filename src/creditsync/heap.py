"""The cyclic garbage collector's settings for the gateway's long-lived processes.

Start-up builds a large heap that lives as long as the process (Airflow, every module, schema and
compiled mapping). The collector only looks for cycles, yet each full collection re-scans all of it:
in a sync, a few per cent of the CPU for nothing found; in the api-server, a pause of 0.2-0.25 s that
stalls every request in flight (benchmarks/RESULTS.md, credit check). Freezing that heap after start-up
takes it out of every later collection.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 7_000  # allocations between young collections (default 700); older generations as default


def freeze_startup_heap() -> None:
    """Collect once and freeze what is alive: later full collections skip it."""
    gc.collect()
    gc.freeze()


def settle_heap() -> None:
    """For a sync: freeze what start-up built, and collect the young generation ten times less often (a
    chunk of 500 records allocates tens of thousands of dicts and lists that reference counting frees).
    Idempotent."""
    if gc.get_threshold()[0] >= YOUNG_THRESHOLD:
        return
    freeze_startup_heap()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
