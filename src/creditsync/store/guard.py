"""Only the record lifecycle writes a record's rows.

``records``, ``record_versions``, ``outbox``, ``quarantine`` and ``cursors`` change only inside
:func:`lifecycle_writes` (creditsync.lifecycle opens it around each change set; schema upgrades too). Every
store engine refuses any other INSERT, UPDATE or DELETE on them, so a write that bypasses the lifecycle
(its transition table, its seals, its audit entries) fails loudly in tests and in production alike.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import Engine, event

GUARDED = frozenset({"records", "record_versions", "outbox", "quarantine", "cursors"})
_WRITE = re.compile(r'^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)"?', re.IGNORECASE)
_allowed: ContextVar[bool] = ContextVar("creditsync_lifecycle_writes", default=False)


class UnguardedWrite(RuntimeError):
    """A write to a record's rows outside the lifecycle: a bug, never a data problem."""


@contextmanager
def lifecycle_writes() -> Iterator[None]:
    token = _allowed.set(True)
    try:
        yield
    finally:
        _allowed.reset(token)


def check(table: str) -> None:
    """For writes that reach the database without SQLAlchemy's events (COPY, psycopg2's own helpers)."""
    if not _allowed.get() and table in GUARDED:
        raise UnguardedWrite(f"{table} is written outside creditsync.lifecycle")


def guarded_table(statement: str) -> str | None:
    """The guarded table a statement writes, if any."""
    found = _WRITE.match(statement)
    return found.group(1).lower() if found and found.group(1).lower() in GUARDED else None


def install(engine: Engine) -> None:
    @event.listens_for(engine, "before_cursor_execute")
    def _refuse_unguarded(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not _allowed.get() and (table := guarded_table(statement)) is not None:
            raise UnguardedWrite(f"{table} is written outside creditsync.lifecycle: {statement[:120]}")
