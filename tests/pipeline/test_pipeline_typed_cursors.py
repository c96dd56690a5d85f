"""Cursors are stored with their kind: migration 0007 converts the cursors a store already holds, a sync
stores the kind of what it read, and a run's report agrees with its streams after a re-drive."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from pipeline_harness import DEPARTMENT, Harness
from sqlalchemy import create_engine, text

from creditsync.audit import AuditTrail
from creditsync.quarantine import RedriveRequest, redrive
from creditsync.store.db import alembic_config, upgrade
from creditsync.store.models import Base
from creditsync.store.models import Cursor as StoredCursor

STORED = {"license": "1042", "penalty": "2026-05-10T09:30:15.000000+08:00",
          "inspection": "2026-05-03T08:00:00.000000Z|penalty_a.csv", "blacklist": "A-17"}
KINDS = {"license": "number", "penalty": "instant", "inspection": "instant", "blacklist": "text"}


def _migrate(url: str, target: str, downgrade: bool = False) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            config = alembic_config(url)
            config.attributes["connection"] = connection
            (command.downgrade if downgrade else command.upgrade)(config, target)
    finally:
        engine.dispose()


@pytest.mark.filterwarnings("ignore:autogenerate skipping")
def test_migration_0007_types_the_cursors_a_store_holds(empty_store_url: str) -> None:
    store_url = empty_store_url
    _migrate(store_url, "0003_core")
    engine = create_engine(store_url)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO sync_runs (id, department, trigger, status, started_at, counts) "
                          "VALUES ('r1', 'd', 'cli', 'success', :now, '{}')"), {"now": now})
        for category, value in STORED.items():
            conn.execute(text("INSERT INTO cursors (department, category, value, updated_at) "
                              "VALUES ('d', :c, :v, :now)"), {"c": category, "v": value, "now": now})
            conn.execute(text("INSERT INTO run_streams (run_id, category, cursor_from, cursor_to, "
                              "transformed, cursor_committed, counts) "
                              "VALUES ('r1', :c, NULL, :v, true, true, '{}')"),
                         {"c": category, "v": value})
    _migrate(store_url, "head")
    with engine.connect() as conn:
        cursors = {row.category: (row.value, row.kind) for row in conn.execute(text("SELECT * FROM cursors"))}
        streams = {row.category: row.cursor_kind for row in conn.execute(text("SELECT * FROM run_streams"))}
        differences = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert cursors == {category: (value, KINDS[category]) for category, value in STORED.items()}
    assert streams == KINDS
    assert [d for d in differences if "cursor" in repr(d)] == []  # the models are what the migration made
    _migrate(store_url, "0003_core", downgrade=True)
    upgrade(store_url)  # and up again
    engine.dispose()


def test_a_sync_stores_each_cursor_with_its_kind(harness: Harness) -> None:
    harness.sync()
    with harness.gateway.store.reader() as session:
        stored = {c.category: c for c in session.query(StoredCursor).filter_by(department=DEPARTMENT)}
    assert {c.kind for c in stored.values()} == {"instant"}
    assert all(c.value and c.value.endswith("+08:00") for c in stored.values())


def test_after_a_re_drive_the_report_counts_what_its_streams_refused(harness: Harness) -> None:
    first = harness.sync()
    refused = first["report"]["quarantined"]
    assert refused > 0
    config = harness.gateway.department(DEPARTMENT)
    redrive(harness.gateway.store, RedriveRequest(config.department, ["penalty", "license"], "mapping fixed",
                                                  reset_cursor=True), AuditTrail())

    again = harness.sync()  # the still-invalid records are read again; their entries stay open

    report = again["report"]
    streams = sum(int(s.get("quarantined", 0)) for s in report["streams"].values())
    assert report["quarantined"] == streams == refused  # not "quarantined: 0, success" while streams say 6
    assert report["status"] == "partial"
