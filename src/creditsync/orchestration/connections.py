"""Resolve Connections through Airflow (secrets backends, the UI, env vars) inside tasks."""

from __future__ import annotations

from creditsync.exceptions import ConfigurationError
from creditsync.secrets import Connection, set_connection_resolver


def _from_airflow(conn_id: str) -> Connection:
    from airflow.sdk import BaseHook

    try:
        conn = BaseHook.get_connection(conn_id)
    except Exception as exc:  # Airflow raises its own "not found" type here
        raise ConfigurationError(
            f"Airflow Connection {conn_id!r} is not defined (Admin → Connections, or "
            f"AIRFLOW_CONN_{conn_id.upper()})") from exc
    return Connection(conn_id=conn_id, conn_type=conn.conn_type or "", host=conn.host, port=conn.port,
                      login=conn.login, password=conn.password, schema=conn.schema,
                      extra=conn.extra_dejson or {})


def use_airflow_connections() -> None:
    set_connection_resolver(_from_airflow)
