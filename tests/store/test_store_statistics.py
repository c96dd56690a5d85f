"""Planner statistics during a run's growth: the growing tables are analysed once the rows a run added
reach the first threshold, then each time they have doubled; SQLite is left alone."""

from __future__ import annotations

import logging
import subprocess
import sys
import time
import uuid

import pytest
from sqlalchemy import text

from creditsync.store import open_store
from creditsync.store.db import Store
from creditsync.store.models import Base
from creditsync.store.statistics import COLUMNS, FIRST, GROWING, GrowthWatch


def _planner_rows(store: Store) -> dict[str, float]:
    """pg_class.reltuples: -1 until a table is first analysed."""
    query = "SELECT reltuples FROM pg_class WHERE oid = CAST(:table AS regclass)"
    with store.engine.connect() as connection:
        return {table: float(connection.scalar(text(query), {"table": table})) for table in GROWING}


def test_tables_are_analysed_once_the_run_has_added_enough_rows(pg_url: str) -> None:
    store = open_store(pg_url)
    try:
        watch = GrowthWatch(store)
        watch.added(FIRST - 1)
        assert set(_planner_rows(store).values()) == {-1.0}  # never analysed yet
        watch.added(1)
        assert set(_planner_rows(store).values()) == {0.0}  # analysed: the tables are still empty
    finally:
        store.dispose()


def test_a_table_locked_by_maintenance_is_not_waited_for(pg_url: str,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="creditsync.store.statistics")
    store = open_store(pg_url)
    try:
        watch = GrowthWatch(store)
        with store.engine.connect() as maintenance:  # what a VACUUM or CREATE INDEX CONCURRENTLY holds
            maintenance.execute(text("LOCK TABLE outbox IN SHARE UPDATE EXCLUSIVE MODE"))
            started = time.monotonic()
            watch.added(FIRST)  # no error: the chunk was stored; the statistics wait for the next doubling
            assert time.monotonic() - started < 10
            maintenance.rollback()
        assert "could not analyse" in caplog.text
        assert _planner_rows(store)["outbox"] == -1.0  # the locked table was passed over
        watch.added(FIRST)
        assert set(_planner_rows(store).values()) == {0.0}
    finally:
        store.dispose()


def test_on_sqlite_nothing_is_analysed(sqlite_url: str) -> None:
    store = open_store(sqlite_url)
    try:
        watch = GrowthWatch(store)
        watch.added(FIRST * 10)
        with store.engine.connect() as connection:
            analysed = connection.scalar(text("SELECT count(*) FROM sqlite_master WHERE name='sqlite_stat1'"))
        assert analysed == 0
    finally:
        store.dispose()


def test_a_database_user_who_does_not_own_the_tables_is_told_why(pg_url: str,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    role = f"cs_stats_{uuid.uuid4().hex[:8]}"
    owner = open_store(pg_url)
    with owner.engine.connect() as connection:
        connection.execute(text(f'CREATE ROLE "{role}" LOGIN'))
        connection.execute(text(f'GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{role}"'))
        connection.commit()
    store = open_store(pg_url.replace("postgres@", f"{role}@", 1))
    try:
        GrowthWatch(store).added(FIRST)  # no error: the run goes on
        assert "only table or database owner can analyze it" in caplog.text
    finally:
        store.dispose()
        with owner.engine.connect() as connection:
            connection.execute(text(f'DROP OWNED BY "{role}"'))
            connection.execute(text(f'DROP ROLE "{role}"'))
            connection.commit()
        owner.dispose()


def test_a_sqlite_sync_does_not_load_the_postgresql_driver() -> None:
    """psycopg2 and libpq cost a SQLite sync 5 MB of its memory budget (B2)."""
    probe = "import sys, creditsync.pipeline.pull; print('psycopg2' in sys.modules)"
    found = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "False"


def test_every_sampled_column_is_one_of_its_table() -> None:
    """A column renamed by a migration would make every ANALYZE fail (a warning, and plans left without
    statistics): the list must follow the schema."""
    for table, columns in COLUMNS.items():
        assert set(columns) <= set(Base.metadata.tables[table].columns.keys()), table
