"""The file-drop adapter on real CSV and XLSX files in tmp_path: encodings, workbooks, headers, the
inbox → processed/failed moves, and its delivery guarantee through the real pipeline steps with a fake
platform client (nothing sleeps, no server)."""

from __future__ import annotations

import logging
import os
import re
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any, cast

import pytest
from openpyxl import Workbook

from creditsync.delivery.client import PlatformClient, PushItem, Receipt
from creditsync.departments import DepartmentConfig, load_department_file
from creditsync.exceptions import ConfigurationError, RetriableError
from creditsync.pipeline.pull import pull
from creditsync.pipeline.push import push
from creditsync.pipeline.report import report
from creditsync.pipeline.runner import Gateway
from creditsync.settings import Settings
from creditsync.simulators.departments.health import HealthDesk
from creditsync.sources._file_encoding import detect_encoding
from creditsync.sources.base import RawRecord
from creditsync.sources.files import FileDropAdapter
from creditsync.sources.registry import get_adapter_class
from creditsync.store import open_store

HEADER = ["行政相对人名称", "决定文书号", "罚款金额（元）"]
ROWS = [["济南市长清区惠民诊所", "长卫医罚〔2026〕101号", "5000.00"],
        ["济南长清康源口腔门诊部有限公司", "长卫医罚〔2026〕102号", ""]]
PENALTY = {"patterns": ["penalty_*"]}
CURSOR = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z\|.+$")
_BASE_NS = (int(time.time()) - 3600) * 1_000_000_000  # an hour ago: every file is settled


def csv_text(header: Sequence[str] = HEADER, rows: Sequence[Sequence[str]] = ROWS) -> str:
    return "".join(",".join(row) + "\r\n" for row in [header, *rows])


def drop(inbox: Path, name: str, content: bytes | str, encoding: str = "utf-8", minute: int = 0) -> Path:
    """Write a file with mtime ``minute`` minutes after the base time (so the order is ours to set)."""
    inbox.mkdir(parents=True, exist_ok=True)
    path = inbox / name
    path.write_bytes(content.encode(encoding) if isinstance(content, str) else content)
    stamp = _BASE_NS + minute * 60 * 1_000_000_000
    os.utime(path, ns=(stamp, stamp))
    return path


