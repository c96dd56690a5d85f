"""A push round's batches go out together; each batch's answers are stored as soon as they come, not
after the batches sent before it: a slow batch does not hold the others' answers in memory, where a
killed process would lose them."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from pipeline_harness import Harness

from creditsync.delivery.client import PlatformClient
from creditsync.pipeline import pull, push
from creditsync.store.models import AuditEntry

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("harness_db", ["sqlite", "postgresql"], indirect=True)
def test_a_batch_answered_while_an_earlier_one_is_out_has_its_answers_stored_at_once(
    harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    harness.use_department_file(tmp_path, batch_size=40, push_concurrency=2)
    ctx = harness.context()
    pull(ctx)
    calls: list[int] = []
    lock = threading.Lock()
    stored_meanwhile: list[int] = []
    real_push = PlatformClient.push

    def first_batch_slow(client: PlatformClient, category: str, items: Any, **kwargs: Any) -> Any:
        receipts = real_push(client, category, items, **kwargs)
        with lock:
            calls.append(len(items))
            slow = len(calls) == 2  # the first batch of the round after the probe (one batch alone)
        if slow:
            before = len(harness.rows(AuditEntry, AuditEntry.event == "receipts_stored"))  # the probe's
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and not stored_meanwhile:
                stored = len(harness.rows(AuditEntry, AuditEntry.event == "receipts_stored"))
                if stored > before:
                    stored_meanwhile.append(stored - before)
                time.sleep(0.05)
        return receipts

    monkeypatch.setattr(PlatformClient, "push", first_batch_slow)
    pushed = push(ctx, harness.client)

    assert len(calls) >= 3, calls  # the probe, then a round of at least two batches
    assert stored_meanwhile, "no batch's answers were stored while the first batch was out"
    assert pushed["acked"] == len(harness.expected_published())
    harness.delivered_once()
