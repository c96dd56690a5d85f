"""A sync's memory settings, in a child process each (they are the whole interpreter's): the start-up
heap frozen, young collections rarer, and its threads sharing two malloc arenas (glibc)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

PROBE = '''
import ctypes, gc, json, os, sys, tempfile, threading
if sys.argv[1] == "settled":
    from creditsync.heap import settle_heap
    settle_heap()
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.fdopen.restype, libc.fdopen.argtypes = ctypes.c_void_p, [ctypes.c_int, ctypes.c_char_p]
libc.malloc_info.argtypes, libc.fflush.argtypes = [ctypes.c_int, ctypes.c_void_p], [ctypes.c_void_p]
done = threading.Event()
started = threading.Barrier(7)

def allocate():  # as a sync's reader, store writer, pusher and senders do: each its own blocks
    kept = [libc.malloc(2000) for _ in range(50)]
    started.wait()
    done.wait()

threads = [threading.Thread(target=allocate) for _ in range(6)]
for thread in threads:
    thread.start()
started.wait()
with tempfile.TemporaryFile() as report:
    stream = libc.fdopen(os.dup(report.fileno()), b"w")
    libc.malloc_info(0, stream)
    libc.fflush(stream)
    report.seek(0)
    arenas = report.read().decode().count("<heap nr=")
done.set()
for thread in threads:
    thread.join()
print(json.dumps({"arenas": arenas, "young": gc.get_threshold()[0], "frozen": gc.get_freeze_count()}))
'''


def _probe(mode: str) -> dict[str, int]:
    done = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, timeout=60,
                          env=os.environ.copy(), check=True)
    found: dict[str, int] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="malloc arenas are glibc's")
def test_a_settled_sync_shares_two_malloc_arenas_among_its_threads() -> None:
    plain, settled = _probe("plain"), _probe("settled")
    assert plain["arenas"] > 2  # the probe sees one arena per allocating thread without the setting
    assert settled["arenas"] <= 2
    assert (plain["young"], settled["young"]) == (700, 7_000)
    assert plain["frozen"] == 0 < settled["frozen"]
