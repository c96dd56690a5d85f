"""The console as the api-server serves it: built on the first request, then the process tuned for
requests that wait on the database (its start-up heap frozen, the GIL handed over every millisecond).
Run in a child process: both settings are the whole interpreter's."""

from __future__ import annotations

import json
import os
import subprocess
import sys

PROBE = '''
import asyncio, gc, json, sys
from creditsync.orchestration.ui.plugin import LazyApp

async def main():
    app, sent = LazyApp(), []
    before = {"frozen": gc.get_freeze_count(), "switch": sys.getswitchinterval()}
    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}
    async def send(message):
        sent.append(message)
    scope = {"type": "http", "method": "GET", "path": "/no-such-page", "raw_path": b"/no-such-page",
             "root_path": "", "query_string": b"", "headers": [], "scheme": "http", "http_version": "1.1",
             "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}
    await app(scope, receive, send)
    print(json.dumps({"before": before, "status": sent[0]["status"], "frozen": gc.get_freeze_count(),
                      "switch": sys.getswitchinterval()}))

asyncio.run(main())
'''


def test_the_first_request_builds_the_console_and_tunes_the_process_for_requests() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120,
                          env=os.environ.copy(), check=True)
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["before"] == {"frozen": 0, "switch": 0.005}
    assert found["status"] == 404  # the console answered: it was built on this request
    assert found["frozen"] > 100_000  # Airflow's and the console's objects, out of every full collection
    assert found["switch"] == 0.001
