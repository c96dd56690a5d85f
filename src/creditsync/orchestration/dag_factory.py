"""One DAG per configured department, id ``sync__<department>`` shown under the department's Chinese
name: pull → push → report → all_published (skipped when the run was partial); and the daily
``display__expiry`` (creditsync.orchestration.expiry_dag).

Parsing reads only the YAML files beside the DAGs (no network, no database). Tasks pass counts through
XCom, never records; each is safe to retry because every step is idempotent in the gateway store. Audit
entries of a run name the Airflow user who triggered it, else ``scheduler`` (orchestration.actors); the
pull and report logs list the run's quarantined records, and a run that was not clean gets a note in
the grid (orchestration.listeners).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from airflow.sdk import DAG, get_current_context, task

from creditsync.departments import DepartmentConfig, load_department_file
from creditsync.exceptions import ConfigurationError
from creditsync.orchestration.airflow_native import (
    acked_in_run,
    announce_published,
    published_alias,
    published_assets,
    run_deadline,
)
from creditsync.settings import load_settings

log = logging.getLogger(__name__)
START = datetime(2026, 1, 1)


def build_dags(home: Path | None = None) -> dict[str, DAG]:
    """Every department file becomes a DAG; a broken file becomes a DAG that fails saying why,
    so one department's mistake never hides the others. Plus the daily publication DAG."""
    from creditsync.orchestration.expiry_dag import DAG_ID, expiry_dag

    if home is not None:
        os.environ.setdefault("CREDITSYNC_HOME", str(home))
    adapters_dir = load_settings().adapters_dir
    dags: dict[str, DAG] = {}
    for path in sorted(adapters_dir.glob("*.yaml")):
        dag_id = f"sync__{path.stem}"
        try:
            config = load_department_file(path)
        except ConfigurationError as exc:
            dags[dag_id] = _broken_dag(dag_id, str(exc))
            continue
        if config.enabled:
            dags[dag_id] = department_dag(config)
    dags[DAG_ID] = expiry_dag()
    return dags


def _default_args(config: DepartmentConfig | None = None) -> dict[str, Any]:
    args: dict[str, Any] = {"owner": "creditsync", "retries": 2, "retry_delay": timedelta(minutes=1),
                            "retry_exponential_backoff": True}
    if config is not None:  # one pool per department (created by `creditsync deploy-init`)
        args.update(pool=config.pool_name(), retries=config.retries,
                    retry_delay=timedelta(seconds=config.retry_delay_s))
    return args


def department_dag(config: DepartmentConfig) -> DAG:
    name = config.department
    with DAG(
        dag_id=f"sync__{name}", dag_display_name=config.name, schedule=config.schedule, start_date=START,
        catchup=False,
        max_active_runs=1,  # runs of one department share its cursors: one at a time
        default_args=_default_args(config), tags=["creditsync", name],
        deadline=run_deadline(config),  # orchestration.airflow_native
        doc_md=f"**{config.name}** ({name}) → municipal credit platform. Streams: "
               + ", ".join(s.category for s in config.streams),
    ) as dag:
        # The source's read deadlines bound the pull (creditsync.sources.limits); this is the backstop for
        # a read blocked where the framework cannot interrupt it (a driver call that never returns).
        pulled = _pull.override(task_id="pull", execution_timeout=config.pull_timeout())(name)
        pushed = _push.override(task_id="push", outlets=[published_alias(name)])(name)
        # The report reads what the run published; naming the assets here lets the dag-processor register
        # and activate them when it parses the file: activated at run time instead, two HA schedulers
        # race to insert the same asset_active row and one of them dies (Airflow 3.3.2).
        reported = _report.override(task_id="report", inlets=published_assets(config))(name)
        pulled >> pushed >> reported
        # Green only when everything was published: skipped (pink in the grid) for a partial run
        _all_published.override(task_id="all_published", retries=0)(reported)
    return dag


