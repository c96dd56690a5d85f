"""The FastAPI app Airflow's api-server mounts at ``/creditsync`` (plugins/creditsync_plugin.py).

Every route depends on :data:`security.READ_ACCESS` (read every DAG's runs: viewer and up); the
operator actions (:mod:`action_routes`) also need the permission to edit the department's DAG.

| URL | what |
|---|---|
| ``/creditsync/`` | 概览: per department and category records by state, quarantine, outbox, runs, trend |
| ``/creditsync/quarantine`` | 隔离记录: filters, reasons, ``/quarantine/report.xlsx?department=`` |
| ``/creditsync/record`` | 记录: search; ``/record/view?key=`` one record's timeline |
| ``/creditsync/audit`` | 审计日志: keyset pages, filters, ``/audit/export.csv`` / ``.xlsx``, ``verify=1`` |
| ``/creditsync/quality`` | 质量: scorecards, weekly trend, alerts; ``/quality/records`` the late records |
| ``/creditsync/api/...`` | as JSON: status, quarantine, records, record, audit, audit/verify |
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated, Any

from airflow.api_fastapi.core_api.security import GetUserDep
from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from creditsync.exceptions import ConfigurationError
from creditsync.orchestration.ui import audit_queries, quarantine_queries, queries, record_queries, render
from creditsync.orchestration.ui.action_routes import actions
from creditsync.orchestration.ui.bulk_actions import bulk_entries  # noqa: F401 (registers its route)
from creditsync.orchestration.ui.clock import iso
from creditsync.orchestration.ui.credit_routes import check_api, credit_api, credit_pages
from creditsync.orchestration.ui.quality_routes import quality
from creditsync.orchestration.ui.quarantine_queries import LIMIT, PAGE_SIZE, quarantine_rows
from creditsync.orchestration.ui.refusals import validation_error
from creditsync.orchestration.ui.routes_common import (
    Day,
    Text,
    audit_filter,
    department_choices,
    editable_departments,
    links,
    page_response,
    quarantine_query,
)
from creditsync.orchestration.ui.routes_files import files
from creditsync.orchestration.ui.security import READ_ACCESS, csrf_token
from creditsync.orchestration.ui.store import StoreUnavailable, configured_departments, gateway_store

log = logging.getLogger(__name__)

def _status() -> dict[str, Any]:
    configs, problems = configured_departments()
    return {"generated_at": iso(datetime.now(UTC)), "departments": queries.department_status(
        gateway_store(), configs), "configuration_errors": problems}


def _position(after: str | None) -> audit_queries.Position | None:
    try:
        return audit_queries.Position.parse(after) if after else None
    except ValueError:
        raise HTTPException(422, "after: not a page position 翻页位置无效") from None


pages = APIRouter(dependencies=[READ_ACCESS], default_response_class=HTMLResponse)
api = APIRouter(prefix="/api", dependencies=[READ_ACCESS])


@pages.get("/", summary="概览 Overview")
def overview_page(request: Request, department: Text = None) -> HTMLResponse:
    data = _status()
    if department:  # one department: its tables, and the chart of its records only
        data["departments"] = [d for d in data["departments"] if d["department"] == department]
    present = {s for d in data["departments"] for s, n in d["records"].items() if n}
    states = [*queries.ALWAYS_SHOWN, *sorted(present - set(queries.ALWAYS_SHOWN),
                                             key=lambda s: (s not in queries.RECORD_STATES, s))]
    return page_response(request, "overview.html", "status", page="overview", departments=data["departments"],
                         states=states, generated_at=data["generated_at"],
                         problems=data["configuration_errors"], only=department,
                         trend=queries.daily_trend(gateway_store(), department or None),
                         refresh_s=queries.REFRESH_S if queries.any_running(data["departments"]) else None)


@pages.get("/quarantine", summary="隔离记录 Quarantine")
def quarantine_page(request: Request, user: GetUserDep, department: Text = None, category: Text = None,
                    stage: Text = None, field: Text = None, since: Day = None, until: Day = None,
                    include_resolved: bool = False, notice: Text = None,
                    after: Annotated[int | None, Query(ge=0)] = None,
                    before: Annotated[int | None, Query(ge=0)] = None,
                    page_no: Annotated[int, Query(alias="page", ge=1, le=10_000_000)] = 1) -> HTMLResponse:
    query = quarantine_query(department, category, stage, field, since, until, include_resolved)
    window = quarantine_queries.quarantine_page(gateway_store(), query, after, before)
    rows = window.rows
    editable = editable_departments(user, {r["department"] for r in rows})
    page_no = 1 if window.newer is None else max(page_no, 2)  # the newest entries are page 1
    return page_response(request, "quarantine.html", "quarantine", page="quarantine", query=query, rows=rows,
                         limit=LIMIT, editable=editable, window=window, page_no=page_no,
                         pages=-(-window.total // PAGE_SIZE) if window.total else 1,
                         any_editable=bool(editable), csrf=csrf_token(user), notice=notice,
                         **department_choices())


@pages.get("/record", summary="记录 Records: search")
def records_page(request: Request, q: Text = None, department: Text = None, category: Text = None,
                 state: Text = None, after: Text = None, before: Text = None,
                 page_no: Annotated[int, Query(alias="page", ge=1, le=10_000_000)] = 1) -> Response:
    searched = bool(q or department or category or state)
    try:
        window = record_queries.search_page(gateway_store(), q or "", department or None, category or None,
                                            state or None, after, before) if searched else None
    except ValueError:
        raise HTTPException(422, "after/before: not a page position 翻页位置无效") from None
    rows = window.rows if window else []
    page_no = 1 if window is None or window.newer is None else max(page_no, 2)
    if q and len(rows) == 1 and not (after or before):  # a 文书号 names one record: show it
        return RedirectResponse(render.Links(*links(request, "records").values()).url(
            "/record/view", key=rows[0]["business_key"]), status_code=303)
    return page_response(request, "records.html", "records", page="record", q=q, department=department,
                         category=category, state=state, rows=rows, searched=searched, window=window,
                         page_no=page_no, pages=-(-window.total // record_queries.PAGE_SIZE)
                         if window and window.total else 1,
                         limit=record_queries.SEARCH_LIMIT, states=[s.value for s in queries.RECORD_STATES],
                         **department_choices())


@pages.get("/record/view", summary="记录 Record: one record's timeline")
def record_page(request: Request, user: GetUserDep, key: Annotated[str, Query(max_length=250)],
                notice: Text = None) -> HTMLResponse:
    story = record_queries.timeline(gateway_store(), key)
    departments = {q["department"] for q in story["quarantine"]}
    record = story["record"]
    if record:
        departments.add(record["department"])
    editable = editable_departments(user, departments)
    can_withdraw = bool(record and record["department"] in editable and record["state"] == "published")
    response = page_response(request, "record.html", "record", page="record", story=story,
                             editable=editable, can_withdraw=can_withdraw, csrf=csrf_token(user),
                             notice=notice, **department_choices())
    response.status_code = 200 if story["found"] else 404
    return response


@pages.get("/audit", summary="审计日志 Audit trail")
def audit_page(request: Request, department: Text = None, category: Text = None, event: Text = None,
               actor: Text = None, business_key: Text = None, document_no: Text = None, since: Day = None,
               until: Day = None, after: Text = None, verify: bool = False,
               notice: Text = None, before: Text = None, size: int = audit_queries.PAGE_SIZE,
               page_no: Annotated[int, Query(alias="page", ge=1, le=10_000_000)] = 1) -> HTMLResponse:
    filters = audit_filter(department, category, event, actor, business_key, document_no, since, until)
    store = gateway_store()
    size = size if size in audit_queries.PAGE_SIZES else audit_queries.PAGE_SIZE
    window = audit_queries.audit_window(store, filters, _position(after), _position(before), size)
    page_no = 1 if window.newer is None else max(page_no, 2)  # the newest entries are page 1
    return page_response(request, "audit.html", "audit", page="audit", filters=filters,
                         entries=window.entries, notice=notice, size=size, sizes=audit_queries.PAGE_SIZES,
                         page_no=page_no, total=window.total, total_capped=window.total_capped,
                         pages=-(-window.total // size) if window.total else 1,
                         prev_before=window.newer.token() if window.newer else None,
                         after=after or before,
                         next_after=window.older.token() if window.older else None,
                         chain=audit_queries.chain_status(store) if verify else None,
                         events=audit_queries.KNOWN_EVENTS, **department_choices())


@api.get("/status", summary="Gateway status as JSON")
def status_json() -> dict[str, Any]:
    return _status() | {"trend": queries.daily_trend(gateway_store())}


@api.get("/quarantine", summary="Quarantine entries as JSON")
def quarantine_json(department: Text = None, category: Text = None, stage: Text = None, field: Text = None,
                    since: Day = None, until: Day = None, include_resolved: bool = False) -> dict[str, Any]:
    query = quarantine_query(department, category, stage, field, since, until, include_resolved)
    return {"filters": query.as_query(), "entries": quarantine_rows(gateway_store(), query)}


@api.get("/records", summary="Record search as JSON")
def records_json(q: Text = None, department: Text = None, category: Text = None,
                 state: Text = None) -> dict[str, Any]:
    return {"records": record_queries.search(gateway_store(), q or "", department or None,
                                             category or None, state or None)}


@api.get("/record", summary="One record's timeline as JSON")
def record_json(key: Annotated[str, Query(max_length=250)]) -> dict[str, Any]:
    story = record_queries.timeline(gateway_store(), key)
    if not story["found"]:
        raise HTTPException(404, f"nothing found for {key}")
    return story


@api.get("/audit", summary="Audit entries as JSON, newest first, keyset paged")
def audit_json(department: Text = None, category: Text = None, event: Text = None, actor: Text = None,
               business_key: Text = None, document_no: Text = None, since: Day = None, until: Day = None,
               after: Text = None, verify: bool = False, before: Text = None) -> dict[str, Any]:
    filters = audit_filter(department, category, event, actor, business_key, document_no, since, until)
    store = gateway_store()
    window = audit_queries.audit_window(store, filters, _position(after), _position(before))
    return {"generated_at": iso(datetime.now(UTC)), "filters": filters.as_query(), "entries": window.entries,
            "next_after": window.older.token() if window.older else None,
            "previous_before": window.newer.token() if window.newer else None,
            "total": window.total, "total_capped": window.total_capped,
            "chain": audit_queries.chain_status(store) if verify else None}


@api.get("/audit/verify", summary="Verify the whole audit hash chain now")
def verify_json() -> dict[str, Any]:
    return audit_queries.chain_status(gateway_store())


def _is_page(request: Request) -> bool:
    return not request.url.path.removeprefix(str(request.scope.get("root_path", ""))).startswith("/api/")


async def _http_error(request: Request, exc: Exception) -> Response:
    """Pages answer a refused or failed request with a readable page, the API with JSON; the status
    code stays (401/403 are what scripts and tests check)."""
    assert isinstance(exc, HTTPException)
    if not _is_page(request):
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
    where = render.Links(*links(request, "status").values())
    login = f"{where.airflow_base}/" if exc.status_code in (401, 403) else None
    body = render.error_page(exc.status_code, str(exc.detail), where, login)
    return HTMLResponse(body, status_code=exc.status_code, headers=exc.headers)


async def _store_error(request: Request, exc: Exception) -> Response:
    # Never echo the exception: a database URL may carry a password (even a ConfigurationError about
    # an unparsable CREDITSYNC_DB_URL quotes it). The api-server's log has the details.
    details = exc if isinstance(exc, SQLAlchemyError) else None  # SQLAlchemy masks passwords itself
    log.warning("CreditSync UI: gateway store unavailable (%s)", type(exc).__name__, exc_info=details)
    message = ("网关数据库无法读取（未初始化？运行 creditsync db-upgrade）· "
               "the gateway store cannot be read (not initialised? run `creditsync db-upgrade`)")
    if _is_page(request):
        where = render.Links(*links(request, "status").values())
        return HTMLResponse(render.error_page(503, message, where), status_code=503)
    return JSONResponse({"detail": message}, status_code=503)


_PRIVATE_HEADERS = ((b"cache-control", b"no-store"), (b"content-security-policy", b"frame-ancestors 'self'"),
                    (b"x-content-type-options", b"nosniff"))
_PRIVATE_NAMES = frozenset(name for name, _ in _PRIVATE_HEADERS)


class PrivateHeaders:
    """Audit data stays out of shared caches, and only Airflow's own pages may frame these.

    A plain ASGI middleware that rewrites the response's start: Starlette's ``BaseHTTPMiddleware`` ran
    every request through a task group and memory streams, a tenth of a credit check's CPU."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_private(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", ()) if k.lower() not in _PRIVATE_NAMES]
                message = {**message, "headers": [*kept, *_PRIVATE_HEADERS]}
            await send(message)

        await self.app(scope, receive, send_private)


def create_app() -> FastAPI:
    # No /docs or /openapi.json: every route of this app is behind READ_ACCESS, and those are not.
    app = FastAPI(title="CreditSync", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(PrivateHeaders)
    # The check first: routes are matched in order, and it is by far the most called one.
    for router in (check_api, pages, files, actions, api):
        app.include_router(router)
    app.include_router(quality)  # 质量 (quality_routes)
    for router in (credit_pages, credit_api):  # the rest of the credit loop (docs/credit-loop.md)
        app.include_router(router)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    for error in (StoreUnavailable, SQLAlchemyError, ConfigurationError):
        app.add_exception_handler(error, _store_error)
    return app


__all__ = ["READ_ACCESS", "create_app"]
