"""The 长清区应急管理局 database simulator: its schema and data (deterministic, realistic, a few documented
defects), its edits, its runner, and a whole sync of the department through the ``sql`` source."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from stdnum.cn import ric

from creditsync.audit import verify_chain
from creditsync.mapping import load_mapping
from creditsync.pipeline.runner import Gateway, sync_department
from creditsync.schema import validate_record
from creditsync.secrets import Connection
from creditsync.simulators import synthetic as syn
from creditsync.simulators.departments import SimulatorOptions, simulator
from creditsync.simulators.departments import emergency_management as sim
from creditsync.simulators.departments import emergency_management_data as data
from creditsync.simulators.platform import PlatformSimulator
from creditsync.sources.sql import SqlSourceAdapter
from creditsync.store.db import upgrade
from creditsync.store.models import QuarantineItem, Record

REPO = Path(__file__).resolve().parents[2]
TODAY = date(2026, 5, 10)
PENALTY_COLUMNS = {"id", "ajbh", "cfjdswh", "dsr_mc", "dsr_lx", "tyshxydm", "gszch", "fddbr", "fddbr_zjlx",
                   "fddbr_zjhm", "dsr_zjlx", "dsr_zjhm", "dsr_dz", "wfxw", "wfss", "cfyj", "cfzl", "cfnr",
                   "fkje_yuan", "mswfsd_yuan", "zkdx", "cfrq", "cfyxq", "ajzt", "bz", "lrsj", "gxsj"}
INSPECTION_COLUMNS = {"id", "jcbh", "rwbh", "jcsx", "jcfs", "jcdx_mc", "jcdx_lx", "jcdx_tyshxydm", "jcrq",
                      "jcjg", "jcjg_sm", "ssjg_mc", "ajbh", "gxsj"}
STREAM = {"table": "xzcf_ajxx", "key_column": "ajbh", "cursor_column": "gxsj"}
# the defect of each broken case, and the field (or stage) it fails on in the gateway
BROKEN_INSPECTIONS = {"YJJC-0015": "JC_JCRQ", "YJJC-0040": "JC_JCFS"}  # 检查日期 NULL, 检查方式 抽查
BROKEN: dict[str, tuple[Callable[[dict[str, Any]], bool], str]] = {
    "YJCF-0006": (lambda r: not syn.is_valid_uscc(r["tyshxydm"]), "CF_XDR_SHXYM"),
    "YJCF-0013": (lambda r: r["cfrq"] > TODAY, "CF_JDRQ"),
    "YJCF-0021": (lambda r: "责令限期整改" in r["cfzl"].split("、"), "CF_CFLB"),
    "YJCF-0028": (lambda r: "罚款" in r["cfzl"] and r["fkje_yuan"] is None, "CF_NR_FK"),
    "YJCF-0034": (lambda r: r["gxsj"] is None, "(record)"),
}


@pytest.fixture
def db(tmp_path: Path) -> Iterator[sim.SourceDatabase]:
    database = sim.create_database(f"sqlite:///{tmp_path / 'em.db'}", seed=3, today=TODAY)
    yield database
    database.dispose()


def by_key(database: sim.SourceDatabase) -> dict[str, dict[str, Any]]:
    return {row["ajbh"]: row for row in database.penalties()}


def inspections(database: sim.SourceDatabase) -> list[dict[str, Any]]:
    with database.engine.connect() as conn:
        query = select(sim.INSPECTIONS).order_by(sim.INSPECTIONS.c.id)
        return [dict(r) for r in conn.execute(query).mappings()]


# -- data --------------------------------------------------------------------------------------------


def test_tables_use_the_departments_own_column_names(db: sim.SourceDatabase) -> None:
    rows = db.penalties()
    assert len(rows) == 40 and set(rows[0]) == PENALTY_COLUMNS
    checks = inspections(db)
    assert len(checks) == 60 and set(checks[0]) == INSPECTION_COLUMNS


def test_the_same_seed_gives_the_same_database(db: sim.SourceDatabase, tmp_path: Path) -> None:
    again = sim.create_database(f"sqlite:///{tmp_path / 'again.db'}", seed=3, today=TODAY)
    other = sim.create_database(f"sqlite:///{tmp_path / 'other.db'}", seed=4, today=TODAY)
    try:
        assert again.penalties() == db.penalties() and inspections(again) == inspections(db)
        assert [r["dsr_mc"] for r in other.penalties()] != [r["dsr_mc"] for r in db.penalties()]
    finally:
        again.dispose()
        other.dispose()


@pytest.mark.parametrize("key", sorted(BROKEN))
def test_documented_defects_are_present(db: sim.SourceDatabase, key: str) -> None:
    defect, _field = BROKEN[key]
    assert key in data.BROKEN_PENALTIES and defect(by_key(db)[key])


def test_other_rows_are_realistic(db: sim.SourceDatabase) -> None:
    rows = [r for key, r in by_key(db).items() if key not in BROKEN]
    assert {r["dsr_lx"] for r in rows} == {"单位", "个体工商户", "个人"}
    for row in rows:
        assert row["cfjdswh"].startswith("长应急罚〔") and row["cfrq"] <= TODAY and row["gxsj"] is not None
        if row["dsr_lx"] == "个人":
            assert row["tyshxydm"] is None and ric.is_valid(row["dsr_zjhm"])
        else:
            assert row["tyshxydm"] == syn.USCC_PLACEHOLDER or syn.is_valid_uscc(row["tyshxydm"])
        if "罚款" in row["cfzl"]:
            assert row["fkje_yuan"] > 0 and f"{row['fkje_yuan']:.0f}元" in row["cfnr"]
    assert any("第九十九条" in r["cfyj"] for r in rows)
    batch = {by_key(db)[key]["gxsj"] for key in data.SHARED_BATCH}
    assert len(batch) == 1 and by_key(db)[data.REVOKED]["ajzt"] == "已撤销"


def test_inspections_follow_the_departments_value_sets(db: sim.SourceDatabase) -> None:
    rows = {r["jcbh"]: r for r in inspections(db)}
    assert rows.pop("YJJC-0015")["jcrq"] is None and rows.pop("YJJC-0040")["jcfs"] == "抽查"
    assert {r["jcfs"] for r in rows.values()} == {"双随机", "专项", "日常"}
    assert all((r["rwbh"] is None) == (r["jcfs"] == "日常") for r in rows.values())
    assert {r["jcjg"] for r in rows.values()} <= set(data.RESULTS)
    assert {r["ssjg_mc"] for r in rows.values()} == {data.AUTHORITY}


def test_through_the_sql_adapter_and_mapping_only_the_broken_rows_fail(db: sim.SourceDatabase) -> None:
    spec = load_mapping(REPO / "mappings" / "emergency_management" / "penalty.yaml")
    connection = Connection("emergency_management_source", "sqlite", host=str(db.engine.url.database))
    failed: dict[str, set[str]] = {}
    with SqlSourceAdapter("emergency_management", {}, connection) as source:
        for raw in source.read("penalty", STREAM, None):
            if raw.error:
                failed[raw.key] = {"(record)"}
                continue
            mapped = spec.apply(raw.data)
            errors = mapped.errors or validate_record("penalty", mapped.data, today=TODAY).errors
            if errors:
                failed[raw.key] = {e.field for e in errors}
    assert failed == {key: {field} for key, (_, field) in BROKEN.items()}


def test_the_mapping_names_the_authority_by_its_valid_code() -> None:
    text = (REPO / "mappings" / "emergency_management" / "penalty.yaml").read_text(encoding="utf-8")
    assert data.AUTHORITY_USCC in text and syn.is_valid_uscc(data.AUTHORITY_USCC)


# -- edits -------------------------------------------------------------------------------------------


def test_edits_move_gxsj_past_everything_before(db: sim.SourceDatabase) -> None:
    latest = max(r["gxsj"] for r in db.penalties() if r["gxsj"])
    added = db.add_penalty()
    assert added["ajbh"] == "YJCF-0041" and added["cfrq"] == TODAY and added["gxsj"] > latest
    corrected = db.update_penalty("YJCF-0002", bz="更正")
    assert corrected["bz"] == "更正" and corrected["gxsj"] > added["gxsj"]
    assert db.add_inspection()["jcbh"] == "YJJC-0061"
    with pytest.raises(KeyError):
        db.update_penalty("YJCF-9999", bz="x")


def test_ticks_add_or_correct_rows(db: sim.SourceDatabase) -> None:
    before = (len(db.penalties()), len(inspections(db)))
    done = [db.tick() for _ in range(6)]
    assert all(d.split()[0] in ("added", "corrected", "inspected") for d in done)
    assert (len(db.penalties()), len(inspections(db))) != before or any("corrected" in d for d in done)


def test_the_database_can_live_on_postgresql(pg_url: str, db: sim.SourceDatabase) -> None:
    on_pg = sim.create_database(pg_url, seed=3, today=TODAY)
    try:
        assert on_pg.penalties() == db.penalties()
    finally:
        on_pg.dispose()


# -- runner ------------------------------------------------------------------------------------------


def test_registered_runner_edits_until_stopped(tmp_path: Path) -> None:
    assert simulator("emergency_management") is sim.run_simulator
    stop = threading.Event()
    options = SimulatorOptions(host="127.0.0.1", port=0, seed=2, token="", workdir=tmp_path / "em")
    runner = threading.Thread(target=sim.run_simulator, args=(options,),
                              kwargs={"interval_s": 0.02, "stop": stop})
    runner.start()
    try:
        assert _eventually(lambda: _rows(tmp_path / "em" / sim.DB_FILE) > 100)
    finally:
        stop.set()
        runner.join(timeout=10)
    assert not runner.is_alive()


@pytest.mark.integration
def test_cli_simulator_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    command = [str(Path(sys.executable).with_name("creditsync")), "source-sim", "emergency_management",
               "--workdir", str(tmp_path), "--seed", "5"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "CREDITSYNC_SOURCE_SIM_INTERVAL_S": "0.05"}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert process.stdout is not None
        assert "emergency_management simulator: database sqlite:///" in process.stdout.readline()
        assert _eventually(lambda: _rows(tmp_path / "emergency_management" / sim.DB_FILE) > 100)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()


def _rows(path: Path) -> int:
    """Penalties plus inspections, read like the gateway does (read-only, while the simulator writes)."""
    if not path.exists():
        return 0
    connection = Connection("c", "sqlite", host=str(path))
    try:
        with SqlSourceAdapter("emergency_management", {}, connection) as source, source.connect() as conn:
            tables = (sim.PENALTIES, sim.INSPECTIONS)
            return sum(int(conn.scalar(select(func.count()).select_from(t)) or 0) for t in tables)
    except Exception:  # created but not filled yet
        return 0


def _eventually(condition: Callable[[], bool], timeout_s: float = 20.0) -> bool:
    """Poll a live process's observable state (not a retry: nothing here fails and is tried again)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


