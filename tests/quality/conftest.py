"""Fixtures of the quality tests: the pipeline harness (both simulators in-thread), the schema factories,
and a store written through the lifecycle on chosen days (quality_support.py)."""

from __future__ import annotations

import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
for folder in ("pipeline", "schema", "cli", "quality"):
    if str(TESTS / folder) not in sys.path:
        sys.path.insert(0, str(TESTS / folder))

from pipeline_harness import harness, harness_db  # noqa: E402

__all__ = ["harness", "harness_db"]
