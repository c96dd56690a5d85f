"""Set-based writes: one statement per table and chunk, never one flush per record.

The pipeline works a chunk of records at a time; these helpers turn a chunk's rows into one statement
per table: on PostgreSQL a COPY for inserts and one ``UPDATE … FROM (VALUES …)`` per set of columns
(psycopg2 renders the rows in C), on SQLite the DBAPI's executemany with the rows as tuples, elsewhere
SQLAlchemy's executemany. They also serialise the writers of one department.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from io import StringIO
from operator import itemgetter
from typing import Any

import msgspec
from sqlalchemy import JSON, bindparam, insert, text, update
from sqlalchemy import any_ as sa_any
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from creditsync.store import guard

# pg_advisory_xact_lock(int, int): the first number names the gateway, the second the department.
_LOCK_CLASS = 7301


def insert_rows(session: Session, model: Any, rows: Sequence[Mapping[str, Any]]) -> None:
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql" and len(rows) > 1:
        _copy_rows(session, model.__table__, rows)
    elif dialect == "sqlite" and len(rows) > 1:
        _sqlite_insert(session, model.__table__, rows)
    else:
        session.execute(insert(model.__table__), list(rows))


def _values_of(columns: Sequence[str]) -> Callable[[Mapping[str, Any]], Sequence[Any]]:
    """A row's values in ``columns`` order, as a tuple (one C call for several columns)."""
    if len(columns) == 1:
        return lambda row: (row[columns[0]],)
    return itemgetter(*columns)


def _sqlite_insert(session: Session, table: Any, rows: Sequence[Mapping[str, Any]]) -> None:
    """The DBAPI's executemany with the rows as tuples: SQLAlchemy's executemany builds a parameter dict
    per row and passes every value through its processing, a quarter of a chunk's write time."""
    columns = list(rows[0])
    names = ", ".join(f'"{name}"' for name in columns)
    marks = ", ".join(["?"] * len(columns))
    session.connection().exec_driver_sql(f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})',
                                         _sqlite_params(session, table, columns, rows))


def _sqlite_params(session: Session, table: Any, columns: Sequence[str],
                   rows: Iterable[Mapping[str, Any]]) -> list[Sequence[Any]]:
    """Each row's values in ``columns`` order, through the column types' own bind processors (JSON text,
    SQLite's date and time spelling), so the rows stored are the ones SQLAlchemy would store."""
    dialect = session.get_bind().dialect
    values = _values_of(columns)
    processors = [(index, processor) for index, name in enumerate(columns)
                  if (processor := table.c[name].type.dialect_impl(dialect).bind_processor(dialect))]
    if not processors:
        return [values(row) for row in rows]
    params: list[Sequence[Any]] = []
    for row in rows:
        found = list(values(row))
        for index, processor in processors:
            found[index] = processor(found[index])
        params.append(tuple(found))
    return params


def _copy_rows(session: Session, table: Any, rows: Sequence[Mapping[str, Any]]) -> None:
    """COPY … FROM STDIN in PostgreSQL's text format: a few microseconds a row, against tens for a
    multi-row INSERT built parameter by parameter."""
    guard.check(table.name)
    columns = list(rows[0])
    texts = [_column_texts([row[name] for row in rows], _copy_format(table.c[name])) for name in columns]
    lines = StringIO("\n".join(map("\t".join, zip(*texts, strict=True))) + "\n")
    cursor = session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.copy_expert(f'COPY {table.name} ({", ".join(columns)}) FROM STDIN', lines)
    finally:
        cursor.close()


# Types whose equal values are spelt alike (equal aware timestamps are one instant): a column of these
# is spelt once per distinct value. Not bool: True == 1 would share a spelling with the integer.
_SPELT_ONCE = frozenset((type(None), str, int, datetime, date))


def _column_texts(values: list[Any], form: Callable[[Any], str]) -> list[str]:
    """One column of a chunk in COPY's text format, a column at a time: most columns are plain text or
    share a handful of values (the state, the run, the time), decided for the whole column in C."""
    if form is _copy_json:
        return [_copy_json(value) for value in values]
    kinds = set(map(type, values))
    if kinds == {str} and _plain("".join(values)):
        return values
    if kinds <= _SPELT_ONCE:
        spelt = {value: _copy_text(value) for value in set(values)}
        return list(map(spelt.__getitem__, values))
    return [_copy_text(value) for value in values]


def _plain(value: str) -> bool:
    return "\\" not in value and "\t" not in value and "\n" not in value and "\r" not in value


def _copy_format(column: Any) -> Callable[[Any], str]:
    return _copy_json if isinstance(column.type, JSON) else _copy_text


def _copy_json(value: Any) -> str:
    # msgspec escapes every control character; only its backslashes need doubling for COPY's text format
    return "\\N" if value is None else msgspec.json.encode(value).decode().replace("\\", "\\\\")


def _escaped(value: str) -> str:
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return (value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
                .replace("\r", "\\r"))
    return value


def _copy_other(value: Any) -> str:
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, int | float | Decimal):
        return str(value)
    return _escaped(str(value))


_COPY_BY_TYPE: dict[type, Callable[[Any], str]] = {
    str: _escaped, type(None): lambda _value: "\\N", int: str, bool: _copy_other,
    datetime: datetime.isoformat, date: date.isoformat}


def _copy_text(value: Any) -> str:
    return _COPY_BY_TYPE.get(type(value), _copy_other)(value)


def fetch_dicts(session: Session, statement: Any) -> list[dict[str, Any]]:
    """The rows of a SELECT as dicts; on PostgreSQL straight from psycopg2's cursor (tuples built in C),
    skipping SQLAlchemy's row processing, which costs more than the query for wide rows read per record."""
    if session.get_bind().dialect.name != "postgresql":
        return [dict(row._mapping) for row in session.execute(statement)]
    compiled = statement.compile(dialect=session.get_bind().dialect,
                                 compile_kwargs={"render_postcompile": True})
    cursor = session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(str(compiled), compiled.params)
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        cursor.close()


