"""What differs between the databases the SQL source reads: how to connect (driver, connect timeout,
charset), how a session is made read-only, how results are streamed, and how driver values are
fixed up before they become record data (``_sql_values``: one code path for every database, and for
sample files given to ``creditsync map``).

One :class:`SqlDialect` per SQLAlchemy backend name. The SELECTs themselves are SQLAlchemy
expressions compiled by the backend's own dialect, so the watermark query (``cursor >= :bound ORDER
BY cursor, key``) is written once and spelt per database by SQLAlchemy.

=============  ==================  ==============================================================
backend        default driver      read-only by construction
=============  ==================  ==============================================================
postgresql     psycopg2            ``default_transaction_read_only=on`` + ``SET TRANSACTION READ ONLY``
(Kingbase)                         the same: 人大金仓 speaks the PostgreSQL protocol
mysql/mariadb  pymysql             ``SET SESSION TRANSACTION READ ONLY`` on every new connection
oracle         oracledb            ``SET TRANSACTION READ ONLY`` first in every transaction
mssql          pyodbc              ``ApplicationIntent=ReadOnly`` (routes to a readable secondary where
                                   there is one; SQL Server has no read-only transaction: the account
                                   must be ``db_datareader`` only)
dm (达梦)      dmPython            ``SET TRANSACTION READ ONLY`` first in every transaction
sqlite         pysqlite            file opened ``mode=ro`` + ``PRAGMA query_only``
=============  ==================  ==============================================================

Every dialect also relies on the account the department's DBA hands over being SELECT-only
(docs/adding-a-department.md says what to ask for): the session settings are a second lock, not the
only one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL

Hook = Callable[[Any, Any], None]  # (DBAPI connection, connection record), SQLAlchemy's "connect" event


@dataclass(frozen=True)
class SqlDialect:
    backend: str
    default_driver: str
    default_port: int | None
    # DBAPI connect() keyword arguments for the connect timeout, given the timeout in seconds
    connect_timeout: Callable[[int], dict[str, Any]] = lambda _s: {}
    install_hint: str = "install the database's Python driver"
    # URL query parameters of the default driver, set when the URL does not give them
    url_defaults: Mapping[str, str] = field(default_factory=dict)
    # Connection extras passed on as URL parameters (TLS, service names); others are not the driver's
    url_extras: tuple[str, ...] = ()
    # statements run once on every new DBAPI connection (session settings)
    session_statements: tuple[str, ...] = ()
    # statement run first in every transaction
    transaction_statement: str | None = None
    # extra DBAPI connect() arguments (value converters)
    connect_args: Callable[[], dict[str, Any]] = dict

    def url(self, url: URL) -> URL:
        """``url`` with the dialect's default driver and query parameters where it names none."""
        if "+" not in url.drivername and self.default_driver:
            url = url.set(drivername=f"{url.get_backend_name()}+{self.default_driver}")
        if url.get_driver_name() != self.default_driver:  # another driver: its own parameter names
            return url
        missing = {k: v for k, v in self.url_defaults.items() if k not in url.query}
        return url.update_query_dict(missing) if missing else url

    def engine_arguments(self, url: URL, connect_timeout_s: int) -> dict[str, Any]:
        """DBAPI connect() arguments; the converters only for the default driver (they are its own)."""
        own = self.connect_args() if url.get_driver_name() == self.default_driver else {}
        return {**own, **self.connect_timeout(connect_timeout_s)}

    def install(self, engine: sa.Engine) -> None:
        """Hook the read-only session and transaction statements into ``engine``."""
        if self.session_statements:
            sa.event.listen(engine, "connect", _run_on_connect(self.session_statements))
        if self.transaction_statement:
            statement = self.transaction_statement
            sa.event.listen(engine, "begin", lambda conn: conn.exec_driver_sql(statement))


