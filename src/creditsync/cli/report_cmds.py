"""``creditsync report quality``: where each department stands before the 双公示 evaluation
(docs/quality.md). Exit 0 with the scorecard, 2 for a usage or configuration error."""

from __future__ import annotations

import csv
import sys
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape
from rich.table import Table

from creditsync.cli.output import console, gateway_errors, print_json

if TYPE_CHECKING:
    from creditsync.quality import DepartmentScore, Scorecard

app = typer.Typer(help="Reports for the departments: quality scorecards.", no_args_is_help=True)


class QualityFormat(StrEnum):
    table = "table"
    csv = "csv"  # one row per department
    xlsx = "xlsx"  # in Chinese: 总览, then one sheet per department
    json = "json"


CSV_COLUMNS = ("department", "name", "period", "records", "due", "on_time", "late", "waiting", "refused",
               "never_stored", "complete", "missing_required", "withdrawals", "withdrawn_on_time",
               "timeliness", "compliance", "completeness", "withdrawal_timeliness")


@app.command("quality")
def quality_cmd(
    department: str = typer.Option(None, "--department", "-d", help="Only this department."),
    period: str = typer.Option(None, "--period", "-p",
                               help="YYYY-MM, YYYY-Qn or YYYY (by decision date); default: this quarter."),
    output_format: QualityFormat = typer.Option(QualityFormat.table, "--format", "-f"),
    output: Path = typer.Option(None, "--output", "-o", help="xlsx: the workbook to write "
                                "(default: quality-<period>.xlsx here)."),
    as_of: str = typer.Option(None, "--as-of", help="Count deadlines to this day (YYYY-MM-DD); "
                              "default: today in China."),
    limit: int = typer.Option(20, "--limit", help="table: late records shown per department; 0 = all."),
) -> None:
    """Timeliness (public within 7 working days), compliance and completeness per department, with the
    top rejection reasons, the weekly trend and the late or missing records."""
    from creditsync.pipeline.runner import Gateway
    from creditsync.quality import current_quarter, parse_period, reports

    with gateway_errors():
        day = _day(as_of) if as_of else reports.today()
        chosen = parse_period(period) if period else current_quarter(day)
        gateway = Gateway.open()
        limit_rows = limit if output_format is QualityFormat.table and limit > 0 else None
        scorecard = reports.build(gateway.store, gateway.settings, chosen, as_of=day, department=department,
                                  overdue_limit=limit_rows)
        if output_format is QualityFormat.xlsx:
            path = output or Path(f"quality-{chosen.label}.xlsx")
            reports.write_xlsx(gateway.store, gateway.settings, scorecard, path)
            console.print(f"wrote {path} ({len(scorecard.departments)} departments, {chosen.label})")
        elif output_format is QualityFormat.json:
            print_json(scorecard.as_dict())
        elif output_format is QualityFormat.csv:
            _write_csv(scorecard)
        else:
            _print(scorecard, limit_rows, detail=department is not None or len(scorecard.departments) == 1)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date (YYYY-MM-DD)", param_hint="--as-of") from None


def _write_csv(scorecard: Scorecard) -> None:
    from creditsync.export_safety import neutralise_row

    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for score in scorecard.departments.values():
        values = {**vars(score.totals), "late": score.totals.late, **score.totals.rates(),
                  "department": score.department, "name": score.name, "period": scorecard.period.label}
        writer.writerow(neutralise_row(values[name] for name in CSV_COLUMNS))


def _percent(value: float | None, target: float | None = None) -> str:
    if value is None:
        return "—"
    text = f"{value:.1%}"
    return f"[red]{text}[/red]" if target is not None and value < target else text


def _print(scorecard: Scorecard, limit: int | None, *, detail: bool) -> None:
    targets = scorecard.targets
    period = scorecard.period
    table = Table(title=f"双公示质量 {period.label} ({period.start} – {period.end}, as of {scorecard.as_of})")
    for name in ("department", "records", "late", "waiting", f"及时率 ≥{targets.timeliness:.0%}",
                 f"合规率 ≥{targets.compliance:.0%}", f"完整率 ≥{targets.completeness:.0%}", "撤销及时率"):
        table.add_column(name, justify="left" if name == "department" else "right")
    for score in scorecard.departments.values():
        c = score.totals
        table.add_row(escape(f"{score.department} {score.name}" if score.name != score.department
                             else score.department), str(c.records), str(c.late), str(c.waiting),
                      _percent(c.timeliness, targets.timeliness), _percent(c.compliance, targets.compliance),
                      _percent(c.completeness, targets.completeness), _percent(c.withdrawal_timeliness))
    console.print(table)
    if detail:
        for score in scorecard.departments.values():
            _print_detail(score, limit)


def _print_detail(score: DepartmentScore, limit: int | None) -> None:
    if score.reasons:
        reasons = Table(title=f"{score.department}: top rejection reasons")
        for name in ("field", "reason (example)", "count"):
            reasons.add_column(name)
        for reason in score.reasons:
            reasons.add_row(escape(f"{reason.field} {reason.field_title}".strip()), escape(reason.example),
                            str(reason.count))
        console.print(reasons)
    late = Table(title=f"{score.department}: late, missing or due soon ({len(score.overdue)})")
    for name in ("文书号", "decided", "deadline", "status", "working days", "days late", "reason"):
        late.add_column(name)
    for row in score.overdue[:limit] if limit else score.overdue:
        late.add_row(escape(row.document_no), row.decision_date.isoformat(), row.deadline.isoformat(),
                     row.status, str(row.working_days), str(row.days_late), escape(row.reason))
    console.print(late)
