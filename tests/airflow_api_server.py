"""A real ``airflow api-server`` for the console's tests (tests/orchestration, tests/browser): wait
until it answers, and stop it with every worker it started (its whole process group)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests


def wait_healthy(server: subprocess.Popen[bytes], base: str, log: Path, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"airflow api-server exited {server.returncode}:\n{log.read_text()[-4000:]}")
        try:
            if requests.get(f"{base}/api/v2/monitor/health", timeout=2).ok:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.3)  # waiting for a server to start, not a retry
    pytest.fail(f"airflow api-server not healthy after {seconds:.0f} s:\n{log.read_text()[-4000:]}")


def stop_group(server: subprocess.Popen[bytes]) -> None:
    for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        try:
            os.killpg(server.pid, sig)
        except ProcessLookupError:
            return
        try:
            server.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue
