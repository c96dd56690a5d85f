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

from sqlalchemy import text

from creditsync.store.db import Store

log = logging.getLogger(__name__)

GROWING = ("records", "record_versions", "outbox")  # what a pull adds to, a row or more per record
FIRST = 2000  # rows added before the first ANALYZE of tables that have no statistics


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
        with self._store.engine.connect() as connection:  # its own transaction: no lock held meanwhile
            connection.execute(text(f"ANALYZE {', '.join(GROWING)}"))
            connection.commit()
        log.debug("analysed %s after %d new rows", ", ".join(GROWING), self._added)
        self._added, self._known = 0, self._estimate()

    def _estimate(self) -> int:
        """The planner's idea of the records table's size (-1: never analysed)."""
        with self._store.engine.connect() as connection:
            found = connection.scalar(text("SELECT reltuples FROM pg_class WHERE oid = 'records'::regclass"))
        return max(int(found or 0), 0)
