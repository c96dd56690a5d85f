"""A push beside a pull: the CLI's sync pushes what it has stored while it reads on, and a push may run
beside another sync. Whatever interleaves, each decision stands on the platform once, as its latest
version."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pipeline_harness import Harness

from creditsync.pipeline import pull, push, push_beside
from creditsync.pipeline.beside import worth_pushing_beside
from creditsync.sinks.template_file.sink import TemplateFileSink
from creditsync.store.models import AuditEntry, OutboxItem

pytestmark = pytest.mark.integration
push_module = importlib.import_module("creditsync.pipeline.push")  # the package names the function
BOTH_STORES = pytest.mark.parametrize("harness_db", ["sqlite", "postgresql"], indirect=True)


@BOTH_STORES
def test_an_item_superseded_after_the_round_read_it_is_not_sent(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The round reads a record's untried item; a sync then stores the department's correction, which
    supersedes it; the round must not send the old version, or the correction (sent without the
    platform id the old one's answer brings) would stand beside it as a second row."""
    pull(harness.context())
    target = harness.valid_penalty(0)
    real_round: Callable[..., Any] = push_module._next_round
    interleaved: list[bool] = []

    def round_then_a_correction(ctx: Any, after: int = 0) -> Any:
        items = real_round(ctx, after)
        if not interleaved:
            interleaved.append(True)
            harness.source.update(target["id"], facts="更正后的违法事实")
            pull(harness.context())
        return items

    monkeypatch.setattr(push_module, "_next_round", round_then_a_correction)
    push(harness.context(), harness.client)
    monkeypatch.undo()
    push(harness.context(), harness.client)

    harness.delivered_once()
    record = harness.record(target["decision_no"])
    assert (record.version, record.state) == (2, "published")
    row = harness.client.record(str(record.platform_id))
    assert row is not None and row["data"]["CF_SY"] == "更正后的违法事实"
    first = harness.rows(OutboxItem, OutboxItem.business_key == record.business_key, OutboxItem.version == 1)
    assert [(item.status, item.attempts) for item in first] == [("superseded", 0)]


@BOTH_STORES
def test_a_push_beside_the_pull_delivers_what_each_chunk_stored(harness: Harness) -> None:
    ctx = harness.context()
    with push_beside(ctx, harness.client) as beside:
        pull(ctx)
        beside.wait_until_idle(timeout=30)
        assert harness.pending() == []  # delivered by the push beside, before the pull's end
    pushed = push(ctx, harness.client)

    assert beside.error is None
    assert beside.counts["acked"] == len(harness.expected_published())
    assert pushed["acked"] == 0
    harness.delivered_once()


@BOTH_STORES
def test_the_sync_command_pushes_while_it_pulls_and_ends_as_a_sync_after_a_pull_would(
    harness: Harness
) -> None:
    from creditsync.pipeline.runner import Gateway, sync_department

    gateway = Gateway.open()
    try:
        result = sync_department(gateway, "market_supervision")
    finally:
        gateway.store.dispose()

    harness.delivered_once()
    assert result["pushed"]["acked"] == len(harness.expected_published())
    assert result["pushed"]["rejected"] == 0  # zero counts are kept, as a push alone reports them
    assert result["report"]["status"] == "partial"  # the source's broken records are quarantined
    assert set(harness.cursors()) == {"penalty", "license"}
    with harness.gateway.store.reader() as session:
        events = [entry.event for entry in session.query(AuditEntry).order_by(AuditEntry.id)]
    assert events.count("receipts_stored") >= 2


@BOTH_STORES
def test_a_failing_push_beside_the_pull_costs_the_pull_nothing(harness: Harness) -> None:
    ctx = harness.context()
    harness.stop_platform()
    with push_beside(ctx, harness.client) as beside:
        pulled = pull(ctx)
        beside.wait_until_idle(timeout=30)
    assert beside.error is not None  # the platform is down: the push beside stopped, and said why
    assert {category: counts.get("error") for category, counts in pulled.items()} == {
        "penalty": None, "license": None}
    harness.restart_platform()
    push(ctx, harness.client)
    harness.delivered_once()


@BOTH_STORES
def test_the_sync_command_pushes_beside_only_where_it_overlaps_waits(
    harness: Harness, tmp_path: Path
) -> None:
    """A store served by its own process and a platform that answers at once; not SQLite (one writer,
    in this process), not an interface the platform reads on its own schedule."""
    ctx = harness.context()
    on_postgresql = ctx.store.engine.dialect.name == "postgresql"
    assert worth_pushing_beside(ctx, harness.client) is on_postgresql
    assert worth_pushing_beside(ctx, TemplateFileSink(tmp_path / "hand-over")) is False


@BOTH_STORES
def test_a_stopped_push_beside_ends_after_its_round_and_the_push_after_takes_the_rest(
    harness: Harness, tmp_path: Path
) -> None:
    harness.use_department_file(tmp_path, batch_size=10, push_concurrency=2)
    ctx = harness.context()
    pull(ctx)
    queued = len(harness.pending())
    with push_beside(ctx, harness.client) as beside:
        pass  # the pull ended at once: stop now, not after the whole outbox
    assert beside.counts["batches"] <= 3  # the first batch alone, then at most one round of two
    assert len(harness.pending()) >= queued - 30
    push(ctx, harness.client)
    harness.delivered_once()
