"""The simulators a benchmark talks to, each in its own process so its CPU time is its own.

    python benchmarks/_sims.py platform [--validation schema|none] [--store PATH]
    python benchmarks/_sims.py rest --records N [--seed S] [--invalid-share F] [--max-page-size M]

Each binds a free port (port 0), prints one JSON line (its URL and what a benchmark needs to check
the outcome), then serves until SIGTERM. :func:`start` runs one and reads that line. Used by the
end-to-end benchmarks; not a benchmark itself.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

HERE = Path(__file__).resolve().parent
APP_KEY = "bench-app-key"
SOURCE_TOKEN = "bench-source-token"


@dataclass
class Child:
    """A simulator process: its URL, what it said at start, and its CPU time so far."""

    process: subprocess.Popen[str]
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return str(self.info["url"])

    def cpu_seconds(self) -> float:
        times = psutil.Process(self.process.pid).cpu_times()
        return float(times.user + times.system)

    def rss_mib(self) -> float:
        return psutil.Process(self.process.pid).memory_info().rss / 2**20

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> Child:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def start(kind: str, *args: str) -> Child:
    """Run ``_sims.py KIND ARGS`` and wait for its JSON line (generating 1M records takes a while)."""
    command = [sys.executable, str(HERE / "_sims.py"), kind, *args]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line:
        process.wait()
        raise RuntimeError(f"{kind} simulator exited {process.returncode} before it was ready")
    return Child(process, json.loads(line))


def _serve_platform(options: argparse.Namespace) -> dict[str, Any]:
    from creditsync.simulators.platform import PlatformSimulator

    validator = None if options.validation == "schema" else (lambda _category, _data: [])
    simulator = PlatformSimulator(options.store, app_key=APP_KEY, validator=validator)
    running = simulator.start_in_thread()
    return {"url": running.url, "app_key": APP_KEY, "validation": options.validation}


def _serve_rest(options: argparse.Namespace) -> dict[str, Any]:
    from creditsync.simulators.departments.market_supervision import start_in_thread

    running = start_in_thread(token=SOURCE_TOKEN, seed=options.seed, penalties=options.records, licenses=0,
                              invalid_share=options.invalid_share, max_page_size=options.max_page_size)
    refused = running.store.refused("penalty")
    return {"url": running.url, "token": SOURCE_TOKEN, "records": options.records, "refused": refused,
            "broken": sum(1 for rid in running.broken_ids if rid.startswith("P")),
            "expected_published": options.records - refused}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="kind", required=True)
    platform = sub.add_parser("platform")
    platform.add_argument("--validation", choices=("schema", "none"), default="schema")
    platform.add_argument("--store", default=None, help="SQLite file (default: in memory)")
    rest = sub.add_parser("rest")
    rest.add_argument("--records", type=int, default=100_000)
    rest.add_argument("--seed", type=int, default=7)
    rest.add_argument("--invalid-share", type=float, default=0.02)
    rest.add_argument("--max-page-size", type=int, default=1000)
    options = parser.parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    info = _serve_platform(options) if options.kind == "platform" else _serve_rest(options)
    print(json.dumps(info), flush=True)
    stop.wait()
    return 0  # the servers are daemon threads: leaving main ends them


if __name__ == "__main__":
    sys.exit(main())
