"""质量 Quality: each department's 及时率, 合规率 and 完整率 for a period against the evaluation's
thresholds, the weekly trend (ECharts), the top rejection reasons, and the records behind the figures
(creditsync.quality; docs/quality.md). Read access, as every page."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from creditsync.orchestration.ui.routes_common import Text, department_choices, local_date, page_response
from creditsync.orchestration.ui.security import READ_ACCESS
from creditsync.orchestration.ui.store import gateway_store
from creditsync.quality import RATE_NAMES, Scorecard, current_quarter, parse_period, reports
from creditsync.quality.alerts import ALERT_AT, at_risk
from creditsync.settings import load_settings

quality = APIRouter(dependencies=[READ_ACCESS])


PAGE_LIMIT = 500  # late records listed per department on a page (the CLI and the workbook list all)


def _scorecard(period: str | None, department: str | None, as_of: str | None) -> Scorecard:
    day = local_date("as_of", as_of) or reports.today()
    chosen = parse_period(period) if period else current_quarter(day)
    return reports.build(gateway_store(), load_settings(), chosen, as_of=day, department=department or None,
                         overdue_limit=PAGE_LIMIT)


def trend(scorecard: Scorecard) -> dict[str, Any]:
    """The chart's series: each rate by week, every department's counts summed (or the one asked)."""
    weeks: dict[date, Any] = {}
    for score in scorecard.departments.values():
        for week, counts in score.weeks.items():
            if week not in weeks:
                weeks[week] = type(counts)()
            weeks[week].add(vars(counts))
    ordered = sorted(weeks.items())
    return {"weeks": [w.isoformat() for w, _ in ordered],
            **{name: [_percent(getattr(c, name)) for _, c in ordered] for name in RATE_NAMES},
            "targets": {name: round(getattr(scorecard.targets, name) * 100, 1)
                        for name in ("timeliness", "compliance", "completeness")}}


def _percent(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 1)


@quality.get("/quality", response_class=HTMLResponse, summary="质量 Quality scorecards")
def quality_page(request: Request, period: Text = None, department: Text = None,
                 as_of: Text = None) -> HTMLResponse:
    card = _scorecard(period, department, as_of)
    with gateway_store().engine.connect() as conn:
        alerts = at_risk(conn, card.as_of, department or None)
    return page_response(request, "quality.html", "quality", page="quality", card=card, trend=trend(card),
                         only=department or None, alerts=alerts, alert_at=ALERT_AT, limit=PAGE_LIMIT,
                         rate_names=RATE_NAMES, **department_choices())


@quality.get("/quality/records", response_class=HTMLResponse, summary="质量: the records behind a figure")
def quality_records_page(request: Request, department: Text, period: Text = None, status: Text = None,
                         as_of: Text = None) -> HTMLResponse:
    card = _scorecard(period, department, as_of)
    rows = [row for score in card.departments.values() for row in score.overdue
            if not status or row.status == status]
    return page_response(request, "quality_records.html", "quality", page="quality", card=card, rows=rows,
                         department=department, status=status, limit=PAGE_LIMIT, **department_choices())


@quality.get("/api/quality", summary="Quality scorecards as JSON")
def quality_json(period: Text = None, department: Text = None, as_of: Text = None) -> dict[str, Any]:
    return _scorecard(period, department, as_of).as_dict()
