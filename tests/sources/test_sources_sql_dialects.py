"""The SQL source's statements as each database will receive them: no Oracle, SQL Server or 达梦 server
runs here, so their watermark queries are compiled by the SQLAlchemy dialects and compared with what
the database must see; a missing driver is a clear configuration error naming the package."""

from __future__ import annotations

import importlib.util
from datetime import datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import mssql, mysql, oracle, postgresql
from sqlalchemy.engine import Dialect, make_url

from creditsync.exceptions import ConfigurationError
from creditsync.secrets import Connection
from creditsync.sources._sql_connect import read_only_engine
from creditsync.sources.sql import SqlSourceAdapter, SqlStreamOptions, _statements
from creditsync.sources.sql_dialects import DIALECTS, MSSQL, MYSQL, ORACLE, POSTGRESQL

BOUND = datetime(2026, 5, 10, 9, 30)
TABLE = sa.table("xzcf", sa.column("ajbh"), sa.column("dsrmc"), sa.column("gxsj"), schema="ZJJ")
TIMESTAMP = SqlStreamOptions(table="xzcf", key_column="ajbh", cursor_column="gxsj")
QUERY = sa.text("SELECT a.ajbh, a.gxsj FROM xzcf a").columns(sa.column("ajbh"), sa.column("gxsj"))
INTEGER = SqlStreamOptions(query="SELECT 1", key_column="ajbh", cursor_column="gxsj", cursor_type="integer")

# (dialect, incremental read of a table, full read of a query source: NULL cursors, then in order)
EXPECTED: list[tuple[Dialect, str, list[str]]] = [
    # python-oracledb: named binds, no AS before a subquery alias
    (oracle.oracledb.dialect(paramstyle="named"),
     'SELECT "ZJJ".xzcf.ajbh, "ZJJ".xzcf.dsrmc, "ZJJ".xzcf.gxsj FROM "ZJJ".xzcf '
     'WHERE "ZJJ".xzcf.gxsj IS NOT NULL AND "ZJJ".xzcf.gxsj >= :cursor_from '
     'ORDER BY "ZJJ".xzcf.gxsj, "ZJJ".xzcf.ajbh',
     ["SELECT src.ajbh, src.gxsj FROM (SELECT a.ajbh, a.gxsj FROM xzcf a) src WHERE src.gxsj IS NULL "
      "ORDER BY src.ajbh",
      "SELECT src.ajbh, src.gxsj FROM (SELECT a.ajbh, a.gxsj FROM xzcf a) src WHERE src.gxsj IS NOT NULL "
      "ORDER BY src.gxsj, src.ajbh"]),
    (mssql.pyodbc.dialect(paramstyle="qmark"),  # pyodbc: qmark binds, [bracketed] schema
     "SELECT [ZJJ].xzcf.ajbh, [ZJJ].xzcf.dsrmc, [ZJJ].xzcf.gxsj FROM [ZJJ].xzcf "
     "WHERE [ZJJ].xzcf.gxsj IS NOT NULL AND [ZJJ].xzcf.gxsj >= ? ORDER BY [ZJJ].xzcf.gxsj, [ZJJ].xzcf.ajbh",
     ["SELECT src.ajbh, src.gxsj FROM (SELECT a.ajbh, a.gxsj FROM xzcf a) AS src WHERE src.gxsj IS NULL "
      "ORDER BY src.ajbh",
      "SELECT src.ajbh, src.gxsj FROM (SELECT a.ajbh, a.gxsj FROM xzcf a) AS src WHERE src.gxsj IS NOT NULL "
      "ORDER BY src.gxsj, src.ajbh"]),
    (mysql.pymysql.dialect(paramstyle="pyformat"),
     "SELECT `ZJJ`.xzcf.ajbh, `ZJJ`.xzcf.dsrmc, `ZJJ`.xzcf.gxsj FROM `ZJJ`.xzcf "
     "WHERE `ZJJ`.xzcf.gxsj IS NOT NULL AND `ZJJ`.xzcf.gxsj >= %(cursor_from)s "
     "ORDER BY `ZJJ`.xzcf.gxsj, `ZJJ`.xzcf.ajbh",
     ["SELECT src.ajbh, src.gxsj FROM (SELECT a.ajbh, a.gxsj FROM xzcf a) AS src WHERE src.gxsj IS NULL "
      "ORDER BY src.ajbh",
      "SELECT src.ajbh, src.gxsj FROM (SELECT a.ajbh, a.gxsj FROM xzcf a) AS src WHERE src.gxsj IS NOT NULL "
      "ORDER BY src.gxsj, src.ajbh"]),
    (postgresql.psycopg2.dialect(paramstyle="pyformat"),  # PostgreSQL and 人大金仓 Kingbase
     'SELECT "ZJJ".xzcf.ajbh, "ZJJ".xzcf.dsrmc, "ZJJ".xzcf.gxsj FROM "ZJJ".xzcf '
     'WHERE "ZJJ".xzcf.gxsj IS NOT NULL AND "ZJJ".xzcf.gxsj >= %(cursor_from)s '
     'ORDER BY "ZJJ".xzcf.gxsj, "ZJJ".xzcf.ajbh',
     ["SELECT src.ajbh, src.gxsj FROM (SELECT a.ajbh, a.gxsj FROM xzcf a) AS src WHERE src.gxsj IS NULL "
      "ORDER BY src.ajbh",
      "SELECT src.ajbh, src.gxsj FROM (SELECT a.ajbh, a.gxsj FROM xzcf a) AS src WHERE src.gxsj IS NOT NULL "
      "ORDER BY src.gxsj, src.ajbh"]),
]


