"""Connections of the SQL source: a SQLAlchemy URL from an Airflow Connection, read-only engines, and
error text with the password scrubbed."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.pool import NullPool

from creditsync.exceptions import ConfigurationError
from creditsync.secrets import Connection
from creditsync.sources.sql_dialects import CONN_TYPES, DIALECTS, POSTGRESQL, SQLITE, dialect_for


def database_url(connection: Connection) -> URL:
    """The SQLAlchemy URL of a Connection (forms in sql.py's docstring), with the database's default
    driver and URL parameters (sql_dialects); no I/O."""
    where = f"connection {connection.conn_id!r}"
    raw = connection.extra.get("sqlalchemy_url")
    if raw:
        try:
            url = make_url(str(raw))
        except ArgumentError:
            raise ConfigurationError(f"{where}: extra.sqlalchemy_url is not a SQLAlchemy URL") from None
        if connection.password and url.password is None and url.get_backend_name() != "sqlite":
            url = url.set(username=url.username or connection.login, password=connection.password)
        return _with_dialect_defaults(url)
    kind = connection.conn_type.lower()
    if kind == "sqlite":
        path = connection.host or connection.schema
        if not path:
            raise ConfigurationError(f"{where}: a sqlite connection needs the file path in host or schema")
        return URL.create("sqlite", database=path)
    backend = CONN_TYPES.get(kind)
    if backend is None:
        raise ConfigurationError(f"{where}: conn_type {connection.conn_type!r} is not a supported database "
                                 f"({', '.join(sorted({*CONN_TYPES, 'sqlite'}))}, or extra.sqlalchemy_url)")
    dialect = DIALECTS[backend]
    driver = str(connection.extra.get("driver") or dialect.default_driver)
    query = {k: str(connection.extra[k]) for k in dialect.url_extras if k in connection.extra}
    database = connection.schema or None
    if backend == "oracle":  # Airflow's oracle form: extra service_name or sid; schema is the owner
        database = str(connection.extra["sid"]) if "sid" in connection.extra else None
    url = URL.create(f"{backend}+{driver}", username=connection.login, password=connection.password,
                     host=connection.host or None, port=connection.port, database=database, query=query)
    return _with_dialect_defaults(url)


def _with_dialect_defaults(url: URL) -> URL:
    dialect = dialect_for(url)
    return dialect.url(url) if dialect else url


def read_only_engine(url: URL, connect_timeout_s: int) -> Engine:
    """An engine that cannot write: see sql_dialects. NullPool: a sync run needs one connection."""
    dialect = dialect_for(url)
    if dialect is None:
        raise ConfigurationError(f"no read-only access is implemented for {url.get_backend_name()!r}")
    if dialect is SQLITE:
        engine = sa.create_engine(_sqlite_read_only(url), poolclass=NullPool,
                                  connect_args={"timeout": connect_timeout_s, "check_same_thread": False})
        sa.event.listen(engine, "connect", _sqlite_query_only)
        return engine
    connect_args = dialect.engine_arguments(url, connect_timeout_s)
    if dialect is POSTGRESQL:
        given = url.query.get("options")
        connect_args["options"] = " ".join(filter(None, [given if isinstance(given, str) else None,
                                                         "-c default_transaction_read_only=on"]))
        url = url.difference_update_query(["options"])
    try:
        engine = sa.create_engine(url, poolclass=NullPool, connect_args=connect_args)
    except (ImportError, NoSuchModuleError) as exc:
        raise ConfigurationError(f"the {url.get_backend_name()} driver {url.get_driver_name()!r} is not "
                                 f"installed here ({exc}); {dialect.install_hint}") from None
    dialect.install(engine)
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


def scrub(text: str, connection: Connection | None) -> str:
    password = connection.password if connection else None
    return text.replace(password, "***") if password else text