def any_of(session: Session, column: Any, values: Collection[Any]) -> Any:
    """``column IN values`` as one array parameter (``= ANY(:values)``) on PostgreSQL: a statement the
    server plans once, its hundreds of keys adapted by psycopg2 in C instead of rendered one by one as
    literals; a plain IN elsewhere."""
    if session.get_bind().dialect.name != "postgresql" or not values:
        return column.in_(list(values))
    return column == sa_any(bindparam(None, list(values), type_=ARRAY(column.type)))


any_ids = any_of  # outbox ids, quarantine ids


def update_rows(session: Session, model: Any, rows: Iterable[Mapping[str, Any]]) -> None:
    """UPDATE by primary key, one statement per set of columns (rows name the key and the values)."""
    table = model.__table__
    keys = [column.name for column in table.primary_key.columns]
    groups: dict[tuple[str, ...], list[Mapping[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[tuple(sorted(row))].append(row)
    if session.get_bind().dialect.name == "postgresql":
        for columns, group in groups.items():
            _update_from_values(session, table, keys, columns, group)
        return
    if session.get_bind().dialect.name == "sqlite":
        for columns, group in groups.items():
            _sqlite_update(session, table, keys, [c for c in columns if c not in keys], group)
        return
    for columns, group in groups.items():
        params = [{f"k_{k}" if k in keys else k: v for k, v in row.items()} for row in group]
        statement = (update(table)
                     .where(*(table.c[k] == bindparam(f"k_{k}") for k in keys))
                     .values({c: bindparam(c) for c in columns if c not in keys}))
        session.connection().execute(statement, params)


def _sqlite_update(session: Session, table: Any, keys: list[str], columns: list[str],
                   rows: list[Mapping[str, Any]]) -> None:
    assignments = ", ".join(f'"{name}" = ?' for name in columns)
    matches = " AND ".join(f'"{key}" = ?' for key in keys)
    session.connection().exec_driver_sql(f'UPDATE "{table.name}" SET {assignments} WHERE {matches}',
                                         _sqlite_params(session, table, [*columns, *keys], rows))


def _update_from_values(session: Session, table: Any, keys: list[str], columns: tuple[str, ...],
                        rows: list[Mapping[str, Any]]) -> None:
    """``UPDATE t SET c = v.c … FROM (VALUES …) AS v WHERE t.key = v.key``: one statement, the rows
    rendered by psycopg2 in C, each value cast to its column's type."""
    from psycopg2.extras import execute_values

    guard.check(table.name)
    dialect = session.get_bind().dialect
    cast = {name: table.c[name].type.compile(dialect=dialect) for name in columns}
    json_columns = {name for name in columns if isinstance(table.c[name].type, JSON)}
    constant = _constant_columns(rows, [name for name in columns if name not in keys])
    varying = [name for name in columns if name not in constant]
    template = "(" + ", ".join(f"%s::{cast[name]}" for name in varying) + ")"
    matches = " AND ".join(f"{table.name}.{key} = v.{key}" for key in keys)
    values = [tuple(_pg_value(row[name], name in json_columns) for name in varying) for row in rows]
    cursor = session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        # a value every row shares (the new state, the run, the time) is sent once, not once per row
        shared = [f"{name} = " + cursor.mogrify(
            f"%s::{cast[name]}", (_pg_value(rows[0][name], name in json_columns),)).decode()
                  for name in constant]
        assignments = ", ".join([*shared, *(f"{name} = v.{name}" for name in varying if name not in keys)])
        execute_values(cursor, f"UPDATE {table.name} SET {assignments} FROM (VALUES %s) AS v "
                               f"({', '.join(varying)}) WHERE {matches}", values, template=template,
                       page_size=1000)
    finally:
        cursor.close()


def _constant_columns(rows: list[Mapping[str, Any]], columns: list[str]) -> list[str]:
    """The columns whose plain value is the same, of the same type, in every row (a single row: none).
    Containers never count: ``{"n": 1} == {"n": True}`` in Python, not in the JSON stored."""
    if len(rows) < 2:
        return []
    first = rows[0]
    return [name for name in columns if type(first[name]) in _SHAREABLE
            and all(type(row[name]) is type(first[name]) and row[name] == first[name] for row in rows)]


_SHAREABLE = frozenset((str, int, bool, datetime, date, type(None)))


def _pg_value(value: Any, is_json: bool) -> Any:
    if is_json and value is not None:
        return msgspec.json.encode(value).decode()
    return value


def upsert_rows(session: Session, model: Any, rows: Sequence[Mapping[str, Any]]) -> None:
    """INSERT, or UPDATE on a primary-key conflict (PostgreSQL and SQLite both say ON CONFLICT)."""
    if not rows:
        return
    table = model.__table__
    keys = [column.name for column in table.primary_key.columns]
    dialect = session.get_bind().dialect.name
    make = pg_insert if dialect == "postgresql" else sqlite_insert
    for row in rows:
        statement = make(table).values(dict(row))
        values = {name: statement.excluded[name] for name in row if name not in keys}
        session.execute(statement.on_conflict_do_update(index_elements=keys, set_=values))


def lock_department(session: Session, department: str) -> None:
    """Writers of one department take turns (a CLI sync beside the DAG's, two pushes): on PostgreSQL a
    transaction-scoped advisory lock; SQLite's BEGIN IMMEDIATE already admits one writer at a time."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:c, hashtext(:d))"),
                        {"c": _LOCK_CLASS, "d": department})
