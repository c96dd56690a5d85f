"""``kind: sql``: a department's own relational database, read incrementally and strictly read-only.

Stream options (also accepted on the source, as defaults for every stream):

    table / query      one of: a table name, or one SELECT (or WITH … SELECT) statement
    db_schema          schema (owner) of ``table``; default: the connection's own
    columns            columns to read (default: all); key and cursor columns are always added
    key_column         the row's own id (becomes RawRecord.key)
    cursor_column      the watermark column, read in (cursor, key) order
    cursor_type        ``timestamp`` (an update time) or ``integer`` (an id or row version)
    overlap_seconds    timestamp only: re-read this far back, for writers that commit late
    report_null_cursor on a full read (no cursor yet), rows whose cursor is NULL are yielded as
                       malformed (default on); a watermark cannot see them on later reads
    timezone           the zone of DATETIME/TIMESTAMP values stored without an offset (the
                       department's local time, e.g. ``Asia/Shanghai``): values and cursors get its
                       offset, and the watermark is compared in that zone
    column_encodings   ``{column: encoding}`` for text the database mislabels, classically GBK bytes
                       in a ``latin1`` column of an old MySQL system: the bytes are recovered and
                       decoded (a row that does not decode is flagged, naming the column)

Source-only options: ``yield_per`` (rows per server-side fetch), ``connect_timeout_s`` (connect or
login timeout; SQLite busy timeout).

The Connection (never YAML) gives the database, in one of three forms:

* ``conn_type`` ``postgres``/``postgresql`` (also 人大金仓 Kingbase, PostgreSQL-compatible), ``mysql``/
  ``mariadb``, ``oracle``, ``mssql``, ``dm`` (达梦): host, port, login, password, schema = database
  name (Oracle: ``extra.service_name`` or ``extra.sid``; schema is not the database there, set
  ``db_schema`` on the streams); ``extra`` may add ``driver`` (e.g. ``psycopg``, ``mysqldb``,
  ``pymssql``) and the driver's TLS settings (sql_dialects lists them per database);
* ``conn_type`` ``sqlite``: the file path in ``host`` (JSON form) or ``schema`` (URI form
  ``sqlite:////abs/path.db``);
* any type with ``extra["sqlalchemy_url"]``: a full SQLAlchemy URL; keep the password out of it, in the
  Connection's password field (it is added when the URL has none).

Drivers: psycopg2 and PyMySQL come with the gateway; ``pip install creditsync[oracle]`` (oracledb),
``[mssql]`` (pyodbc, plus Microsoft's ODBC Driver 18), 达梦 needs dmPython and dmSQLAlchemy from DM.

Read-only by construction, not by convention (per database in sql_dialects): SQLite files are opened
``file:…?mode=ro`` with ``PRAGMA query_only``; PostgreSQL sessions start with
``default_transaction_read_only=on`` and every transaction issues ``SET TRANSACTION READ ONLY``;
MySQL/MariaDB sessions ``SET SESSION TRANSACTION READ ONLY``; Oracle and 达梦 transactions ``SET
TRANSACTION READ ONLY``; SQL Server connects with read-only intent; other databases are refused. The
adapter itself only ever sends SELECTs, never commits, and streams results through server-side
cursors (psycopg2 named cursors, PyMySQL SSCursor, the others' ``stream_results``).

Cursors are typed (:mod:`creditsync.sources.cursor`): ``cursor_type: integer`` is a row version
(``number``), ``timestamp`` an instant, with the offset the database returns for zoned types or the
``timezone`` given, else a local time. The bound is inclusive (``>=``): rows sharing the last cursor
value are read again and the framework drops the exact re-reads.
SQLite keeps timestamps as text, so there the bound is the cursor truncated to the second (or the
day, at midnight): a prefix of every spelling of that instant, never past it. Store SQLite timestamps
as ``YYYY-MM-DD[ HH:MM:SS[.ffffff]]`` in one time zone.
"""

from __future__ import annotations

import codecs
import logging
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import time
from typing import Any, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from pydantic import Field, field_validator, model_validator
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, NoSuchTableError

from creditsync.exceptions import ConfigurationError, CreditSyncError, FatalError, RetriableError
from creditsync.secrets import Connection
from creditsync.sources._sql_connect import database_url, read_only_engine, scrub
from creditsync.sources._sql_values import normalise_row, parse_cursor
from creditsync.sources.base import AdapterOptions, ItemError, RecordShape, SourceAdapter
from creditsync.sources.cursor_formats import CursorFormat, zone_of
from creditsync.sources.reading import StreamRead
from creditsync.sources.registry import register_adapter
from creditsync.sources.sql_dialects import DIALECTS, abandon_stream, dialect_for

__all__ = ["SqlOptions", "SqlSourceAdapter", "SqlStreamOptions", "database_url"]

