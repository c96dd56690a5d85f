"""The template_file sink: one workbook per category and day, Chinese headers, string cells only; the
platform's result workbook read back as receipts."""

from __future__ import annotations

from pathlib import Path

from openpyxl import load_workbook
from sinks_support import penalty

from creditsync.simulators.platform import PlatformSimulator
from creditsync.simulators.template import TemplateSimulator
from creditsync.sinks.base import PushItem
from creditsync.sinks.template_file import TemplateFileSink


def item(n: int, **data: str) -> PushItem:
    return PushItem(f"k{n:05d}", f"penalty:x:{n}", "upsert", {**penalty(n), **data})


def test_a_days_workbook_has_chinese_headers_string_cells_and_each_key_once(tmp_path: Path) -> None:
    sink = TemplateFileSink(tmp_path)
    sink.push("penalty", [item(1), item(2, CF_NR="=1+1")], "b1")
    sink.push("penalty", [item(2), item(3)], "b2")  # k00002 again: not a second row
    [path] = list((tmp_path / "outgoing" / "penalty").iterdir())
    assert path.name.startswith("行政处罚_") and path.suffix == ".xlsx"
    sheet = load_workbook(path).worksheets[0]
    header = [c.value for c in sheet[1]]
    assert header[:2] == ["行政相对人名称", "行政相对人类别"]
    assert header[-3:] == ["数据标识", "操作类型", "原平台记录编号"]
    keys = [row[header.index("数据标识")] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert keys == ["k00001", "k00002", "k00003"]
    cells = [cell for row in sheet.iter_rows(min_row=2) for cell in row if cell.value is not None]
    assert all(cell.data_type == "s" for cell in cells)  # "=1+1" stays text, "0.5" is no number
    assert "=1+1" in [cell.value for cell in cells]


def test_the_returned_workbook_becomes_receipts(tmp_path: Path) -> None:
    sink = TemplateFileSink(tmp_path)
    sim = TemplateSimulator(tmp_path, PlatformSimulator())
    sink.push("penalty", [item(1), item(2, CF_CFJGDM="123")], "b1")
    assert sim.run_once() == 2
    [returned] = list((tmp_path / "returned").iterdir())
    assert returned.name.endswith("_结果.xlsx")
    answers = sink.query("penalty", ["k00001", "k00002"])
    assert answers["k00001"].confirmed and answers["k00001"].platform_id
    assert answers["k00002"].status == "rejected" and answers["k00002"].errors
    sink.push("penalty", [item(3)], "b2")  # the day's first workbook was uploaded: a new one
    assert [p.name.endswith("_2.xlsx") for p in (tmp_path / "outgoing" / "penalty").iterdir()] == [True]
    assert sink.retract("penalty", ["k00003"]) == {"k00003"}
    assert sim.run_once() == 0


def test_a_workbook_larger_than_the_platforms_batch_is_imported_whole(tmp_path: Path) -> None:
    sink = TemplateFileSink(tmp_path)
    sim = TemplateSimulator(tmp_path, PlatformSimulator(max_batch=2))
    sink.push("penalty", [item(n) for n in range(1, 6)], "b1")
    assert sim.run_once() == 5
    assert len(sink.query("penalty", [f"k{n:05d}" for n in range(1, 6)])) == 5
    assert sim.platform.stats()["records"] == 5
