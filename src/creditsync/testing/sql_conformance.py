"""What every department read through ``kind: sql`` passes on top of the department conformance suite:
a reader connection killed by the database mid-run fails the run cleanly, and the next run delivers
every record exactly once (lost = 0, duplicated = 0). MySQL/MariaDB and PostgreSQL (Kingbase too)::

    class TestHousing(SqlDepartmentConformance):
        department = "housing_construction"

        def start_source(self, config, workdir):
            source = create_database(mariadb_server(), "zjj_test")
            self.source_admin_url = str(source.url)  # may lock tables and kill sessions
            return LiveSource(env={...}, stop=source.drop)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

import pytest
import sqlalchemy as sa

from creditsync.departments import DepartmentConfig
from creditsync.pipeline.runner import Gateway, sync_department
from creditsync.pipeline.translate import translator_for
from creditsync.settings import TEST_MARIADB, in_ci, load_settings
from creditsync.sources.registry import open_source
from creditsync.testing.conformance import APP_KEY, DepartmentConformance, Harness

MARIADB_SERVER = TEST_MARIADB.read() or TEST_MARIADB.default


def mariadb_server() -> str:
    """The MariaDB/MySQL server tests create their databases on; skips (fails in CI) when down."""
    try:
        engine = sa.create_engine(MARIADB_SERVER, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
    except Exception as exc:  # any driver or network failure means: no server here
        if in_ci():
            pytest.fail(f"MariaDB at {MARIADB_SERVER} is required in CI: {exc}")
        pytest.skip(f"MariaDB is not running here ({MARIADB_SERVER})")
    return MARIADB_SERVER


class SqlDepartmentConformance(DepartmentConformance):
    source_admin_url: ClassVar[str]  # set by start_source: an account that may lock and kill

    def test_a_killed_connection_fails_the_run_and_the_next_run_delivers_everything_once(
            self, harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
        with syncing_gateway(harness, monkeypatch) as gateway:
            table = _last_table(harness.config)
            with _locked(self.source_admin_url, table):  # the reader blocks on it, mid-run
                failed = _in_thread(lambda: sync_department(gateway, self.department))
                killed = _kill_waiting_reader(self.source_admin_url)
            assert killed, f"no reader session was waiting on {table}"
            assert isinstance(failed(), Exception), "the run with a killed connection must fail"
            sync_department(gateway, self.department)
            stats = harness.platform.stats()
            duplicated = stats["records"] - stats["business_keys"]
            lost = _deliverable(harness) - stats["business_keys"]
            assert (lost, duplicated) == (0, 0), stats


@contextmanager
def syncing_gateway(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> Iterator[Gateway]:
    """A gateway on the harness's store and platform, for ``sync_department`` (the DAG's and the CLI's
    entry point)."""
    monkeypatch.setenv("CREDITSYNC_PLATFORM_URL", harness.platform.url)
    monkeypatch.setenv("CREDITSYNC_PLATFORM_APP_KEY", APP_KEY)
    gateway = Gateway.open(load_settings())
    try:
        yield gateway
    finally:
        gateway.store.dispose()


def _last_table(config: DepartmentConfig) -> str:
    tables = [s.options.get("table") or config.source.options.get("table") for s in config.streams]
    found = [t for t in tables if t]
    if not found:
        pytest.skip("no stream reads a table: nothing to lock")
    return str(found[-1])


def _deliverable(harness: Harness) -> int:
    """Records the platform should hold: readable, valid, and not revoked."""
    adapter, count = open_source(harness.config), 0
    for stream in harness.config.streams:
        translator = translator_for(harness.gateway.context(harness.config), stream.category)
        revoked = stream.revoked_when
        for raw in adapter.read(stream.category, stream.options, None):
            result = None if raw.error else translator.translate(raw.data)
            gone = revoked is not None and raw.data.get(revoked.path) in revoked.values
            count += result is not None and result.record is not None and not gone
    adapter.close()
    return count


@contextmanager
def _locked(admin_url: str, table: str) -> Iterator[None]:
    """An exclusive lock on ``table`` (a view locks its base tables) that plain SELECTs wait for."""
    engine = sa.create_engine(admin_url)
    try:
        with engine.connect() as conn:
            if conn.dialect.name in ("mysql", "mariadb"):
                conn.exec_driver_sql(f"LOCK TABLES `{table}` WRITE")
                try:
                    yield
                finally:
                    conn.exec_driver_sql("UNLOCK TABLES")
            else:
                with conn.begin():
                    conn.exec_driver_sql(f'LOCK TABLE "{table}" IN ACCESS EXCLUSIVE MODE')
                    yield
    finally:
        engine.dispose()


def _kill_waiting_reader(admin_url: str, timeout_s: float = 60) -> bool:
    """KILL CONNECTION (MySQL) / pg_terminate_backend (PostgreSQL) the session waiting on the lock."""
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    mysql = engine.dialect.name in ("mysql", "mariadb")
    waiting = sa.text(
        "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = DATABASE() AND ID <> CONNECTION_ID() "
        "AND STATE LIKE '%lock%' AND INFO LIKE 'SELECT%'" if mysql else
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
        "AND wait_event_type = 'Lock' AND query ILIKE 'SELECT%'")
    deadline = time.monotonic() + timeout_s
    try:
        with engine.connect() as conn:
            while time.monotonic() < deadline:
                sessions = list(conn.execute(waiting).scalars())
                for session in sessions:
                    if mysql:
                        conn.exec_driver_sql(f"KILL CONNECTION {int(session)}")
                    else:
                        conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": session})
                if sessions:
                    return True
                time.sleep(0.05)
    finally:
        engine.dispose()
    return False


def _in_thread(run: Callable[[], Any]) -> Callable[[], Any]:
    """Start ``run``; the returned function waits for it and gives its result or its exception."""
    outcome: list[Any] = []

    def target() -> None:
        try:
            outcome.append(run())
        except Exception as exc:  # the caller inspects it
            outcome.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()

    def wait() -> Any:
        thread.join(timeout=300)
        return outcome[0] if outcome else TimeoutError("the run did not finish")

    return wait
