"""Operator actions: re-drive a quarantined record, close one with a reason, withdraw a published
record (终止公示). Each is a POST carrying the user's CSRF token, allowed to those who may edit the
department's DAG (Airflow's own check), and audited with the Airflow user's name as the actor. The
answer is a redirect (303) to the record's page, which shows what was done."""

from __future__ import annotations

from typing import Annotated

from airflow.api_fastapi.auth.managers.models.base_user import BaseUser
from airflow.api_fastapi.core_api.security import GetUserDep
from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from starlette.exceptions import HTTPException

from creditsync.audit import AuditTrail
from creditsync.exceptions import ConfigurationError, CreditSyncError
from creditsync.orchestration.ui import render
from creditsync.orchestration.ui.actions import withdraw
from creditsync.orchestration.ui.routes_common import links
from creditsync.orchestration.ui.security import READ_ACCESS, check_csrf, may_act_anywhere, require_edit
from creditsync.orchestration.ui.store import configured_departments, gateway_store
from creditsync.pipeline.context import new_cli_run_id
from creditsync.quarantine import RedriveRequest, redrive, resolve
from creditsync.schema.document_no import canonical_document_no
from creditsync.store.models import QuarantineItem, Record
from creditsync.store.states import QuarantineStage

Reason = Annotated[str, Form(min_length=1, max_length=200)]
Token = Annotated[str, Form(max_length=128)]  # missing: 403 (app._validation_error), like a wrong one
EntryId = Annotated[int, Form()]
Confirmation = Annotated[str, Form(max_length=250)]
DONE = {"redrive": "已安排重推：下次同步时重新读取该类别 · re-drive recorded: the next sync re-reads it",
        "resolve": "已关闭隔离条目 · quarantine entry closed",
        "withdraw": "已安排终止公示：下次推送时发送 · withdrawal queued: the next push sends it"}

actions = APIRouter(prefix="/actions", dependencies=[READ_ACCESS])


def actor_trail(user: BaseUser) -> AuditTrail:
    return AuditTrail(actor=user.get_name())


def may_act(request: Request, user: BaseUser, token: str) -> None:
    """Before any lookup: a user who may act nowhere gets 403 whatever they name (an auditor learns
    nothing of which keys exist), and the form must carry this user's token."""
    if not may_act_anywhere(user, {c.department for c in configured_departments()[0]}):
        raise HTTPException(403, "没有操作权限 you may not act on any department")
    check_csrf(request, user, token)


def _authorise(request: Request, user: BaseUser, department: str, token: str) -> None:
    require_edit(request, user, department)  # before the token: a viewer learns nothing more than 403
    check_csrf(request, user, token)


def _entry(entry_id: int) -> QuarantineItem:
    with gateway_store().reader() as session:
        item = session.get(QuarantineItem, entry_id)
    if item is None:
        raise HTTPException(404, f"no quarantine entry {entry_id} 隔离条目不存在")
    return item


def _back_to(request: Request, key: str | None, done: str) -> RedirectResponse:
    where = render.Links(*links(request, "status").values())
    target = where.url("/record/view", key=key, notice=DONE[done]) if key else where.url("/quarantine",
                                                                                         notice=DONE[done])
    return RedirectResponse(target, status_code=303)


def _to_trail(request: Request, department: str, event: str, done: str) -> RedirectResponse:
    """A stream-wide action: the audit entries it wrote, newest first, show who did it."""
    where = render.Links(*links(request, "status").values())
    return RedirectResponse(where.url("/audit", department=department, event=event, notice=DONE[done]),
                            status_code=303)


def _refused(exc: CreditSyncError) -> HTTPException:
    return HTTPException(409, str(exc))


@actions.post("/quarantine/redrive", summary="Re-drive a quarantined record's stream")
def redrive_entry(request: Request, user: GetUserDep, entry_id: EntryId, reason: Reason,
                  csrf_token: Token) -> RedirectResponse:
    """Source, mapping and validation problems: the stream's cursor goes back to the start, so the next
    sync re-reads the fixed record (unchanged ones are deduplicated). Platform rejections: the rejected
    records of the stream are queued again as well."""
    may_act(request, user, csrf_token)
    item = _entry(entry_id)
    _authorise(request, user, item.department, csrf_token)
    if item.resolved_at is not None:
        raise HTTPException(409, f"quarantine entry {entry_id} is already closed: {item.resolution}")
    if item.department not in {c.department for c in configured_departments()[0]}:
        raise HTTPException(409, f"{item.department} is not a configured department: nothing re-reads it")
    wanted = RedriveRequest(item.department, [item.category], reason, reset_cursor=True,
                            platform_rejected=item.stage == QuarantineStage.PLATFORM,
                            quarantine_id=item.id, source_key=item.source_key)
    try:
        redrive(gateway_store(), wanted, actor_trail(user))
    except (ConfigurationError, CreditSyncError) as exc:
        raise _refused(exc) from None
    return _to_trail(request, item.department, "manual_redrive", "redrive")


@actions.post("/quarantine/resolve", summary="Close a quarantine entry by hand, with a reason")
def resolve_entry(request: Request, user: GetUserDep, entry_id: EntryId, reason: Reason,
                  csrf_token: Token) -> RedirectResponse:
    may_act(request, user, csrf_token)
    item = _entry(entry_id)
    _authorise(request, user, item.department, csrf_token)
    try:
        resolve(gateway_store(), entry_id, reason, actor_trail(user))
    except CreditSyncError as exc:
        raise _refused(exc) from None
    return _back_to(request, item.business_key or item.source_key, "resolve")


@actions.post("/record/withdraw", summary="终止公示: withdraw a published record, with a reason")
def withdraw_record(request: Request, user: GetUserDep, business_key: Annotated[str, Form(max_length=250)],
                    reason: Reason, csrf_token: Token,
                    confirm_document_no: Confirmation = "") -> RedirectResponse:
    """Done only when the operator typed the record's 文书号 (any written variant) to confirm."""
    may_act(request, user, csrf_token)
    with gateway_store().reader() as session:
        record = session.get(Record, business_key)
    if record is None:
        raise HTTPException(404, "no such record 记录不存在")
    _authorise(request, user, record.department, csrf_token)
    typed = confirm_document_no.strip()
    if not typed or canonical_document_no(typed) != canonical_document_no(record.document_no):
        raise HTTPException(400, "终止公示须输入该记录的文书号以确认 · type the record's 文书号 to confirm "
                                 "the withdrawal: nothing was done")
    run_id = new_cli_run_id(record.department).replace("cli__", "console__", 1)
    try:
        withdraw(gateway_store(), business_key, reason, actor_trail(user), run_id)
    except CreditSyncError as exc:
        raise _refused(exc) from None
    return _back_to(request, business_key, "withdraw")
