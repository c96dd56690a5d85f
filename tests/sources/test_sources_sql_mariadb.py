"""The ``sql`` source against the machine's real MariaDB: a department database the way old systems
keep it (GBK and utf8mb3 tables, GBK bytes in a latin1 column, local DATETIMEs, zero dates, TINYINT(1),
DECIMAL, a view), read-only sessions, streaming, rows updated during a read and a connection killed
mid-read."""

from __future__ import annotations

import gc
import sys
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pymysql
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from creditsync.exceptions import ConfigurationError, FatalError, RetriableError
from creditsync.secrets import Connection
from creditsync.simulators.departments.housing_construction import SourceDatabase, create_database
from creditsync.simulators.departments.housing_construction_data import OUTSIDE_GBK
from creditsync.sources._sql_values import decode_mislabelled
from creditsync.sources.base import RawRecord
from creditsync.sources.sql import SqlSourceAdapter
from creditsync.testing.sql_conformance import mariadb_server

pytestmark = pytest.mark.integration

PENALTIES = {"table": "v_xzcf", "key_column": "ajbh", "cursor_column": "gxsj", "timezone": "Asia/Shanghai",
             "column_encodings": {"dsrmc_old": "gbk"}}
LICENCES = {"table": "sgxk", "key_column": "xkzbh", "cursor_column": "gxsj", "timezone": "Asia/Shanghai"}


@pytest.fixture
def source() -> Iterator[SourceDatabase]:
    """The department's database, freshly created on the local MariaDB and dropped afterwards."""
    database = create_database(mariadb_server(), f"creditsync_test_{uuid.uuid4().hex[:10]}", seed=7)
    try:
        yield database
    finally:
        database.drop()


def connection(source: SourceDatabase, **extra: Any) -> Connection:
    return Connection("housing_construction_source", "mysql", host=source.url.host or "",
                      port=source.url.port, login="root", schema=source.database, extra=extra)


def adapter(source: SourceDatabase, **options: Any) -> SqlSourceAdapter:
    return SqlSourceAdapter("housing_construction", options, connection(source))


def read(source: SourceDatabase, options: dict[str, Any], cursor: str | None = None,
         **source_options: Any) -> list[RawRecord]:
    with adapter(source, **source_options) as reader:
        return list(reader.read("penalty", options, cursor))


