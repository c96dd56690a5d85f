"""Requests FastAPI could not read (a field missing, too long, not a number) answered as every other
refusal is: the console's own page for the pages and actions, short JSON for the API, and never the
input echoed back. A form without its CSRF token is refused as one with a wrong token: 403."""

from __future__ import annotations

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response

from creditsync.orchestration.ui import render
from creditsync.orchestration.ui.routes_common import links

FIELD_NAMES = {"reason": "原因 reason", "csrf_token": "表单令牌 form token", "entry_id": "隔离条目 entry",
               "entry_ids": "隔离条目 entries", "business_key": "业务键 business key",
               "confirm_document_no": "确认文书号 typed 文书号", "key": "记录 key", "q": "查找 search"}
PROBLEMS = {"missing": "必填 required", "string_too_long": "过长 too long",
            "string_too_short": "必填 required", "int_parsing": "应为数字 not a number",
            "greater_than_equal": "超出范围 out of range", "less_than_equal": "超出范围 out of range",
            "bool_parsing": "应为是/否 not yes/no"}
CSRF_REFUSED = "CSRF token missing or invalid 表单已失效，请刷新页面后重试"


def is_page(request: Request) -> bool:
    return not request.url.path.removeprefix(str(request.scope.get("root_path", ""))).startswith("/api/")


async def validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems = [(str((e.get("loc") or ("",))[-1]), str(e.get("type", ""))) for e in exc.errors()]
    status = 403 if any(name == "csrf_token" for name, _ in problems) else 422
    if not is_page(request):
        return JSONResponse({"detail": [{"field": n, "problem": t} for n, t in problems]}, status_code=status)
    message = CSRF_REFUSED if status == 403 else "；".join(
        f"{FIELD_NAMES.get(name, name)}: {PROBLEMS.get(kind, kind)}" for name, kind in problems)
    where = render.Links(*links(request, "status").values())
    body = render.error_page(status, message, where, f"{where.airflow_base}/" if status == 403 else None)
    return HTMLResponse(body, status_code=status)