# -- the whole department ------------------------------------------------------------------------------


@pytest.mark.integration
def test_sync_delivers_valid_rows_quarantines_broken_ones_then_only_the_change(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = sim.create_database(f"sqlite:///{tmp_path / 'yjj.db'}", seed=5)
    platform = PlatformSimulator(app_key="k-em").start_in_thread()
    monkeypatch.setenv("CREDITSYNC_HOME", str(REPO))
    monkeypatch.setenv("CREDITSYNC_DB_URL", migrated_store(tmp_path / "gateway.db"))
    monkeypatch.setenv("CREDITSYNC_PLATFORM_URL", platform.url)
    monkeypatch.setenv("CREDITSYNC_PLATFORM_APP_KEY", "k-em")
    monkeypatch.setenv("AIRFLOW_CONN_EMERGENCY_MANAGEMENT_SOURCE",
                       json.dumps({"conn_type": "sqlite", "host": str(tmp_path / "yjj.db")}))
    gateway = Gateway.open()
    try:
        first = sync_department(gateway, "emergency_management")
        # and one revoked case, never published; plus the inspections (xzjc_jl) but their broken rows
        valid = 40 - len(BROKEN) - 1 + 60 - len(BROKEN_INSPECTIONS)
        assert first["pushed"]["acked"] == valid == platform.stats()["records"]
        assert first["report"]["status"] == "partial"
        with gateway.store.reader() as session:
            quarantined = {q.source_key: {e["field"] for e in q.errors}
                           for q in session.scalars(select(QuarantineItem))}
            published = session.scalar(select(func.count()).where(Record.state == "published"))
        broken = {key: field for key, (_, field) in BROKEN.items()} | BROKEN_INSPECTIONS
        assert quarantined == {key: {field} for key, field in broken.items()}
        assert published == valid

        source.update_penalty("YJCF-0002", bz="2026年更正：处罚内容表述规范化")
        second = sync_department(gateway, "emergency_management")
        assert second["pushed"]["acked"] == 1 and second["pulled"]["penalty"]["changed"] == 1
        assert second["pulled"]["penalty"].get("new", 0) == 0
        assert second["report"]["status"] == "success"
        stats = platform.stats()
        assert stats["records"] == valid and stats["idempotency_keys"] == valid + 1
        with gateway.store.reader() as session:
            changed = session.scalars(select(Record).where(Record.source_key == "YJCF-0002")).one()
            assert changed.version == 2 and changed.state == "published"
            assert verify_chain(session).ok
    finally:
        gateway.store.dispose()
        platform.stop()
        source.dispose()


def migrated_store(path: Path) -> str:
    """A store at the current schema, as `creditsync db-upgrade` leaves it."""
    url = f"sqlite:///{path}"
    upgrade(url)
    return url
