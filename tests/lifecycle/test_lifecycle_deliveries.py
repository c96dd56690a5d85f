"""A delivered file judged as a whole (lifecycle.deliveries), whichever chunk, file or try reads its
rows: a row revoking a decision or holding it back applies, and the file's other rows for it are held;
a newer file updates what an older one left."""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from datetime import date
from pathlib import Path
from random import Random
from typing import Any

import pytest
import yaml
from pipeline_harness import Harness
from test_lifecycle_twins import health_department

from creditsync.pipeline import pull, push, report
from creditsync.simulators.departments.health import write_drop
from creditsync.simulators.departments.health_data import Exporter
from creditsync.store.models import QuarantineItem

pytestmark = pytest.mark.integration
BOTH = pytest.mark.parametrize("harness_db", ["sqlite", "postgresql"], indirect=True)
CHUNKS = pytest.mark.parametrize("batch_size", [None, 1], ids=["one chunk", "a chunk each"])
DAY = date(2026, 11, 30)
pull_module = importlib.import_module("creditsync.pipeline.pull")


def drop(tmp_path: Path, exporter: Exporter, rows: list[dict[str, Any]]) -> Path:
    return write_drop(tmp_path / "inbox", exporter.file("penalty", "utf-8-sig", rows, DAY))


def sync(harness: Harness, run_id: str | None = None, try_number: int = 1) -> None:
    ctx = harness.gateway.context(harness.gateway.department("health"), run_id, try_number=try_number)
    pull(ctx, categories=["penalty"])
    push(ctx, harness.client)
    report(ctx)


def shown(harness: Harness, document: str) -> list[str]:
    """The 违法事实 of every row the platform shows for the 文书号."""
    return [str(row["data"].get("CF_SY")) for row in harness.simulator.store.rows()
            if row["status"] == "published" and row["data"].get("CF_WSH") == document]


def published(harness: Harness, tmp_path: Path, batch_size: int | None) -> tuple[Exporter, dict[str, Any]]:
    health_department(harness, tmp_path, batch_size)
    exporter = Exporter(Random(5))
    row = exporter.penalty(DAY)
    drop(tmp_path, exporter, [dict(row)])
    sync(harness)
    assert shown(harness, row["决定文书号"]) == [row["违法事实"]]
    return exporter, row


def secrecy_rule(tmp_path: Path) -> None:
    """The department's rule: a row marked 涉密 is held back."""
    adapter = tmp_path / "adapters" / "health.yaml"
    config = yaml.safe_load(adapter.read_text("utf-8"))
    config["publication"] = {"hold_back": {"penalty": [{"field": "BZ", "values": ["涉密"],
                                                         "reason": "涉及国家秘密不予公示"}]}}
    adapter.write_text(yaml.safe_dump(config, allow_unicode=True), "utf-8")


@CHUNKS
@pytest.mark.parametrize("order", ["held-back row first", "held-back row last"])
def test_a_row_holding_the_decision_back_applies_whatever_the_files_other_row_says(
        harness: Harness, tmp_path: Path, batch_size: int | None, order: str) -> None:
    exporter, row = published(harness, tmp_path, batch_size)
    secrecy_rule(tmp_path)
    secret = {**row, "备注": "涉密"}

    drop(tmp_path, exporter, [secret, dict(row)] if order == "held-back row first" else [dict(row), secret])
    sync(harness)

    assert shown(harness, row["决定文书号"]) == []


@CHUNKS
def test_a_newer_files_correction_goes_out_after_an_older_file_read_in_the_same_run(
        harness: Harness, tmp_path: Path, batch_size: int | None) -> None:
    exporter, row = published(harness, tmp_path, batch_size)
    corrected = {**row, "违法事实": row["违法事实"] + "（补正）"}
    last_week, this_week = drop(tmp_path, exporter, [dict(row)]), drop(tmp_path, exporter, [corrected])
    os.utime(last_week, (1_700_000_000, 1_700_000_000))  # the gateway was down for a week
    os.utime(this_week, (1_700_600_000, 1_700_600_000))

    sync(harness)

    assert shown(harness, row["决定文书号"]) == [corrected["违法事实"]]
    assert harness.count(QuarantineItem, QuarantineItem.resolved_at.is_(None)) == 0


