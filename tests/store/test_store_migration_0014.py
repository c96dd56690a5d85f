"""Migration 0014: run streams keep the file rows that took a decision down (a retried pull reads the
file knowing them), as the models say, on SQLite and PostgreSQL; down and up again."""

from __future__ import annotations

import pytest
from migration_checks import differences, down_and_up
from sqlalchemy import create_engine, inspect

from creditsync.store.db import upgrade


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
    assert differences(empty_store_url, "run_streams") == []
    down_and_up(empty_store_url, "0013_quarantine_by_number",
                lambda: "taken_down" in columns(empty_store_url))
