"""Fixtures of the lifecycle tests: the pipeline harness (both simulators in-thread) and the schema
factories."""

from __future__ import annotations

import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
for folder in ("pipeline", "schema", "cli"):
    if str(TESTS / folder) not in sys.path:
        sys.path.insert(0, str(TESTS / folder))

from pipeline_harness import harness, harness_db  # noqa: E402

__all__ = ["harness", "harness_db"]
