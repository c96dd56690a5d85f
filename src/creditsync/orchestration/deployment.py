"""The deployment's init step beside ``airflow db migrate`` (``creditsync deploy-init``): one Airflow pool
per department, sized from its file, and, under the FAB auth manager, the gateway's roles.

Roles (FAB; SimpleAuthManager has its fixed viewer/user/op/admin instead):
- ``Admin``: FAB's own;
- ``CreditSync Operator``: reads everything a viewer reads, triggers and clears runs, and may use the
  console's operator actions (re-drive, resolve, withdraw: the permission to edit DAG runs), but cannot
  touch connections, variables, pools or users;
- ``CreditSync Auditor``: reads everything, Airflow's own audit log included, and changes nothing.

Everything here is idempotent: the init step runs on every deployment (compose's ``airflow-init``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from creditsync.departments import DepartmentConfig

OPERATOR_ROLE = "CreditSync Operator"
AUDITOR_ROLE = "CreditSync Auditor"
FAB_AUTH_MANAGER = "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"


@dataclass(frozen=True)
class PoolSpec:
    name: str
    slots: int
    description: str


def department_pools(configs: Iterable[DepartmentConfig]) -> list[PoolSpec]:
    return [PoolSpec(c.pool_name(), c.pool_slots, f"CreditSync: {c.name} ({c.department})") for c in configs]


def ensure_pools(pools: Iterable[PoolSpec]) -> list[PoolSpec]:
    """Create or resize each pool in Airflow's metadata database."""
    from airflow.models.pool import Pool
    from airflow.utils.session import create_session

    done = []
    with create_session() as session:
        for pool in pools:
            Pool.create_or_update_pool(pool.name, pool.slots, pool.description, include_deferred=False,
                                       session=session)
            done.append(pool)
    return done


def uses_fab() -> bool:
    from airflow.configuration import conf

    return conf.get("core", "auth_manager", fallback="") == FAB_AUTH_MANAGER


def role_permissions() -> dict[str, list[tuple[str, str]]]:
    """The gateway's roles as FAB (action, resource) pairs, from FAB's own Viewer and User sets."""
    from airflow.providers.fab.auth_manager.security_manager.override import (
        FabAirflowSecurityManagerOverride as Fab,
    )
    from airflow.providers.fab.www.security import permissions as p

    audit_log = [(p.ACTION_CAN_READ, p.RESOURCE_AUDIT_LOG), (p.ACTION_CAN_ACCESS_MENU, p.RESOURCE_AUDIT_LOG)]
    return {OPERATOR_ROLE: list(Fab.VIEWER_PERMISSIONS) + list(Fab.USER_PERMISSIONS),
            AUDITOR_ROLE: list(Fab.VIEWER_PERMISSIONS) + audit_log}


def ensure_roles() -> list[str]:
    """Create (or bring up to date) the gateway's FAB roles; FAB's own (Admin …) are synced as well."""
    from airflow.providers.fab.auth_manager.cli_commands.utils import get_application_builder

    roles = role_permissions()
    with get_application_builder() as appbuilder:
        manager = appbuilder.sm
        manager.bulk_sync_roles([{"role": name, "perms": perms} for name, perms in roles.items()])
    return list(roles)