def _run_on_connect(statements: tuple[str, ...]) -> Hook:
    def run(dbapi_conn: Any, _record: Any) -> None:
        cursor = dbapi_conn.cursor()
        try:
            for statement in statements:
                cursor.execute(statement)
        finally:
            cursor.close()

    return run


# -- MySQL / MariaDB ----------------------------------------------------------------------------------

def abandon_stream(dbapi_cursor: Any) -> None:
    """Forget a streamed result whose fetch failed (a killed connection): PyMySQL's unbuffered result
    would otherwise try to drain the dead socket when garbage-collected, and print the error it
    ignores. Other drivers have nothing to forget."""
    result: Any = getattr(dbapi_cursor, "_result", None)
    if getattr(result, "unbuffered_active", False):
        result.unbuffered_active = False


MYSQL = SqlDialect(
    backend="mysql", default_driver="pymysql", default_port=3306,
    install_hint="pip install 'creditsync[mysql]'",
    connect_timeout=lambda s: {"connect_timeout": s},
    # utf8mb4 on the wire: the server converts gbk/utf8mb3/latin1 columns to it, and nothing outside
    # the BMP (𠮷, emoji in a utf8mb4 column) is lost.
    url_defaults={"charset": "utf8mb4"},
    url_extras=("charset", "ssl_ca", "ssl_cert", "ssl_key", "ssl_check_hostname"),
    # net_write_timeout: a streamed read pauses between fetches while the pipeline stages rows
    session_statements=("SET SESSION TRANSACTION READ ONLY", "SET SESSION net_write_timeout = 600"),
)

POSTGRESQL = SqlDialect(
    backend="postgresql", default_driver="psycopg2", default_port=5432,
    connect_timeout=lambda s: {"connect_timeout": s},
    url_extras=("sslmode", "sslrootcert", "sslcert", "sslkey", "application_name"),
    transaction_statement="SET TRANSACTION READ ONLY",
)

ORACLE = SqlDialect(
    backend="oracle", default_driver="oracledb", default_port=1521,
    install_hint="pip install 'creditsync[oracle]'",
    connect_timeout=lambda s: {"tcp_connect_timeout": float(s)},
    url_extras=("service_name",),
    transaction_statement="SET TRANSACTION READ ONLY",
)

MSSQL = SqlDialect(
    backend="mssql", default_driver="pyodbc", default_port=1433,
    install_hint="pip install 'creditsync[mssql]' and Microsoft's ODBC Driver 18 for SQL Server",
    connect_timeout=lambda s: {"timeout": s},  # pyodbc's login timeout
    url_defaults={"driver": "ODBC Driver 18 for SQL Server", "ApplicationIntent": "ReadOnly"},
    url_extras=("Encrypt", "TrustServerCertificate", "ApplicationIntent"),
)

DM = SqlDialect(
    backend="dm", default_driver="dmPython", default_port=5236,
    install_hint="pip install dmPython dmSQLAlchemy (DM's own packages; dmSQLAlchemy 2.0.17 does not "
                 "import under SQLAlchemy 2.1 yet)",
    transaction_statement="SET TRANSACTION READ ONLY",
)

SQLITE = SqlDialect(backend="sqlite", default_driver="", default_port=None)

DIALECTS: dict[str, SqlDialect] = {
    d.backend: d for d in (MYSQL, POSTGRESQL, ORACLE, MSSQL, DM, SQLITE)} | {"mariadb": MYSQL}

# Airflow conn_type → SQLAlchemy backend. Kingbase (人大金仓) is given as postgres.
CONN_TYPES: dict[str, str] = {
    "postgres": "postgresql", "postgresql": "postgresql", "kingbase": "postgresql",
    "mysql": "mysql", "mariadb": "mysql",
    "oracle": "oracle",
    "mssql": "mssql",
    "dm": "dm", "dameng": "dm",
}


def dialect_for(url: URL) -> SqlDialect | None:
    return DIALECTS.get(url.get_backend_name())
