"""The credit loop in the console: the check API for department systems and the 信用核查 pages.

- ``POST /creditsync/api/v1/check`` (role ``credit_check``): subject and matter in the JSON body, never
  the URL → listed?, measures, grade, check id; every check recorded;
- ``/creditsync/credit`` (viewer and up): 信用核查, a subject (its number POSTed) → its entries, grade,
  checks, feedback and draws; ``/creditsync/credit/department``: a department's draws and checks.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from airflow.api_fastapi.core_api.security import GetUserDep
from fastapi import APIRouter, Body, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.exceptions import HTTPException

from creditsync.audit import AuditTrail
from creditsync.credit.binder import CheckBinder
from creditsync.credit.check import CheckRequest, check
from creditsync.credit.measures import load_catalogue
from creditsync.credit.subjects import Subject as SubjectKey
from creditsync.exceptions import InvalidRequest
from creditsync.orchestration.ui import credit_queries
from creditsync.orchestration.ui.credit_access import CHECK_ACCESS, Checker
from creditsync.orchestration.ui.routes_common import department_choices, page_response
from creditsync.orchestration.ui.security import READ_ACCESS, check_csrf, csrf_token
from creditsync.orchestration.ui.store import gateway_store
from creditsync.settings import load_settings

check_api = APIRouter(prefix="/api/v1")
BINDER = CheckBinder(gateway_store)

Subject = Annotated[str, Body(min_length=1, max_length=64, description="USCC or ID number")]
MatterCode = Annotated[str, Body(min_length=1, max_length=64, description="事项编码 in credit/measures.yaml")]


@check_api.post("/check", summary="信用核查 Credit check before a decision", response_class=Response)
def check_json(subject: Subject, matter: MatterCode, checker: Checker = CHECK_ACCESS,
               department: Annotated[str | None, Body(max_length=64)] = None) -> Response:
    """The subject and matter travel in the body: URLs end up in access logs."""
    try:
        request = CheckRequest(subject, matter, checker.department or department)
        catalogue = load_catalogue(load_settings().home)
        answer = check(gateway_store(), catalogue, request, AuditTrail(checker.name), bind=False)
    except InvalidRequest as exc:
        raise HTTPException(422, str(exc)) from None
    BINDER.kick(answer["check_id"])  # its audit entry follows in a moment, with the other checks then
    # Already JSON-safe (texts, numbers, ISO dates): encoded once by msgspec, not walked by FastAPI.
    return Response(msgspec.json.encode(answer), media_type="application/json")


credit_pages = APIRouter(prefix="/credit", dependencies=[READ_ACCESS], default_response_class=HTMLResponse)
credit_api = APIRouter(prefix="/api/credit", dependencies=[READ_ACCESS])
DepartmentCode = Annotated[str, Query(max_length=64)]
Number = Annotated[str, Form(min_length=1, max_length=64)]


def _subject(number: str) -> SubjectKey:
    try:
        return SubjectKey.of(number)
    except InvalidRequest as exc:
        raise HTTPException(422, str(exc)) from None


@credit_pages.get("", summary="信用核查 Credit check: search a subject")
def credit_page(request: Request, user: GetUserDep) -> HTMLResponse:
    return page_response(request, "credit.html", "credit/departments", page="credit", story=None,
                         csrf=csrf_token(user), **department_choices())


@credit_pages.post("", summary="信用核查 Credit check: one subject (its number in the form, never the URL)")
def credit_subject_page(request: Request, user: GetUserDep, subject: Number, csrf_token_: Annotated[
        str, Form(alias="csrf_token", max_length=128)]) -> HTMLResponse:
    check_csrf(request, user, csrf_token_)
    story = credit_queries.subject_story(gateway_store(), _subject(subject))
    return page_response(request, "credit.html", "credit/departments", page="credit", story=story,
                         csrf=csrf_token(user), **department_choices())


@credit_pages.get("/department", summary="信用核查 A department's draws and checks")
def credit_department_page(request: Request, department: DepartmentCode) -> HTMLResponse:
    story = credit_queries.department_story(gateway_store(), department)
    return page_response(request, "credit_department.html", f"credit/department?department={department}",
                         page="credit", story=story, **department_choices())


@credit_api.post("/subject", summary="A subject's lists, grades, checks, feedback and draws as JSON")
def credit_subject_json(subject: Subject) -> dict[str, Any]:
    return credit_queries.subject_story(gateway_store(), _subject(subject))


@credit_api.get("/department", summary="A department's draws and checks as JSON")
def credit_department_json(department: DepartmentCode) -> dict[str, Any]:
    return credit_queries.department_story(gateway_store(), department)


@credit_api.get("/departments", summary="Departments with checks or draws")
def credit_departments_json() -> dict[str, Any]:
    return {"departments": list(department_choices()["department_names"])}
