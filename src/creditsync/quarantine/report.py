"""The rejection report a department gets back: an XLSX workbook to correct its data from.

A 说明 sheet first (what the report is, how to fix and resubmit), then one sheet per category with one
row per problem. openpyxl's write-only mode streams rows to disk, so a department with a large
quarantine never sits in memory. ID numbers appear only masked (the stored entries are masked, and every
cell passes ``mask_text`` again). Department data never becomes a formula: every text cell is written
through :mod:`creditsync.export_safety` (a leading apostrophe on formula signs, string type).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from sqlalchemy.orm import Session

from creditsync.export_safety import text_cell_value
from creditsync.privacy import mask_text
from creditsync.quarantine.entries import Describer, QuarantineFilter, QuarantineView, entries, utc
from creditsync.schema import CATEGORIES

LOCAL = ZoneInfo("Asia/Shanghai")  # the departments read local time
COLUMNS: tuple[tuple[str, int], ...] = (
    ("序号", 6), ("源记录标识", 22), ("决定文书号", 30), ("行政相对人名称", 30), ("问题字段", 30),
    ("问题说明", 60), ("环节", 8), ("首次发现时间", 20))
RESOLVED_COLUMN = ("处理情况", 44)
WRAPPED = frozenset({"问题字段", "问题说明", "处理情况"})
HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="1F4E78")
THIN = Side(style="thin", color="BFBFBF")
HEADER_BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
GUIDE = (
    "如何更正并重新报送：",
    "1. 请按各分表逐条核对“问题字段”和“问题说明”，在本单位业务系统中更正原始记录（无需修改或回传本表）。",
    "2. “环节”说明问题在哪一步发现：来源＝记录无法读取（如缺少记录标识）；"
    "映射＝字段值无法转换（如金额不是数字、代码不在代码表中）；"
    "校验＝不符合“双公示”数据标准（必填项、统一社会信用代码和身份证号码校验位、日期先后等）；"
    "平台＝市公共信用信息平台审核退回。",
    "3. 更正后无需另行报送：网关下次同步时自动读取更正后的记录并上报，本表中对应问题自动关闭。"
    "若更正时业务系统未更新记录的修改时间，请通知网关管理员重新读取（creditsync quarantine redrive）。",
    "4. 环节为“平台”而源数据经核实无误的，请联系网关管理员与市平台核实校验规则，确认后由网关重新推送。",
    "5. 身份证号码均已脱敏显示（如 370102********1234），请以业务系统中的原始记录为准。",
    "6. 同一条记录有多个问题时分行列出，“源记录标识”相同；表头可筛选。",
)


@dataclass
class ReportSummary:
    path: Path
    records: Counter[str] = field(default_factory=Counter)  # category → entries
    problems: Counter[str] = field(default_factory=Counter)  # category → rows


def write_report(session: Session, department: str, department_name: str, path: Path, *,
                 describer: Describer, include_resolved: bool = False) -> ReportSummary:
    summary = ReportSummary(path)
    book = Workbook(write_only=True)
    # The guide is written last but must be the first sheet: reserve its place now.
    guide = book.create_sheet("说明")
    columns = [*COLUMNS, RESOLVED_COLUMN] if include_resolved else list(COLUMNS)
    sheet: WriteOnlyWorksheet | None = None
    current = None
    filters = QuarantineFilter(department=department, include_resolved=include_resolved)
    for view in entries(session, filters, describer):
        if view.category != current:
            _finish(sheet, columns, summary.problems[current or ""])
            current, sheet = view.category, _category_sheet(book, view.category, columns)
        assert sheet is not None
        for problem_index in range(max(len(view.problems), 1)):
            summary.problems[view.category] += 1
            sheet.append(_row(sheet, view, problem_index, summary.problems[view.category], columns))
        summary.records[view.category] += 1
    _finish(sheet, columns, summary.problems[current or ""])
    _write_guide(guide, department, department_name, summary, include_resolved)
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return summary


def _category_sheet(book: Workbook, category: str, columns: list[tuple[str, int]]) -> WriteOnlyWorksheet:
    title = CATEGORIES[category].title_zh if category in CATEGORIES else category
    sheet: WriteOnlyWorksheet = book.create_sheet(f"{title}（{category}）"[:31])
    for index, (_name, width) in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    header = []
    for name, _width in columns:
        cell = _cell(sheet, name)
        cell.font, cell.fill, cell.border = HEADER_FONT, HEADER_FILL, HEADER_BORDER
        cell.alignment = Alignment(horizontal="center", vertical="center")
        header.append(cell)
    sheet.append(header)
    return sheet


def _finish(sheet: WriteOnlyWorksheet | None, columns: list[tuple[str, int]], rows: int) -> None:
    """The autofilter covers the header and every row (write-only sheets take it before saving)."""
    if sheet is not None:
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{rows + 1}"


def _row(sheet: WriteOnlyWorksheet, view: QuarantineView, index: int, number: int,
         columns: list[tuple[str, int]]) -> list[Any]:
    problem = view.problems[index] if index < len(view.problems) else None
    values: dict[str, Any] = {
        "序号": number, "源记录标识": view.source_key, "决定文书号": view.document_no,
        "行政相对人名称": view.subject_name, "问题字段": problem.field_label if problem else "",
        "问题说明": problem.message_zh if problem else "", "环节": view.stage_zh,
        "首次发现时间": utc(view.created_at).astimezone(LOCAL).replace(tzinfo=None, microsecond=0),
        "处理情况": _resolution(view),
    }
    cells = []
    for name, _width in columns:
        value = values[name]
        cell = _cell(sheet, mask_text(value) if isinstance(value, str) else value)
        if name == "首次发现时间":
            cell.number_format = "yyyy-mm-dd hh:mm:ss"
        elif name in WRAPPED:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        cells.append(cell)
    return cells


def _cell(sheet: WriteOnlyWorksheet, value: Any) -> WriteOnlyCell:
    """Every cell of the report: text is data (never a formula), whoever wrote it."""
    return text_cell_value(WriteOnlyCell(sheet), value)


def _resolution(view: QuarantineView) -> str:
    if view.resolved_at is None:
        return "待更正"
    when = utc(view.resolved_at).astimezone(LOCAL).strftime("%Y-%m-%d %H:%M")
    return f"已关闭 {when}：{view.resolution or ''}"


def _write_guide(sheet: WriteOnlyWorksheet, department: str, department_name: str, summary: ReportSummary,
                 include_resolved: bool) -> None:
    sheet.column_dimensions["A"].width = 120
    title = _cell(sheet, f"{department_name} 双公示数据退回更正报告")
    title.font = Font(bold=True, size=14)
    sheet.append([title])
    generated = datetime.now(UTC).astimezone(LOCAL).strftime("%Y-%m-%d %H:%M")
    scope = "全部问题（含已关闭）" if include_resolved else "待更正的问题"
    sheet.append([_cell(sheet, f"部门标识：{department}    生成时间：{generated}    范围：{scope}")])
    totals = "；".join(f"{_sheet_title(c)} {summary.records[c]} 条记录、{summary.problems[c]} 个问题"
                      for c in summary.records) or "当前没有需要更正的记录。"
    sheet.append([_cell(sheet, f"统计：{totals}")])
    sheet.append([])
    for line in GUIDE:
        cell = _cell(sheet, line)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        if line == GUIDE[0]:
            cell.font = Font(bold=True)
        sheet.append([cell])
    sheet.append([])
    sheet.append([_cell(sheet, "各列说明：序号；源记录标识＝本单位系统中的记录编号；决定文书号；"
                        "行政相对人名称；问题字段＝国家标准字段代码及中文名称；问题说明；环节；"
                        "首次发现时间（北京时间）。")])


def _sheet_title(category: str) -> str:
    return CATEGORIES[category].title_zh if category in CATEGORIES else category
