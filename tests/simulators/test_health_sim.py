"""The 长清区卫生健康局 hand-over folder simulator: its files (GBK CSV and XLSX with Chinese headers),
their documented defects, atomic drops, the runner, and a whole sync of department ``health`` against
the real platform simulator."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from datetime import date
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from creditsync.exceptions import FieldError
from creditsync.mapping import load_mapping
from creditsync.pipeline.runner import Gateway, sync_department
from creditsync.pipeline.translate import Translator
from creditsync.simulators.departments import SIMULATORS, simulator
from creditsync.simulators.departments import health as health_module
from creditsync.simulators.departments.health import HealthDesk, run_health_simulator
from creditsync.simulators.departments.health_data import LICENSE_COLUMNS, PENALTY_COLUMNS
from creditsync.simulators.platform import PlatformSimulator
from creditsync.sources.base import RawRecord
from creditsync.sources.files import DEFAULT_IGNORE, FileDropAdapter
from creditsync.store.db import upgrade
from creditsync.store.models import QuarantineItem, Record, RecordVersion

REPO = Path(__file__).resolve().parents[2]
TODAY = date(2026, 3, 2)
DAY = "20260302"
INITIAL = [f"license_{DAY}_01.xlsx", f"penalty_{DAY}_02.csv", f"penalty_{DAY}_03.xlsx",
           f"penalty_{DAY}_04.csv", f"license_{DAY}_05.csv"]
HOUR_AGO_NS = (int(time.time()) - 3600) * 1_000_000_000


def age(paths: Sequence[Path]) -> None:
    """Older than settle_seconds, in drop order."""
    for second, path in enumerate(paths):
        os.utime(path, ns=(HOUR_AGO_NS + second * 10**9,) * 2)


def read_all(inbox: Path, category: str) -> list[RawRecord]:
    adapter = FileDropAdapter("health", {"inbox": str(inbox), "settle_seconds": 0}, None)
    patterns = {"license": ["license_*"], "penalty": ["penalty_*"]}[category]
    columns = {"license": ["决定文书号"], "penalty": ["决定文书号"]}[category]
    return list(adapter.read(category, {"patterns": patterns, "required_columns": columns}, None))


def invalid_keys(records: list[RawRecord], category: str) -> set[str]:
    translator = Translator(category, load_mapping(REPO / "mappings" / "health" / f"{category}.yaml"), "file")
    return {r.key for r in records if r.error or translator.translate(r.data).record is None}


@pytest.fixture
def desk(tmp_path: Path) -> HealthDesk:
    running = HealthDesk(tmp_path / "health", seed=7, today=TODAY)
    running.drop_initial()
    return running


def test_it_is_registered() -> None:
    assert SIMULATORS["health"] == "creditsync.simulators.departments.health:run_from_options"
    assert simulator("health") is health_module.run_from_options


def test_the_initial_drop_is_gbk_csv_and_xlsx_with_chinese_headers(desk: HealthDesk) -> None:
    assert sorted(os.listdir(desk.inbox)) == sorted(INITIAL)  # no temporary file left behind
    raw = (desk.inbox / INITIAL[1]).read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert raw.decode("gbk").split("\r\n")[0] == ",".join(PENALTY_COLUMNS)
    workbook = load_workbook(desk.inbox / INITIAL[0], read_only=True)
    header = next(workbook["行政许可"].iter_rows(values_only=True))
    workbook.close()
    assert header == LICENSE_COLUMNS


def test_the_same_seed_gives_the_same_files(tmp_path: Path, desk: HealthDesk) -> None:
    again = HealthDesk(tmp_path / "again", seed=7, today=TODAY)
    again.drop_initial()
    assert (again.inbox / INITIAL[1]).read_bytes() == (desk.inbox / INITIAL[1]).read_bytes()
    assert [d.rows for d in again.dropped] == [d.rows for d in desk.dropped]


def test_the_documented_defects_are_exactly_the_invalid_records(desk: HealthDesk) -> None:
    broken = desk.broken
    assert broken.keys() == {f"license_{DAY}_01.xlsx#5", f"license_{DAY}_01.xlsx#10",
                             f"penalty_{DAY}_02.csv#4", f"penalty_{DAY}_02.csv#7", f"penalty_{DAY}_02.csv#9",
                             f"penalty_{DAY}_03.xlsx#4", f"penalty_{DAY}_04.csv"}
    licenses, penalties = read_all(desk.inbox, "license"), read_all(desk.inbox, "penalty")
    assert len(licenses) == 16 and len(penalties) == 16 + 1  # + the refused file, as one bad record
    assert invalid_keys(licenses, "license") | invalid_keys(penalties, "penalty") == set(broken)
    revoked = next(r for r in penalties if r.key == f"penalty_{DAY}_02.csv#11")
    assert revoked.data["当前状态"] == "撤销"  # valid, but never to be published


def test_later_drops_rotate_kinds_and_formats_and_stay_valid(desk: HealthDesk) -> None:
    names = [desk.drop_next().name for _ in range(4)]
    assert names == [f"license_{DAY}_06.xlsx", f"penalty_{DAY}_07.xlsx", f"license_{DAY}_08.csv",
                     f"penalty_{DAY}_09.csv"]
    assert (desk.inbox / names[2]).read_bytes().startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM, as WPS saves
    numbers = [row["决定文书号"] for drop in desk.dropped if not drop.failure for row in drop.rows]
    assert len(numbers) == len(set(numbers))  # numbering continues across drops
    for name in names:
        category = name.split("_")[0]
        records = [r for r in read_all(desk.inbox, category) if r.key.startswith(name)]
        assert 1 <= len(records) <= 3 and not invalid_keys(records, category)


def test_files_appear_atomically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    renames: list[tuple[str, str, int]] = []
    real_replace = os.replace

    def spy(source: Any, target: Any) -> None:
        renames.append((Path(source).name, Path(target).name, Path(source).stat().st_size))
        real_replace(source, target)

    monkeypatch.setattr(health_module.os, "replace", spy)
    HealthDesk(tmp_path / "health", seed=3, today=TODAY).drop_initial()
    assert [target for _, target, _ in renames] == INITIAL
    assert all(source == f".{target}.part" and size > 0 for source, target, size in renames)
    assert any(fnmatch(f".{INITIAL[1]}.part", pattern) for pattern in DEFAULT_IGNORE)  # never read


def test_the_runner_keeps_dropping_until_stopped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stop, original = threading.Event(), HealthDesk.drop_next

    def drop_and_count(self: HealthDesk) -> Path:
        path = original(self)
        if len(self.dropped) == len(INITIAL) + 3:
            stop.set()
        return path

    monkeypatch.setattr(HealthDesk, "drop_next", drop_and_count)
    desk = run_health_simulator(tmp_path / "health", seed=1, interval_s=0, stop=stop)
    assert len(os.listdir(desk.inbox)) == len(INITIAL) + 3


@pytest.mark.integration
def test_source_sim_drops_files_until_sigterm(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "CREDITSYNC_HEALTH_DROP_INTERVAL_S": "0.05"}
    command = [sys.executable, "-m", "creditsync.cli.main", "source-sim", "health",
               "--workdir", str(tmp_path)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert process.stdout is not None
        assert f"5 files in {tmp_path / 'health' / 'inbox'}" in process.stdout.readline()
        assert "dropped license_" in process.stdout.readline()
        assert "dropped penalty_" in process.stdout.readline()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
    assert len(os.listdir(tmp_path / "health" / "inbox")) >= 7


# -- a whole sync --------------------------------------------------------------------------------


def quarantine(gateway: Gateway) -> dict[str, list[dict[str, str]]]:
    with gateway.store.reader() as session:
        return {str(q.source_key): q.errors for q in session.scalars(select(QuarantineItem))}


def folder(desk: HealthDesk, name: str) -> list[str]:
    return sorted(p.name for p in (desk.inbox.parent / name).iterdir() if not p.name.startswith("."))


@pytest.mark.integration
def test_health_syncs_end_to_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The repository's adapters/health.yaml as is: its relative inbox resolves against CREDITSYNC_HOME.
    for name, value in {"CREDITSYNC_HOME": tmp_path, "CREDITSYNC_ADAPTERS_DIR": REPO / "adapters",
                        "CREDITSYNC_MAPPINGS_DIR": REPO / "mappings",
                        "CREDITSYNC_DB_URL": migrated_store(tmp_path / "gateway.db"),
                        "CREDITSYNC_PLATFORM_APP_KEY": "demo-app-key"}.items():
        monkeypatch.setenv(name, str(value))
    desk = HealthDesk(tmp_path / ".sim" / "health", seed=7, today=TODAY)
    age(desk.drop_initial())
    platform = PlatformSimulator()
    with platform.start_in_thread() as running:
        monkeypatch.setenv("CREDITSYNC_PLATFORM_URL", running.url)
        gateway = Gateway.open()
        try:
            first = sync_department(gateway, "health")
            assert first["pushed"]["acked"] == 14 + 11 == running.stats()["records"]
            assert first["report"]["records"]["revoked"] == 1 and first["report"]["status"] == "partial"
            check_quarantine(quarantine(gateway))
            check_folders(desk)
            check_cancelled_licence(gateway)

            second = sync_department(gateway, "health")
            assert all(s["read"] == 0 for s in second["pulled"].values())
            assert second["pushed"]["acked"] == 0 and second["report"]["status"] == "success"

            new = desk.drop_next()
            age([new])
            third = sync_department(gateway, "health")
            assert third["pushed"]["acked"] == len(desk.dropped[-1].rows)
            assert new.name in folder(desk, "processed") and folder(desk, "inbox") == []
        finally:
            gateway.store.dispose()
    platform.close()


def check_quarantine(found: dict[str, list[dict[str, str]]]) -> None:
    fields = {key: {e["field"] for e in errors} for key, errors in found.items()}
    assert fields == {f"license_{DAY}_01.xlsx#5": {"XK_YXQZI"}, f"license_{DAY}_01.xlsx#10": {"XK_XDR_ZJHM"},
                      f"penalty_{DAY}_02.csv#4": {"CF_XDR_SHXYM"}, f"penalty_{DAY}_02.csv#7": {"CF_NR_FK"},
                      f"penalty_{DAY}_02.csv#9": {"(record)"}, f"penalty_{DAY}_03.xlsx#4": {"CF_JDRQ"},
                      f"penalty_{DAY}_04.csv": {"(record)"}}
    shifted = FieldError.from_stored(found[f"penalty_{DAY}_02.csv#9"][0]).message
    assert "row 9 has 21 values but the header has 20 columns" in shifted
    missing = FieldError.from_stored(found[f"penalty_{DAY}_04.csv"][0]).message
    assert "missing required columns: 决定文书号" in missing


def check_folders(desk: HealthDesk) -> None:
    assert folder(desk, "inbox") == []
    assert folder(desk, "processed") == sorted(set(INITIAL) - {f"penalty_{DAY}_04.csv"})
    assert folder(desk, "failed") == [f"penalty_{DAY}_04.csv", f"penalty_{DAY}_04.csv.error.txt"]
    reason_file = desk.inbox.parent / "failed" / f"penalty_{DAY}_04.csv.error.txt"
    reason = reason_file.read_text(encoding="utf-8-sig")
    assert "原因：缺少必需的列：决定文书号" in reason


def check_cancelled_licence(gateway: Gateway) -> None:
    with gateway.store.reader() as session:
        record = session.scalars(select(Record).where(Record.source_key == f"license_{DAY}_01.xlsx#8")).one()
        version = session.scalars(select(RecordVersion).where(
            RecordVersion.business_key == record.business_key)).one()
    assert record.state == "published" and version.payload_masked["XK_ZT"] == "无效"  # 注销


def migrated_store(path: Path) -> str:
    """A store at the current schema, as `creditsync db-upgrade` leaves it."""
    url = f"sqlite:///{path}"
    upgrade(url)
    return url
