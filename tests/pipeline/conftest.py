"""Fixtures of the pipeline tests: see pipeline_harness.py (shared with tests/cli)."""

from pipeline_harness import harness, harness_db

__all__ = ["harness", "harness_db"]
