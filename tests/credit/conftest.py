"""Fixtures of the credit-loop tests (shared pieces in credit_support, importable by name)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from credit_support import APP_KEY  # noqa: E402

from creditsync.simulators.platform import PlatformSimulator, RunningSimulator  # noqa: E402


@pytest.fixture
def platform() -> Iterator[RunningSimulator]:
    simulator = PlatformSimulator(app_key=APP_KEY)
    with simulator.start_in_thread() as running:
        yield running
    simulator.close()
