"""The exchange_db sink on real MariaDB and PostgreSQL, against the exchange simulator's pick-up job."""

from __future__ import annotations

import contextlib
import threading
from typing import Any

import pytest
from sinks_support import penalty
from sqlalchemy import column, create_engine, func, select, table, text

from creditsync.exceptions import ConfigurationError
from creditsync.simulators.exchange import ExchangeSimulator
from creditsync.simulators.platform import PlatformSimulator
from creditsync.sinks.base import PushItem
from creditsync.sinks.exchange_db import ExchangeDbSink, ExchangeDbUnavailable, load_layout
from creditsync.sinks.exchange_db.ddl import ddl

pytestmark = pytest.mark.integration


def item(n: int, **changes: Any) -> PushItem:
    data = {**penalty(n, natural=bool(changes.pop("natural", False))), **changes.pop("data", {})}
    return PushItem(changes.pop("key", f"k{n:05d}"), f"penalty:x:{n}", changes.pop("action", "upsert"),
                    data, changes.pop("platform_id", None))


def setup(url: str, **layout: Any) -> tuple[ExchangeDbSink, ExchangeSimulator]:
    chosen = load_layout(layout)
    sim = ExchangeSimulator(url, chosen, ["penalty"], PlatformSimulator())
    sim.create_tables()
    return ExchangeDbSink(url, chosen), sim


def count_rows(url: str, name: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.scalar(select(func.count()).select_from(table(name))) or 0)
    finally:
        engine.dispose()


def test_a_batch_goes_in_once_and_its_answers_come_back_from_the_flags(exchange_url: str) -> None:
    sink, sim = setup(exchange_url)
    bad = item(3, data={"CF_XDR_SHXYM": "123"})
    items = [item(1), item(2, natural=True), bad]  # rows of other fields in one multi-row INSERT
    assert sink.push("penalty", items, "b1") == []  # nothing taken yet
    assert sink.push("penalty", items, "b1-again") == []  # re-sent: still one row per key
    assert count_rows(exchange_url, "T_SGS_CF") == 3

    assert sim.run_once() == 3
    answers = sink.query("penalty", [i.idempotency_key for i in items])
    assert answers["k00001"].confirmed and answers["k00001"].platform_id
    assert answers["k00003"].status == "rejected"
    assert any("统一社会信用代码" in message for message in answers["k00003"].errors)
    again = sink.push("penalty", items, "b2")  # a later run: the answers, no new rows
    assert [r.idempotency_key for r in again] == ["k00001", "k00002", "k00003"]
    assert count_rows(exchange_url, "T_SGS_CF") == 3
    assert sim.platform.stats()["records"] == 2 and sim.platform.stats()["rejected"] == 1
    sink.close()


def test_corrections_and_withdrawals_name_the_platforms_record(exchange_url: str) -> None:
    sink, sim = setup(exchange_url)
    sink.push("penalty", [item(1)], "b1")
    sim.run_once()
    platform_id = sink.query("penalty", ["k00001"])["k00001"].platform_id
    correction = item(1, key="k1-v2", platform_id=platform_id, data={"CF_NR": "罚款6000元。"})
    sink.push("penalty", [correction], "b2")
    sim.run_once()
    assert sink.query("penalty", ["k1-v2"])["k1-v2"].platform_id == platform_id
    sink.push("penalty", [PushItem("k1-w", "penalty:x:1", "withdraw", {}, platform_id)], "b3")
    sim.run_once()
    assert sink.query("penalty", ["k1-w"])["k1-w"].confirmed
    stats = sim.platform.stats()
    assert (stats["records"], stats["business_keys"], stats["withdrawn"]) == (1, 1, 1)
    engine = create_engine(exchange_url)
    with engine.connect() as conn:
        rows = table("T_SGS_CF", column("SJBS"), column("CZLX"), column("CXBZ"))
        ops = {key: op for key, op in conn.execute(select(rows.c.SJBS, rows.c.CZLX)).all()}
        revoked = conn.scalar(select(rows.c.CXBZ).where(rows.c.SJBS == "k1-w"))
    engine.dispose()
    assert ops == {"k00001": "I", "k1-v2": "U", "k1-w": "D"} and revoked == "1"
    sink.close()