def compiled(statement: Any, dialect: Dialect) -> tuple[str, dict[str, Any]]:
    result = statement.compile(dialect=dialect)
    return " ".join(str(result).split()), dict(result.params)


@pytest.mark.parametrize(("dialect", "incremental", "full"), EXPECTED, ids=lambda v: getattr(v, "name", ""))
def test_the_watermark_query_as_each_database_receives_it(dialect: Dialect, incremental: str,
                                                         full: list[str]) -> None:
    [statement] = _statements(TABLE, TIMESTAMP, BOUND, dialect.name)  # a cursor: no NULL-cursor query
    assert compiled(statement, dialect) == (incremental, {"cursor_from": BOUND})
    statements = list(_statements(QUERY.subquery("src"), INTEGER, None, dialect.name))
    assert [compiled(s, dialect)[0] for s in statements] == full
    [bounded] = _statements(QUERY.subquery("src"), INTEGER, 2**40, dialect.name)  # ids past 32 bits
    assert compiled(bounded, dialect)[1] == {"cursor_from": 2**40}


def test_dm_statements_compile_with_the_dm_dialect_when_it_imports() -> None:
    """达梦: DM publishes dmSQLAlchemy (dialect ``dm``) and dmPython on PyPI. dmSQLAlchemy 2.0.17
    imports ``await_fallback`` from sqlalchemy.util, gone in SQLAlchemy 2.1 (the gateway's): until DM
    ships a release for 2.1 the dialect cannot load, and 达梦 is read only through its Oracle-compatible
    SQL, which this test then compiles with the Oracle dialect instead."""
    try:
        from sqlalchemy.dialects import registry

        dialect: Dialect = registry.load("dm")()
    except Exception as exc:  # ImportError, PackageNotFoundError, DistributionNotFound: not loadable
        pytest.skip(f"the 达梦 SQLAlchemy dialect does not load here: {type(exc).__name__}: {exc}")
    [statement] = _statements(TABLE, TIMESTAMP, BOUND, dialect.name)
    text, params = compiled(statement, dialect)
    assert "gxsj >= " in text and text.endswith("ORDER BY \"ZJJ\".xzcf.gxsj, \"ZJJ\".xzcf.ajbh")
    assert params == {"cursor_from": BOUND}


@pytest.mark.parametrize(("backend", "session", "transaction"), [
    ("mysql", ("SET SESSION TRANSACTION READ ONLY", "SET SESSION net_write_timeout = 600"), None),
    ("mariadb", ("SET SESSION TRANSACTION READ ONLY", "SET SESSION net_write_timeout = 600"), None),
    ("postgresql", (), "SET TRANSACTION READ ONLY"),
    ("oracle", (), "SET TRANSACTION READ ONLY"),
    ("dm", (), "SET TRANSACTION READ ONLY"),
    ("mssql", (), None),  # read-only intent in the URL; the account must be db_datareader only
])
def test_each_database_is_made_read_only_its_own_way(backend: str, session: tuple[str, ...],
                                                     transaction: str | None) -> None:
    dialect = DIALECTS[backend]
    assert (dialect.session_statements, dialect.transaction_statement) == (session, transaction)


@pytest.mark.parametrize(("dialect", "url", "expected"), [
    (MYSQL, "mysql+pymysql://h/db", {"connect_timeout": 7}),  # zero dates: one value path (_sql_values)
    (MYSQL, "mysql+mysqldb://h/db", {"connect_timeout": 7}),
    (POSTGRESQL, "postgresql+psycopg2://h/db", {"connect_timeout": 7}),
    (ORACLE, "oracle+oracledb://h", {"tcp_connect_timeout": 7.0}),
    (MSSQL, "mssql+pyodbc://h/db", {"timeout": 7}),
])
def test_connect_arguments_are_each_drivers_own(dialect: Any, url: str, expected: dict[str, Any]) -> None:
    arguments = dialect.engine_arguments(make_url(url), 7)
    assert arguments.keys() == expected.keys()
    assert {k: v for k, v in arguments.items() if k != "conv"} == {k: v for k, v in expected.items()
                                                                  if k != "conv"}


@pytest.mark.parametrize(("url", "package"), [
    ("oracle+oracledb://reader@ora/?service_name=ORCL", "creditsync[oracle]"),
    ("mssql+pyodbc://reader@sql/zjj", "creditsync[mssql]"),
    ("dm+dmPython://READER@dm:5236/ZJJ", "dmPython dmSQLAlchemy"),
])
def test_a_missing_driver_is_a_configuration_error_naming_the_package(url: str, package: str) -> None:
    driver = make_url(url).get_driver_name()
    if importlib.util.find_spec(driver) is not None:
        pytest.skip(f"{driver} is installed here")
    with pytest.raises(ConfigurationError, match=package.replace("[", r"\[").replace("]", r"\]")):
        read_only_engine(make_url(url), 3)
    connection = Connection("c", "generic", extra={"sqlalchemy_url": url})
    source = SqlSourceAdapter("housing_construction", {}, connection)
    with pytest.raises(ConfigurationError, match="is not installed here"):
        source.check()
