"""``report__quality``: once a day (01:00, Beijing time) each department's quality scorecard for the
quarter so far and its rejection feedback (XLSX, in Chinese) written to the configured folder
(``CREDITSYNC_QUALITY_REPORTS_DIR``), published as an Asset other DAGs can follow; then the records
not acknowledged by working day 5 of their 7 are alerted, once each: by email through Airflow's SMTP
provider (``smtp_default``) when ``CREDITSYNC_QUALITY_ALERT_TO`` names recipients, else in the task log
(the console's 质量 page lists them either way). The work is the library's (creditsync.quality)."""

from __future__ import annotations

import html
import logging
from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import DAG, Asset, get_current_context, task

from creditsync.orchestration.expiry_dag import run_day

DAG_ID = "report__quality"
ZONE = "Asia/Shanghai"
SCORECARDS = Asset(name="creditsync_quality_scorecards", uri="creditsync://quality/scorecards")
SMTP_CONN_ID = "smtp_default"
log = logging.getLogger(__name__)


def quality_dag() -> DAG:
    with DAG(
        dag_id=DAG_ID, dag_display_name="数据质量 quality scorecards", schedule="0 1 * * *",
        start_date=pendulum.datetime(2026, 1, 1, tz=ZONE), catchup=False, max_active_runs=1,
        default_args={"owner": "creditsync", "retries": 2, "retry_delay": timedelta(minutes=5)},
        tags=["creditsync", "quality"],
        doc_md="Daily: each department's 及时率/合规率/完整率 scorecard and rejection feedback (XLSX) to "
               "`CREDITSYNC_QUALITY_REPORTS_DIR`, as the Asset `creditsync_quality_scorecards`; records "
               "not acknowledged by working day 5 alerted once (email when configured, else this log).",
    ) as dag:
        written = _write_scorecards.override(task_id="write_scorecards", outlets=[SCORECARDS])()
        written >> _alert.override(task_id="alert_before_deadline")()
    return dag


@task
def _write_scorecards() -> dict[str, Any]:
    from creditsync.pipeline.runner import Gateway
    from creditsync.quality import current_quarter
    from creditsync.quality.reports import write_daily_files

    today = run_day(get_current_context())
    gateway = Gateway.open()
    try:
        files = write_daily_files(gateway.store, gateway.settings, current_quarter(today), today)
    finally:
        gateway.store.dispose()
    for path in [*files.scorecards, *files.feedback]:
        log.info("wrote %s", path)
    return {"as_of": today.isoformat(), "folder": str(files.folder), "scorecards": len(files.scorecards),
            "feedback": len(files.feedback)}


@task
def _alert() -> dict[str, Any]:
    from creditsync import settings
    from creditsync.pipeline.runner import Gateway
    from creditsync.quality.alerts import due_alerts, record_alerts

    context = get_current_context()
    today = run_day(context)
    gateway = Gateway.open()
    try:
        with gateway.store.engine.begin() as conn:
            alerts = due_alerts(conn, today)
            for alert in alerts:
                log.warning("quality alert: %s", alert.line())
            channel = _email(alerts, settings.quality_alert_to(), context) if alerts else "none"
            record_alerts(conn, alerts, channel)
    finally:
        gateway.store.dispose()
    return {"as_of": today.isoformat(), "alerted": len(alerts), "channel": channel}


def _email(alerts: list[Any], recipients: str | None, context: Any) -> str:
    """Email when recipients are configured and the SMTP connection answers; the log has them anyway."""
    if not recipients:
        return "log"
    from airflow.providers.smtp.notifications.smtp import SmtpNotifier

    rows = "".join(f"<li>{html.escape(alert.line())}</li>" for alert in alerts)
    subject = f"双公示即将逾期 {len(alerts)} 条 · records due soon"
    notifier = SmtpNotifier(to=[r.strip() for r in recipients.split(",") if r.strip()],
                            smtp_conn_id=SMTP_CONN_ID, subject=subject,
                            html_content=f"<p>以下记录决定后已满5个工作日仍未公示：</p><ul>{rows}</ul>")
    try:
        notifier.notify(context)
    except Exception as exc:  # a mail server down must not lose the alert: it is in the log above
        log.warning("quality alert email not sent (%s): the task log holds the alerts", type(exc).__name__)
        return "log"
    return "email"