def _broken_dag(dag_id: str, error: str) -> DAG:
    with DAG(dag_id=dag_id, dag_display_name=f"{dag_id} (配置错误 configuration error)", schedule=None,
             start_date=START, catchup=False,
             tags=["creditsync", "misconfigured"], doc_md=f"Configuration error: {error}") as dag:
        _config_error.override(task_id="configuration_error")(error)
    return dag


@task
def _config_error(error: str) -> None:
    raise ConfigurationError(error)


@task
def _pull(department: str) -> dict[str, Any]:
    from creditsync.orchestration.quarantine_log import log_run_quarantine
    from creditsync.pipeline import pull

    with fail_without_retry():  # a configuration error (a store not upgraded, say) is no retry's business
        ctx = _context(department)
        counts = pull(ctx)
    log_run_quarantine(ctx, log)
    return counts


@task
def _push(department: str) -> dict[str, Any]:
    from creditsync.pipeline import push
    from creditsync.sinks.registry import sink_for

    with fail_without_retry():
        ctx = _context(department)
        counts = push(ctx, sink_for(ctx.settings, ctx.department))
    announce_published(department, acked_in_run(ctx), get_current_context())
    return counts


@task
def _report(department: str) -> dict[str, Any]:
    from creditsync.orchestration.quarantine_log import log_run_quarantine
    from creditsync.pipeline import report

    with fail_without_retry():
        ctx = _context(department)
    log_run_quarantine(ctx, log)  # before the threshold may fail the task: the log names the records
    with fail_without_retry():  # past the threshold a retry finds the same records: fail at once
        summary = report(ctx)
    log.info("%s run %s: %s", department, ctx.run_id, summary.get("status"))
    return summary


@task
def _all_published(summary: Any) -> None:  # the report step's summary (an XCom until it runs)
    """The run's last square in Airflow's grid: success for a clean run, skipped for a run that quarantined
    records or left deliveries pending (Airflow counts a run with a skipped task as successful, so the run
    stays green; this square is what tells IT staff the run was partial, in Airflow's own UI)."""
    from creditsync.orchestration.run_note import all_published_or_why

    why = all_published_or_why(summary)
    if why:
        from airflow.sdk.exceptions import AirflowSkipException

        raise AirflowSkipException(why)
    log.info("all records of the run published")


def _context(department: str) -> Any:
    """Built inside the task, so parsing the DAG file never opens the store."""
    from creditsync.audit import AuditTrail
    from creditsync.orchestration.actors import run_actor
    from creditsync.orchestration.connections import use_airflow_connections
    from creditsync.pipeline.runner import Gateway

    use_airflow_connections()
    airflow_context = get_current_context()
    gateway = Gateway.open()
    dag_run = airflow_context["dag_run"]
    run_id = gateway_run_id(department, dag_run.run_id)
    try_number = int(getattr(airflow_context["ti"], "try_number", 1) or 1)
    ctx = gateway.context(gateway.department(department), run_id, trigger="airflow", try_number=try_number)
    ctx.audit = AuditTrail(actor=run_actor(dag_run))
    log.info("gateway run %s, try %d, acting for %s", run_id, try_number, ctx.audit.actor)
    return ctx


@contextmanager
def fail_without_retry() -> Iterator[None]:
    """A FatalError or ConfigurationError means retrying cannot help (creditsync.exceptions): the task
    fails at once, so the grid shows the failure now rather than after every retry's wait."""
    from creditsync.exceptions import FatalError

    try:
        yield
    except (FatalError, ConfigurationError) as exc:
        from airflow.sdk.exceptions import AirflowFailException

        raise AirflowFailException(str(exc)) from exc


def gateway_run_id(department: str, dag_run_id: str) -> str:
    """Airflow run ids are unique per DAG only (every hourly DAG has ``scheduled__…T13:00:00``): the
    gateway's run id carries the DAG id so two departments' runs never share staging or cursors."""
    return f"sync__{department}/{dag_run_id}"
