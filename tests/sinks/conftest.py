"""Exchange databases on the machine's real MariaDB and PostgreSQL (fresh, dropped after)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(params=["mariadb", "postgresql"])
def exchange_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh exchange database (前置库) on the real server, dropped afterwards."""
    fixture = "empty_mariadb_url" if request.param == "mariadb" else "empty_pg_url"
    yield str(request.getfixturevalue(fixture))
