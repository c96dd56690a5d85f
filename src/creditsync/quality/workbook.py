"""The scorecard as a workbook in Chinese: a 总览 sheet comparing departments, then one sheet per
department with its 汇总 (rates against the targets, top reasons, weekly trend), its 待整改记录 (each
open refusal with its reason) and its 逾期记录 (late or missing records with the working days late).

Write-only openpyxl (rows streamed); every text cell goes through creditsync.export_safety, ID numbers
only masked.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from creditsync.export_safety import text_cell_value
from creditsync.privacy import mask_text
from creditsync.quality.scorecard import DepartmentScore, Scorecard, Targets
from creditsync.quarantine import Problem, QuarantineView
from creditsync.schema import CATEGORIES

LOCAL = ZoneInfo("Asia/Shanghai")
BOLD = Font(bold=True)
TITLE = Font(bold=True, size=14)
HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="1F4E78")
BELOW = Font(bold=True, color="C00000")
STATUS_ZH = {"late": "逾期公示", "missing": "逾期未公示", "waiting": "待公示（未到期限）"}
OVERVIEW = ("部门", "决定数", "应公示", "按时公示", "逾期", "待公示", "及时率", "合规率", "完整率",
            "撤销及时率", "未达标")
FIX = ("序号", "决定文书号", "行政相对人名称", "问题字段", "问题说明（整改原因）", "环节", "首次发现时间")
LATE = ("序号", "决定文书号", "类别", "行政相对人名称", "决定日期", "公示期限", "状态", "平台确认日期",
        "已用工作日", "逾期工作日", "原因")
WIDTHS = (28, 30, 24, 30, 60, 14, 20, 14, 12, 12, 40)
RATE_ZH = (("timeliness", "及时率（7个工作日内公示）"), ("compliance", "合规率（首次报送即合规）"),
           ("completeness", "完整率（必填及评估关注字段）"),
           ("withdrawal_timeliness", "撤销及时率（5个工作日内）"))


def write_workbook(scorecard: Scorecard, path: Path,
                   to_fix: Mapping[str, Iterable[QuarantineView]] | None = None) -> Path:
    """``to_fix``: each department's open refusals (quarantine.entries), listed with their reasons."""
    book = Workbook(write_only=True)
    _overview(book.create_sheet("总览"), scorecard)
    for score in scorecard.departments.values():
        sheet = book.create_sheet(_title(score))
        _widths(sheet)
        _summary(sheet, score, scorecard)
        _to_fix(sheet, (to_fix or {}).get(score.department, ()))
        _late(sheet, score)
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path


def _cell(sheet: WriteOnlyWorksheet, value: Any, font: Font | None = None, fmt: str | None = None) -> Any:
    cell = text_cell_value(WriteOnlyCell(sheet), mask_text(value) if isinstance(value, str) else value)
    if font is not None:
        cell.font = font
    if fmt is not None:
        cell.number_format = fmt
    return cell


def _header(sheet: WriteOnlyWorksheet, names: Iterable[str]) -> None:
    cells = []
    for name in names:
        cell = _cell(sheet, name, HEADER_FONT)
        cell.fill = HEADER_FILL
        cells.append(cell)
    sheet.append(cells)


def _rate(sheet: WriteOnlyWorksheet, value: float | None, target: float | None = None) -> Any:
    if value is None:
        return _cell(sheet, "—")
    below = target is not None and value < target
    return _cell(sheet, value, BELOW if below else None, "0.00%")


