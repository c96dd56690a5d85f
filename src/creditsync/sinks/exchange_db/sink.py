"""The ``exchange_db`` sink: rows in the agreed tables of the exchange database (前置库).

Pushing a batch is one transaction per table: the keys already there are read first, then every new
row goes in with one multi-row INSERT (a re-sent key never makes a second row: it is found, and the
unique index on the key refuses a racing copy). The platform's pick-up job later writes its flag,
error text and record id into each row; those are the receipts, read back by ``query`` and by every
later push of the same keys. A withdrawal is a row of its own naming the platform's record, with the
withdrawal operation code and the revoked flag (撤销标志) set; a row the platform has not taken yet is
deleted instead (``retract``, unless ``delete_untaken: false``).

A database that drops the connection mid-batch (a kill, a failover) rolls the transaction back: the
call fails as retriable and the same keys go again.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, MetaData, Table, create_engine, delete, inspect, select
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as SATimeoutError
from tenacity import Retrying

from creditsync import http
from creditsync.exceptions import ConfigurationError, RetriableError
from creditsync.sinks.base import NoCopies, PushItem, Receipt, answer, unique_keys
from creditsync.sinks.exchange_db.layout import NATURAL_PERSON, Layout, build_tables

BEIJING = ZoneInfo("Asia/Shanghai")
IN_CHUNK = 500  # keys per IN (...): far below every dialect's limit (Oracle: 1,000)


class ExchangeDbUnavailable(RetriableError):
    """The exchange database could not be reached or dropped the connection: nothing of the batch was
    committed, or all of it was; the same keys go again."""


def loaded_now() -> str:
    """入库时间 as such tables hold it: Beijing local time, to the second."""
    return datetime.now(BEIJING).strftime("%Y-%m-%d %H:%M:%S")


class ExchangeDbSink(NoCopies):
    name = "exchange_db"
    asynchronous = True

    def __init__(self, url: str, layout: Layout, *, retrying: Retrying | None = None,
                 engine: Engine | None = None) -> None:
        self.layout = layout
        self.engine = engine or create_engine(url, pool_pre_ping=True, pool_size=4)
        self._retrying = retrying or http.retry_policy(4, 2.0)
        self._metadata = MetaData(schema=layout.schema_name)
        self._tables: dict[str, dict[str, Table]] = {}

    # -- the protocol ------------------------------------------------------------------------------

    def push(self, category: str, items: Sequence[PushItem], batch_id: str) -> list[Receipt]:
        if not items:
            return []
        keys = unique_keys(items)
        found = self._call(lambda: self._insert(category, items))
        deadline = time.monotonic() + self.layout.answer_wait_s
        while len(found) < len(keys) and time.monotonic() < deadline:
            time.sleep(self.layout.poll_interval_s)
            found = self.query(category, keys)
        return [found[key] for key in keys if key in found]

    def query(self, category: str, idempotency_keys: Iterable[str]) -> dict[str, Receipt]:
        keys = list(dict.fromkeys(idempotency_keys))
        return self._call(lambda: self._answers(category, keys)) if keys else {}

    def retract(self, category: str, idempotency_keys: Iterable[str]) -> set[str]:
        """Delete the rows of these keys the platform has not taken yet; the keys that will never reach
        it (deleted, or never written)."""
        keys = list(dict.fromkeys(idempotency_keys))
        if not keys or not self.layout.delete_untaken:
            return set()
        return self._call(lambda: self._delete_untaken(category, keys))

    def close(self) -> None:
        self.engine.dispose()

    # -- tables ------------------------------------------------------------------------------------

    def tables(self, category: str) -> dict[str, Table]:
        """The category's tables by subject kind (``legal``/``natural``, or ``all``); checked once to
        exist, so a missing table is a configuration error, not a retried failure."""
        if category not in self._tables:
            built = build_tables(self.layout, [category], self._metadata)
            names = self.layout.table_names(category)
            self._check_exist(list(names.values()))
            self._tables[category] = {kind: built[name] for kind, name in names.items()}
        return self._tables[category]

    def _check_exist(self, names: list[str]) -> None:
        try:
            existing = set(inspect(self.engine).get_table_names(schema=self.layout.schema_name))
        except SQLAlchemyError as exc:
            raise ExchangeDbUnavailable(f"exchange database unreachable: {_short(exc)}") from None
        lower = {name.lower() for name in existing}
        if missing := [n for n in names if n not in existing and n.lower() not in lower]:
            raise ConfigurationError(f"the exchange database has no table {', '.join(missing)}: the "
                                     "platform creates them (docs/platform-interfaces.md)")

    def _table_for(self, category: str, item: PushItem) -> Table:
        tables = self.tables(category)
        if "all" in tables:
            return tables["all"]
        from creditsync.schema import get_category

        kind = item.data.get(f"{get_category(category).prefix}_XDR_LB")
        return tables["natural" if kind == NATURAL_PERSON else "legal"]

    # -- the work, each inside one transaction ----------------------------------------------------

    def _call(self, fn: Any) -> Any:
        def once() -> Any:
            try:
                return fn()
            except IntegrityError:
                raise  # handled where it can happen
            except (OperationalError, InterfaceError, SATimeoutError) as exc:  # dropped, killed, down
                raise ExchangeDbUnavailable(f"exchange database: {_short(exc)}") from None
            except DBAPIError as exc:
                if exc.connection_invalidated:
                    raise ExchangeDbUnavailable(f"exchange database: {_short(exc)}") from None
                raise ConfigurationError(f"the exchange database refused the statement (does the layout "
                                         f"match its tables?): {_short(exc)}") from None

        return http.call_with_retries(self._retrying, once)

    def _insert(self, category: str, items: Sequence[PushItem]) -> dict[str, Receipt]:
        try:
            return self._insert_once(category, items)
        except IntegrityError:  # another pusher wrote one of the keys between our read and insert
            return self._insert_once(category, items)

    def _insert_once(self, category: str, items: Sequence[PushItem]) -> dict[str, Receipt]:
        by_table: dict[str, tuple[Table, list[PushItem]]] = {}
        for item in items:
            table = self._table_for(category, item)
            by_table.setdefault(table.name, (table, []))[1].append(item)
        found: dict[str, Receipt] = {}
        with self.engine.begin() as conn:
            for table, group in by_table.values():
                there = self._rows(conn, table, [i.idempotency_key for i in group])
                found.update((key, receipt) for key, row in there.items() if (receipt := self._receipt(row)))
                new = [self._row(table, i) for i in group if i.idempotency_key not in there]
                if new:
                    conn.execute(table.insert(), new)  # one multi-row INSERT (executemany)
        return found

    def _row(self, table: Table, item: PushItem) -> dict[str, Any]:
        """Every column of the table (a multi-row INSERT takes the same columns for each row)."""
        c, ops = self.layout.columns, self.layout.operation_codes
        operation = ops.correct if item.platform_id else ops.new
        if item.action == "withdraw":
            operation = ops.withdraw
        row: dict[str, Any] = dict.fromkeys(table.c.keys())
        for code, value in item.data.items():
            column = self.layout.column_of(code)
            if column not in row:
                raise ConfigurationError(f"the exchange table {table.name} has no column for {code}")
            row[column] = None if value is None else str(value)
        row.update({c.key: item.idempotency_key, c.business_key: item.business_key, c.operation: operation,
                    c.platform_id: item.platform_id, c.loaded_at: loaded_now(),
                    c.flag: self.layout.flag_codes.new, c.result: None, c.processed_at: None,
                    c.revoked: "1" if item.action == "withdraw" else None})
        return row

    def _rows(self, conn: Any, table: Table, keys: list[str]) -> dict[str, Any]:
        c = self.layout.columns
        cols = [table.c[name] for name in (c.key, c.flag, c.result, c.platform_id)]
        found: dict[str, Any] = {}
        for chunk in _chunks(keys):
            for row in conn.execute(select(*cols).where(table.c[c.key].in_(chunk))):
                found[row[0]] = row
        return found

    def _receipt(self, row: Any) -> Receipt | None:
        key, flag, result, platform_id = row
        flags = self.layout.flag_codes
        if flag == flags.accepted:
            return answer(key, "accepted", platform_id, [])
        if flag == flags.rejected:
            return answer(key, "rejected", None, _messages(result))
        return None  # not taken yet

    def _answers(self, category: str, keys: list[str]) -> dict[str, Receipt]:
        found: dict[str, Receipt] = {}
        with self.engine.connect() as conn:
            for table in self.tables(category).values():
                for key, row in self._rows(conn, table, keys).items():
                    if (receipt := self._receipt(row)) is not None:
                        found[key] = receipt
        return found

    def _delete_untaken(self, category: str, keys: list[str]) -> set[str]:
        """Deleted rows, plus keys that never made a row (the pusher died before its insert)."""
        c = self.layout.columns
        deleted: set[str] = set()
        present: set[str] = set()
        with self.engine.begin() as conn:
            for table in self.tables(category).values():
                for chunk in _chunks(keys):
                    # Row locks make this wait for a pick-up job holding them, then see its flag.
                    rows = conn.execute(select(table.c[c.key], table.c[c.flag])
                                        .where(table.c[c.key].in_(chunk)).with_for_update()).all()
                    present |= {key for key, _ in rows}
                    untaken = [key for key, flag in rows if flag == self.layout.flag_codes.new]
                    if untaken:
                        conn.execute(delete(table).where(table.c[c.key].in_(untaken),
                                                         table.c[c.flag] == self.layout.flag_codes.new))
                    deleted |= set(untaken)
        return deleted | (set(keys) - present)


def _messages(result: str | None) -> list[str]:
    """处理结果 as platforms write it: several messages separated by ；/; or new lines."""
    if not result:
        return ["平台处理失败（未给出原因）"]
    parts = [p.strip() for p in result.replace("；", "\n").replace(";", "\n").splitlines()]
    return [p for p in parts if p] or [result]


def _chunks(keys: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(keys), IN_CHUNK):
        yield keys[start : start + IN_CHUNK]


def _short(exc: Exception) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return text.splitlines()[0][:300] if text else type(exc).__name__


def connect(url: str, layout: Layout) -> ExchangeDbSink:
    if not url:
        raise ConfigurationError("no exchange database URL")
    return ExchangeDbSink(url, layout)
