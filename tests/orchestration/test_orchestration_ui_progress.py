"""Live progress: a running run's figures so far on the overview (what its streams read, chunk by chunk,
and what its push rounds delivered), and the overview reloading itself while something runs."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from types import SimpleNamespace

from creditsync.orchestration.ui import queries
from creditsync.pipeline.push import note_progress
from creditsync.store import Store
from creditsync.store.models import RunStream, SyncRun


def test_a_running_run_shows_what_it_read_and_pushed_so_far(store: Store) -> None:
    started = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    with store.transaction() as s:
        s.add(SyncRun(id="r-live", department="market_supervision", trigger="airflow", status="running",
                      started_at=started, counts={}))
        s.flush()  # the run before its streams
        s.add(RunStream(run_id="r-live", category="penalty",
                        counts={"read": 500, "new": 480, "quarantined": 3}))
        s.add(RunStream(run_id="r-live", category="license", counts={"read": 200, "new": 200}))
    note_progress(SimpleNamespace(store=store, run_id="r-live"), "push", Counter(batches=1, acked=500))
    # a second push call of the same run (the push beside the pull, then the one after it): added
    note_progress(SimpleNamespace(store=store, run_id="r-live"), "push", Counter(batches=1, acked=150))
    with store.reader() as session:
        (row,) = queries.run_history(session, "market_supervision")
    assert (row["read"], row["quarantined"], row["published"]) == (700, 3, 650)
    assert row["progress"] == {"pushed": 650, "batches": 2}
    assert queries.any_running([{"runs": [row]}])

    with store.transaction() as s:  # finished: the report's totals, no progress, no reloading
        run = s.get(SyncRun, "r-live")
        assert run is not None
        run.status, run.finished_at, run.counts = "success", started, {"records": {"read": 700}}
    note_progress(SimpleNamespace(store=store, run_id="r-live"), "push", Counter(acked=1))  # too late: kept
    with store.reader() as session:
        (row,) = queries.run_history(session, "market_supervision")
    assert row["progress"] is None and row["read"] == 700 and not queries.any_running([{"runs": [row]}])