def admin(source: SourceDatabase, statement: str, **params: Any) -> list[Any]:
    engine = sa.create_engine(source.url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            result = conn.execute(sa.text(statement), params)
            return list(result) if result.returns_rows else []
    finally:
        engine.dispose()


def by_key(records: list[RawRecord]) -> dict[str, RawRecord]:
    return {r.key: r for r in records}


# -- text, times and values arrive as the department meant them ------------------------------------


def test_gbk_utf8mb3_and_latin1_mislabelled_text_arrive_intact(source: SourceDatabase) -> None:
    units = {u["dwid"]: u for u in source.rows("dwxx", order="dwid")}
    cases = {c["ajbh"]: c for c in source.rows("xzcf")}
    records = by_key(read(source, PENALTIES))
    first = records["ZJCF-0001"]
    unit = units[cases["ZJCF-0001"]["dwid"]]
    assert first.data["dsrmc_old"] == unit["dwmc"]  # GBK bytes in latin1, decoded by column_encodings
    assert first.data["fddbr"] == unit["fddbr"] and first.data["wfxw"] == cases["ZJCF-0001"]["wfxw"]
    assert "有限公司" in first.data["dsrmc_old"] or unit["dwlx"] == "04"


def test_a_character_outside_gbk_in_a_utf8mb4_column_arrives_intact(source: SourceDatabase) -> None:
    key, text = OUTSIDE_GBK
    assert "𠮷" in text
    assert by_key(read(source, PENALTIES))[key].data["bz"] == text


def test_without_column_encodings_the_latin1_column_is_mojibake(source: SourceDatabase) -> None:
    plain = by_key(read(source, {**PENALTIES, "column_encodings": None}))["ZJCF-0001"]
    decoded = by_key(read(source, PENALTIES))["ZJCF-0001"]
    assert plain.data["dsrmc_old"] != decoded.data["dsrmc_old"]
    assert decode_mislabelled(plain.data["dsrmc_old"], "gbk") == decoded.data["dsrmc_old"]


def test_a_row_whose_mislabelled_column_does_not_decode_is_flagged_naming_the_column(
        source: SourceDatabase) -> None:
    bad = by_key(read(source, PENALTIES))["ZJCF-0005"]
    assert bad.cursor is None and bad.error is not None
    assert "'dsrmc_old' is not gbk text" in bad.error
    assert bad.data["ajbh"] == "ZJCF-0005"


def test_local_datetimes_get_the_departments_offset_explicitly(source: SourceDatabase) -> None:
    stored = {c["ajbh"]: c["gxsj"] for c in source.rows("xzcf")}
    record = by_key(read(source, PENALTIES))["ZJCF-0002"]
    local = stored["ZJCF-0002"]
    assert record.data["gxsj"] == local.isoformat() + "+08:00"
    assert str(record.cursor) == local.isoformat() + "+08:00"
    naive = by_key(read(source, {**PENALTIES, "timezone": None}))["ZJCF-0002"]
    assert str(naive.cursor) == local.isoformat() and naive.cursor.is_local


def test_the_watermark_is_compared_in_the_departments_zone(source: SourceDatabase) -> None:
    ordered = sorted((c["gxsj"], c["ajbh"]) for c in source.rows("xzcf"))
    stamp, _ = ordered[10]
    in_utc = stamp.replace(tzinfo=None) - timedelta(hours=8)  # the same instant, written in UTC
    cursor = in_utc.isoformat(timespec="microseconds") + "+00:00"
    got = read(source, PENALTIES, cursor=cursor)
    expected = [key for when, key in ordered if when >= stamp and key != "ZJCF-0005"]
    assert [r.key for r in got if r.error is None] == expected


def test_zero_dates_arrive_empty_and_flags_and_money_keep_their_values(source: SourceDatabase) -> None:
    raw = {row["xkzbh"]: row for row in _raw_licences(source)}
    records = by_key(read(source, LICENCES))
    zero = [key for key, row in raw.items() if row["yxqz"] == "0000-00-00"]
    assert zero, "the seed has 长期 licences"
    assert all(records[key].data["yxqz"] is None for key in zero)
    assert records["ZJXK-0007"].data["fzrq"] is None  # 0000-00-00: no decision date (the mapping says so)
    assert {records[k].data["sfyx"] for k in records} <= {0, 1}
    assert all(type(records[k].data["sfyx"]) is int for k in records)  # TINYINT(1) is a number here
    assert all(records[k].data["htjg"] == raw[k]["htjg"] for k in records)  # DECIMAL as exact text


def _raw_licences(source: SourceDatabase) -> list[dict[str, Any]]:
    """The licence rows as MariaDB prints them (zero dates and DECIMAL as text)."""
    statement = "SELECT xkzbh, CAST(yxqz AS CHAR) AS yxqz, CAST(htjg AS CHAR) AS htjg FROM sgxk"
    return [dict(row._mapping) for row in admin(source, statement)]


def test_a_view_and_a_query_joining_two_tables_are_sources(source: SourceDatabase) -> None:
    query = ("SELECT s.xkzbh, s.gxsj, d.dwmc FROM sgxk s JOIN dwxx d ON d.dwid = s.dwid "
             "WHERE s.sfyx = 1")
    records = read(source, {"query": query, "key_column": "xkzbh", "cursor_column": "gxsj"})
    assert len(records) == sum(1 for row in source.rows("sgxk") if row["sfyx"] == 1)
    assert set(records[0].data) == {"xkzbh", "gxsj", "dwmc"}
    assert len(read(source, PENALTIES)) == len(source.rows("xzcf"))


# -- read-only, streaming -------------------------------------------------------------------------


@pytest.mark.parametrize("statement", [
    "INSERT INTO xzcf (ajbh) VALUES ('X1')",
    "UPDATE xzcf SET bz = 'x'",
    "DELETE FROM xzcf",
    "CREATE TABLE evil (id INT)",
    "DROP TABLE xzcf",
    "CREATE TEMPORARY TABLE scratch (id INT)",
])
def test_a_write_through_the_adapters_mariadb_session_fails(source: SourceDatabase, statement: str) -> None:
    before = source.rows("xzcf")
    with adapter(source) as reader, reader.connect() as conn, pytest.raises(DBAPIError) as caught:
        conn.execute(sa.text(statement))
    assert "READ ONLY transaction" in str(caught.value)
    assert source.rows("xzcf") == before


def test_mariadb_sessions_are_read_only_and_speak_utf8mb4(source: SourceDatabase) -> None:
    with adapter(source) as reader, reader.connect() as conn:
        assert conn.execute(sa.text("SELECT @@session.tx_read_only")).scalar() == 1
        assert conn.execute(sa.text("SELECT @@character_set_client")).scalar() == "utf8mb4"
        assert conn.execute(sa.text("SELECT @@character_set_results")).scalar() == "utf8mb4"


def test_mariadb_reads_stream_through_a_server_side_cursor(source: SourceDatabase) -> None:
    cursors: list[type] = []
    with adapter(source, yield_per=3) as reader:
        sa.event.listen(reader.engine, "before_cursor_execute",
                        lambda conn, cursor, statement, *args: cursors.append(type(cursor))
                        if statement.startswith("SELECT") and "v_xzcf" in statement else None)
        records = reader.read("penalty", PENALTIES, None)
        assert next(records).key
        rest = list(records)
    assert rest and cursors and all(issubclass(kind, pymysql.cursors.SSCursor) for kind in cursors)


def test_a_read_only_account_is_enough(source: SourceDatabase) -> None:
    user = source.grant_reader("Rd-0nly-pw", user=f"cs_reader_{uuid.uuid4().hex[:8]}")
    reader = Connection("c", "mysql", host=source.url.host or "", port=source.url.port,
                        login=user, password="Rd-0nly-pw", schema=source.database)
    records = list(SqlSourceAdapter("housing_construction", {}, reader).read("penalty", PENALTIES, None))
    assert len(records) == len(source.rows("xzcf"))
    # the account is the first lock: even a session that never set READ ONLY cannot write
    raw = pymysql.connect(host=source.url.host, port=source.url.port or 3306, user=user,
                          password="Rd-0nly-pw", database=source.database, autocommit=True)
    with raw, raw.cursor() as cursor, pytest.raises(pymysql.err.OperationalError, match="command denied"):
        cursor.execute("UPDATE xzcf SET bz = 'x'")
    wrong = Connection("c", "mysql", host=source.url.host or "", port=source.url.port,
                       login=user, password="Wr0ng-pw", schema=source.database)
    with pytest.raises(FatalError, match="refused the credentials") as caught:
        SqlSourceAdapter("housing_construction", {}, wrong).check()
    assert "Wr0ng-pw" not in str(caught.value)


def test_the_read_only_account_is_one_account_and_goes_with_the_database() -> None:
    """Tests and the demo create reader accounts on the shared server: each is created, granted and
    dropped under the same name and host, so none outlives its database."""
    database = create_database(mariadb_server(), f"creditsync_test_{uuid.uuid4().hex[:10]}", seed=7)
    user = f"cs_reader_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(database.server)
    try:
        database.grant_reader("Rd-0nly-pw", user=user)
        with admin.connect() as conn:
            hosts = [row[0] for row in conn.exec_driver_sql(
                "SELECT host FROM mysql.user WHERE user = %s", (user,))]
        assert hosts == ["%"]
    finally:
        database.drop()
    with admin.connect() as conn:
        left = conn.exec_driver_sql("SELECT COUNT(*) FROM mysql.user WHERE user = %s", (user,)).scalar()
    admin.dispose()
    assert left == 0


def test_an_unknown_table_is_a_configuration_error(source: SourceDatabase) -> None:
    with pytest.raises(ConfigurationError, match="no table 'nope'"):
        read(source, {**PENALTIES, "table": "nope"})
    with pytest.raises(ConfigurationError, match="rejected the query"):
        read(source, {"query": "SELECT * FROM nope", "key_column": "ajbh", "cursor_column": "gxsj"})


# -- incremental syncs ----------------------------------------------------------------------------


def test_rows_updated_during_a_read_are_picked_up_by_the_next_read(source: SourceDatabase) -> None:
    """The read sees one snapshot; rows corrected meanwhile get a later gxsj, read next time. Every
    row's latest version is seen: nothing lost."""
    seen: dict[str, RawRecord] = {}
    with adapter(source, yield_per=2) as reader:
        records = reader.read("penalty", PENALTIES, None)
        for number, record in enumerate(records):
            seen[record.key] = record
            if number == 3:  # mid-read: one row already read and one not yet read are corrected
                source.update_penalty("ZJCF-0001", ajzt="已撤销")
                source.update_penalty("ZJCF-0030", bz="更正")
    cursor = max(r.cursor for r in seen.values() if r.cursor)
    again = by_key(read(source, PENALTIES, cursor))
    assert again["ZJCF-0001"].data["ajzt"] == "已撤销"  # the deletion, signalled by the status column
    assert again["ZJCF-0030"].data["bz"] == "更正"
    assert set(seen) == {row["ajbh"] for row in source.rows("xzcf")}


def test_rows_sharing_the_last_second_are_read_again_not_missed(source: SourceDatabase) -> None:
    records = read(source, PENALTIES)
    last = max(r.cursor for r in records if r.cursor)
    stamp = last.as_datetime().replace(tzinfo=None)
    source.update_penalty("ZJCF-0004", gxsj=stamp)  # committed late, in the very same second
    again = [r.key for r in read(source, PENALTIES, last)]
    assert "ZJCF-0004" in again


def test_a_connection_killed_mid_read_fails_retriably_and_the_next_read_resumes(
        source: SourceDatabase, monkeypatch: pytest.MonkeyPatch) -> None:
    """KILL CONNECTION from another session while rows stream: the read fails with a RetriableError
    (and the driver's dead stream is dropped quietly), and reading again from the last cursor the
    failed read reached gives every remaining row."""
    admin(source, "CREATE TABLE bulk (id INT PRIMARY KEY, pad VARCHAR(2000), gxsj DATETIME, KEY (gxsj, id))"
                  " DEFAULT CHARSET=gbk")
    admin(source, "INSERT INTO bulk SELECT seq, REPEAT('长清', 500), "
                  "'2026-05-10 09:00:00' + INTERVAL seq SECOND FROM seq_1_to_20000")
    options = {"table": "bulk", "key_column": "id", "cursor_column": "gxsj", "timezone": "Asia/Shanghai"}
    ignored: list[Any] = []  # errors raised in finalisers, which Python prints and ignores
    monkeypatch.setattr(sys, "unraisablehook", ignored.append)
    got, error = _read_until_killed(source, options, after=100)
    gc.collect()
    assert "cannot reach the database" in error and not ignored, ignored
    assert 100 <= len(got) < 20000  # 100 read, then what the socket buffers held: mid-read
    rest = read(source, options, cursor=got[-1].cursor)
    assert {r.key for r in got} | {r.key for r in rest} == {str(n) for n in range(1, 20001)}
    assert len({r.key for r in got} & {r.key for r in rest}) == 1  # only the inclusive bound again


def _read_until_killed(source: SourceDatabase, options: dict[str, Any],
                       after: int) -> tuple[list[RawRecord], str]:
    got: list[RawRecord] = []
    with adapter(source, yield_per=50) as reader:
        try:
            for record in reader.read("penalty", options, None):
                got.append(record)
                if len(got) == after:
                    _kill_reader(source)
        except RetriableError as exc:
            return got, str(exc)
    raise AssertionError(f"the read survived the kill ({len(got)} rows)")


def _kill_reader(source: SourceDatabase) -> None:
    sessions = admin(source, "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = :db "
                             "AND ID <> CONNECTION_ID() AND INFO LIKE 'SELECT%bulk%'", db=source.database)
    assert len(sessions) == 1, sessions
    admin(source, f"KILL CONNECTION {int(sessions[0][0])}")
