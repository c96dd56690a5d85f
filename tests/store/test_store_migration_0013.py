"""Migration 0013: the quarantine's index by business key is what the models say, on SQLite and
PostgreSQL, and the migration goes down and up again."""

from __future__ import annotations

import pytest
from migration_checks import differences, down_and_up
from sqlalchemy import create_engine, inspect

from creditsync.store.db import upgrade

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
    assert differences(empty_store_url, "quarantine") == []
    down_and_up(empty_store_url, "0012_credit_loop", lambda: INDEX in indexes(empty_store_url))
