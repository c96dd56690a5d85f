"""The platform's pick-up job on the exchange database (前置库), for the demo and the tests.

Every ``interval_s`` it takes the rows flagged new (older than ``delay_s``; locked, so a gateway deleting
an untaken row waits for it) and decides them with the API simulator's core
(:class:`~creditsync.simulators.platform.PlatformSimulator`: the same validation, reject rate, memory of
idempotency keys and published rows), then writes back each row's flag, Chinese error text and the
platform's record id. Its ``/_sim/stats`` (served on ``port``) counts exactly what the API simulator's
does. A row decided but whose flags did not commit (a killed connection) is decided again next time:
the simulator remembers its key and answers the first decision again.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from datetime import datetime, timedelta
from types import FrameType
from typing import Any

from sqlalchemy import RowMapping, Table, bindparam, create_engine, select, update
from sqlalchemy.exc import SQLAlchemyError

from creditsync.schema import get_category
from creditsync.simulators.platform import PlatformSimulator
from creditsync.simulators.platform_store import IncomingRecord
from creditsync.sinks.exchange_db.layout import Layout, build_tables
from creditsync.sinks.exchange_db.sink import BEIJING, loaded_now

log = logging.getLogger(__name__)
PICK_UP = 500  # rows per table per round


class ExchangeSimulator:
    def __init__(self, db_url: str, layout: Layout, categories: list[str], platform: PlatformSimulator,
                 *, delay_s: float = 0.0) -> None:
        self.engine = create_engine(db_url, pool_pre_ping=True)
        self.layout = layout
        self.platform = platform
        self.delay_s = delay_s
        self.tables: list[tuple[str, Table]] = []
        for category in categories:
            built = build_tables(layout, [category])
            self.tables += [(category, built[name]) for name in layout.table_names(category).values()]
        self._stop = threading.Event()

    def create_tables(self) -> None:
        """What the platform does once: the agreed tables, with the unique index on the key."""
        for _, table in self.tables:
            table.create(self.engine, checkfirst=True)

    def run_once(self) -> int:
        """One round of the pick-up job over every table; how many rows it decided."""
        return sum(self._take(category, table) for category, table in self.tables)

    def run(self, interval_s: float) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except SQLAlchemyError as exc:  # a dropped connection, a failover: the next round retries
                log.warning("exchange simulator: %s", str(exc).splitlines()[0])
            self._stop.wait(interval_s)

    def stop(self) -> None:
        self._stop.set()

    def _take(self, category: str, table: Table) -> int:
        c, flags = self.layout.columns, self.layout.flag_codes
        cutoff = (datetime.now(BEIJING) - timedelta(seconds=self.delay_s)).strftime("%Y-%m-%d %H:%M:%S")
        with self.engine.begin() as conn:
            rows = list(conn.execute(
                select(table).where(table.c[c.flag] == flags.new, table.c[c.loaded_at] <= cutoff)
                .order_by(table.c[c.loaded_at], table.c[c.key]).limit(PICK_UP)
                .with_for_update(skip_locked=True)).mappings())
            if not rows:
                return 0
            self.platform.count("requests")
            results = self.platform.push(category, [self._incoming(category, row) for row in rows])
            conn.execute(
                update(table).where(table.c[c.key] == bindparam("b_key"))
                .values({c.flag: bindparam("b_flag"), c.result: bindparam("b_result"),
                         c.platform_id: bindparam("b_pid"), c.processed_at: bindparam("b_at")}),
                [self._written_back(row, result) for row, result in zip(rows, results, strict=True)])
        return len(rows)

    def _incoming(self, category: str, row: RowMapping) -> IncomingRecord:
        c, ops = self.layout.columns, self.layout.operation_codes
        data = {f.code: row[self.layout.column_of(f.code)] for f in get_category(category).fields
                if row.get(self.layout.column_of(f.code)) is not None}
        action = "withdraw" if row[c.operation] == ops.withdraw else "upsert"
        return IncomingRecord(row[c.key], row[c.business_key], action, row[c.platform_id] or None, data)

    def _written_back(self, row: RowMapping, result: dict[str, Any]) -> dict[str, Any]:
        c, flags = self.layout.columns, self.layout.flag_codes
        rejected = result["status"] == "rejected"
        return {"b_key": row[c.key], "b_flag": flags.rejected if rejected else flags.accepted,
                "b_result": "；".join(result["errors"]) if rejected else "成功",
                "b_pid": result["platform_id"] or row[c.platform_id], "b_at": loaded_now()}


def run_exchange_simulator(sim: ExchangeSimulator, interval_s: float, host: str, port: int | None) -> None:
    """Until SIGTERM/SIGINT (``creditsync exchange-sim``); ``/_sim/stats`` on ``port`` if given."""
    running = sim.platform.start_in_thread(host, port) if port is not None else None
    if running is not None:
        log.info("exchange simulator stats on %s/_sim/stats", running.url)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        sim.run(interval_s)
    except KeyboardInterrupt:
        log.info("exchange simulator stopping")
    finally:
        if running is not None:
            running.stop()
        sim.platform.close()
        sim.engine.dispose()


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def wait_until_idle(sim: ExchangeSimulator, timeout_s: float = 60) -> None:
    """Tests: rounds until one decides nothing."""
    deadline = time.monotonic() + timeout_s
    while sim.run_once() and time.monotonic() < deadline:
        pass