log = logging.getLogger(__name__)

_SELECT = re.compile(r"^\s*(select|with)\b", re.IGNORECASE)
_CONFIG_MESSAGES = ("no such table", "no such column", "syntax error", "does not exist", "doesn't exist",
                    "unknown column", "ora-00942", "ora-00904", "invalid object name")
_AUTH_MESSAGES = ("authentication failed", "no password supplied", 'role "', "access denied for user",
                  "ora-01017", "login failed for user")


class SqlStreamOptions(AdapterOptions):
    table: str | None = None
    query: str | None = None
    db_schema: str | None = None
    columns: list[str] | None = None
    key_column: str | None = None
    cursor_column: str | None = None
    cursor_type: Literal["timestamp", "integer"] = "timestamp"
    overlap_seconds: float = Field(default=0, ge=0)
    report_null_cursor: bool = True
    timezone: str | None = None
    column_encodings: dict[str, str] | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"unknown time zone {value!r} (an IANA name: Asia/Shanghai)") from None
        return value

    @field_validator("column_encodings")
    @classmethod
    def _known_encodings(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        for column, encoding in (value or {}).items():
            try:
                codecs.lookup(encoding)
            except LookupError:
                raise ValueError(f"column {column!r}: unknown encoding {encoding!r}") from None
        return value

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.table and self.query:
            raise ValueError("give either table or query, not both")
        single = self.query is None or ";" not in self.query.strip().rstrip(";")
        if self.query is not None and not (_SELECT.match(self.query) and single):
            raise ValueError("query must be one SELECT (or WITH … SELECT) statement")
        if self.overlap_seconds and self.cursor_type != "timestamp":
            raise ValueError("overlap_seconds needs cursor_type: timestamp")
        return self


class SqlOptions(SqlStreamOptions):
    yield_per: int = Field(default=500, ge=1, le=100_000)
    connect_timeout_s: int = Field(default=10, ge=1)




@register_adapter
class SqlSourceAdapter(SourceAdapter):
    kind = "sql"
    options_model = SqlOptions
    stream_options_model = SqlStreamOptions
    retry_reads = False  # a broken connection fails the run; the next one reads from the cursor

    def __init__(self, department: str, options: Mapping[str, Any] | None, connection: Connection | None,
                 **kwargs: Any) -> None:
        super().__init__(department, options, connection, **kwargs)
        self.options: SqlOptions
        assert self.connection is not None  # requires_connection
        self.url = database_url(self.connection)
        if dialect_for(self.url) is None:
            known, backend = ", ".join(sorted(DIALECTS)), self.url.get_backend_name()
            raise ConfigurationError(f"{self._where()}: read-only access is implemented for {known} only, "
                                     f"not {backend!r}")
        self._engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        """Created on first use (creating an engine does no I/O; connecting does)."""
        if self._engine is None:
            self._engine = read_only_engine(self.url, self.options.connect_timeout_s)
        return self._engine

    def stream_options(self, stream: str, stream_options: Mapping[str, Any] | None) -> SqlStreamOptions:
        opts: SqlStreamOptions = self.merged_stream_options(stream, stream_options)
        missing = [name for name in ("key_column", "cursor_column") if not getattr(opts, name)]
        if not (opts.table or opts.query):
            missing.insert(0, "table or query")
        if missing:
            raise ConfigurationError(f"{self._where(stream)}: missing option(s) {', '.join(missing)}")
        return opts

    @contextmanager
    def connect(self) -> Iterator[sa.Connection]:
        """A read-only connection; its transaction is rolled back on exit, never committed."""
        with self._translate_errors(), self.engine.connect() as conn:
            yield conn

    def record_shape(self, options: Any) -> RecordShape:
        opts: SqlStreamOptions = options
        fmt = CursorFormat(type="row_version" if opts.cursor_type == "integer" else "iso8601")
        return RecordShape(opts.key_column or "", opts.cursor_column, fmt, zone_of(opts.timezone))

    @classmethod
    def normalise(cls, data: dict[str, Any], options: Any) -> dict[str, Any] | ItemError:
        return normalise_row(data, options)

    def records(self, read: StreamRead) -> Iterator[dict[str, Any]]:
        opts: SqlStreamOptions = read.options
        bound = parse_cursor(read.cursor, opts)
        log.info("%s: reading %s from %s %s after cursor %s", self.department, read.name, self._host(),
                 opts.table or "(query)", read.cursor)
        with self.connect() as conn, self._translate_errors(read.name):
            source = self._source(conn, opts, read.name)
            streaming = conn.execution_options(stream_results=True, yield_per=self.options.yield_per)
            for statement in _statements(source, opts, bound, conn.dialect.name):
                read.start_page("the query")
                result = streaming.execute(statement)
                try:
                    for row in result.mappings():
                        yield dict(row)
                except DBAPIError:
                    abandon_stream(result.cursor)
                    raise

    def check(self) -> None:
        with self.connect() as conn:
            conn.execute(sa.text("SELECT 1"))

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    # -- the SELECT ---------------------------------------------------------------------------------

    def _source(self, conn: sa.Connection, opts: SqlStreamOptions, stream: str) -> sa.FromClause:
        """The table or query as a FROM clause, its columns checked against the configuration.

        Columns are deliberately untyped: values come as the driver returns them, so one malformed
        value (a date that does not exist in a SQLite text column) flags one row instead of
        SQLAlchemy's result processing failing the whole stream."""
        if opts.table:
            try:
                found = [c["name"] for c in sa.inspect(conn).get_columns(opts.table, schema=opts.db_schema)]
            except NoSuchTableError:
                raise ConfigurationError(f"{self._where(stream)}: no table {opts.table!r}") from None
            _check_columns(found, opts, self._where(stream))
            return sa.table(opts.table, *(sa.column(name) for name in found), schema=opts.db_schema)
        assert opts.query is not None
        # no AS before the alias: Oracle and 达梦 refuse it, every other database accepts its absence
        probe = sa.text(f"SELECT * FROM ({opts.query}) creditsync_probe WHERE 1 = 0")
        found = list(conn.execute(probe).keys())
        _check_columns(found, opts, self._where(stream))
        return sa.text(opts.query).columns(*(sa.column(name) for name in found)).subquery("src")

    # -- errors -------------------------------------------------------------------------------------

    @contextmanager
    def _translate_errors(self, stream: str | None = None) -> Iterator[None]:
        try:
            yield
        except DBAPIError as exc:
            raise self._classify(exc, stream) from exc

    def _classify(self, exc: DBAPIError, stream: str | None) -> CreditSyncError:
        lines = str(exc.orig or exc).strip().splitlines() or ["(no message)"]
        text = scrub(lines[0], self.connection)  # the driver's first line, without the SQL
        lowered, where = text.lower(), self._where(stream)
        if any(m in lowered for m in _AUTH_MESSAGES):
            return FatalError(f"{where}: {self._host()} refused the credentials: {text}")
        if isinstance(exc, sa.exc.ProgrammingError) or any(m in lowered for m in _CONFIG_MESSAGES):
            return ConfigurationError(f"{where}: the database rejected the query: {text}")
        if isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError) or exc.connection_invalidated:
            return RetriableError(f"{where}: cannot reach the database {self._host()}: {text}")
        return FatalError(f"{where}: database error from {self._host()}: {text}")

    def _host(self) -> str:
        if self.url.get_backend_name() == "sqlite":
            return f"(sqlite file {self.url.database})"
        port = f":{self.url.port}" if self.url.port else ""
        return f"{self.url.host or 'localhost'}{port}/{self.url.database or ''}"


