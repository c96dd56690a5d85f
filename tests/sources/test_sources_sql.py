"""The ``sql`` source adapter against real SQLite files and the local PostgreSQL: watermarks, the
overlap at the last cursor, read-only enforcement, streaming, and how failures are classified."""

from __future__ import annotations

import inspect
import itertools
import json
import logging
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from creditsync.exceptions import ConfigurationError, FatalError, RetriableError
from creditsync.secrets import Connection, parse_connection
from creditsync.sources._sql_connect import database_url
from creditsync.sources._sql_values import json_value
from creditsync.sources.base import RawRecord
from creditsync.sources.cursor import compare_cursors
from creditsync.sources.cursor_formats import CursorFormat
from creditsync.sources.registry import get_adapter_class
from creditsync.sources.sql import SqlSourceAdapter

T0 = datetime(2026, 5, 10, 9, 0, 0)
meta = sa.MetaData()
CASES = sa.Table(
    "cases", meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("case_no", sa.String(20)),
    sa.Column("party", sa.String(50)),
    sa.Column("fine_yuan", sa.Numeric(14, 2)),
    sa.Column("decided", sa.Date),
    sa.Column("updated", sa.DateTime),
    sa.Column("rev", sa.Integer),  # a row version: an integer watermark that rows may share
)
TIMESTAMP = {"table": "cases", "key_column": "case_no", "cursor_column": "updated"}
INTEGER = {"table": "cases", "key_column": "case_no", "cursor_column": "rev", "cursor_type": "integer"}


def row(number: int, updated: datetime | None, rev: int | None = None) -> dict[str, Any]:
    return {"case_no": f"C{number:03d}", "party": f"济南某某{number}有限公司",
            "fine_yuan": Decimal("2000.50"), "decided": date(2026, 5, 1), "updated": updated,
            "rev": number if rev is None else rev}


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    sqlite = f"sqlite:///{tmp_path / 'source.db'}"
    url = sqlite if request.param == "sqlite" else str(request.getfixturevalue("pg_url"))
    engine = sa.create_engine(url)
    meta.create_all(engine)
    with engine.begin() as conn:
        conn.execute(CASES.insert(), [row(n, T0 + timedelta(minutes=n)) for n in range(1, 6)])
    engine.dispose()
    yield url


