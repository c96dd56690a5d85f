"""Migration 0012: the credit loop's tables are what the models say, on SQLite and PostgreSQL, and the
migration goes down and up again."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from creditsync.store.db import SCHEMA_REVISION, alembic_config, upgrade
from creditsync.store.models import Base

CREDIT_TABLES = {"credit_feed_pulls", "credit_list_versions", "credit_list_current", "credit_grade_versions",
                 "credit_grade_current", "credit_checks", "credit_draws", "credit_deliveries"}


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
def test_migration_0012_makes_the_models_tables_and_goes_down_and_up(empty_store_url: str) -> None:
    assert SCHEMA_REVISION >= "0012_credit_loop"
    upgrade(empty_store_url)
    engine = create_engine(empty_store_url)
    with engine.connect() as conn:
        assert set(inspect(conn).get_table_names()) >= CREDIT_TABLES
        differences = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in differences if "credit_" in repr(d)] == []
    _migrate(empty_store_url, "0007_typed_cursors", downgrade=True)
    with engine.connect() as conn:
        assert CREDIT_TABLES & set(inspect(conn).get_table_names()) == set()
    engine.dispose()
    upgrade(empty_store_url)