def xlsx_bytes(tmp_path: Path, rows: Sequence[Sequence[Any]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(list(row))
    path = tmp_path / "built.xlsx"
    workbook.save(path)
    return path.read_bytes()


def make_adapter(tmp_path: Path, **options: Any) -> FileDropAdapter:
    return FileDropAdapter("health", {"inbox": str(tmp_path / "inbox"), "settle_seconds": 0, **options}, None)


def read(adapter: FileDropAdapter, cursor: str | None = None, **stream_options: Any) -> list[RawRecord]:
    return list(adapter.read("penalty", {**PENALTY, **stream_options}, cursor))


def listing(tmp_path: Path, folder: str) -> list[str]:
    path = tmp_path / folder
    return sorted(p.name for p in path.iterdir() if not p.name.startswith(".")) if path.exists() else []


def test_the_kind_is_registered_and_needs_no_connection() -> None:
    assert get_adapter_class("file") is FileDropAdapter
    assert FileDropAdapter.requires_connection is False


# -- encodings -------------------------------------------------------------------------------------

NAMES = "济南市长清区惠民诊所，王𠮷（个体）"  # 𠮷 exists in GB18030 (4 bytes) but not in GBK


@pytest.mark.parametrize(("written", "detected", "text"), [
    ("utf-8", "utf-8", NAMES),
    ("utf-8-sig", "utf-8-sig", NAMES),
    ("gbk", "gb18030", NAMES.replace("𠮷", "吉")),
    ("gb18030", "gb18030", NAMES),
    ("utf-16", "utf-16", NAMES),
])
def test_encoding_is_detected_and_text_is_never_mojibake(
        tmp_path: Path, written: str, detected: str, text: str) -> None:
    rows = [[text.replace("，", " "), "长卫医罚〔2026〕101号", "5000.00"]]
    path = drop(tmp_path / "inbox", "penalty_1.csv", csv_text(rows=rows), written)
    assert detect_encoding(path) == detected
    (record,) = read(make_adapter(tmp_path))
    assert record.error is None
    assert record.data == dict(zip(HEADER, rows[0], strict=True))  # BOM gone, every character intact


def test_a_tiny_gbk_file_is_still_recognised(tmp_path: Path) -> None:
    path = drop(tmp_path / "inbox", "penalty_1.csv", "名称\r\n张三\r\n", "gbk")
    assert detect_encoding(path) == "gb18030"


def test_text_that_is_neither_utf8_nor_chinese_is_refused(tmp_path: Path) -> None:
    # cp1252 "Müller" is valid GB18030 byte soup (ü l → 黮): plausibility refuses it.
    drop(tmp_path / "inbox", "penalty_1.csv", "Name,Ort\r\nMüller,Düsseldorf Straße\r\n", "cp1252")
    (record,) = read(make_adapter(tmp_path))
    assert record.error and "neither UTF-8 nor GBK/GB18030" in record.error
    assert listing(tmp_path, "failed") == ["penalty_1.csv", "penalty_1.csv.error.txt"]


@pytest.mark.parametrize(("declared", "written", "problem"), [
    ("utf-8", "gbk", "not utf-8 as configured: byte 0x"),
    ("UTF8", "gb18030", "not UTF8 as configured"),
    ("gbk", "utf-8", "the file is UTF-8, not gbk as configured"),
    ("gb18030", "utf-8-sig", "the file is UTF-8, not gb18030 as configured"),
    ("utf-8", "utf-8-sig", None),
    ("gbk", "gbk", None),
    ("gb18030", "gbk", None),
])
def test_a_declared_encoding_is_checked_strictly(
        tmp_path: Path, declared: str, written: str, problem: str | None) -> None:
    drop(tmp_path / "inbox", "penalty_1.csv", csv_text(), written)
    records = read(make_adapter(tmp_path, encoding=declared))
    if problem is None:
        assert [r.data for r in records] == [dict(zip(HEADER, row, strict=True)) for row in ROWS]
        assert listing(tmp_path, "inbox") == ["penalty_1.csv"]
        return
    (record,) = records
    assert record.error and problem in record.error and record.key == "penalty_1.csv"
    assert listing(tmp_path, "inbox") == []
    reason = (tmp_path / "failed" / "penalty_1.csv.error.txt").read_text(encoding="utf-8-sig")
    assert problem in reason and "原因：文件" in reason


def test_a_gbk_file_declared_utf8_names_the_first_bad_byte_and_suggests_auto(tmp_path: Path) -> None:
    content = "name,no\r\nabc,1\r\n惠民诊所,2\r\n"
    drop(tmp_path / "inbox", "penalty_1.csv", content, "gbk")
    (record,) = read(make_adapter(tmp_path, encoding="utf-8"))
    assert record.error is not None
    assert "offset 16 (line 3)" in record.error and "looks like GBK/GB18030" in record.error


def test_an_unknown_declared_encoding_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="unknown encoding 'klingon'"):
        make_adapter(tmp_path, encoding="klingon")
    with pytest.raises(ConfigurationError, match="unknown encoding"):
        read(make_adapter(tmp_path), encoding="big-five-ish")


# -- workbooks and headers -------------------------------------------------------------------------


def test_xlsx_cells_become_the_text_a_csv_export_would_hold(tmp_path: Path) -> None:
    rows: list[list[Any]] = [
        ["名称", "决定日期", "登记时间", "罚款", "比例", "证件号码", "备注", None],
        ["惠民诊所", date(2026, 3, 5), datetime(2026, 3, 5, 9, 30), 5000.0, 0.25, 1.10105194912310e17, None],
        [None, None, None],
        ["康源门诊部", datetime(2026, 3, 6), "2026/03/06", 2000, "2,000.00", "11010519491231002X", "  "],
    ]
    drop(tmp_path / "inbox", "penalty_1.xlsx", xlsx_bytes(tmp_path, rows))
    first, second = read(make_adapter(tmp_path))
    assert first.key == "penalty_1.xlsx#2" and second.key == "penalty_1.xlsx#4"  # blank row 3 skipped
    assert first.data == {"名称": "惠民诊所", "决定日期": "2026-03-05", "登记时间": "2026-03-05 09:30:00",
                          "罚款": "5000", "比例": "0.25", "证件号码": "110105194912310000", "备注": ""}
    assert second.data["决定日期"] == "2026-03-06" and second.data["罚款"] == "2000"


def test_xlsx_reads_the_named_sheet(tmp_path: Path) -> None:
    workbook = Workbook()
    cover = workbook.active
    assert cover is not None
    cover.title = "说明"
    cover.append(["本表由长清区卫生健康局导出"])
    data = workbook.create_sheet("行政处罚")
    data.append(HEADER)
    data.append(ROWS[0])
    workbook.save(tmp_path / "inbox.xlsx")
    drop(tmp_path / "inbox", "penalty_1.xlsx", (tmp_path / "inbox.xlsx").read_bytes())
    (record,) = read(make_adapter(tmp_path), sheet="行政处罚")
    assert record.data == dict(zip(HEADER, ROWS[0], strict=True))


def test_a_missing_required_column_fails_the_file_and_the_stream_goes_on(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    drop(inbox, "penalty_1.xlsx", xlsx_bytes(tmp_path, [["行政相对人名称", "文书号"], ROWS[0][:2]]), minute=1)
    drop(inbox, "penalty_2.csv", csv_text(), minute=2)
    bad, *good = read(make_adapter(tmp_path), required_columns=["行政相对人名称", "决定文书号"])
    assert bad.key == "penalty_1.xlsx" and bad.error and "missing required columns: 决定文书号" in bad.error
    assert bad.data["reason"].startswith("缺少必需的列：决定文书号")
    assert [r.key for r in good] == ["penalty_2.csv#2", "penalty_2.csv#3"] and not any(r.error for r in good)
    assert listing(tmp_path, "failed") == ["penalty_1.xlsx", "penalty_1.xlsx.error.txt"]
    reason = (tmp_path / "failed" / "penalty_1.xlsx.error.txt").read_text(encoding="utf-8-sig")
    assert "原因：缺少必需的列：决定文书号" in reason and "Reason: missing required columns" in reason
    assert listing(tmp_path, "inbox") == ["penalty_2.csv"]  # waits for delivery


def test_extra_columns_are_kept_and_noted(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    drop(tmp_path / "inbox", "penalty_1.csv", csv_text([*HEADER, "经办人"], [[*ROWS[0], "李娜"]]))
    with caplog.at_level(logging.WARNING, logger="creditsync.sources.files"):
        (record,) = read(make_adapter(tmp_path), required_columns=HEADER[:2], optional_columns=HEADER[2:])
    assert record.error is None and record.data["经办人"] == "李娜"
    assert "not know (kept, not mapped): 经办人" in caplog.text


def test_without_a_column_list_nothing_is_extra(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    drop(tmp_path / "inbox", "penalty_1.csv", csv_text([*HEADER, "经办人"], [[*ROWS[0], "李娜"]]))
    with caplog.at_level(logging.WARNING, logger="creditsync.sources.files"):
        (record,) = read(make_adapter(tmp_path), required_columns=HEADER)
    assert record.error is None and "kept, not mapped" not in caplog.text


@pytest.mark.parametrize(("content", "problem"), [
    (b"PK\x03\x04 not really a zip", "damaged or not an .xlsx file"),
    (b"plain text", "damaged or not an .xlsx file"),
    (bytes.fromhex("d0cf11e0a1b11ae1") + b"\0" * 512, "damaged or not an .xlsx file"),  # an old .xls
    (None, "damaged or not an .xlsx file"),  # a real workbook cut in half
])
def test_a_corrupt_workbook_is_moved_to_failed(tmp_path: Path, content: bytes | None, problem: str) -> None:
    if content is None:
        whole = xlsx_bytes(tmp_path, [HEADER, *ROWS])
        content = whole[: len(whole) // 2]
    drop(tmp_path / "inbox", "penalty_1.xlsx", content)
    (record,) = read(make_adapter(tmp_path))
    assert record.error and problem in record.error
    assert listing(tmp_path, "failed") == ["penalty_1.xlsx", "penalty_1.xlsx.error.txt"]


@pytest.mark.parametrize(("content", "problem"), [
    ("\r\n行政相对人名称,决定文书号\r\n", "row 1 must hold the column names"),
    ("名称,文号,名称\r\na,b,c\r\n", "duplicate column names in the header: 名称"),
])
def test_a_bad_header_fails_the_file(tmp_path: Path, content: str, problem: str) -> None:
    drop(tmp_path / "inbox", "penalty_1.csv", content)
    (record,) = read(make_adapter(tmp_path))
    assert record.error and problem in record.error


def test_an_unsupported_file_type_is_refused(tmp_path: Path) -> None:
    drop(tmp_path / "inbox", "penalty_1.xls", b"\xd0\xcf\x11\xe0")
    (record,) = read(make_adapter(tmp_path))
    assert record.error and "unsupported file type .xls" in record.error


def test_a_header_only_file_has_nothing_to_deliver(tmp_path: Path) -> None:
    drop(tmp_path / "inbox", "penalty_1.csv", csv_text(rows=[]))
    assert read(make_adapter(tmp_path)) == []
    assert listing(tmp_path, "processed") == ["penalty_1.csv"] and listing(tmp_path, "inbox") == []


def test_bad_rows_are_flagged_and_the_rest_of_the_file_flows(tmp_path: Path) -> None:
    rows = [ROWS[0], [*ROWS[1], "stray"], ["", "", ""], ["王伟", "长卫医罚〔2026〕103号"], ROWS[1]]
    drop(tmp_path / "inbox", "penalty_1.csv", csv_text(rows=rows))
    records = read(make_adapter(tmp_path))
    assert [(r.key, r.error is None) for r in records] == [
        ("penalty_1.csv#2", True), ("penalty_1.csv#3", False), ("penalty_1.csv#5", False),
        ("penalty_1.csv#6", True)]
    assert "row 3 has 4 values but the header has 3 columns" in (records[1].error or "")
    assert records[1].data == {"values": [*ROWS[1], "stray"]}
    assert len({r.cursor for r in records}) == 1  # bad rows keep the file's cursor


# -- which files, in which order -------------------------------------------------------------------


def test_temporary_foreign_and_unsettled_files_are_not_read(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    for name in (".penalty_1.csv.part", "~$penalty_2.xlsx", "penalty_3.csv.tmp", "penalty_4.csv.filepart",
                 "license_5.csv", "PENALTY_6.CSV"):
        drop(inbox, name, csv_text())
    (inbox / "penalty_dir").mkdir()
    drop(inbox, "penalty_7.csv", csv_text(), minute=59)  # modified 60 s before "now": still settling
    now = (_BASE_NS + 60 * 60 * 1_000_000_000) / 1e9
    adapter = FileDropAdapter("health", {"inbox": str(inbox), "settle_seconds": 120}, None, clock=lambda: now)
    assert {r.key.split("#")[0] for r in read(adapter)} == {"PENALTY_6.CSV"}  # patterns ignore case


def test_files_are_read_in_mtime_then_name_order(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    drop(inbox, "penalty_b.csv", csv_text(rows=ROWS[:1]), minute=5)
    drop(inbox, "penalty_c.csv", csv_text(rows=ROWS[:1]), minute=1)
    drop(inbox, "penalty_a.csv", csv_text(rows=ROWS[:1]), minute=5)
    records = read(make_adapter(tmp_path))
    assert [r.key for r in records] == ["penalty_c.csv#2", "penalty_a.csv#2", "penalty_b.csv#2"]
    cursors = [r.cursor for r in records if r.cursor]
    assert cursors == sorted(cursors) and all(CURSOR.match(str(c)) for c in cursors)
    assert str(cursors[0]).endswith("|penalty_c.csv") and cursors[0].kind == "instant"


def test_a_late_file_older_than_the_cursor_is_still_read_at_the_cursor(tmp_path: Path) -> None:
    drop(tmp_path / "inbox", "penalty_1.csv", csv_text(rows=ROWS[:1]), minute=1)
    watermark = "2099-01-01T00:00:00Z|penalty_9.csv"
    (record,) = read(make_adapter(tmp_path), cursor=watermark)
    assert str(record.cursor) == watermark  # never below the watermark: the cursor cannot move back


def test_a_missing_inbox_fails_the_stream_as_retriable(tmp_path: Path) -> None:
    with pytest.raises(RetriableError, match="does not exist"):
        read(make_adapter(tmp_path))


def test_relative_folders_resolve_against_creditsync_home(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREDITSYNC_HOME", str(tmp_path))
    adapter = FileDropAdapter("health", {"inbox": "var/sources/health/inbox"}, None)
    assert adapter.inbox == tmp_path / "var/sources/health/inbox"
    assert adapter.processed == tmp_path / "var/sources/health/processed"
    assert adapter.failed == tmp_path / "var/sources/health/failed"


# -- the cursor-commit hook ------------------------------------------------------------------------


def test_the_hook_moves_only_files_read_and_covered_by_the_cursor(tmp_path: Path) -> None:
    inbox, adapter = tmp_path / "inbox", make_adapter(tmp_path)
    drop(inbox, "penalty_1.csv", csv_text(), minute=10)
    drop(inbox, "penalty_2.csv", csv_text(), minute=20)
    records = read(adapter)
    first_cursor, last_cursor = records[0].cursor or "", records[-1].cursor or ""
    assert listing(tmp_path, "inbox") == ["penalty_1.csv", "penalty_2.csv"]  # read is not delivered
    drop(inbox, "penalty_0.csv", csv_text(), minute=1)  # dropped during the run, with an old mtime

    adapter.on_cursor_committed("penalty", PENALTY, first_cursor)
    assert listing(tmp_path, "processed") == ["penalty_1.csv"]
    adapter.on_cursor_committed("penalty", PENALTY, last_cursor)
    adapter.on_cursor_committed("penalty", PENALTY, last_cursor)  # idempotent
    assert listing(tmp_path, "processed") == ["penalty_1.csv", "penalty_2.csv"]
    assert listing(tmp_path, "inbox") == ["penalty_0.csv"]  # never read, so never moved
    assert {r.key.split("#")[0] for r in read(adapter, cursor=last_cursor)} == {"penalty_0.csv"}


def test_the_hook_works_from_another_adapter_instance(tmp_path: Path) -> None:
    drop(tmp_path / "inbox", "penalty_1.csv", csv_text())
    cursor = read(make_adapter(tmp_path))[-1].cursor or ""
    make_adapter(tmp_path).on_cursor_committed("penalty", PENALTY, cursor)  # e.g. the Airflow push task
    assert listing(tmp_path, "processed") == ["penalty_1.csv"]


def test_a_file_replaced_after_it_was_read_is_not_moved(tmp_path: Path) -> None:
    adapter = make_adapter(tmp_path)
    drop(tmp_path / "inbox", "penalty_1.csv", csv_text(rows=ROWS[:1]), minute=1)
    cursor = read(adapter)[-1].cursor or ""
    drop(tmp_path / "inbox", "penalty_1.csv", csv_text(), minute=2)  # staff saved a corrected version
    adapter.on_cursor_committed("penalty", PENALTY, cursor)
    assert listing(tmp_path, "inbox") == ["penalty_1.csv"]
    assert len(read(adapter)) == 2  # the new version is read next time


def test_a_same_named_file_never_overwrites_an_earlier_one(tmp_path: Path) -> None:
    adapter = make_adapter(tmp_path)
    for minute in (1, 2):
        drop(tmp_path / "inbox", "penalty_1.csv", csv_text(rows=ROWS[minute - 1:minute]), minute=minute)
        adapter.on_cursor_committed("penalty", PENALTY, read(adapter)[-1].cursor or "")
    assert listing(tmp_path, "processed") == ["penalty_1.csv", "penalty_1__2.csv"]


# -- the delivery guarantee, through the real pipeline steps ---------------------------------------

REPO = Path(__file__).resolve().parents[2]


class FakePlatform:
    """Accepts every record (or fails like a platform that is down); keeps what it received. A sink that
    answers with the request (creditsync.sinks.base.Sink)."""

    name = "fake"
    asynchronous = False

    def __init__(self, down: bool = False) -> None:
        self.down = down
        self.received: list[PushItem] = []

    def push(self, category: str, items: Sequence[PushItem], batch_id: str | None = None) -> list[Receipt]:
        if self.down:
            raise RetriableError("the platform is down", batch_id=batch_id)
        self.received.extend(items)
        return [Receipt(item.idempotency_key, "accepted", uuid.uuid4().hex) for item in items]

    def query(self, category: str, keys: Iterable[str]) -> dict[str, Receipt]:
        return {}

    def retract(self, category: str, keys: Iterable[str]) -> set[str]:
        return set()

    def records(self, platform_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        return {}

    def record(self, platform_id: str) -> dict[str, Any] | None:
        return None

    def close(self) -> None:
        pass


@pytest.fixture
def gateway(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Gateway]:
    monkeypatch.setenv("CREDITSYNC_MAPPINGS_DIR", str(REPO / "mappings"))
    settings = Settings(home=tmp_path, db_url=f"sqlite:///{tmp_path / 'gateway.db'}", platform_url=None,
                        platform_conn_id="creditsync_platform")
    handle = Gateway(settings, open_store(settings.db_url, migrate=True))
    yield handle
    handle.store.dispose()


@pytest.fixture
def health(tmp_path: Path) -> DepartmentConfig:
    """The repository's health department, reading an inbox in tmp_path."""
    config = load_department_file(REPO / "adapters" / "health.yaml")
    config.source.options = {**config.source.options, "inbox": str(tmp_path / "health" / "inbox"),
                             "settle_seconds": 0}
    return config


def age(paths: Sequence[Path]) -> None:
    for minute, path in enumerate(paths):
        stamp = _BASE_NS + minute * 60 * 1_000_000_000
        os.utime(path, ns=(stamp, stamp))


def run_steps(gateway: Gateway, config: DepartmentConfig, platform: FakePlatform) -> dict[str, Any]:
    ctx = gateway.context(config)
    extracted = pull(ctx)
    push(ctx, cast(PlatformClient, platform))
    return {"pulled": extracted, "report": report(ctx)}


def data_rows(desk: HealthDesk) -> int:
    return sum(len(drop.rows) for drop in desk.dropped if not drop.failure)


def test_files_move_to_processed_only_after_the_cursor_commit(
        tmp_path: Path, gateway: Gateway, health: DepartmentConfig) -> None:
    desk = HealthDesk(tmp_path / "health", seed=5)
    age(desk.drop_initial())
    ctx = gateway.context(health)
    pull(ctx)
    readable = sorted(drop.name for drop in desk.dropped if not drop.failure)
    assert listing(tmp_path / "health", "inbox") == readable  # staged and queued is not delivered
    with pytest.raises(RetriableError):
        push(ctx, cast(PlatformClient, FakePlatform(down=True)))
    assert listing(tmp_path / "health", "inbox") == readable  # push failed: nothing moves
    push(ctx, cast(PlatformClient, FakePlatform()))
    assert listing(tmp_path / "health", "inbox") == []
    assert listing(tmp_path / "health", "processed") == readable


def test_a_rerun_reads_no_file_twice_and_nothing_is_lost(
        tmp_path: Path, gateway: Gateway, health: DepartmentConfig) -> None:
    desk, platform = HealthDesk(tmp_path / "health", seed=5), FakePlatform()
    age(desk.drop_initial())
    first = run_steps(gateway, health, platform)["report"]
    records = first["records"]
    # rows in == delivered + quarantined (+ the one 撤销 penalty, which is never published);
    # the refused file is quarantined as one record.
    assert data_rows(desk) + 1 == len(platform.received) + first["quarantined"] + records.get("revoked", 0)
    assert len(platform.received) == records["new"]

    new = desk.drop_next()
    age([new])
    second = run_steps(gateway, health, platform)
    staged = {category: counts["read"] for category, counts in second["pulled"].items()}
    assert sum(staged.values()) == len(desk.dropped[-1].rows)  # only the new file
    assert new.name in listing(tmp_path / "health", "processed")
    third = run_steps(gateway, health, platform)
    assert all(counts["read"] == 0 for counts in third["pulled"].values())
    assert third["report"]["status"] == "success"


def test_a_failing_hook_never_fails_a_delivered_push(
        tmp_path: Path, gateway: Gateway, health: DepartmentConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    desk = HealthDesk(tmp_path / "health", seed=5)
    age(desk.drop_initial())

    def broken_hook(*args: Any) -> None:
        raise OSError("the share went away")

    with monkeypatch.context() as patch:
        patch.setattr(FileDropAdapter, "on_cursor_committed", broken_hook)
        first = run_steps(gateway, health, FakePlatform())  # delivered; the files stay in the inbox
    assert first["report"]["outbox"] == {"acked": first["report"]["records"]["new"]}
    assert listing(tmp_path / "health", "processed") == []
    again = run_steps(gateway, health, FakePlatform())  # re-read (deduped), then moved
    assert all(counts["read"] for counts in again["pulled"].values())
    assert listing(tmp_path / "health", "inbox") == []
