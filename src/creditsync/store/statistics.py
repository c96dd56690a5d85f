"""Planner statistics that keep up with a run's own growth (PostgreSQL).

A department's first load (its backlog: 100,000 decisions) grows ``records``, ``record_versions`` and
``outbox`` from nothing within a minute, before autovacuum analyses them, if it runs at all. Without
statistics the planner guesses that ``department = 'x'`` or ``status = 'pending'`` picks a handful of
rows, and plans each chunk's lookups as scans of the department's whole range: each chunk costs more
than the one before (benchmarks/RESULTS.md, B2). PostgreSQL's advice after a bulk load is ANALYZE; the
writer does it whenever the tables have doubled since their last statistics, so a run analyses them
about log2(rows) times, each time a bounded sample (at most 300 × default_statistics_target rows).
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from creditsync.store.db import Store

log = logging.getLogger(__name__)

# What a pull adds to (a row or more per record), and the columns the gateway's statements filter,
# join or sort by: only theirs are sampled (the payloads, seals and texts would cost most, help none).
COLUMNS = {
    "records": ("business_key", "department", "category", "state", "withdraw_reason", "source_key",
                "document_no", "subject_name", "display_until", "updated_at", "version"),
    "record_versions": ("business_key", "version", "audit_entry_id", "created_at"),
    "outbox": ("id", "department", "category", "status", "business_key", "action", "attempts", "run_id",
               "receipt_entry_id", "acked_at", "version", "idempotency_key"),
}
GROWING = tuple(COLUMNS)
FIRST = 2000  # rows added before the first ANALYZE of tables that have no statistics
LOCK_NOT_AVAILABLE = "55P03"  # SQLSTATE of a lock_timeout


class GrowthWatch:
    """Counts the rows a run adds and analyses the growing tables once they have doubled."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._enabled = store.engine.dialect.name == "postgresql"
        self._added = 0
        self._known = self._estimate() if self._enabled else 0

    def added(self, rows: int) -> None:
        """``rows`` more records (each a row in each growing table); ANALYZE when they are due."""
        if not self._enabled:
            return
        self._added += rows
        if self._added >= max(FIRST, self._known):
            self._analyze()

    def _analyze(self) -> None:
        tables = ", ".join(f"{table} ({', '.join(columns)})" for table, columns in COLUMNS.items())
        driver_error: Any = getattr(self._store.engine.dialect.dbapi, "Error", SQLAlchemyError)
        try:
            with self._store.engine.connect() as connection:  # its own transaction: no lock held meanwhile
                # psycopg2's own cursor: the server's warnings reach its notices list only this way
                driver: Any = connection.connection.dbapi_connection
                heard = len(driver.notices)
                with driver.cursor() as cursor:
                    # a VACUUM or index build of the same table would hold the writer up: not worth waiting
                    cursor.execute("SET LOCAL lock_timeout = '1s'")
                    cursor.execute(f"ANALYZE {tables}")
                driver.commit()  # the statistics (pg_statistic) are kept only when committed
                said = [notice.strip() for notice in driver.notices[heard:]]
        except (SQLAlchemyError, driver_error) as exc:  # only the planner's aid: the run goes on, tries later
            busy = getattr(exc, "pgcode", None) == LOCK_NOT_AVAILABLE  # another run analysing, a VACUUM
            log.log(logging.INFO if busy else logging.WARNING, "could not analyse %s now: %s",
                    ", ".join(GROWING), str(exc).splitlines()[0])
            self._added = 0
            return
        for notice in said:  # "skipping …: only table or database owner can analyze it"
            log.warning("analysing the store's tables after %d new rows: %s", self._added, notice)
        log.debug("analysed %s after %d new rows", ", ".join(GROWING), self._added)
        self._added, self._known = 0, self._estimate()

    def _estimate(self) -> int:
        """The planner's idea of the records table's size (-1: never analysed)."""
        with self._store.engine.connect() as connection:
            found = connection.scalar(text("SELECT reltuples FROM pg_class WHERE oid = 'records'::regclass"))
        return max(int(found or 0), 0)
