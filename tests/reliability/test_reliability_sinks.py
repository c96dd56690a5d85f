"""The same promise through every interface: penalties pushed by ``creditsync push`` (a real process,
SIGKILLed at seeded moments and restarted) through the api, the exchange database on MariaDB and on
PostgreSQL (its connections also killed from the database's side while batches go in), the XML
envelope folder and the upload templates, each against its platform simulator in its own process;
then run until it exits 0. Every record must be on the platform exactly once: lost=0 duplicated=0."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml
from reliability_support import (
    EXECUTABLE,
    Gateway,
    Platform,
    _env,
    _ready,
    free_port,
    handover_department,
    start_platform,
    write_penalties,
)
from sqlalchemy import create_engine, text

pytestmark = [pytest.mark.reliability, pytest.mark.integration]

RECORDS = 400
KILLS = 4
BATCH = 25
SEED = 20261207
DEPARTMENT = "handover_office"
API_FAULTS = ("--fault-rate", "0.3", "--lost-ack-rate", "0.05", "--slow-ms", "1200")
EXCHANGE_DATABASES = {"exchange_db-mariadb": "empty_mariadb_url", "exchange_db-postgresql": "empty_pg_url"}
SINKS = ["api", "exchange_db-mariadb", "exchange_db-postgresql", "xml_envelope", "template_file"]


def start_sim(tmp_path: Path, *args: str) -> Platform:
    """``creditsync <args>`` serving /_sim/stats, its platform rows in a SQLite file."""
    import subprocess

    store, log = tmp_path / "platform.db", (tmp_path / "platform.log").open("wb")
    for _ in range(5):
        port = free_port()
        command = [str(EXECUTABLE), *args, "--port", str(port), "--store", str(store), "--seed", str(SEED)]
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=_env())
        platform = Platform(store, process, f"http://127.0.0.1:{port}")
        if _ready(platform):
            return platform
        platform.stop()
    raise RuntimeError(f"the simulator did not start; see {tmp_path / 'platform.log'}")


@contextmanager
def platform_for(sink: str, tmp_path: Path,
                 request: pytest.FixtureRequest) -> Iterator[tuple[Platform, dict[str, str], str | None]]:
    """The platform simulator of ``sink``, the gateway's settings for it, the exchange database URL."""
    config = tmp_path / "sinks.yaml"
    if sink == "api":
        platform = start_platform(tmp_path, SEED, *API_FAULTS)
        yield platform, {}, None
        platform.stop()
        return
    if sink.startswith("exchange_db"):
        url = str(request.getfixturevalue(EXCHANGE_DATABASES[sink]))
        config.write_text(yaml.safe_dump({"exchange_db": {"answer_wait_s": 2, "poll_interval_s": 0.2}}))
        platform = start_sim(tmp_path, "exchange-sim", "--db-url", url, "--categories", "penalty",
                             "--interval-s", "0.2")
        try:
            yield platform, {"CREDITSYNC_SINK": "exchange_db", "CREDITSYNC_EXCHANGE_DB_URL": url,
                             "CREDITSYNC_SINK_CONFIG": str(config)}, url
        finally:
            platform.stop()
        return
    folder = tmp_path / "exchange"
    config.write_text(yaml.safe_dump({sink: {"folder": str(folder)}}))
    command = "envelope-sim" if sink == "xml_envelope" else "template-sim"
    platform = start_sim(tmp_path, command, "--folder", str(folder), "--interval-s", "0.3")
    try:
        yield platform, {"CREDITSYNC_SINK": sink, "CREDITSYNC_SINK_CONFIG": str(config)}, None
    finally:
        platform.stop()


def kill_connections(url: str, stop: threading.Event, rng: random.Random, killed: list[int]) -> None:
    """From the database's side: KILL CONNECTION / pg_terminate_backend of the other sessions."""
    engine = create_engine(url)
    try:
        while not stop.wait(rng.uniform(0.2, 0.6)):
            with engine.connect() as conn:
                if engine.dialect.name == "postgresql":
                    killed[0] += len(conn.execute(text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :db "
                        "AND pid <> pg_backend_pid()"), {"db": engine.url.database}).all())
                    continue
                ids = list(conn.execute(text(
                    "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = :db AND ID <> CONNECTION_ID()"),
                    {"db": engine.url.database}).scalars())
                for connection_id in ids:
                    try:
                        conn.execute(text(f"KILL CONNECTION {int(connection_id)}"))
                        killed[0] += 1
                    except Exception:  # gone meanwhile
                        pass
    finally:
        engine.dispose()


@pytest.mark.parametrize("sink", SINKS)
def test_every_sink_delivers_each_record_once_through_kills(
    sink: str, tmp_path: Path, request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]
) -> None:
    started = time.monotonic()
    source = tmp_path / "penalties.jsonl"
    expected = write_penalties(source, RECORDS, SEED)
    rng = random.Random(SEED)
    args = ("push", "--category", "penalty", "--input", str(source), "--department", DEPARTMENT)
    with platform_for(sink, tmp_path, request) as (platform, sink_settings, url):
        settings = {**handover_department(tmp_path, DEPARTMENT, BATCH), **sink_settings}
        gateway = Gateway(f"sqlite:///{tmp_path / 'gateway.db'}", platform, tmp_path, settings)
        stop, db_kills = threading.Event(), [0]
        killer = threading.Thread(target=kill_connections, args=(url, stop, rng, db_kills)) if url else None
        if killer is not None:
            killer.start()
        kills = 0
        try:
            for _ in range(KILLS):
                with gateway.running(*args) as pusher:
                    time.sleep(rng.uniform(0.8, 2.5))
                    kills += pusher.poll() is None
        finally:
            stop.set()
            if killer is not None:
                killer.join()
        code, runs = gateway.run_until_done(*args, tries=40)
        assert code == 0, gateway.last_output()
        stats = platform.stats()
        verified = gateway.run("audit", "verify")
    rows, keys = platform.rows()
    lost, duplicated = len(expected - set(keys)), rows - len(set(keys))
    with capsys.disabled():
        print(f"\nreliability[{sink}]: {RECORDS} records, {kills} pusher kills, {db_kills[0]} database "
              f"connections killed, {runs} final runs, {time.monotonic() - started:.0f} s; "
              f"platform {({k: stats[k] for k in ('records', 'business_keys', 'idempotency_keys')})}")
        print(f"{sink}: lost={lost} duplicated={duplicated}")
    assert (lost, duplicated) == (0, 0)
    assert set(keys) == expected
    assert stats["records"] == stats["business_keys"] == RECORDS
    assert verified == 0, gateway.last_output()