# -- statements, rows and cursors -------------------------------------------------------------------


def _check_columns(found: list[str], opts: SqlStreamOptions, where: str) -> None:
    wanted = [*(opts.columns or []), opts.key_column, opts.cursor_column]
    if unknown := sorted({name for name in wanted if name and name not in found}):
        raise ConfigurationError(f"{where}: unknown column(s) {unknown}; the source has {found}")


def _statements(source: sa.FromClause, opts: SqlStreamOptions, bound: Any,
                dialect: str) -> Iterator[sa.Select[Any]]:
    """On a full read, rows without a cursor first (reported as malformed; an incremental read cannot
    see them, and re-reporting them every run would count them against bad_record_threshold again),
    then ascending (cursor, key) from the bound: plain index-friendly queries, no CASE ordering."""
    names = list(dict.fromkeys([*(opts.columns or source.c.keys()), opts.key_column, opts.cursor_column]))
    base = sa.select(*(source.c[name] for name in names if name))
    cursor, key = source.c[opts.cursor_column or ""], source.c[opts.key_column or ""]
    if opts.report_null_cursor and bound is None:
        yield base.where(cursor.is_(None)).order_by(key)
    ordered = base.where(cursor.is_not(None)).order_by(cursor, key)
    yield ordered if bound is None else ordered.where(cursor >= _bind(bound, opts, dialect))


def _bind(bound: Any, opts: SqlStreamOptions, dialect: str) -> sa.BindParameter[Any]:
    if opts.cursor_type == "integer":
        return sa.bindparam("cursor_from", bound, type_=sa.BigInteger())
    if dialect == "sqlite":  # text timestamps: a prefix of every spelling of the instant
        text = bound.strftime("%Y-%m-%d" if bound.time() == time(0) else "%Y-%m-%d %H:%M:%S")
        return sa.bindparam("cursor_from", text, type_=sa.String())
    return sa.bindparam("cursor_from", bound, type_=sa.DateTime(timezone=bound.tzinfo is not None))

