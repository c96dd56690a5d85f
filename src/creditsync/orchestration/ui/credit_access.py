"""Who may call the credit check: Airflow users in the dedicated role ``credit_check``.

Under the FAB auth manager that is a role of this name, with no Airflow permission at all. The
SimpleAuthManager's roles are fixed (viewer, user, op, admin), so there a service user is configured
without a role (``svc_market:`` in ``simple_auth_manager_users``: Airflow grants it nothing) and listed
under ``check_users`` in ``credit/access.yaml`` with the department it checks for. The user comes from a
Bearer token (``POST /auth/token``), as for every other route of the console.
"""

from __future__ import annotations

from dataclasses import dataclass

from airflow.api_fastapi.auth.managers.models.base_user import BaseUser
from airflow.api_fastapi.core_api.security import GetUserDep
from fastapi import Depends
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


def require_checker(user: GetUserDep) -> Checker:
    checker = may_check(user)
    if checker is None:
        raise HTTPException(403, f"the credit check needs the {CHECK_ROLE} role 需要信用核查权限")
    return checker


CHECK_ACCESS = Depends(require_checker)
