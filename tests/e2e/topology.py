"""docker-compose.yaml's topology as processes on this machine (no Docker engine runs here): fresh
PostgreSQL databases for Airflow's metadata and the gateway store, Redis as the Celery broker, the
api-server, two schedulers (HA), the dag-processor, the triggerer and two Celery workers, under the FAB
auth manager; the platform simulator and the demo departments' systems beside them.

Every process starts in its own session (``setsid``), so stopping its group stops every child it
forked (Celery's pool, task supervisors); ``Topology.stop`` leaves nothing running and drops the
databases. The benchmark ``benchmarks/deploy_scale.py`` starts the same topology.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import yaml

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PG_SERVER = os.environ.get("CREDITSYNC_TEST_PG", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
REDIS = os.environ.get("CREDITSYNC_E2E_REDIS", "redis://127.0.0.1:6379/8")
FAB = "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"
BASE_PORT = int(os.environ.get("CREDITSYNC_E2E_PORT", "8400"))
USERS = {"admin": "Admin", "operator": "CreditSync Operator", "auditor": "CreditSync Auditor"}


@dataclass
class Ports:
    api: int = BASE_PORT
    platform: int = BASE_PORT + 10
    market: int = BASE_PORT + 11
    ecology: int = BASE_PORT + 12


@dataclass
class Topology:
    home: Path
    departments: dict[str, dict[str, Any]]  # name -> overrides of its demo file (or a whole file)
    ports: Ports = field(default_factory=Ports)
    platform_slow_ms: int = 0
    worker_concurrency: int = 2
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    app_key: str = field(default_factory=lambda: f"e2e-appkey-{uuid.uuid4().hex}")
    source_token: str = field(default_factory=lambda: f"e2e-token-{uuid.uuid4().hex}")
    extra_env: dict[str, str] = field(default_factory=dict)  # e.g. CREDITSYNC_MAPPINGS_DIR

    # -- settings --------------------------------------------------------------------------------
    @property
    def airflow_db(self) -> str:
        return f"deploy_airflow_{self.tag}"

    @property
    def gateway_db(self) -> str:
        return f"deploy_gateway_{self.tag}"

    def pg_url(self, database: str) -> str:
        return PG_SERVER.rsplit("/", 1)[0] + f"/{database}"

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.ports.api}"

    @property
    def platform_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.platform}"

    def settings(self) -> dict[str, str]:
        """What docker-compose.yaml's ``x-airflow-common`` environment sets, for this machine
        (tests/e2e/test_e2e_compose_parity.py compares the two)."""
        metadata = self.pg_url(self.airflow_db)
        return {
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__CORE__AUTH_MANAGER": FAB,
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata,
            "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + metadata,  # SQLAlchemy 2.1 defaults to psycopg 3
            "AIRFLOW__CELERY__BROKER_URL": REDIS,
            "AIRFLOW__CORE__FERNET_KEY": self._fernet(),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "false",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.base}/execution/",
            "AIRFLOW__API_AUTH__JWT_SECRET": f"e2e-jwt-{self.tag}",
            "AIRFLOW__API__SECRET_KEY": f"e2e-secret-{self.tag}",
            "AIRFLOW__SECRETS__BACKEND": "airflow.secrets.local_filesystem.LocalFilesystemBackend",
            "AIRFLOW__SECRETS__BACKEND_KWARGS": json.dumps(
                {"connections_file_path": str(self.home / "connections.json")}),
            "CREDITSYNC_HOME": str(REPO),
            "CREDITSYNC_DB_URL": self.pg_url(self.gateway_db),
        }

    def _fernet(self) -> str:
        path = self.home / "fernet.key"
        if not path.exists():
            from cryptography.fernet import Fernet

            path.write_bytes(Fernet.generate_key())
        return path.read_text()

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "CREDITSYNC_"))}
        env.update(self.settings())
        env.update({
            "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
            "AIRFLOW_HOME": str(self.home / "airflow"),
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__API__HOST": "127.0.0.1", "AIRFLOW__API__PORT": str(self.ports.api),
            "AIRFLOW__API__BASE_URL": self.base,
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(self.worker_concurrency),
            # a worker that died is noticed in seconds, not five minutes; so is a dead scheduler
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "20",
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_THRESHOLD": "15",
            "AIRFLOW__SCHEDULER__ORPHANED_TASKS_CHECK_INTERVAL": "10",
            # a message a dead worker had reserved but not started is queued again after this long
            "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT": "60",
            "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT_CHECK_INTERVAL": "10",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "CREDITSYNC_ADAPTERS_DIR": str(self.home / "adapters"),
            "CREDITSYNC_AUDIT_CHECKPOINTS": str(self.home / "audit-checkpoints.jsonl"),
            "CREDITSYNC_SOURCE_TOKEN": self.source_token,
            "CREDITSYNC_RETRY_MAX_WAIT_S": "1",
        })
        env.update(self.extra_env)
        env.update(extra)
        return env

    # -- set-up ----------------------------------------------------------------------------------
    def prepare(self) -> None:
        (self.home / "airflow").mkdir(parents=True, exist_ok=True)
        adapters = self.home / "adapters"
        adapters.mkdir(exist_ok=True)
        for name, overrides in self.departments.items():
            demo = REPO / "adapters" / f"{name}.yaml"
            config = yaml.safe_load(demo.read_text("utf-8")) if demo.exists() else {}
            config.update(overrides)
            (adapters / f"{name}.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), "utf-8")
        self._connections()
        self._databases("CREATE")

    def _connections(self) -> None:
        """Connections come from a secrets backend (here Airflow's local-file one), never from code."""
        token = self.source_token
        conns = {"creditsync_platform": {"conn_type": "http", "host": "127.0.0.1",
                                         "port": self.ports.platform, "password": self.app_key},
                 "market_supervision_source": {"conn_type": "http", "host": "127.0.0.1",
                                               "port": self.ports.market, "password": token},
                 "ecology_environment_source": {"conn_type": "http", "host": "127.0.0.1",
                                                "port": self.ports.ecology, "password": token}}
        (self.home / "connections.json").write_text(json.dumps(conns), "utf-8")

    def _databases(self, verb: str) -> None:
        from sqlalchemy import create_engine, text

        admin = create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                for name in (self.airflow_db, self.gateway_db):
                    conn.execute(text(f'CREATE DATABASE "{name}"' if verb == "CREATE"
                                      else f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        finally:
            admin.dispose()

    def run(self, *command: str, timeout: float = 300) -> str:
        """A one-off command (the init steps) with the deployment's environment; its output."""
        done = subprocess.run(command, env=self.env(), capture_output=True, text=True, timeout=timeout,
                              cwd=self.home)
        if done.returncode:
            raise RuntimeError(f"{command} exited {done.returncode}:\n{done.stdout[-3000:]}\n"
                               f"{done.stderr[-3000:]}")
        return done.stdout

    def init(self) -> None:
        """compose's ``airflow-init``: Airflow's migrations, then the gateway's own init step, users."""
        self.run(str(BIN / "airflow"), "db", "migrate")
        self.run(str(BIN / "creditsync"), "deploy-init")
        self.run(str(BIN / "python"), "-c", CREATE_USERS, json.dumps(USERS))

    # -- processes -------------------------------------------------------------------------------
    def start(self, name: str, *command: str, **extra_env: str) -> subprocess.Popen[bytes]:
        log = (self.home / f"{name}.log").open("ab")
        process = subprocess.Popen(command, env=self.env(**extra_env), stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True, cwd=self.home)
        self.processes[name] = process
        return process

    def start_simulators(self) -> None:
        self.start("platform-sim", str(BIN / "python"), "-c", PLATFORM_SIM, str(self.ports.platform),
                   str(self.home / "platform.db"), str(self.platform_slow_ms),
                   CREDITSYNC_PLATFORM_APP_KEY=self.app_key)
        self.start("source-market", str(BIN / "creditsync"), "source-sim", "market_supervision",
                   "--port", str(self.ports.market), "--workdir", str(self.home / "sim"))
        self.start("source-ecology", str(BIN / "creditsync"), "source-sim", "ecology_environment",
                   "--port", str(self.ports.ecology), "--workdir", str(self.home / "sim"))

    def start_airflow(self) -> None:
        airflow = str(BIN / "airflow")
        self.start("api-server", airflow, "api-server", "--workers", "1")
        wait_until(lambda: _ok(f"{self.base}/api/v2/monitor/health"), 240, "api-server healthy",
                   self.processes["api-server"], self.home / "api-server.log")
        self.start("scheduler-1", airflow, "scheduler", "--skip-serve-logs")
        self.start("scheduler-2", airflow, "scheduler", "--skip-serve-logs")
        self.start("dag-processor", airflow, "dag-processor")
        self.start("triggerer", airflow, "triggerer", "--skip-serve-logs")
        for n in (1, 2):
            self.start_worker(n)
        for n in (1, 2):
            self.wait_worker(n)

    def wait_worker(self, n: int) -> None:
        log = self.home / f"worker-{n}.log"
        wait_until(lambda: " ready." in log.read_text("utf-8", errors="replace"), 180, f"worker-{n} ready",
                   self.processes[f"worker-{n}"], log)

    def start_worker(self, n: int) -> subprocess.Popen[bytes]:
        return self.start(f"worker-{n}", str(BIN / "airflow"), "celery", "worker", "--celery-hostname",
                          f"worker{n}-{self.tag}@%h", "--skip-serve-logs", "--without-mingle",
                          "--without-gossip")

    def kill(self, name: str) -> None:
        """SIGKILL the process and every child in its group: a machine lost, nothing cleans up."""
        process = self.processes[name]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)

    def group_of(self, pid: int) -> str | None:
        pgid = os.getpgid(pid)
        return next((name for name, p in self.processes.items() if p.pid == pgid), None)

    def stop(self) -> None:
        for name in list(self.processes):
            stop_group(self.processes.pop(name))
        self._databases("DROP")
        _flush_redis()

    # -- REST ------------------------------------------------------------------------------------
    def token(self, user: str) -> str:
        answer = requests.post(f"{self.base}/auth/token", json={"username": user, "password": password(user)},
                               timeout=60)
        answer.raise_for_status()
        return str(answer.json()["access_token"])


def password(user: str) -> str:
    return f"{user}-e2e-password"


def stop_group(process: subprocess.Popen[bytes]) -> None:
    for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
    _reap_group(process.pid)


def _reap_group(pgid: int) -> None:
    """Children that outlived their leader stay in its group: SIGKILL whatever is left of it."""
    for _ in range(20):
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            return
        time.sleep(0.2)


def _flush_redis() -> None:
    import redis

    client = redis.Redis.from_url(REDIS)
    try:
        client.flushdb()
    finally:
        client.close()


def _ok(url: str) -> bool:
    try:
        return requests.get(url, timeout=3).ok
    except requests.RequestException:
        return False


def wait_until(check: Callable[[], Any], seconds: float, what: str,
               process: subprocess.Popen[bytes] | None = None, log: Path | None = None) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what}: exited {process.returncode}\n{_tail(log)}")
        try:
            if value := check():
                return value
        except requests.RequestException:  # a busy api-server answering late is "not yet"
            pass
        time.sleep(1)  # polling live processes, not a retry
    raise TimeoutError(f"{what}: not after {seconds:.0f} s\n{_tail(log)}")


def _tail(log: Path | None) -> str:
    return log.read_text("utf-8", errors="replace")[-4000:] if log and log.exists() else ""


def processes_titled(text: str) -> Iterable[int]:
    """Pids whose command line (a process title once set) contains ``text``."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if text.encode() in (entry / "cmdline").read_bytes():
                    yield int(entry.name)
            except OSError:
                continue


# The platform simulator with every answer held back (``slow``) and no other fault, so a push lasts
# long enough to lose a worker in the middle of it.
PLATFORM_SIM = """
import sys
from creditsync.simulators.platform import FaultConfig, run_platform_simulator
from creditsync.settings import PLATFORM_APP_KEY
port, store, slow = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
faults = FaultConfig(fault_rate=1.0 if slow else 0.0, slow_ms=slow, kinds=("slow",), seed=7)
run_platform_simulator("127.0.0.1", port, store, faults, PLATFORM_APP_KEY.read())
"""

# FAB users of the given roles (what compose's _AIRFLOW_WWW_USER_CREATE does for the admin).
CREATE_USERS = """
import json, sys
from airflow.providers.fab.auth_manager.cli_commands.utils import get_application_builder
with get_application_builder() as appbuilder:
    manager = appbuilder.sm
    for user, role in json.loads(sys.argv[1]).items():
        if manager.find_user(username=user) is None:
            found = manager.find_role(role)
            assert found is not None, role
            assert manager.add_user(user, user, "e2e", f"{user}@example.org", found, f"{user}-e2e-password")
"""
