"""docker-compose.yaml and the Dockerfile stay true to the topology the e2e suite runs as processes: the
same services (as many schedulers and workers), the same executor, auth manager, broker, execution API
address and gateway store, the init step that creates pools and roles, and the same pinned lock."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from conftest import DEPARTMENTS
from topology import REPO, Topology

COMPOSE = yaml.safe_load((REPO / "docker-compose.yaml").read_text("utf-8"))
SERVICES: dict[str, Any] = COMPOSE["services"]
# the compose service and the topology's processes it stands for
PROCESSES = {"airflow-apiserver": ["api-server"], "airflow-scheduler": ["scheduler-1", "scheduler-2"],
             "airflow-dag-processor": ["dag-processor"], "airflow-triggerer": ["triggerer"],
             "airflow-worker": ["worker-1", "worker-2"]}
COMMANDS = {"airflow-apiserver": "api-server", "airflow-scheduler": "scheduler",
            "airflow-dag-processor": "dag-processor", "airflow-triggerer": "triggerer",
            "airflow-worker": "celery worker"}


@pytest.fixture(scope="module")
def processes(tmp_path_factory: pytest.TempPathFactory) -> Topology:
    """The topology's settings, without starting anything."""
    return Topology(tmp_path_factory.mktemp("parity"), DEPARTMENTS)


def _env(service: str) -> dict[str, str]:
    return {k: str(v) for k, v in SERVICES[service]["environment"].items()}


def test_compose_defines_every_service_the_topology_runs_as_often() -> None:
    assert {"postgres", "redis", "airflow-init", *PROCESSES} <= set(SERVICES)
    for service, names in PROCESSES.items():
        assert SERVICES[service]["command"] == COMMANDS[service], service
        assert SERVICES[service].get("deploy", {}).get("replicas", 1) == len(names), service
    assert SERVICES["postgres"]["image"].startswith("postgres:16")
    assert SERVICES["redis"]["image"].startswith("redis:7.2")


@pytest.mark.parametrize("service", [*PROCESSES, "airflow-init"])
def test_every_airflow_service_has_the_topologys_settings(service: str, processes: Topology) -> None:
    env, ours = _env(service), processes.settings()
    for name in ("AIRFLOW__CORE__EXECUTOR", "AIRFLOW__CORE__AUTH_MANAGER", "AIRFLOW__CORE__LOAD_EXAMPLES"):
        assert env[name] == ours[name], name
    api = urlsplit(env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"])
    assert (api.hostname, api.path) == ("airflow-apiserver", urlsplit(ours[
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL"]).path)
    assert f"{api.port}:{api.port}" in SERVICES["airflow-apiserver"]["ports"][0]
    for name in ("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "CREDITSYNC_DB_URL", "AIRFLOW__CELERY__BROKER_URL",
                 "AIRFLOW__CELERY__RESULT_BACKEND"):
        assert urlsplit(env[name]).scheme == urlsplit(ours[name]).scheme, name
    metadata, store = (urlsplit(env[n]) for n in ("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "CREDITSYNC_DB_URL"))
    assert metadata.hostname == store.hostname == "postgres" and metadata.path != store.path
    assert urlsplit(env["AIRFLOW__CELERY__BROKER_URL"]).hostname == "redis"
    for secret in ("AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__API__SECRET_KEY", "AIRFLOW__CORE__FERNET_KEY"):
        assert env[secret].startswith("${"), secret  # from .env, never written in the file


def test_the_gateway_store_database_is_created_beside_airflows() -> None:
    init_sql = (REPO / "deploy" / "postgres-init.sql").read_text("utf-8")
    url = _env("airflow-scheduler")["CREDITSYNC_DB_URL"]
    store = urlsplit(url.replace("${CREDITSYNC_DB_PASSWORD:-creditsync}", "x"))
    assert f"CREATE DATABASE {store.path.lstrip('/')}" in init_sql


def test_the_init_step_migrates_airflow_then_runs_the_gateways_own_init(processes: Topology) -> None:
    script = " ".join(SERVICES["airflow-init"]["command"])
    assert script.index("airflow") < script.index("creditsync deploy-init")
    assert _env("airflow-init")["_AIRFLOW_DB_MIGRATE"] == "true"
    assert _env("airflow-init")["_AIRFLOW_WWW_USER_CREATE"] == "true"


def test_every_connection_the_topology_uses_is_given_to_compose(processes: Topology) -> None:
    processes.home.mkdir(parents=True, exist_ok=True)
    processes._connections()
    import json

    conns = json.loads((processes.home / "connections.json").read_text("utf-8"))
    env = _env("airflow-worker")
    for conn_id in conns:
        assert f"AIRFLOW_CONN_{conn_id.upper()}" in env, conn_id


def test_the_dockerfile_installs_the_same_lock_on_the_same_airflow_and_python() -> None:
    dockerfile = (REPO / "Dockerfile").read_text("utf-8")
    lock = (REPO / "requirements.lock").read_text("utf-8")
    base = re.search(r"^FROM apache/airflow:(\S+)-python(\S+)$", dockerfile, re.M)
    assert base is not None
    assert f"apache-airflow=={base.group(1)}\n" in lock
    assert base.group(2) == "3.11" and 'requires-python = ">=3.11,<3.12"' in Path(
        REPO / "pyproject.toml").read_text("utf-8")
    assert "COPY --chown=airflow:0 requirements.lock" in dockerfile
    assert "pip install --no-cache-dir -r /opt/creditsync/requirements.lock" in dockerfile
    assert "--no-deps /opt/creditsync" in dockerfile  # the gateway itself adds nothing to the lock
    for pinned in ("apache-airflow-providers-celery==", "apache-airflow-providers-fab==", "redis==",
                   "asyncpg==", "psycopg2-binary=="):
        assert pinned in lock, pinned
