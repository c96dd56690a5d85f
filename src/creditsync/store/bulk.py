"""Set-based writes: one statement per table and chunk, never one flush per record.

The pipeline works a chunk of records at a time; these helpers turn a chunk's rows into multi-row
INSERTs (SQLAlchemy's insertmanyvalues on PostgreSQL, executemany on SQLite) and UPDATEs by primary
key, and serialise the writers of one department.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import bindparam, insert, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

# pg_advisory_xact_lock(int, int): the first number names the gateway, the second the department.
_LOCK_CLASS = 7301


def insert_rows(session: Session, model: Any, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        session.execute(insert(model.__table__), list(rows))


def update_rows(session: Session, model: Any, rows: Iterable[Mapping[str, Any]]) -> None:
    """UPDATE by primary key, one executemany per set of columns (rows name the key and the values)."""
    table = model.__table__
    keys = [column.name for column in table.primary_key.columns]
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[tuple(sorted(row))].append({f"k_{k}" if k in keys else k: v for k, v in row.items()})
    for columns, params in groups.items():
        statement = (update(table)
                     .where(*(table.c[k] == bindparam(f"k_{k}") for k in keys))
                     .values({c: bindparam(c) for c in columns if c not in keys}))
        session.connection().execute(statement, params)


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
