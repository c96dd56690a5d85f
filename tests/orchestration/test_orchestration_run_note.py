"""The note a department's DAG run gets in the Airflow grid, and the listener that writes it."""

from __future__ import annotations

import logging
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from creditsync.orchestration.listeners import annotate_run
from creditsync.orchestration.run_note import (
    MARK,
    NOTE_LIMIT,
    all_published_or_why,
    merge_note,
    quarantine_href,
    run_figures,
    run_note,
)

HREF = "/creditsync/quarantine?department=market_supervision"


def summary(quarantined: int = 0, **records: int) -> dict[str, Any]:
    """The shape pipeline.report.summarise stores in SyncRun.counts."""
    return {"records": {"read": 10, "new": 7, **records}, "outbox": {"acked": 7, "pending": 0},
            "quarantined": quarantined, "problems": []}


@pytest.mark.parametrize(("status", "counts", "noted"), [
    ("success", summary(), False),  # clean: no note, so a note in the grid means "look"
    ("partial", summary(quarantined=2), True),
    ("partial", summary(), True),  # deliveries still pending
    ("success", summary(quarantined=1), True),
    ("failed", summary(), True),
])
def test_only_runs_that_were_not_clean_get_a_note(status: str, counts: dict[str, Any], noted: bool) -> None:
    assert (run_note(status, counts, HREF) is not None) is noted


@pytest.mark.parametrize(("status", "counts", "published"), [
    ("success", summary(), True),
    ("partial", summary(quarantined=2), False),
    ("partial", dict(summary(), pending_department=3), False),  # deliveries still pending
    ("success", dict(summary(), pending_department=1), False),
    ("success", summary(quarantined=1), False),
])
def test_all_published_is_skipped_for_every_run_that_was_not_clean(status: str, counts: dict[str, Any],
                                                                   published: bool) -> None:
    why = all_published_or_why(dict(counts, status=status))
    assert (why is None) is published
    if why:
        assert why.startswith("部分成功 partial run") and f"{counts['quarantined']} 条隔离" in why


def test_the_note_carries_every_figure_and_links_the_quarantine_page() -> None:
    counts = summary(quarantined=3, changed=2, withdrawal_queued=1, revoked=4)
    note = run_note("partial", counts, HREF)
    assert note is not None and note.startswith(f"{MARK} 部分成功 partial: 3 条隔离 quarantined")
    assert ("读取 read 10 · 发布 published 7 · 更正 corrected 2 · 撤回 withdrawn 1 · 隔离 quarantined 3 · "
            "撤销 revoked 4") in note
    assert f"[隔离记录 Quarantine]({HREF})" in note


def test_figures_count_read_records_once() -> None:
    """The stored totals hold the outcome counts beside ``read``: read is not their sum."""
    assert run_figures(summary(unchanged=3))["read"] == 10


def test_a_failed_run_says_why_within_airflows_note_size() -> None:
    counts = dict(summary(quarantined=30), problems=["30 of 40 penalty records are invalid " * 60])
    note = run_note("failed", counts, HREF)
    assert note is not None and "失败 failed" in note and "问题 problems: 30 of 40" in note
    assert len(note) <= NOTE_LIMIT


@pytest.mark.parametrize(("existing", "ours", "expected"), [
    (None, f"{MARK} new", f"{MARK} new"),
    ("checked by Li", f"{MARK} new", f"checked by Li\n\n{MARK} new"),
    (f"checked by Li\n\n{MARK} old figures", f"{MARK} new", f"checked by Li\n\n{MARK} new"),
    (f"{MARK} old figures", None, None),  # a re-run that came out clean drops the gateway's part
    ("checked by Li", None, "checked by Li"),
])
def test_a_rerun_replaces_the_gateways_part_and_keeps_the_operators(
    existing: str | None, ours: str | None, expected: str | None
) -> None:
    assert merge_note(existing, ours) == expected


def test_the_quarantine_link_is_under_the_console_path_and_encoded() -> None:
    assert quarantine_href("/airflow/creditsync/", "a b") == "/airflow/creditsync/quarantine?department=a+b"


def test_the_listener_never_raises(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                   caplog: pytest.LogCaptureFixture) -> None:
    """It runs inside the scheduler: a missing gateway store is logged, not raised."""
    monkeypatch.setenv("CREDITSYNC_DB_URL", f"sqlite:///{tmp_path / 'missing.db'}")
    run = SimpleNamespace(dag_id="sync__market_supervision", run_id="manual__x", note=None, id=1)
    with caplog.at_level(logging.WARNING):
        annotate_run(run)
    assert run.note is None
    assert "could not annotate" in caplog.text


def test_the_listener_leaves_other_dags_alone() -> None:
    run = SimpleNamespace(dag_id="display__expiry", run_id="manual__x", note="theirs", id=1)
    annotate_run(run)
    assert run.note == "theirs"
