"""Migration 0013: the quarantine's index by business key is what the models say, on SQLite and
PostgreSQL, and the migration goes down and up again."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from creditsync.store.db import alembic_config, upgrade
from creditsync.store.models import Base

INDEX = "ix_quarantine_business_key"


def indexes(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {index["name"] for index in inspect(conn).get_indexes("quarantine")}
    finally:
        engine.dispose()


@pytest.mark.filterwarnings("ignore:autogenerate skipping")
def test_migration_0013_indexes_the_quarantine_by_number_and_goes_down_and_up(empty_store_url: str) -> None:
    upgrade(empty_store_url)
    assert INDEX in indexes(empty_store_url)
    engine = create_engine(empty_store_url)
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert [d for d in differences if "quarantine" in repr(d)] == []

    engine = create_engine(empty_store_url)
    with engine.begin() as connection:
        config = alembic_config(empty_store_url)
        config.attributes["connection"] = connection
        command.downgrade(config, "0012_credit_loop")
    engine.dispose()
    assert INDEX not in indexes(empty_store_url)
    upgrade(empty_store_url)
    assert INDEX in indexes(empty_store_url)
