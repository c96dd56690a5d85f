"""Migration 0014: run streams keep the file rows that took a decision down (a retried pull reads the
file knowing them), as the models say, on SQLite and PostgreSQL; down and up again."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from creditsync.store.db import alembic_config, upgrade
from creditsync.store.models import Base


def columns(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {column["name"] for column in inspect(conn).get_columns("run_streams")}
    finally:
        engine.dispose()


@pytest.mark.filterwarnings("ignore:autogenerate skipping")
def test_migration_0014_adds_the_streams_takedowns_and_goes_down_and_up(empty_store_url: str) -> None:
    upgrade(empty_store_url)
    assert "taken_down" in columns(empty_store_url)
    engine = create_engine(empty_store_url)
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert [d for d in differences if "run_streams" in repr(d)] == []

    engine = create_engine(empty_store_url)
    with engine.begin() as connection:
        config = alembic_config(empty_store_url)
        config.attributes["connection"] = connection
        command.downgrade(config, "0013_quarantine_by_number")
    engine.dispose()
    assert "taken_down" not in columns(empty_store_url)
    upgrade(empty_store_url)
    assert "taken_down" in columns(empty_store_url)
