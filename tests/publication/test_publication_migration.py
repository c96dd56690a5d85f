"""Migration 0003_publication: the records columns of the publication rules, as the model declares them."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from creditsync.store.db import alembic_config, upgrade
from creditsync.store.models import Base

COLUMNS = {"severity", "display_until", "withdraw_reason", "repair_decision_no", "published_within_days",
           "withdrawn_within_days"}


@pytest.mark.filterwarnings("ignore:autogenerate skipping")
def test_the_migrated_records_table_is_the_model(store_url: str) -> None:
    upgrade(store_url)
    engine = create_engine(store_url)
    try:
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
            columns = {c["name"] for c in inspect(connection).get_columns("records")}
            indexes = {i["name"] for i in inspect(connection).get_indexes("records")}
    finally:
        engine.dispose()
    assert columns >= COLUMNS
    assert "ix_records_display_until" in indexes
    assert [d for d in differences if "records" in repr(d)] == []


def test_the_migration_downgrades_to_0002(store_url: str) -> None:
    upgrade(store_url)
    engine = create_engine(store_url)
    try:
        with engine.begin() as connection:
            config = alembic_config(store_url)
            config.attributes["connection"] = connection
            command.downgrade(config, "0002")
        with engine.connect() as connection:
            columns = {c["name"] for c in inspect(connection).get_columns("records")}
    finally:
        engine.dispose()
    assert not COLUMNS & columns
    upgrade(store_url)  # and up again
