"""Whole syncs without Airflow (the CLI), using exactly the steps the DAG runs."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from creditsync.delivery.client import PlatformClient
from creditsync.delivery.retry import default_retry_policy
from creditsync.departments import DepartmentConfig, SourceConfig, StreamConfig, load_department
from creditsync.exceptions import ConfigurationError
from creditsync.pipeline.beside import push_beside, worth_pushing_beside
from creditsync.pipeline.context import SyncContext, new_cli_run_id
from creditsync.pipeline.dry_run import dry_run as dry_run_preview
from creditsync.pipeline.handover import read_template_file
from creditsync.pipeline.pull import pull
from creditsync.pipeline.push import push
from creditsync.pipeline.report import report, summarise
from creditsync.secrets import get_connection, register_secret
from creditsync.settings import Settings, load_settings
from creditsync.sinks.base import Sink
from creditsync.sinks.registry import sink_for
from creditsync.store import Store, open_store


@dataclass
class Gateway:
    """Settings plus an open store: what every command starts from."""

    settings: Settings
    store: Store

    @classmethod
    def open(cls, settings: Settings | None = None) -> Gateway:
        settings = settings or load_settings()
        return cls(settings, open_store(settings.db_url))

    def department(self, name: str) -> DepartmentConfig:
        return load_department(self.settings.adapters_dir, name)

    def context(self, department: DepartmentConfig, run_id: str | None = None, *, trigger: str = "cli",
                try_number: int = 1) -> SyncContext:
        return SyncContext(self.settings, self.store, department,
                           run_id or new_cli_run_id(department.department), trigger, try_number)

    def platform_client(self) -> PlatformClient:
        return platform_client(self.settings)

    def sink(self, department: DepartmentConfig | None = None) -> Sink:
        """The interface the department's outbox goes through (CREDITSYNC_SINK, or its own ``sink``)."""
        return sink_for(self.settings, department)


def platform_client(settings: Settings) -> PlatformClient:
    """Address: CREDITSYNC_PLATFORM_URL, else the platform Connection's host. appKey:
    CREDITSYNC_PLATFORM_APP_KEY, else the Connection's password. Never from a file in the repository."""
    url, app_key = settings.platform_url, settings.platform_app_key
    if not url or not app_key:
        try:
            connection = get_connection(settings.platform_conn_id)
        except ConfigurationError:
            if not url:
                raise ConfigurationError(
                    "no platform address: set CREDITSYNC_PLATFORM_URL or the Connection "
                    f"{settings.platform_conn_id!r}") from None
        else:
            url = url or connection.base_url
            app_key = app_key or connection.password
    if not app_key:
        raise ConfigurationError("no platform appKey: set CREDITSYNC_PLATFORM_APP_KEY or the password "
                                 f"of the Connection {settings.platform_conn_id!r}")
    assert url is not None
    register_secret(app_key)  # masked in every message and log from now on
    return PlatformClient(url, app_key, **_client_options(settings))


def _client_options(settings: Settings) -> dict[str, Any]:
    """Operator settings (README): CREDITSYNC_RETRY_MAX_WAIT_S caps every retry wait, Retry-After
    included (default 30 s); CREDITSYNC_PLATFORM_TIMEOUT_S is how long to wait for an answer (default
    30 s). The reliability suite sets both low so its thousands of injected faults cost little time."""
    options: dict[str, Any] = {}
    if (wait := settings.retry_max_wait_s) is not None:
        options["retrying"] = default_retry_policy(max_wait=wait)
    if timeout := settings.platform_timeout_s:
        options["timeout"] = (min(5.0, timeout), timeout)
    return options


def sync_department(gateway: Gateway, name: str, categories: list[str] | None = None,
                    dry_run: bool = False) -> dict[str, Any]:
    ctx = gateway.context(gateway.department(name))
    if dry_run:
        return dry_run_preview(ctx, categories)
    sink = gateway.sink(ctx.department)
    # what each stored chunk queued goes while the next is read
    with push_beside(ctx, sink, enabled=worth_pushing_beside(ctx, sink)) as beside:
        pulled = pull(ctx, categories=categories)
    pushed = Counter(push(ctx, sink))
    pushed.update(beside.counts)  # not "+": a Counter sum drops the zero counts the report shows
    return {"run_id": ctx.run_id, "pulled": pulled, "pushed": dict(pushed), "report": report(ctx)}


def handover_department(gateway: Gateway, name: str, category: str) -> DepartmentConfig:
    """A file handed over by a department: its configured settings if it has a department file (a broken
    one is an error, not a silent fallback), else defaults."""
    settings: dict[str, Any] = {"name": name, "bad_record_threshold": 1.0}
    if (gateway.settings.adapters_dir / f"{name}.yaml").exists():
        base = gateway.department(name)
        settings.update(name=base.name, batch_size=base.batch_size, sink=base.sink)
    return DepartmentConfig(department=name, source=SourceConfig(kind="template_file"),
                            streams=[StreamConfig(category=category)], **settings)


def delivery_department(gateway: Gateway, name: str, category: str) -> DepartmentConfig:
    """Whose outbox a withdrawal goes out with: the department's own configuration (its batch sizes and
    concurrency), or the hand-over defaults for a department that only hands over files."""
    if (gateway.settings.adapters_dir / f"{name}.yaml").exists():
        return gateway.department(name)
    return handover_department(gateway, name, category)


def push_file(gateway: Gateway, path: Path, category: str, department: str) -> dict[str, Any]:
    """Validate → store → outbox → push → receipts → audit, for one handed-over template file."""
    ctx = gateway.context(handover_department(gateway, department, category))
    client = gateway.sink(ctx.department)
    # What an interrupted earlier run left in the outbox goes first, as a retried DAG push task would:
    # a re-run after a crash or a kill continues the delivery before it re-reads the whole file.
    drained = push(ctx, client)
    pull(ctx, records=read_template_file(path, category), canonical=True)
    result: dict[str, Any] = {"run_id": ctx.run_id}
    try:
        pushed = push(ctx, client)
        result["pushed"] = {key: drained.get(key, 0) + pushed.get(key, 0) for key in pushed | drained}
    finally:
        result["summary"] = summarise(ctx)
    result["report"] = report(ctx)
    return result
