"""HTML for the pages: the query results of :mod:`queries` through autoescaped Jinja2 templates."""

from __future__ import annotations

import json
from typing import Any

from jinja2 import Environment, StrictUndefined, select_autoescape
from jinja2.loaders import DictLoader

from creditsync.orchestration.ui import labels
from creditsync.orchestration.ui.queries import KNOWN_EVENTS, RECORD_STATES, AuditFilter
from creditsync.orchestration.ui.templates import TEMPLATES

DETAILS_MAX = 400  # characters of an entry's details shown in the table; the JSON API has them all
RUN_CLASS = {"success": "ok", "partial": "warn", "incomplete": "warn", "failed": "bad", "running": ""}

_env = Environment(loader=DictLoader(TEMPLATES), autoescape=select_autoescape(default=True,
                   default_for_string=True), undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def _when(iso: str) -> str:
    """``2026-03-01T08:00:00+00:00`` → ``2026-03-01 08:00:00`` (the pages say the zone once: UTC)."""
    return iso.replace("T", " ").removesuffix("+00:00")


_env.filters["when"] = _when


def _page(template: str, links: dict[str, str], **values: Any) -> str:
    """``links``: ``base`` (this app's URL prefix), ``airflow_base`` and ``json_url``."""
    return _env.get_template(template).render(labels=labels, categories=labels.categories(), **links,
                                              **values)


def status_page(rows: list[dict[str, Any]], generated_at: str, problems: list[str],
                links: dict[str, str]) -> str:
    extra = sorted({s for row in rows for s in row["records"] if s not in RECORD_STATES})
    return _page("status", links, page="status", departments=rows, states=[*RECORD_STATES, *extra],
                 generated_at=generated_at, problems=problems, age=labels.age, run_class=RUN_CLASS)


def audit_page(entries: list[dict[str, Any]], filters: AuditFilter, departments: dict[str, str],
               chain: dict[str, Any] | None, limit: int, links: dict[str, str]) -> str:
    """``departments``: code → Chinese name, for the filter and the table."""
    shown = [dict(entry, details_text=_details(entry["details"])) for entry in entries]
    choices = [(code, f"{name} ({code})") for code, name in departments.items()]
    if filters.department and filters.department not in departments:
        choices.append((filters.department, filters.department))
    return _page("audit", links, page="audit", entries=shown, filters=filters, department_choices=choices,
                 department_names=departments, events=KNOWN_EVENTS, chain=chain, limit=limit)


def error_page(status_code: int, message: str, links: dict[str, str], login_url: str | None = None) -> str:
    titles = {401: ("请先登录", "Sign in required"), 403: ("无权访问", "Access denied"),
              404: ("页面不存在", "Not found"), 422: ("参数有误", "Invalid request"),
              503: ("网关数据库不可用", "Gateway store unavailable")}
    title_zh, title_en = titles.get(status_code, ("出错了", "Error"))
    return _page("error", links, page="error", title_zh=title_zh, title_en=title_en, message=message,
                 login_url=login_url)


def _details(details: dict[str, Any]) -> str:
    text = json.dumps(details, ensure_ascii=False, sort_keys=True, separators=(", ", ": "), default=str)
    return text if len(text) <= DETAILS_MAX else text[:DETAILS_MAX] + " …"
