"""What every page route needs: its links, the department choices, who may act where, date parsing."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from airflow.api_fastapi.auth.managers.models.base_user import BaseUser
from fastapi import Query, Request
from fastapi.responses import HTMLResponse
from starlette.exceptions import HTTPException

from creditsync.orchestration.ui import URL_PREFIX, audit_queries, render
from creditsync.orchestration.ui.quarantine_queries import QuarantineQuery
from creditsync.orchestration.ui.security import may_edit
from creditsync.orchestration.ui.store import configured_departments


def links(request: Request, json_path: str) -> dict[str, str]:
    """URLs relative to where Airflow mounted the app, so a ``[api] base_url`` sub-path works too."""
    base = str(request.scope.get("root_path", "")).rstrip("/")
    query = f"?{request.url.query}" if request.url.query else ""
    return {"base": base, "airflow_base": base.removesuffix(URL_PREFIX),
            "json_url": f"{base}/api/{json_path}{query}"}


def page_response(request: Request, template: str, json_path: str, **values: Any) -> HTMLResponse:
    where = render.Links(*links(request, json_path).values())
    return HTMLResponse(render.page(template, where, **values))


def department_choices() -> dict[str, Any]:
    """``department_choices`` [(code, "name (code)")] and ``department_names`` {code: name}."""
    names = {c.department: c.name for c in configured_departments()[0]}
    return {"department_choices": [(code, f"{name} ({code})") for code, name in names.items()],
            "department_names": names}


def editable_departments(user: BaseUser, departments: set[str]) -> set[str]:
    return {d for d in departments if may_edit(user, d)}


def local_date(name: str, text: str | None) -> date | None:
    """A date filter as the form sends it (empty when left blank)."""
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        raise HTTPException(422, f"{name}: expected a date YYYY-MM-DD 日期格式应为 YYYY-MM-DD") from None


Text = Annotated[str | None, Query(max_length=250)]
Day = Annotated[str | None, Query(max_length=10, description="local day, YYYY-MM-DD")]


def audit_filter(department: Text = None, category: Text = None, event: Text = None, actor: Text = None,
                 business_key: Text = None, document_no: Text = None, since: Day = None,
                 until: Day = None) -> audit_queries.AuditFilter:
    return audit_queries.AuditFilter(department or None, category or None, event or None, actor or None,
                                     business_key or None, document_no or None,
                                     local_date("since", since), local_date("until", until))


def quarantine_query(department: Text = None, category: Text = None, stage: Text = None, field: Text = None,
                     since: Day = None, until: Day = None, include_resolved: bool = False) -> QuarantineQuery:
    return QuarantineQuery(department or None, category or None, stage or None, field or None,
                           local_date("since", since), local_date("until", until), include_resolved)
