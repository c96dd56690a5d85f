"""Shared fixtures: gateway stores on SQLite and on the machine's real PostgreSQL."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from creditsync.store import Store, open_store
from creditsync.store.db import upgrade

# Airflow writes its config under AIRFLOW_HOME on first import: never the user's ~/airflow.
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="creditsync-airflow-"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
# Runs end with a signed audit checkpoint: never into the checkout's var/.
os.environ.setdefault("CREDITSYNC_AUDIT_CHECKPOINTS",
                      str(Path(tempfile.mkdtemp(prefix="creditsync-checkpoints-")) / "audit.jsonl"))

PG_ADMIN = os.environ.get("CREDITSYNC_TEST_PG", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")


def _pg_available() -> bool:
    try:
        import psycopg2

        psycopg2.connect(host="127.0.0.1", dbname="postgres", user="postgres", connect_timeout=3).close()
    except Exception:
        return False
    return True


@pytest.fixture(scope="session")
def pg_server() -> str:
    if not _pg_available():
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL at 127.0.0.1:5432 is required in CI")
        pytest.skip("PostgreSQL is not running here")
    return PG_ADMIN


def _pg_database(pg_server: str, template: str | None = None) -> Iterator[str]:
    from sqlalchemy import create_engine, text

    name = f"creditsync_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(pg_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
    try:
        yield pg_server.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def pg_template(pg_server: str) -> Iterator[str]:
    """A PostgreSQL database at the current schema, copied for each test (``creditsync db-upgrade`` once
    per session instead of once per test)."""
    for url in _pg_database(pg_server):
        upgrade(url)
        yield url.rsplit("/", 1)[1]


@pytest.fixture
def pg_url(pg_server: str, pg_template: str) -> Iterator[str]:
    """A fresh PostgreSQL gateway store at the current schema, dropped afterwards."""
    yield from _pg_database(pg_server, pg_template)


@pytest.fixture
def empty_pg_url(pg_server: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database (never upgraded), dropped afterwards."""
    yield from _pg_database(pg_server)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("schema") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


def migrated_sqlite(path: Path, template: Path) -> str:
    """A SQLite gateway store at ``path``, at the current schema (a copy of the session's template)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    """A fresh SQLite gateway store at the current schema."""
    return migrated_sqlite(tmp_path / "gateway.db", sqlite_template)


@pytest.fixture
def empty_sqlite_url(tmp_path: Path) -> str:
    """A SQLite file never upgraded."""
    return f"sqlite:///{tmp_path / 'empty.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_store_url(request: pytest.FixtureRequest) -> str:
    """A store never upgraded, on SQLite and on PostgreSQL (for migration tests)."""
    return str(request.getfixturevalue("empty_sqlite_url" if request.param == "sqlite" else "empty_pg_url"))


@pytest.fixture
def new_store_url(tmp_path: Path, sqlite_template: Path):  # type: ignore[no-untyped-def]
    """``new_store_url(path)``: a SQLite gateway store at the current schema at ``path``."""
    return lambda path: migrated_sqlite(Path(path), sqlite_template)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest) -> str:
    fixture = "sqlite_url" if request.param == "sqlite" else "pg_url"
    return str(request.getfixturevalue(fixture))


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    handle = open_store(store_url)
    yield handle
    handle.dispose()


@pytest.fixture
def empty_mariadb_url() -> Iterator[str]:
    """A fresh, empty MariaDB database (utf8mb4) on the local server, dropped afterwards."""
    from sqlalchemy import create_engine, text

    from creditsync.testing.sql_conformance import mariadb_server

    server = mariadb_server()
    name = f"creditsync_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server)
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"))
    try:
        yield f"{server.rstrip('/')}/{name}?charset=utf8mb4"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
        admin.dispose()
