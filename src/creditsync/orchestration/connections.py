"""Resolve Connections through Airflow (its secrets backends, the UI, env vars) inside tasks."""

from __future__ import annotations

from typing import Any

from creditsync.secrets import set_connection_resolver


def _from_airflow(conn_id: str) -> Any:
    from airflow.sdk import BaseHook

    return BaseHook.get_connection(conn_id)  # converted, and "not found" explained, by creditsync.secrets


def use_airflow_connections() -> None:
    set_connection_resolver(_from_airflow)