def connection_for(url: str, conn_id: str = "cases_source") -> Connection:
    """The Connection a department would configure: sqlite path in host, PostgreSQL by its parts."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return Connection(conn_id, "sqlite", host=str(parsed.database))
    return Connection(conn_id, "postgres", host=parsed.host or "", port=parsed.port, login=parsed.username,
                      password=parsed.password, schema=parsed.database)


def adapter(url: str, **options: Any) -> SqlSourceAdapter:
    return SqlSourceAdapter("emergency_management", options, connection_for(url))


def read(url: str, stream_options: dict[str, Any], cursor: str | None = None,
         **options: Any) -> list[RawRecord]:
    with adapter(url, **options) as source:
        return list(source.read("penalty", stream_options, cursor))


def write(url: str, statement: Any, rows: Any = None) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(statement, rows) if rows is not None else conn.execute(statement)
    engine.dispose()


def last_cursor(records: list[RawRecord]) -> str:
    """What the pipeline stores: the highest cursor by compare_cursors, which for an adapter that yields
    in ascending order is also the last one yielded (checked here)."""
    cursors = [r.cursor for r in records if r.cursor is not None]
    highest = cursors[0]
    for cursor in cursors:
        assert compare_cursors(cursor, highest) >= 0, "cursors must ascend"
        highest = cursor
    return highest


# -- watermarks --------------------------------------------------------------------------------------


def test_timestamp_watermark_reads_in_cursor_order_from_the_bound(db_url: str) -> None:
    first = read(db_url, TIMESTAMP)
    assert [r.key for r in first] == ["C001", "C002", "C003", "C004", "C005"]
    assert [str(r.cursor) for r in first][:2] == ["2026-05-10T09:01:00", "2026-05-10T09:02:00"]
    assert all(r.error is None for r in first)
    later = read(db_url, TIMESTAMP, cursor=first[2].cursor)
    assert [r.key for r in later] == ["C003", "C004", "C005"]  # inclusive bound


@pytest.mark.parametrize("column", ["rev", "id"])
def test_integer_watermark_compares_numerically(db_url: str, column: str) -> None:
    write(db_url, CASES.insert(), [row(n, T0) for n in range(6, 13)])  # 6..12: "10" < "9" as text
    options = {**INTEGER, "cursor_column": column}
    assert [str(r.cursor) for r in read(db_url, options)] == [str(n) for n in range(1, 13)]
    later = read(db_url, options, cursor="9")
    assert [str(r.cursor) for r in later] == ["9", "10", "11", "12"]
    assert str(last_cursor(later)) == "12" and compare_cursors("12", "9") > 0


@pytest.mark.parametrize("options", [TIMESTAMP, INTEGER], ids=["timestamp", "integer"])
def test_rows_sharing_the_last_cursor_value_are_not_missed(db_url: str, options: dict[str, Any]) -> None:
    first = read(db_url, options)
    assert [r.key for r in first][-1] == "C005"
    # committed after the first read, with the very cursor value the first read ended on
    write(db_url, CASES.insert(), [row(99, T0 + timedelta(minutes=5), rev=5)])
    second = read(db_url, options, cursor=last_cursor(first))
    assert [r.key for r in second] == ["C005", "C099"]  # C005 again (deduplicated downstream) and C099


def test_overlap_seconds_rereads_rows_committed_late(db_url: str) -> None:
    cursor = last_cursor(read(db_url, TIMESTAMP))
    write(db_url, CASES.insert(), [row(50, T0 + timedelta(minutes=5, seconds=-30))])  # a slow writer
    assert "C050" not in {r.key for r in read(db_url, TIMESTAMP, cursor=cursor)}
    late = read(db_url, {**TIMESTAMP, "overlap_seconds": 60}, cursor=cursor)
    assert "C050" in {r.key for r in late}


def test_sqlite_text_timestamps_in_other_spellings_are_not_missed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'text.db'}"
    write(url, sa.text("CREATE TABLE t (no TEXT, changed TEXT)"))
    write(url, sa.text("INSERT INTO t VALUES ('a', '2026-05-10 09:00:00.250000'), ('b', '2026-05-09')"))
    cursor = last_cursor(read(url, {"table": "t", "key_column": "no", "cursor_column": "changed"}))
    write(url, sa.text("INSERT INTO t VALUES ('c', '2026-05-10 09:00:00'), ('d', '2026-05-10T09:00:00.25')"))
    again = read(url, {"table": "t", "key_column": "no", "cursor_column": "changed"}, cursor=cursor)
    assert {"a", "c", "d"} <= {r.key for r in again} and "b" not in {r.key for r in again}


# -- records -----------------------------------------------------------------------------------------


def test_records_keep_the_departments_column_names_with_json_values(db_url: str) -> None:
    record = read(db_url, TIMESTAMP)[0]
    assert set(record.data) == {"id", "case_no", "party", "fine_yuan", "decided", "updated", "rev"}
    assert record.data["decided"] == "2026-05-01" and record.data["party"] == "济南某某1有限公司"
    assert str(record.data["fine_yuan"]) in ("2000.50", "2000.5")  # PostgreSQL Decimal text, SQLite REAL
    json.dumps(record.data)
    columns = read(db_url, {**TIMESTAMP, "columns": ["party"]})[0]
    assert set(columns.data) == {"party", "case_no", "updated"}  # key and cursor always come along


def test_rows_without_key_or_cursor_are_flagged_not_fatal(db_url: str) -> None:
    write(db_url, CASES.insert(), [row(7, None), {**row(8, T0), "case_no": None}])
    records = read(db_url, TIMESTAMP)
    bad = {r.key: r.error for r in records if r.error}
    assert bad.pop("C007").startswith("item has no usable 'updated' (got None)")
    [(key, error)] = bad.items()
    assert key.startswith("bad:") and "no usable 'case_no'" in error
    assert all(r.cursor is None for r in records if r.error)
    assert "C007" not in {r.key for r in read(db_url, TIMESTAMP, cursor=last_cursor(records))}
    assert "C007" not in {r.key for r in read(db_url, {**TIMESTAMP, "report_null_cursor": False})}


def test_query_source_is_filtered_and_ordered_like_a_table(db_url: str) -> None:
    query = "SELECT case_no, party, updated FROM cases WHERE party <> 'nobody'"
    records = read(db_url, {"query": query, "key_column": "case_no", "cursor_column": "updated"},
                   cursor="2026-05-10T09:04:00.000000")
    assert [r.key for r in records] == ["C004", "C005"]


def cursor_text(value: Any, cursor_type: str) -> str:
    """The cursor a database value becomes, as the SQL source reads it (its value path, then the
    stream's cursor format)."""
    fmt = CursorFormat(type="row_version" if cursor_type == "integer" else "iso8601")
    return str(fmt.read(json_value(value)))


@pytest.mark.parametrize(("value", "cursor_type", "expected"), [
    (datetime(2026, 5, 10, 9, 30), "timestamp", "2026-05-10T09:30:00"),
    ("2026-05-10 09:30:00.5", "timestamp", "2026-05-10T09:30:00.500000"),
    ("2026-05-10T09:30:00+08:00", "timestamp", "2026-05-10T09:30:00+08:00"),
    (date(2026, 5, 10), "timestamp", "2026-05-10T00:00:00"),
    (1042, "integer", "1042"),
    (Decimal("7"), "integer", "7"),
    ("0012", "integer", "12"),
])
def test_cursor_text(value: Any, cursor_type: str, expected: str) -> None:
    assert cursor_text(value, cursor_type) == expected


@pytest.mark.parametrize(("value", "cursor_type"), [
    ("昨天", "timestamp"), (12, "timestamp"), (True, "integer"), ("1.5", "integer"), (None, "timestamp"),
])
def test_cursor_text_refuses_values_that_would_not_sort(value: Any, cursor_type: str) -> None:
    with pytest.raises((ValueError, ArithmeticError)):
        cursor_text(value, cursor_type)


def test_cursor_texts_sort_like_their_values() -> None:
    stamps = [datetime(2026, 5, 10, 9, 30, 0, micro) for micro in (0, 5, 500000)]
    texts = [cursor_text(s, "timestamp") for s in stamps]
    assert texts == sorted(texts) and all(compare_cursors(a, b) < 0 for a, b in itertools.pairwise(texts))
    numbers = [cursor_text(n, "integer") for n in (2, 9, 10, 100)]
    assert all(compare_cursors(a, b) < 0 for a, b in itertools.pairwise(numbers))


# -- read-only and streaming -------------------------------------------------------------------------


@pytest.mark.parametrize("statement", [
    "INSERT INTO cases (case_no) VALUES ('X1')",
    "UPDATE cases SET party = 'x'",
    "DELETE FROM cases",
    "CREATE TABLE evil (id INTEGER)",
    "DROP TABLE cases",
])
def test_a_write_through_the_adapters_connection_fails(db_url: str, statement: str) -> None:
    with adapter(db_url) as source, source.connect() as conn, pytest.raises(DBAPIError) as caught:
        conn.execute(sa.text(statement))
    assert "read" in str(caught.value).lower()  # readonly database / read-only transaction
    assert len(read(db_url, TIMESTAMP)) == 5


def test_postgresql_sessions_and_transactions_are_read_only(pg_url: str) -> None:
    with adapter(pg_url) as source, source.connect() as conn:
        assert conn.execute(sa.text("SHOW default_transaction_read_only")).scalar() == "on"
        assert conn.execute(sa.text("SHOW transaction_read_only")).scalar() == "on"


def test_the_adapter_only_ever_selects(db_url: str, tmp_path: Path) -> None:
    before = _snapshot(db_url)
    statements: list[str] = []
    with adapter(db_url) as source:
        sa.event.listen(source.engine, "before_cursor_execute",
                        lambda conn, cursor, statement, *args: statements.append(statement))
        source.check()
        list(source.read("penalty", TIMESTAMP, None))
        list(source.read("penalty", TIMESTAMP, "2026-05-10T09:03:00"))
        list(source.read("penalty", {**INTEGER, "query": "SELECT * FROM cases", "table": None}, "2"))
    allowed = ("select", "set transaction read only", "pragma", "show")
    assert statements and all(s.strip().lower().startswith(allowed) for s in statements), statements
    assert _snapshot(db_url) == before


def _snapshot(url: str) -> Any:
    if url.startswith("sqlite"):
        path = Path(str(make_url(url).database))
        return path.read_bytes(), path.stat().st_mtime_ns
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(CASES).order_by(CASES.c.id)).all()
    engine.dispose()
    return rows


