"""Hostile sources through the real pipeline: each ends within its deadline with a clear, permanent error
(or the file in failed/ with its reason), never a retry loop, never stored whole, in under 300 MB.

Each scenario runs in a process of its own (limits_scenarios.py), whose peak RSS is what is measured;
sized so that the five together take a few seconds."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

SCENARIOS = Path(__file__).with_name("limits_scenarios.py")
MEMORY_MB = 300

pytestmark = pytest.mark.integration


def run(scenario: str, tmp_path: Path) -> dict[str, Any]:
    done = subprocess.run([sys.executable, str(SCENARIOS), scenario, str(tmp_path)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["peak_rss_mb"] < MEMORY_MB, result
    return result


@pytest.mark.parametrize(("scenario", "limit", "seconds"), [
    ("trickle", "page_timeout_s (2 s)", 2 + 1.5),  # one byte every 50 ms: stopped at the page's deadline
    ("huge_page", "max_page_bytes", 10),  # a 200 MB field: never read whole
    ("deep_json", "max_depth", 10),  # nested 100,000 deep: not "incomplete, run again"
])
def test_a_hostile_rest_page_fails_the_stream_permanently_and_in_time(
        tmp_path: Path, scenario: str, limit: str, seconds: float) -> None:
    result = run(scenario, tmp_path)
    error = result["pulled"]["penalty"]["error"]
    assert limit in error and "limit=" in error, error
    assert result["outcome"].startswith("FatalError: source stream penalty failed")  # the run says why
    assert result["elapsed_s"] < seconds, result
    assert result["api_requests"] == 1  # permanent: asked once, not retried


@pytest.mark.parametrize(("scenario", "reason"), [
    ("xlsx_bomb", "over max_decompressed_bytes"),  # one cell unpacking to 300 MB: refused unopened
    ("csv_field", "longer than 2097152 characters"),  # a 200 MB value: refused before it is held
])
def test_a_hostile_file_goes_to_failed_with_its_reason_and_the_run_goes_on(
        tmp_path: Path, scenario: str, reason: str) -> None:
    result = run(scenario, tmp_path)
    assert result["outcome"] == "ok" and result["quarantined"] == 1  # one bad record: the file
    assert len(result["failed"]) == 2 and any(reason in text for text in result["reasons"]), result
    assert result["elapsed_s"] < 10