def _widths(sheet: WriteOnlyWorksheet) -> None:
    for index, width in enumerate(WIDTHS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width


def _title(score: DepartmentScore) -> str:
    bad = str.maketrans({c: "_" for c in "[]:*?/\\"})
    return score.name.translate(bad)[:31] or score.department[:31]


def _category(name: str) -> str:
    return CATEGORIES[name].title_zh if name in CATEGORIES else name


def _target(targets: Targets, name: str) -> float | None:
    return getattr(targets, name, None)


def _overview(sheet: WriteOnlyWorksheet, scorecard: Scorecard) -> None:
    _widths(sheet)
    generated = datetime.now(UTC).astimezone(LOCAL).strftime("%Y-%m-%d %H:%M")
    sheet.append([_cell(sheet, f"双公示数据质量评分（{scorecard.period.label_zh}）", TITLE)])
    sheet.append([_cell(sheet, f"统计区间：{scorecard.period.start} 至 {scorecard.period.end}（按决定日期）；"
                               f"截至：{scorecard.as_of}；生成时间：{generated}")])
    t = scorecard.targets
    sheet.append([_cell(sheet, f"目标：及时率 ≥ {t.timeliness:.0%}，合规率 ≥ {t.compliance:.0%}，"
                               f"完整率 ≥ {t.completeness:.0%}；红色为未达标")])
    sheet.append([])
    _header(sheet, OVERVIEW)
    for score in scorecard.departments.values():
        c = score.totals
        below = "、".join(dict(RATE_ZH)[name].split("（")[0] for name in score.below(t)) or "全部达标"
        sheet.append([_cell(sheet, score.name), c.records, c.due, c.on_time, c.late, c.waiting,
                      _rate(sheet, c.timeliness, t.timeliness), _rate(sheet, c.compliance, t.compliance),
                      _rate(sheet, c.completeness, t.completeness), _rate(sheet, c.withdrawal_timeliness),
                      _cell(sheet, below)])


def _summary(sheet: WriteOnlyWorksheet, score: DepartmentScore, scorecard: Scorecard) -> None:
    c = score.totals
    heading = f"{score.name}（{score.department}）{scorecard.period.label_zh} 数据质量"
    sheet.append([_cell(sheet, heading, TITLE)])
    sheet.append([_cell(sheet, "汇总", BOLD)])
    _header(sheet, ("指标", "数值", "目标", "说明"))
    notes = {"timeliness": f"按时 {c.on_time} / 应公示 {c.due}（另有 {c.waiting} 条未到期限）",
             "compliance": f"合规 {c.records - c.refused} / {c.records + c.never_stored}"
                           f"（其中 {c.never_stored} 条未能入库）",
             "completeness": f"完整 {c.complete} / {c.records + c.missing_required}",
             "withdrawal_timeliness": f"按时 {c.withdrawn_on_time} / 已撤销 {c.withdrawals}"}
    rates = c.rates()
    for name, label in RATE_ZH:
        target = _target(scorecard.targets, name)
        goal = _rate(sheet, target) if target is not None else _cell(sheet, "")
        sheet.append([_cell(sheet, label), _rate(sheet, rates[name], target), goal,
                      _cell(sheet, notes[name])])
    sheet.append([])
    sheet.append([_cell(sheet, "主要退回原因", BOLD)])
    _header(sheet, ("字段", "原因示例", "次数"))
    for reason in score.reasons:
        field = f"{reason.field} {reason.field_title}".strip()
        sheet.append([_cell(sheet, field), _cell(sheet, reason.example), reason.count])
    sheet.append([])
    sheet.append([_cell(sheet, "周趋势（按决定日期所在周）", BOLD)])
    _header(sheet, ("周（周一）", "决定数", "及时率", "合规率", "完整率"))
    for week, counts in sorted(score.weeks.items()):
        sheet.append([_cell(sheet, week.isoformat()), counts.records, _rate(sheet, counts.timeliness),
                      _rate(sheet, counts.compliance), _rate(sheet, counts.completeness)])
    sheet.append([])


def _to_fix(sheet: WriteOnlyWorksheet, views: Iterable[QuarantineView]) -> None:
    sheet.append([_cell(sheet, "待整改记录（请在本单位业务系统中更正后，网关下次同步自动重报）", BOLD)])
    _header(sheet, FIX)
    number = 0
    for view in views:
        problems: list[Problem | None] = list(view.problems) or [None]
        for problem in problems:
            number += 1
            seen = view.created_at if view.created_at.tzinfo else view.created_at.replace(tzinfo=UTC)
            sheet.append([number, _cell(sheet, view.document_no or view.source_key or ""),
                          _cell(sheet, view.subject_name or ""),
                          _cell(sheet, problem.field_label if problem else ""),
                          _cell(sheet, problem.message_zh if problem else ""), _cell(sheet, view.stage_zh),
                          _cell(sheet, seen.astimezone(LOCAL).strftime("%Y-%m-%d %H:%M"))])
    if not number:
        sheet.append([_cell(sheet, "当前没有待整改的记录。")])
    sheet.append([])


def _late(sheet: WriteOnlyWorksheet, score: DepartmentScore) -> None:
    sheet.append([_cell(sheet, "逾期记录（7个工作日内未公示；含临近期限待公示的记录）", BOLD)])
    _header(sheet, LATE)
    for number, late in enumerate(score.overdue, start=1):
        sheet.append([number, _cell(sheet, late.document_no), _cell(sheet, _category(late.category)),
                      _cell(sheet, late.subject_name), _cell(sheet, late.decision_date.isoformat()),
                      _cell(sheet, late.deadline.isoformat()), _cell(sheet, STATUS_ZH[late.status]),
                      _cell(sheet, late.acknowledged_on.isoformat() if late.acknowledged_on else ""),
                      late.working_days, late.days_late, _cell(sheet, late.reason)])
    if not score.overdue:
        sheet.append([_cell(sheet, "没有逾期记录。")])