def test_reads_stream_lazily_and_never_fetch_everything(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    materialised: list[str] = []  # statements whose whole result was fetched at once

    def spy(name: str) -> Any:
        original = getattr(sa.engine.CursorResult, name)

        def fetch(self: Any, *args: Any, **kwargs: Any) -> Any:
            materialised.append(str(self.context.statement))
            return original(self, *args, **kwargs)

        return fetch

    for name in ("fetchall", "all"):
        monkeypatch.setattr(sa.engine.CursorResult, name, spy(name))
    seen: list[tuple[str, str | None]] = []
    with adapter(db_url, yield_per=2) as source:
        sa.event.listen(source.engine, "before_cursor_execute", lambda conn, cursor, statement, *args:
                        seen.append((statement, getattr(cursor, "name", None))))
        records = source.read("penalty", TIMESTAMP, None)
        lazy = inspect.isgenerator(records) and seen == []  # nothing happens before the first next()
        assert lazy
        assert next(records).key == "C001"
        assert [r.key for r in records] == ["C002", "C003", "C004", "C005"]
    assert not [statement for statement in materialised if "FROM cases" in statement]
    if db_url.startswith("postgresql"):  # psycopg2 named cursor = server-side cursor
        assert all(name for statement, name in seen if "FROM cases" in statement)


# -- failures ----------------------------------------------------------------------------------------


def test_unreachable_database_is_retriable_and_never_shows_the_password(
        caplog: pytest.LogCaptureFixture) -> None:
    connection = Connection("emergency_management_source", "postgres", host="127.0.0.1", port=1,
                            login="reader", password="s3cret-Pw!", schema="cases")
    source = SqlSourceAdapter("emergency_management", {"connect_timeout_s": 2}, connection)
    caplog.set_level(logging.DEBUG)
    for attempt in (source.check, lambda: list(source.read("penalty", TIMESTAMP, None))):
        with pytest.raises(RetriableError) as caught:
            attempt()
        message = str(caught.value)
        assert "emergency_management" in message and "127.0.0.1:1" in message
        assert "s3cret" not in message + repr(caught.value) + str(caught.value.__cause__)
    assert "s3cret" not in caplog.text + repr(source.connection) + repr(source.url)


def test_a_missing_sqlite_file_is_retriable_and_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "share" / "cases.db"
    with pytest.raises(RetriableError, match="cannot reach"):
        list(adapter(f"sqlite:///{missing}").read("penalty", TIMESTAMP, None))
    assert not missing.exists()


@pytest.mark.parametrize(("options", "message"), [
    ({**TIMESTAMP, "table": "nope"}, "no table 'nope'"),
    ({**TIMESTAMP, "cursor_column": "changed_at"}, "unknown column(s) ['changed_at']"),
    ({**TIMESTAMP, "columns": ["party", "ghost"]}, "unknown column(s) ['ghost']"),
    ({"query": "SELECT * FROM nope", "key_column": "id", "cursor_column": "updated"}, "rejected the query"),
])
def test_bad_table_or_column_is_a_configuration_error(db_url: str, options: dict[str, Any],
                                                      message: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        read(db_url, options)
    assert message in str(caught.value)


def test_a_stored_cursor_of_the_wrong_type_is_a_configuration_error(db_url: str) -> None:
    with pytest.raises(ConfigurationError, match=r"is not a row_version cursor .* re-drive the stream"):
        read(db_url, INTEGER, cursor="2026-05-10T09:00:00.000000")


# -- configuration -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("options", "message"), [
    ({"table": "a", "query": "SELECT 1", "key_column": "k", "cursor_column": "c"}, "either table or query"),
    ({"query": "DELETE FROM cases", "key_column": "k", "cursor_column": "c"}, "one SELECT"),
    ({"query": "SELECT 1; DROP TABLE cases", "key_column": "k", "cursor_column": "c"}, "one SELECT"),
    ({**INTEGER, "overlap_seconds": 5}, "overlap_seconds needs cursor_type: timestamp"),
    ({"table": "cases", "cursor_column": "updated"}, "missing option(s) key_column"),
    ({"key_column": "k", "cursor_column": "c"}, "missing option(s) table or query"),
    ({**TIMESTAMP, "cursor_type": "date"}, "cursor_type"),
    ({**TIMESTAMP, "where": "1=1"}, "unknown option 'where'"),
])
def test_stream_options_are_validated(tmp_path: Path, options: dict[str, Any], message: str) -> None:
    source = adapter(f"sqlite:///{tmp_path / 'never-opened.db'}")
    with pytest.raises(ConfigurationError) as caught:
        source.stream_options("penalty", options)
    assert message in str(caught.value)
    assert not (tmp_path / "never-opened.db").exists()


