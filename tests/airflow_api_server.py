"""A real ``airflow api-server`` for the console's tests (tests/orchestration, tests/browser): wait
until it answers, and stop it with every worker it started (its whole process group)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[1]


def wait_healthy(server: subprocess.Popen[bytes], base: str, log: Path, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"airflow api-server exited {server.returncode}:\n{log.read_text()[-4000:]}")
        try:
            if requests.get(f"{base}/api/v2/monitor/health", timeout=10).ok:
                return
        except (requests.ConnectionError, requests.Timeout):
            pass  # not listening yet, or still starting its workers on a loaded machine
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def airflow_env(home: Path, gateway_url: str, users: str) -> dict[str, str]:
    """The api-server's environment: its own AIRFLOW_HOME, the repo's plugin and DAGs, SimpleAuthManager
    ``users`` (``name:role,...``), the gateway store at ``gateway_url``; nothing of the caller's
    Airflow or gateway settings leaks in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "CREDITSYNC_"))}
    env.update({
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": users,
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
        "AIRFLOW__API_AUTH__JWT_SECRET": os.urandom(16).hex(),
        "CREDITSYNC_HOME": str(REPO), "CREDITSYNC_DB_URL": gateway_url,
    })
    return env
