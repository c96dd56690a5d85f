"""Who may see and do what. Airflow does not authenticate plugin routes, so every route depends on one
of these; the user comes from a Bearer token (scripts) or the UI's session cookie.

- reading: the permission to read the runs of every DAG (SimpleAuthManager: viewer and up; FAB: "can
  read" on DAGs and DAG Runs), because the pages show every department;
- operator actions: Airflow's own ``requires_access_dag`` with method PUT on the department's DAG, the
  permission to edit it (SimpleAuthManager: user, op, admin; never viewer);
- every POST carries a CSRF token bound to the signed-in user, and a cross-site Origin is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from functools import cache
from typing import Literal
from urllib.parse import urlsplit

from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.auth.managers.models.base_user import BaseUser
from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails
from airflow.api_fastapi.core_api.security import GetUserDep, requires_access_dag
from airflow.configuration import conf
from fastapi import Depends, Request
from starlette.exceptions import HTTPException

from creditsync.orchestration.ui.queries import dag_id

EDIT: Literal["PUT"] = "PUT"


def can_read_every_dag_run(user: GetUserDep) -> None:
    """Airflow's ``requires_access_dag`` narrows its check to one DAG when the request carries
    ``?dag_id=``; these pages show every department, so they ask for all DAGs, always."""
    if not get_auth_manager().is_authorized_dag(method="GET", access_entity=DagAccessEntity.RUN, user=user):
        raise HTTPException(403, "Forbidden")


READ_ACCESS = Depends(can_read_every_dag_run)


def may_edit(user: BaseUser, department: str) -> bool:
    """Whether to show the department's action buttons (the POST routes check again)."""
    return bool(get_auth_manager().is_authorized_dag(
        method=EDIT, access_entity=DagAccessEntity.RUN, details=DagDetails(id=dag_id(department)), user=user))


def may_act_anywhere(user: BaseUser, departments: set[str]) -> bool:
    """Whether the user may edit any department's DAG (or every DAG): asked before anything is looked
    up, so that a viewer gets the same 403 whether or not what they name exists."""
    manager = get_auth_manager()
    if manager.is_authorized_dag(method=EDIT, access_entity=DagAccessEntity.RUN, user=user):
        return True
    return any(may_edit(user, department) for department in departments)


def require_edit(request: Request, user: BaseUser, department: str) -> None:
    """Airflow's own check, for the department's DAG: 403 for a viewer."""
    requires_access_dag(EDIT, DagAccessEntity.RUN, param_dag_id=dag_id(department))(request, user)


@cache
def _key() -> bytes:
    secret = conf.get("api", "secret_key", fallback="") or conf.get("api_auth", "jwt_secret", fallback="")
    return hashlib.sha256(b"creditsync-csrf|" + (secret.encode() or os.urandom(32))).digest()


def csrf_token(user: BaseUser) -> str:
    return hmac.new(_key(), f"{user.get_id()}|{user.get_name()}".encode(), hashlib.sha256).hexdigest()


def check_csrf(request: Request, user: BaseUser, token: str) -> None:
    """The form's token must be this user's, and a browser's Origin (when sent) this host."""
    origin = request.headers.get("origin")
    if origin and origin != "null" and urlsplit(origin).netloc != request.headers.get("host"):
        raise HTTPException(403, "cross-site request refused 拒绝跨站请求")
    if not hmac.compare_digest(token, csrf_token(user)):
        raise HTTPException(403, "CSRF token missing or invalid 表单已失效，请刷新页面后重试")
