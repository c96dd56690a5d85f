"""``feed__platform``: every 15 minutes, the platform's joint-punishment lists and credit grades pulled
into the store (creditsync.credit.feed), then the changes delivered to the departments that subscribed
(creditsync.credit.deliveries). The DAG only picks the actor; the work is the library's, as
``creditsync feed pull`` and ``creditsync feed deliver`` do it."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import DAG, get_current_context, task

DAG_ID = "feed__platform"
log = logging.getLogger(__name__)


def feed_dag() -> DAG:
    with DAG(
        dag_id=DAG_ID, dag_display_name="信用名单与评价 platform credit feeds", schedule="*/15 * * * *",
        start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai"), catchup=False, max_active_runs=1,
        default_args={"owner": "creditsync", "retries": 2, "retry_delay": timedelta(minutes=2)},
        tags=["creditsync", "credit"],
        doc_md="The platform's 失信联合惩戒对象名单, 重点关注名单 and 综合评价 grades, pulled incrementally "
               "(every version kept, audited), then delivered to the departments that subscribed.",
    ) as dag:
        _pull.override(task_id="pull")() >> _deliver.override(task_id="deliver")()
    return dag


@task
def _pull() -> dict[str, Any]:
    from creditsync.audit import AuditTrail
    from creditsync.credit.check import bind_checks
    from creditsync.credit.feed import CreditFeedClient, pull_all
    from creditsync.orchestration.actors import run_actor
    from creditsync.orchestration.connections import use_airflow_connections
    from creditsync.pipeline.runner import Gateway

    use_airflow_connections()
    actor = run_actor(get_current_context()["dag_run"])
    gateway = Gateway.open()
    try:
        reports = pull_all(gateway.store, CreditFeedClient.like(gateway.platform_client()), AuditTrail(actor))
        leftovers = bind_checks(gateway.store, AuditTrail(actor))  # checks an api-server left unbound
    finally:
        gateway.store.dispose()
    summary: dict[str, Any] = {r.feed: {"received": r.received, "cursor": r.cursor} for r in reports}
    summary["checks_bound"] = len(leftovers)
    log.info("credit feeds pulled: %s", summary)
    return summary


@task
def _deliver() -> dict[str, Any]:
    from creditsync.audit import AuditTrail
    from creditsync.credit.deliveries import deliver_all
    from creditsync.orchestration.actors import run_actor
    from creditsync.orchestration.connections import use_airflow_connections
    from creditsync.pipeline.runner import Gateway

    use_airflow_connections()
    actor = run_actor(get_current_context()["dag_run"])
    gateway = Gateway.open()
    try:
        delivered = deliver_all(gateway, AuditTrail(actor))
    finally:
        gateway.store.dispose()
    log.info("credit changes delivered: %s", delivered)
    return delivered
