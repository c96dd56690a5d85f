"""Who may call the credit check: Airflow users in the dedicated role ``credit_check``.

Under the FAB auth manager that is a role of this name, with no Airflow permission at all. The
SimpleAuthManager's roles are fixed (viewer, user, op, admin), so there a service user is configured
without a role (``svc_market:`` in ``simple_auth_manager_users``: Airflow grants it nothing) and listed
under ``check_users`` in ``credit/access.yaml`` with the department it checks for. The user comes from a
Bearer token (``POST /auth/token``), as for every other route of the console.

A department's system sends the same token with every check, often many a second. Airflow's own check
of it (its signature, then a database lookup of revoked tokens, on the event loop) was a third of a
check's CPU, so the user a token verified to is believed for :data:`TOKEN_TRUST_S` seconds (never past
the token's expiry) by the process that verified it: a token revoked by a logout keeps checking for at
most that long.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Annotated

import jwt
from airflow.api_fastapi.auth.managers.models.base_user import BaseUser
from airflow.api_fastapi.core_api.security import bearer_scheme, get_user, resolve_user_from_token
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials
from starlette.exceptions import HTTPException

from creditsync.credit.measures import CHECK_ROLE, check_users
from creditsync.settings import load_settings


@dataclass(frozen=True)
class Checker:
    name: str
    department: str | None


def role_names(user: BaseUser) -> set[str]:
    """The user's roles, whatever the auth manager: SimpleAuthManager's ``role``, FAB's ``roles``."""
    names = {str(role)} if (role := getattr(user, "role", None)) else set()
    for role_object in getattr(user, "roles", None) or ():
        names.add(str(getattr(role_object, "name", role_object)))
    return names


def may_check(user: BaseUser) -> Checker | None:
    name = user.get_name()
    listed = check_users(load_settings().home)
    if name in listed:
        return Checker(name, listed[name])
    if CHECK_ROLE in role_names(user):
        return Checker(name, None)
    return None


TOKEN_TRUST_S = 5.0  # how long a verified token is believed without Airflow's check (and its query)
_TRUSTED_MAX = 1024  # tokens remembered at once; only verified ones get here, so this is plenty
_trusted: dict[str, tuple[BaseUser, float]] = {}  # token → its user, believed until (monotonic)
_trusted_lock = threading.Lock()


async def token_user(request: Request, bearer: Annotated[
        HTTPAuthorizationCredentials | None, Depends(bearer_scheme)]) -> BaseUser:
    """Airflow's ``get_user``, with a Bearer token's user remembered for a few seconds."""
    if bearer is None or bearer.scheme.lower() != "bearer":
        return await get_user(request, None, None)  # the session cookie: Airflow decides, every time
    token = bearer.credentials
    now = time.monotonic()
    trusted = _trusted.get(token)
    if trusted is not None and now < trusted[1]:
        return trusted[0]
    user = await resolve_user_from_token(token)  # raises 401/403 as Airflow does; failures are not kept
    until = now + min(TOKEN_TRUST_S, _seconds_left(token))
    with _trusted_lock:
        if len(_trusted) >= _TRUSTED_MAX:
            _trusted.clear()
        _trusted[token] = (user, until)
    return user


def _seconds_left(token: str) -> float:
    """Until the token's ``exp`` (its signature was verified just before: only read here)."""
    expires = jwt.decode(token, options={"verify_signature": False}).get("exp")
    return float(expires) - time.time() if isinstance(expires, int | float) else 0.0


def forget_tokens() -> None:
    with _trusted_lock:
        _trusted.clear()


TokenUserDep = Annotated[BaseUser, Depends(token_user)]


async def require_checker(user: TokenUserDep) -> Checker:
    # async: pure in-memory work, so no hop to the thread pool (the check itself takes one)
    checker = may_check(user)
    if checker is None:
        raise HTTPException(403, f"the credit check needs the {CHECK_ROLE} role 需要信用核查权限")
    return checker


CHECK_ACCESS = Depends(require_checker)