def test_source_options_are_defaults_for_every_stream(tmp_path: Path) -> None:
    source = adapter(f"sqlite:///{tmp_path / 'x.db'}", cursor_type="integer", key_column="id")
    opts = source.stream_options("penalty", {"table": "cases", "cursor_column": "seq"})
    assert (opts.cursor_type, opts.key_column, opts.cursor_column) == ("integer", "id", "seq")


@pytest.mark.parametrize(("connection", "expected"), [
    (Connection("c", "sqlite", host="/data/em.db"), "sqlite:////data/em.db"),
    (parse_connection("c", "sqlite:////data/em.db"), "sqlite:////data/em.db"),
    (Connection("c", "postgres", host="db.internal", port=5433, login="reader", password="pw", schema="yjj"),
     "postgresql+psycopg2://reader:***@db.internal:5433/yjj"),
    (parse_connection("c", "postgresql://reader:p%40ss@db.internal/yjj?sslmode=require"),
     "postgresql+psycopg2://reader:***@db.internal/yjj?sslmode=require"),
    (Connection("c", "postgres", host="db", schema="yjj", extra={"driver": "psycopg"}), "postgresql+psycopg://db/yjj"),
    (Connection("c", "generic", login="reader", password="pw",
                extra={"sqlalchemy_url": "postgresql+psycopg2://db.internal/yjj"}),
     "postgresql+psycopg2://reader:***@db.internal/yjj"),
    (Connection("c", "kingbase", host="kb.internal", port=54321, login="reader", schema="zjj"),
     "postgresql+psycopg2://reader@kb.internal:54321/zjj"),
    (Connection("c", "mysql", host="db.internal", login="reader", password="pw", schema="zjj",
                extra={"ssl_ca": "/etc/ssl/ca.pem", "cursor": "sscursor"}),
     "mysql+pymysql://reader:***@db.internal/zjj?charset=utf8mb4&ssl_ca=%2Fetc%2Fssl%2Fca.pem"),
    (Connection("c", "mysql", host="db", schema="zjj", extra={"charset": "gbk"}),
     "mysql+pymysql://db/zjj?charset=gbk"),
    (Connection("c", "generic", extra={"sqlalchemy_url": "mariadb://reader@db:3307/zjj"}),
     "mariadb+pymysql://reader@db:3307/zjj?charset=utf8mb4"),
    (Connection("c", "generic", extra={"sqlalchemy_url": "mysql+mysqldb://reader@db/zjj"}),
     "mysql+mysqldb://reader@db/zjj"),
    (Connection("c", "oracle", host="ora.internal", port=1521, login="reader", password="pw", schema="ZJJ",
                extra={"service_name": "ORCLPDB1"}),
     "oracle+oracledb://reader:***@ora.internal:1521?service_name=ORCLPDB1"),
    (Connection("c", "oracle", host="ora", login="reader", extra={"sid": "ORCL"}), "oracle+oracledb://reader@ora/ORCL"),
    (Connection("c", "mssql", host="sql.internal", port=1433, login="reader", schema="zjj",
                extra={"TrustServerCertificate": "yes"}),
     "mssql+pyodbc://reader@sql.internal:1433/zjj?ApplicationIntent=ReadOnly"
     "&TrustServerCertificate=yes&driver=ODBC+Driver+18+for+SQL+Server"),
    (Connection("c", "dm", host="dm.internal", port=5236, login="READER", schema="ZJJ"),
     "dm+dmPython://READER@dm.internal:5236/ZJJ"),
])
def test_connection_forms(connection: Connection, expected: str) -> None:
    assert database_url(connection).render_as_string(hide_password=True) == expected


