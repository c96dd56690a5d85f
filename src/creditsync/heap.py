"""The memory settings of the gateway's long-lived processes: the cyclic garbage collector's, and for a
sync the C allocator's.

Start-up builds a large heap that lives as long as the process (Airflow, every module, schema and
compiled mapping). The collector only looks for cycles, yet each full collection re-scans all of it:
in a sync, a few per cent of the CPU for nothing found; in the api-server, a pause of 0.2-0.25 s that
stalls every request in flight (benchmarks/RESULTS.md, credit check). Freezing that heap after start-up
takes it out of every later collection.
"""

from __future__ import annotations

import ctypes
import gc

YOUNG_THRESHOLD = 7_000  # allocations between young collections (default 700); older generations as default
M_ARENA_MAX = -8  # glibc's mallopt parameter: how many malloc arenas the process's threads share
SYNC_MALLOC_ARENAS = 2


def freeze_startup_heap() -> None:
    """Collect once and freeze what is alive: later full collections skip it."""
    gc.collect()
    gc.freeze()


def settle_heap() -> None:
    """For a sync, before its threads start: freeze what start-up built, collect the young generation
    ten times less often (a chunk of 500 records allocates tens of thousands of dicts and lists that
    reference counting frees), and share two malloc arenas among the threads. Idempotent."""
    if gc.get_threshold()[0] >= YOUNG_THRESHOLD:
        return
    limit_malloc_arenas()
    freeze_startup_heap()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)


def limit_malloc_arenas(arenas: int = SYNC_MALLOC_ARENAS) -> bool:
    """glibc gives each thread that allocates its own arena (up to eight per core), and each keeps the
    blocks its thread freed: a sync's reader, store writer, push beside the pull and senders held about
    6 MB more at 30,000 records than with two arenas (MALLOC_ARENA_MAX). False where the C library has no
    ``mallopt`` (not glibc): nothing is changed."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_ARENA_MAX, arenas))