def failing_once(harness: Harness, name: str, call: int) -> None:
    real: Callable[..., Any] = getattr(pull_module, name)
    calls = [0]

    def flaky(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        if calls[0] == call:
            raise OSError("the store connection dropped")
        return real(*args, **kwargs)

    harness.monkeypatch.setattr(pull_module, name, flaky)


@BOTH
@pytest.mark.parametrize(("order", "failing"), [
    ("revocation last", ("_ingest", 2)),  # the correction stored, the revocation not
    ("revocation first", ("_finish_stream", 1)),  # every chunk stored, the stream not closed
    ("revocation last", ("_finish_stream", 1)),
])
def test_a_pull_retried_in_the_same_run_keeps_the_files_revocation(
        harness: Harness, tmp_path: Path, order: str, failing: tuple[str, int]) -> None:
    exporter, row = published(harness, tmp_path, 1)
    corrected, revoked = {**row, "违法事实": row["违法事实"] + "（补正）"}, {**row, "当前状态": "撤销"}
    drop(tmp_path, exporter, [revoked, corrected] if order == "revocation first" else [corrected, revoked])
    ctx = harness.gateway.context(harness.gateway.department("health"))
    failing_once(harness, *failing)
    with pytest.raises(OSError):
        pull(ctx, categories=["penalty"])

    sync(harness, ctx.run_id, try_number=2)  # the task's retry: the same run reads the file again

    assert shown(harness, row["决定文书号"]) == []


def aged(*paths: Path) -> None:
    """The files in the order they were delivered, a week apart (the gateway was down meanwhile)."""
    for week, path in enumerate(paths):
        os.utime(path, (1_700_000_000 + week * 604_800,) * 2)


@CHUNKS
@pytest.mark.parametrize("decision", ["published before", "new"])
@pytest.mark.parametrize(("older", "newer"), [("revokes", "corrects"), ("revokes", "re-sends"),
                                              ("holds back", "corrects")])
def test_a_newer_file_updates_what_an_older_file_of_the_run_took_down(
        harness: Harness, tmp_path: Path, batch_size: int | None, decision: str, older: str,
        newer: str) -> None:
    exporter, row = published(harness, tmp_path, batch_size)
    if older == "holds back":
        secrecy_rule(tmp_path)
    if decision == "new":
        row = exporter.penalty(DAY)
    down = {**row, "当前状态": "撤销"} if older == "revokes" else {**row, "备注": "涉密"}
    again = {**row, "违法事实": row["违法事实"] + "（补正）"} if newer == "corrects" else dict(row)
    aged(drop(tmp_path, exporter, [down]), drop(tmp_path, exporter, [again]))

    sync(harness)

    assert shown(harness, row["决定文书号"]) == [again["违法事实"]]


@BOTH
def test_a_retried_pull_over_two_files_ends_as_the_first_try_would_have(harness: Harness,
                                                                        tmp_path: Path) -> None:
    exporter, row = published(harness, tmp_path, 1)
    again = {**row, "违法事实": row["违法事实"] + "（补正）"}
    aged(drop(tmp_path, exporter, [{**row, "当前状态": "撤销"}]), drop(tmp_path, exporter, [again]))
    ctx = harness.gateway.context(harness.gateway.department("health"))
    failing_once(harness, "_finish_stream", 1)
    with pytest.raises(OSError):
        pull(ctx, categories=["penalty"])

    sync(harness, ctx.run_id, try_number=2)

    assert shown(harness, row["决定文书号"]) == [again["违法事实"]]
