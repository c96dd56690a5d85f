"""HTML for the pages: the query results through autoescaped Jinja2 templates (``templates/``), every
value from the store or a query string escaped. Times are shown in the display zone (:mod:`clock`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from creditsync.orchestration.ui import labels
from creditsync.orchestration.ui.clock import local_text, zone_label

DETAILS_MAX = 400  # characters of an entry's details shown in a table; the JSON API has them all
RUN_CLASS = {"success": "ok", "partial": "warn", "incomplete": "warn", "failed": "bad", "running": ""}
ERROR_TITLES = {400: ("请求有误", "Bad request"), 401: ("请先登录", "Sign in required"),
                403: ("无权访问", "Access denied"), 404: ("页面不存在", "Not found"),
                409: ("无法执行", "Cannot be done"), 422: ("参数有误", "Invalid request"),
                503: ("网关数据库不可用", "Gateway store unavailable")}

_env = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                   autoescape=select_autoescape(default=True, default_for_string=True),
                   undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
_env.filters["when"] = local_text


def json_text(value: Any) -> str:
    """The whole of an entry's details, indented: the "JSON" a click away from the labelled fields."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, indent=2, default=str)


def details(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(", ", ": "), default=str)
    return text if len(text) <= DETAILS_MAX else text[:DETAILS_MAX] + " …"


class Links:
    """URLs relative to where Airflow mounted the app, so an ``[api] base_url`` sub-path works too."""

    def __init__(self, base: str, airflow_base: str, json_url: str) -> None:
        self.base, self.airflow_base, self.json_url = base, airflow_base, json_url

    def url(self, path: str, **params: Any) -> str:
        query = urlencode({k: v for k, v in params.items() if v not in (None, "", False)})
        return f"{self.base}{path}" + (f"?{query}" if query else "")


def page(template: str, links: Links, **values: Any) -> str:
    values.setdefault("notice", None)
    values.setdefault("refresh_s", None)  # a page showing something running reloads itself
    return _env.get_template(template).render(
        labels=labels, categories=labels.categories(), zone=zone_label(), zone_en=zone_label(english=True),
        url=links.url, base=links.base, airflow_base=links.airflow_base, json_url=links.json_url,
        details=details, json_text=json_text, age=labels.age, run_class=RUN_CLASS, **values)


def error_page(status_code: int, message: str, links: Links, login_url: str | None = None) -> str:
    title_zh, title_en = ERROR_TITLES.get(status_code, ("出错了", "Error"))
    return page("error.html", links, page="error", title_zh=title_zh, title_en=title_en, message=message,
                login_url=login_url)
