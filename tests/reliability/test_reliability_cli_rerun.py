"""The issue's command-line scenario: ``creditsync push`` of a file against ``creditsync platform-sim
--fault-rate 0.3 --lost-ack-rate 0.05``, run again until it is done, leaves exactly one row per
business key (``/_sim/stats``: records == business_keys == the valid input records). Afterwards
``creditsync reconcile`` against the same platform store (faults off) finds nothing to repair."""

from __future__ import annotations

from pathlib import Path

import pytest
from reliability_support import Gateway, handover_department, start_platform, write_penalties

pytestmark = [pytest.mark.reliability, pytest.mark.integration]

FAULTS = ("--fault-rate", "0.3", "--lost-ack-rate", "0.05", "--slow-ms", "1200")
RECORDS = 1000
DEPARTMENT = "handover_office"
BATCH = 25  # small batches: many requests, so faults and lost answers really happen to 1,000 records


def test_push_rerun_until_it_exits_0_delivers_each_record_once(tmp_path: Path) -> None:
    source = tmp_path / "handover.jsonl"
    valid = write_penalties(source, RECORDS, seed=7)
    platform = start_platform(tmp_path, 11, *FAULTS)
    settings = handover_department(tmp_path, DEPARTMENT, BATCH)
    gateway = Gateway(f"sqlite:///{tmp_path / 'gateway.db'}", platform, tmp_path, settings)
    push = ("push", "--category", "penalty", "--input", str(source), "--department", DEPARTMENT)
    try:
        code, _runs = gateway.run_until_done(*push)
        stats = platform.stats()
    finally:
        platform.stop()

    assert code == 0, gateway.last_output()
    assert stats["records"] == stats["business_keys"] == len(valid) == RECORDS
    assert set(platform.rows()[1]) == valid
    assert stats["batches"] >= RECORDS // BATCH and sum(stats["faults"].values()) > 0

    gateway.platform = start_platform(tmp_path, 11)  # the same platform store, without faults
    try:
        assert gateway.run("reconcile", DEPARTMENT, "--check-only") == 0, gateway.last_output()
    finally:
        gateway.platform.stop()
