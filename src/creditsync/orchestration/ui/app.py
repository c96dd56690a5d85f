"""The FastAPI app Airflow's api-server mounts at ``/creditsync`` (plugins/creditsync_plugin.py).

Airflow does not authenticate plugin routes: every route here depends on :data:`READ_ACCESS`, the
permission to read the runs of every DAG (SimpleAuthManager: role viewer and up; FAB: "can read" on DAGs
and DAG Runs, which Viewer has). The user comes from a Bearer token (scripts) or the UI's session
cookie (the page framed by the Airflow UI). Every page is read-only.

| URL | what |
|---|---|
| ``/creditsync/`` | 数据同步状态: per department records by state, outbox, quarantine, last run, cursors |
| ``/creditsync/audit`` | 审计日志: latest 200 entries (filters ``department``, ``event``, ``since``); |
| | ``verify=1`` also checks the hash chain |
| ``/creditsync/api/status``, ``/api/audit``, ``/api/audit/verify`` | the same as JSON |
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from typing import Annotated, Any

from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
from airflow.api_fastapi.core_api.security import GetUserDep
from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException

from creditsync.exceptions import ConfigurationError
from creditsync.orchestration.ui import URL_PREFIX, queries, render
from creditsync.orchestration.ui.store import StoreUnavailable, configured_departments, gateway_store

log = logging.getLogger(__name__)


def can_read_every_dag_run(user: GetUserDep) -> None:
    """Airflow's ``requires_access_dag`` narrows its check to one DAG when the request carries
    ``?dag_id=``; these pages show every department, so they ask for all DAGs, always."""
    if not get_auth_manager().is_authorized_dag(method="GET", access_entity=DagAccessEntity.RUN, user=user):
        raise HTTPException(403, "Forbidden")


READ_ACCESS = Depends(can_read_every_dag_run)

DepartmentQ = Annotated[str | None, Query(max_length=64)]
EventQ = Annotated[str | None, Query(max_length=48)]
# A string, not a date: the page's filter form sends ``since=`` when the field is left empty.
SinceQ = Annotated[str | None, Query(max_length=10, description="UTC day, YYYY-MM-DD")]


def _filters(department: str | None, event: str | None, since: str | None) -> queries.AuditFilter:
    try:
        day = date.fromisoformat(since) if since else None
    except ValueError:
        raise HTTPException(422, "since: expected a date YYYY-MM-DD 起始日期格式应为 YYYY-MM-DD") from None
    return queries.AuditFilter(department or None, event or None, day)


def _links(request: Request, json_path: str) -> dict[str, str]:
    """URLs relative to where Airflow mounted the app, so a ``[api] base_url`` sub-path works too."""
    base = str(request.scope.get("root_path", "")).rstrip("/")
    query = f"?{request.url.query}" if request.url.query else ""
    return {"base": base, "airflow_base": base.removesuffix(URL_PREFIX),
            "json_url": f"{base}/api/{json_path}{query}"}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _status() -> dict[str, Any]:
    configs, problems = configured_departments()
    return {"generated_at": _now(), "departments": queries.department_status(gateway_store(), configs),
            "configuration_errors": problems}


def _audit(filters: queries.AuditFilter, verify: bool) -> dict[str, Any]:
    store = gateway_store()
    return {"generated_at": _now(), "limit": queries.AUDIT_PAGE_SIZE,
            "filters": {"department": filters.department, "event": filters.event,
                        "since": filters.since.isoformat() if filters.since else None},
            "entries": queries.audit_entries(store, filters),
            "chain": queries.chain_status(store) if verify else None}


pages = APIRouter(dependencies=[READ_ACCESS], default_response_class=HTMLResponse)
api = APIRouter(prefix="/api", dependencies=[READ_ACCESS])


@pages.get("/", summary="数据同步状态 Gateway status")
def status_page(request: Request) -> HTMLResponse:
    data = _status()
    return HTMLResponse(render.status_page(data["departments"], data["generated_at"],
                                           data["configuration_errors"], _links(request, "status")))


@pages.get("/audit", summary="审计日志 Audit log")
def audit_page(request: Request, department: DepartmentQ = None, event: EventQ = None,
               since: SinceQ = None, verify: bool = False) -> HTMLResponse:
    filters = _filters(department, event, since)
    data = _audit(filters, verify)
    names = {c.department: c.name for c in configured_departments()[0]}
    return HTMLResponse(render.audit_page(data["entries"], filters, names, data["chain"], data["limit"],
                                          _links(request, "audit")))


@api.get("/status", summary="Gateway status as JSON")
def status_json() -> dict[str, Any]:
    return _status()


@api.get("/audit", summary="Latest audit entries as JSON")
def audit_json(department: DepartmentQ = None, event: EventQ = None, since: SinceQ = None,
               verify: bool = False) -> dict[str, Any]:
    return _audit(_filters(department, event, since), verify)


@api.get("/audit/verify", summary="Verify the whole audit hash chain now")
def verify_json() -> dict[str, Any]:
    return queries.chain_status(gateway_store())


def _is_page(request: Request) -> bool:
    return not request.url.path.removeprefix(str(request.scope.get("root_path", ""))).startswith("/api/")


async def _http_error(request: Request, exc: Exception) -> Response:
    """Pages answer a refused or failed request with a readable page, the API with JSON; the status
    code stays (401/403 are what scripts and tests check)."""
    assert isinstance(exc, HTTPException)
    if not _is_page(request):
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
    links = _links(request, "status")
    login = f"{links['airflow_base']}/" if exc.status_code in (401, 403) else None
    body = render.error_page(exc.status_code, str(exc.detail), links, login)
    return HTMLResponse(body, status_code=exc.status_code, headers=exc.headers)


async def _store_error(request: Request, exc: Exception) -> Response:
    # Never echo the exception: a database URL may carry a password (even a ConfigurationError about
    # an unparsable CREDITSYNC_DB_URL quotes it). The api-server's log has the details.
    details = exc if isinstance(exc, SQLAlchemyError) else None  # SQLAlchemy masks passwords itself
    log.warning("CreditSync UI: gateway store unavailable (%s)", type(exc).__name__, exc_info=details)
    message = ("网关数据库无法读取（未初始化？运行 creditsync db-upgrade）· "
               "the gateway store cannot be read (not initialised? run `creditsync db-upgrade`)")
    if _is_page(request):
        return HTMLResponse(render.error_page(503, message, _links(request, "status")), status_code=503)
    return JSONResponse({"detail": message}, status_code=503)


async def _private_headers(request: Request, call_next: Any) -> Response:
    """Audit data stays out of shared caches, and only Airflow's own pages may frame these."""
    response: Response = await call_next(request)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = "frame-ancestors 'self'"
    return response


def create_app() -> FastAPI:
    # No /docs or /openapi.json: every route of this app is behind READ_ACCESS, and those are not.
    app = FastAPI(title="CreditSync", docs_url=None, redoc_url=None, openapi_url=None)
    app.middleware("http")(_private_headers)
    app.include_router(pages)
    app.include_router(api)
    app.add_exception_handler(HTTPException, _http_error)
    for error in (StoreUnavailable, SQLAlchemyError, ConfigurationError):
        app.add_exception_handler(error, _store_error)
    return app
