"""``display__expiry``: once a day (midnight, Beijing time) the publication rules' run
(creditsync.pipeline.daily): the platform's repair decisions, records past their display period
withdrawn (终止公示, 公示期满), the withdrawals delivered and settled. The DAG only picks the day and the
actor; the work is the library's, as ``creditsync expire`` does it."""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Any

import pendulum
from airflow.sdk import DAG, get_current_context, task

DAG_ID = "display__expiry"
ZONE = "Asia/Shanghai"  # display periods end on local calendar days
log = logging.getLogger(__name__)


def expiry_dag() -> DAG:
    with DAG(
        dag_id=DAG_ID, dag_display_name="公示期满 display expiry", schedule="@daily",
        start_date=pendulum.datetime(2026, 1, 1, tz=ZONE), catchup=False, max_active_runs=1,
        default_args={"owner": "creditsync", "retries": 2, "retry_delay": timedelta(minutes=5)},
        tags=["creditsync", "publication"],
        doc_md="Daily: credit repairs from the platform (信用修复), records past their display period "
               "withdrawn (终止公示, 公示期满), withdrawals delivered and settled.",
    ) as dag:
        _expire.override(task_id="expire")()
    return dag


@task
def _expire() -> dict[str, Any]:
    from creditsync.orchestration.actors import acting_as, run_actor
    from creditsync.orchestration.connections import use_airflow_connections
    from creditsync.pipeline.daily import daily_run
    from creditsync.pipeline.runner import Gateway

    use_airflow_connections()
    context = get_current_context()
    today, actor = run_day(context), run_actor(context["dag_run"])
    gateway = Gateway.open()
    try:
        with acting_as(actor):
            report = daily_run(gateway, today)
    finally:
        gateway.store.dispose()
    for record in report.expiry.expired:
        log.info("display over: %s %s (last day %s)%s", record.business_key, record.document_no or "",
                 record.display_until, "" if record.queued else ", never on the platform")
    summary = {"today": today.isoformat(), "actor": actor, "repairs_received": report.repairs.received,
               "repairs_applied": len(report.repairs.applied), "expired": len(report.expiry.expired),
               "withdrawals_queued": sum(r.queued for r in report.expiry.expired),
               "delivered": report.delivered, "periods_filled": report.expiry.periods_filled,
               "tampered": report.expiry.tampered}
    log.info("display expiry as of %s: %s", today, summary)
    return summary


def run_day(context: Any) -> date:
    """The local day a run stands for: its data interval's end (a scheduled run at midnight covers the
    day that starts then), else when it was due to run (a manual run)."""
    moment = context.get("data_interval_end") or context["dag_run"].run_after
    return pendulum.instance(moment).in_timezone(ZONE).date()