def test_a_row_not_taken_yet_is_deleted_and_a_taken_one_is_not(exchange_url: str) -> None:
    sink, sim = setup(exchange_url)
    sink.push("penalty", [item(1)], "b1")
    sim.run_once()
    sink.push("penalty", [item(2)], "b2")
    assert sink.retract("penalty", ["k00001", "k00002", "never-sent"]) == {"k00002", "never-sent"}
    assert count_rows(exchange_url, "T_SGS_CF") == 1
    assert sim.run_once() == 0
    sink.close()


def test_split_tables_take_natural_persons_apart(exchange_url: str) -> None:
    sink, sim = setup(exchange_url, split_subjects=True, columns={"flag": "SJZT", "result": "CWXX"},
                      flag_codes={"new": "N", "accepted": "Y", "rejected": "E"})
    sink.push("penalty", [item(1), item(2, natural=True), item(3, natural=True)], "b1")
    assert (count_rows(exchange_url, "T_SGS_CF_FR"), count_rows(exchange_url, "T_SGS_CF_ZRR")) == (1, 2)
    assert sim.run_once() == 3
    assert all(r.confirmed for r in sink.query("penalty", ["k00001", "k00002", "k00003"]).values())
    sink.close()


def test_a_connection_killed_mid_batch_commits_nothing_and_the_resend_completes(exchange_url: str) -> None:
    sink, sim = setup(exchange_url)
    items = [item(n) for n in range(1, 401)]
    killer = threading.Thread(target=kill_other_connections, args=(exchange_url, 0.05))
    killer.start()
    with contextlib.suppress(ExchangeDbUnavailable):  # a kill inside the batch: all or nothing
        sink.push("penalty", items, "b1")
    killer.join()
    sink.push("penalty", items, "b1-again")
    assert count_rows(exchange_url, "T_SGS_CF") == 400
    while sim.run_once():
        pass
    assert len(sink.query("penalty", [i.idempotency_key for i in items])) == 400
    assert sim.platform.stats()["records"] == 400
    sink.close()


def kill_other_connections(url: str, after_s: float) -> int:
    """KILL CONNECTION / pg_terminate_backend of every other session on the exchange database."""
    import time

    time.sleep(after_s)
    engine = create_engine(url)
    killed = 0
    with engine.connect() as conn:
        database = conn.engine.url.database
        if engine.dialect.name == "postgresql":
            killed = len(conn.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = :db AND pid <> pg_backend_pid()"), {"db": database}).all())
        else:
            ids = conn.execute(text("SELECT ID FROM information_schema.PROCESSLIST "
                                    "WHERE DB = :db AND ID <> CONNECTION_ID()"), {"db": database}).scalars()
            for connection_id in list(ids):
                conn.execute(text(f"KILL CONNECTION {int(connection_id)}"))
                killed += 1
    engine.dispose()
    return killed


def test_a_missing_table_is_a_configuration_error(exchange_url: str) -> None:
    sink = ExchangeDbSink(exchange_url, load_layout({}))
    with pytest.raises(ConfigurationError, match="T_SGS_CF"):
        sink.push("penalty", [item(1)], "b1")
    sink.close()


@pytest.mark.parametrize("dialect", ["oracle", "dameng", "mysql", "postgresql"])
def test_the_ddl_for_each_dialect_has_the_unique_key(dialect: str) -> None:
    preset = "dameng" if dialect == "dameng" else "standard"
    text_ = ddl(load_layout({"preset": preset}), ["penalty"], dialect)
    assert "CREATE UNIQUE INDEX" in text_ and "SJBS" in text_ and "CF_WSH" in text_
    if dialect in ("oracle", "dameng"):
        assert "VARCHAR2" in text_ and "CLOB" in text_