@pytest.mark.parametrize(("connection", "message"), [
    (Connection("c", "mongo", host="db"), "not a supported database"),
    (Connection("c", "sqlite"), "file path in host or schema"),
    (Connection("c", "generic", extra={"sqlalchemy_url": "not a url"}), "not a SQLAlchemy URL"),
    (Connection("c", "generic", extra={"sqlalchemy_url": "firebird://db/x"}),
     "read-only access is implemented for dm, mariadb, mssql, mysql, oracle, postgresql, sqlite only"),
])
def test_unsupported_connections_are_configuration_errors(connection: Connection, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        SqlSourceAdapter("emergency_management", {}, connection)


def test_sql_is_a_registered_kind_and_refuses_to_run_without_a_connection() -> None:
    assert get_adapter_class("sql") is SqlSourceAdapter
    with pytest.raises(ConfigurationError, match="needs a connection"):
        SqlSourceAdapter("emergency_management", {}, None)


def test_credentials_refused_is_fatal(pg_url: str) -> None:
    parsed = make_url(pg_url)
    connection = Connection("c", "postgres", host=parsed.host or "", port=parsed.port, login="nobody_here",
                            password="Zq9-secret", schema=parsed.database)
    with pytest.raises(FatalError, match="refused the credentials") as caught:
        SqlSourceAdapter("emergency_management", {}, connection).check()
    assert "Zq9-secret" not in str(caught.value)
