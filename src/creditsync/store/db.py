"""Engine, sessions and schema upgrades for the gateway store."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

from creditsync.exceptions import ConfigurationError
from creditsync.store import guard

MIGRATIONS = Path(__file__).parent / "migrations"
READ_ONLY = "creditsync_read_only"  # an execution option: sessions that never write
# The schema revision this code needs (the newest migration; a test keeps the two equal). Runs only
# check it: upgrading is `creditsync db-upgrade`'s job, done once per deployment, not by every task.
SCHEMA_REVISION = "0014_run_stream_takedowns"
UPGRADE_HINT = "run `creditsync db-upgrade` (make demo and the deployment's init step do)"


def _encode_json(value: Any) -> str:
    return msgspec.json.encode(value).decode()


# JSON columns (payloads, audit details) are written several times per record: msgspec's codec is several
# times faster than the json module. Only storage uses it; every hash is computed over json.dumps text.
JSON_CODEC: dict[str, Any] = {"json_serializer": _encode_json, "json_deserializer": msgspec.json.decode}


@dataclass
class Store:
    """A handle on the gateway database: ``with store.transaction() as session: ...``. Its ORM sessions
    are made on first use: a read-only command that queries Core tables (``read_connection``) never
    imports the ORM (benchmarks/RESULTS.md, CLI start-up)."""

    engine: Engine

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        from sqlalchemy.orm import sessionmaker

        return sessionmaker(self.engine, expire_on_commit=False)

    @cached_property
    def read_sessions(self) -> sessionmaker[Session]:
        from sqlalchemy.orm import sessionmaker

        return sessionmaker(self.engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One atomic unit of work: commits on success, rolls back on any exception."""
        with self.sessions.begin() as session:
            yield session

    @contextmanager
    def reader(self) -> Iterator[Session]:
        """For reading only: on SQLite it never takes the write lock, so a long export or an audit
        check does not hold up the pipeline."""
        with self.read_sessions() as session:
            yield session

    @contextmanager
    def read_connection(self) -> Iterator[Connection]:
        """``reader`` without the ORM, for Core queries (creditsync.store.tables): the same read-only
        transaction, rolled back at the end."""
        with self.engine.execution_options(**{READ_ONLY: True}).connect() as connection:
            yield connection

    def dispose(self) -> None:
        self.engine.dispose()


def create_store_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except Exception as exc:
        raise ConfigurationError(f"CREDITSYNC_DB_URL is not a database URL: {exc}") from exc
    if parsed.get_backend_name() != "sqlite":
        options: dict[str, Any] = {}
        if parsed.get_driver_name() == "psycopg2":
            # An executemany UPDATE (a batch's receipts) goes in pages, not one round trip per row.
            options["executemany_mode"] = "values_plus_batch"
        engine = create_engine(url, pool_pre_ping=True, future=True, **JSON_CODEC, **options)
        guard.install(engine)
        return engine
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 60, "check_same_thread": False}, **JSON_CODEC)
    _serialise_sqlite_writers(engine)
    guard.install(engine)
    return engine


def _serialise_sqlite_writers(engine: Engine) -> None:
    """SQLite: WAL for concurrent readers, and BEGIN IMMEDIATE so that two writers queue instead of
    failing with 'database is locked' when both upgrade a read lock (SQLAlchemy's documented recipe)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # In WAL mode NORMAL is safe from corruption and loses at most the last commits on a power cut,
        # which the outbox replays (idempotency keys) and the cursor re-reads: one fsync per checkpoint
        # instead of one per transaction.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        read_only = conn.get_execution_options().get(READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def alembic_config(url: str) -> Any:
    """Alembic's configuration of the store (imported only here: runs never need Alembic)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str) -> None:
    """Bring the schema to the newest revision (idempotent)."""
    from alembic import command

    engine = create_store_engine(url)
    try:
        with engine.begin() as connection, guard.lifecycle_writes():
            if engine.dialect.name == "postgresql":  # two upgrades of a new store take turns
                connection.execute(text("SELECT pg_advisory_xact_lock(7301, 0)"))
            config = alembic_config(url)
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    finally:
        engine.dispose()


def schema_revision(engine: Engine) -> str | None:
    """The store's schema revision; None for a store never upgraded (no tables yet)."""
    with engine.connect() as connection:
        try:
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except Exception:  # no alembic_version table: a new, empty store
            connection.rollback()
            return None


def check_schema(engine: Engine) -> None:
    """Stop with what to do when the store is not at the schema this code needs."""
    found = schema_revision(engine)
    if found == SCHEMA_REVISION:
        return
    if found is None:
        raise ConfigurationError(f"the gateway store is not initialised: {UPGRADE_HINT}")
    raise ConfigurationError(f"the gateway store is at schema {found}, this gateway needs "
                             f"{SCHEMA_REVISION}: {UPGRADE_HINT}")


def open_store(url: str, *, migrate: bool = False, check: bool = True) -> Store:
    """A store handle. ``migrate``: upgrade first (``creditsync db-upgrade``, tests); otherwise the schema
    must already be current (``check``; the console checks on its own and says so on the page)."""
    if migrate:
        upgrade(url)
    engine = create_store_engine(url)
    if check and not migrate:
        try:
            check_schema(engine)
        except ConfigurationError:
            engine.dispose()
            raise
    return Store(engine=engine)
