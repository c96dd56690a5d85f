"""Exactly once under faults and kills: 10,000 penalties pushed by ``creditsync push`` (a real process)
through ``creditsync platform-sim`` (another) with 30% transient faults (500/502/503/429/slow/dropped)
and 5% lost acknowledgements, while the pusher is SIGKILLed 20 times at seeded random moments and
restarted; then run until it exits 0. Nothing may be lost, nothing duplicated, and the audit chain must
still verify: every append commits inside the transaction it describes, so a kill cannot tear it."""

from __future__ import annotations

import random
import subprocess
import time
from pathlib import Path

import pytest
from reliability_support import (
    Gateway,
    Platform,
    batches_in_flight,
    handover_department,
    start_platform,
    write_penalties,
)

pytestmark = [pytest.mark.reliability, pytest.mark.integration]

RECORDS = 10_000
KILLS = 20
ANYTIME_KILLS = 2  # at any moment of a run (reading, mapping, pushing); the rest while it pushes
SEED = 20261126
DEPARTMENT = "handover_office"
BATCH = 50  # some 300 requests: about 90 transient faults and several lost answers, 200 batches to kill
FAULTS = ("--fault-rate", "0.3", "--lost-ack-rate", "0.05", "--slow-ms", "1200")


def kill_moments(seed: int) -> list[tuple[bool, float]]:
    """For each try at a kill: whether to wait until the restarted pusher is pushing, then how long.
    The first ones fall anywhere (the first run maps and stores 10,000 new records, the next ones
    deliver what it queued); the others at random moments of the delivery. A run can end before its
    moment (the set-based pipeline is quick): the next moment is tried, up to twice as many as KILLS."""
    rng = random.Random(seed)
    return [(False, rng.uniform(0.5, 4.0)) if n < ANYTIME_KILLS else (True, rng.uniform(0.05, 0.6))
            for n in range(2 * KILLS)]


def wait_for_push(platform: Platform, since: int, pusher: subprocess.Popen[bytes]) -> None:
    """Until the platform has counted a request after ``since`` (the restarted pusher is pushing)."""
    while platform.stats()["requests"] <= since and pusher.poll() is None:
        time.sleep(0.02)


def kill_and_restart(gateway: Gateway, args: tuple[str, ...]) -> tuple[int, int]:
    """Start the pusher, SIGKILL it at each seeded moment, restart it; (kills, runs that ended first)."""
    kills = tries = 0
    for pushing, delay in kill_moments(SEED):
        if kills == KILLS:
            break
        tries += 1
        requests_before = gateway.platform.stats()["requests"]
        with gateway.running(*args) as pusher:  # SIGKILLed when the block ends
            if pushing:
                wait_for_push(gateway.platform, requests_before, pusher)
            time.sleep(delay)
            kills += pusher.poll() is None
    return kills, tries - kills


def test_ten_thousand_records_twenty_kills_nothing_lost_nothing_duplicated(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    started = time.monotonic()
    source = tmp_path / "penalties.jsonl"
    expected = write_penalties(source, RECORDS, SEED)
    platform = start_platform(tmp_path, SEED, *FAULTS)
    settings = handover_department(tmp_path, DEPARTMENT, BATCH)
    gateway = Gateway(f"sqlite:///{tmp_path / 'gateway.db'}", platform, tmp_path, settings)
    args = ("push", "--category", "penalty", "--input", str(source), "--department", DEPARTMENT)
    try:
        kills, finished_early = kill_and_restart(gateway, args)
        killed_at = time.monotonic()
        code, runs = gateway.run_until_done(*args)
        assert code == 0, gateway.last_output()
        stats = platform.stats()
        verified = gateway.run("audit", "verify")
    finally:
        platform.stop()
    rows, keys = platform.rows()
    lost, duplicated = len(expected - set(keys)), rows - len(set(keys))
    in_flight = batches_in_flight(gateway.db_url)

    with capsys.disabled():
        print(f"\nreliability: {RECORDS} records, {kills} kills ({in_flight.batches} with a batch in flight, "
              f"{in_flight.committed} of those committed on the platform before the receipt was stored), "
              f"{finished_early} runs ended before their kill, {runs} final runs; faults {stats['faults']}; "
              f"receipts {in_flight.receipts}; {killed_at - started:.0f} s to the last kill, "
              f"{time.monotonic() - started:.0f} s in all")
        print(f"lost={lost} duplicated={duplicated}")

    assert (lost, duplicated) == (0, 0)
    assert set(keys) == expected  # nothing the input did not hold
    assert stats["records"] == stats["business_keys"] == RECORDS
    assert kills == KILLS and in_flight.committed > 0  # some kills fell between commit and receipt
    assert verified == 0, gateway.last_output()
