"""What every migration test checks: the upgraded store is what the models say for the tables the
migration touches, and the migration goes down to its parent and up again."""

from __future__ import annotations

from collections.abc import Callable

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from creditsync.store.db import alembic_config, upgrade
from creditsync.store.models import Base


def differences(url: str, table: str) -> list[str]:
    """What differs between the store and the models, in ``table``."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            found = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    finally:
        engine.dispose()
    return [repr(d) for d in found if table in repr(d)]


def down_and_up(url: str, parent: str, present: Callable[[], bool]) -> None:
    """Downgrade to ``parent`` (``present()`` turns false) and upgrade again (true again)."""
    engine = create_engine(url)
    with engine.begin() as connection:
        config = alembic_config(url)
        config.attributes["connection"] = connection
        command.downgrade(config, parent)
    engine.dispose()
    assert not present()
    upgrade(url)
    assert present()
