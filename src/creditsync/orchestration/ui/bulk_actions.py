"""Bulk re-drive or resolve of the quarantine entries an operator selected: one reason for all, each
entry done and audited on its own (so every record's timeline shows it), after the same checks as a
single action: who may act before anything is looked up, the CSRF token, then each entry's department."""

from __future__ import annotations

from typing import Annotated

from airflow.api_fastapi.core_api.security import GetUserDep
from fastapi import Form, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from starlette.exceptions import HTTPException

from creditsync.exceptions import ConfigurationError, CreditSyncError
from creditsync.orchestration.ui import render
from creditsync.orchestration.ui.action_routes import Reason, Token, actions, actor_trail, may_act
from creditsync.orchestration.ui.routes_common import links
from creditsync.orchestration.ui.security import require_edit
from creditsync.orchestration.ui.store import configured_departments, gateway_store
from creditsync.quarantine import RedriveRequest, redrive, resolve
from creditsync.store.models import QuarantineItem
from creditsync.store.states import QuarantineStage

BULK_MAX = 200
EntryIds = Annotated[list[int], Form(min_length=1, max_length=BULK_MAX)]
Verb = Annotated[str, Form(pattern="^(redrive|resolve)$")]


@actions.post("/quarantine/bulk", summary="Re-drive or resolve the selected quarantine entries")
def bulk_entries(request: Request, user: GetUserDep, entry_ids: EntryIds, action: Verb, reason: Reason,
                 csrf_token: Token) -> RedirectResponse:
    may_act(request, user, csrf_token)
    with gateway_store().reader() as session:
        items = list(session.scalars(select(QuarantineItem).where(QuarantineItem.id.in_(set(entry_ids)))))
    if len(items) != len(set(entry_ids)):
        raise HTTPException(404, "some selected entries do not exist 部分隔离条目不存在")
    for department in sorted({item.department for item in items}):
        require_edit(request, user, department)
    open_items = [item for item in items if item.resolved_at is None]
    if action == "redrive":
        configured = {c.department for c in configured_departments()[0]}
        if unknown := sorted({i.department for i in open_items} - configured):
            raise HTTPException(409, f"{', '.join(unknown)}: not configured, nothing re-reads it")
    done = 0
    try:
        for item in sorted(open_items, key=lambda i: i.id):
            if action == "redrive":
                redrive(gateway_store(), RedriveRequest(
                    item.department, [item.category], reason, reset_cursor=True,
                    platform_rejected=item.stage == QuarantineStage.PLATFORM, quarantine_id=item.id,
                    source_key=item.source_key), actor_trail(user))
            else:
                resolve(gateway_store(), item.id, reason, actor_trail(user))
            done += 1
    except (ConfigurationError, CreditSyncError) as exc:
        raise HTTPException(409, f"{done} done, then: {exc}") from None
    skipped = len(items) - len(open_items)
    verb = "已安排重推 re-driven" if action == "redrive" else "已关闭 closed"
    notice = f"{verb}: {done} 条 entries"
    if skipped:
        notice += f"（{skipped} 条已关闭，跳过 already closed, skipped）"
    where = render.Links(*links(request, "status").values())
    return RedirectResponse(where.url("/quarantine", notice=notice), status_code=303)
