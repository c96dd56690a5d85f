"""Live progress: a running run's figures so far on the overview (what its streams read, chunk by chunk,
and what its push rounds delivered), and the overview reloading itself while something runs."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from types import SimpleNamespace

from creditsync.orchestration.ui import queries
from creditsync.pipeline.push import note_progress
from creditsync.store import Store
from creditsync.store.guard import lifecycle_writes
from creditsync.store.models import OutboxItem, RunStream, SyncRun


def test_a_running_run_shows_what_it_read_and_pushed_so_far(store: Store) -> None:
    started = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    with store.transaction() as s:
        s.add(SyncRun(id="r-live", department="market_supervision", trigger="airflow", status="running",
                      started_at=started, counts={}))
        s.flush()  # the run before its streams
        s.add(RunStream(run_id="r-live", category="penalty",
                        counts={"read": 500, "new": 480, "quarantined": 3}))
        s.add(RunStream(run_id="r-live", category="license", counts={"read": 200, "new": 200}))
    # its push has delivered 4 items so far: 3 it queued itself (2 acknowledged, 1 rejected) and one
    # an earlier run left pending; 1 of its own still waits
    with lifecycle_writes(), store.transaction() as s:
        items = [("r-live", "acked"), ("r-live", "acked"), ("r-live", "rejected"), ("r-earlier", "acked"),
                 ("r-live", "pending")]
        for n, (run_id, status) in enumerate(items):
            s.add(OutboxItem(idempotency_key=f"k{n}", business_key=f"penalty:X:{n}", run_id=run_id,
                             department="market_supervision", category="penalty", action="upsert",
                             version=1, status=status, created_at=started))
    note_progress(SimpleNamespace(store=store, run_id="r-live"), "push", Counter(batches=1, acked=2))
    # a second push call of the same run (the push beside the pull, then the one after it): added
    note_progress(SimpleNamespace(store=store, run_id="r-live"), "push", Counter(batches=1, acked=1))
    with store.reader() as session:
        (row,) = queries.run_history(session, "market_supervision")
    # published: the run's own acknowledged items, as its report will count them when it ends
    assert (row["read"], row["quarantined"], row["published"]) == (700, 3, 2)
    assert row["progress"] == {"pushed": 3, "batches": 2}
    assert queries.any_running([{"runs": [row]}])

    with store.transaction() as s:  # finished: the report's totals, no progress, no reloading
        run = s.get(SyncRun, "r-live")
        assert run is not None
        run.status, run.finished_at, run.counts = "success", started, {"records": {"read": 700}}
    note_progress(SimpleNamespace(store=store, run_id="r-live"), "push", Counter(acked=1))  # too late: kept
    with store.reader() as session:
        (row,) = queries.run_history(session, "market_supervision")
    assert row["progress"] is None and row["read"] == 700 and not queries.any_running([{"runs": [row]}])
