"""Connections of the SQL source: a SQLAlchemy URL from an Airflow Connection, read-only engines, and
error text with the password scrubbed."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import NullPool

from creditsync.exceptions import ConfigurationError
from creditsync.secrets import Connection

_PG_EXTRAS = ("sslmode", "sslrootcert", "sslcert", "sslkey", "application_name")


def database_url(connection: Connection) -> URL:
    """The SQLAlchemy URL of a Connection (forms in the module docstring); no I/O."""
    where = f"connection {connection.conn_id!r}"
    raw = connection.extra.get("sqlalchemy_url")
    if raw:
        try:
            url = make_url(str(raw))
        except ArgumentError:
            raise ConfigurationError(f"{where}: extra.sqlalchemy_url is not a SQLAlchemy URL") from None
        if connection.password and url.password is None and url.get_backend_name() != "sqlite":
            url = url.set(username=url.username or connection.login, password=connection.password)
        return url
    kind = connection.conn_type.lower()
    if kind == "sqlite":
        path = connection.host or connection.schema
        if not path:
            raise ConfigurationError(f"{where}: a sqlite connection needs the file path in host or schema")
        return URL.create("sqlite", database=path)
    if kind in ("postgres", "postgresql"):
        driver = str(connection.extra.get("driver") or "psycopg2")
        query = {k: str(connection.extra[k]) for k in _PG_EXTRAS if k in connection.extra}
        return URL.create(f"postgresql+{driver}", username=connection.login, password=connection.password,
                          host=connection.host or None, port=connection.port,
                          database=connection.schema, query=query)
    raise ConfigurationError(f"{where}: conn_type {connection.conn_type!r} is not a supported database "
                             "(postgres, sqlite, or extra.sqlalchemy_url)")


def read_only_engine(url: URL, connect_timeout_s: int) -> Engine:
    """An engine that cannot write: see the module docstring. NullPool: a sync run needs one connection."""
    if url.get_backend_name() == "sqlite":
        engine = sa.create_engine(_sqlite_read_only(url), poolclass=NullPool,
                                  connect_args={"timeout": connect_timeout_s, "check_same_thread": False})
        sa.event.listen(engine, "connect", _sqlite_query_only)
        return engine
    given = url.query.get("options")
    options = " ".join(filter(None, [given if isinstance(given, str) else None,
                                     "-c default_transaction_read_only=on"]))
    engine = sa.create_engine(url.difference_update_query(["options"]), poolclass=NullPool,
                              connect_args={"connect_timeout": connect_timeout_s, "options": options})
    sa.event.listen(engine, "begin", _read_only_transaction)
    return engine


def _sqlite_read_only(url: URL) -> URL:
    database = url.database or ""
    if not database or database == ":memory:":
        raise ConfigurationError("a sqlite source needs a database file, not an in-memory database")
    if not database.startswith("file:"):
        database = "file:" + quote(str(Path(database).expanduser().resolve()))
    # pysqlite appends the URL's other query parameters to the file: URI (…?mode=ro)
    return url.set(database=database).update_query_dict({"mode": "ro", "uri": "true"})


def _sqlite_query_only(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA query_only = ON")
    cursor.close()


def _read_only_transaction(conn: sa.Connection) -> None:
    conn.exec_driver_sql("SET TRANSACTION READ ONLY")


def scrub(text: str, connection: Connection | None) -> str:
    password = connection.password if connection else None
    return text.replace(password, "***") if password else text
