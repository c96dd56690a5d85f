"""The daily publication run (the ``display__expiry`` DAG, ``creditsync expire`` and ``repair``): pull the
platform's repairs, end what is past its display period, and deliver the withdrawals at once.

Each withdrawal is delivered by its department's own push (its outbox goes in order, as its own sync
sends it), with the department's delivery settings; the platform's confirmation ends each record in its
final state (``expired``, ``repaired``) with the working days the withdrawal took.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from creditsync.exceptions import ConfigurationError
from creditsync.pipeline.push import push
from creditsync.pipeline.runner import Gateway, delivery_department
from creditsync.publication.expiry import ExpiryReport, expire
from creditsync.publication.repair_feed import PullReport, RepairFeedClient, pull_repairs
from creditsync.store.models import OutboxItem
from creditsync.store.states import OutboxStatus


@dataclass
class DailyReport:
    repairs: PullReport
    expiry: ExpiryReport
    delivered: list[str]  # departments whose outbox was pushed


def daily_run(gateway: Gateway, today: date) -> DailyReport:
    client = gateway.platform_client()
    repairs = pull_repairs(gateway.store, RepairFeedClient.like(client))
    expiry = expire(gateway.store, today, severity_defaults=severity_defaults(gateway))
    departments = {o.department for o in repairs.applied if o.withdrawal_queued} | set(expiry.departments)
    return DailyReport(repairs, expiry, deliver_withdrawals(gateway, departments))


def severity_defaults(gateway: Gateway) -> dict[str, str]:
    """Each configured department's severity of penalties its mapping gives none."""
    from creditsync.departments import load_departments

    try:
        configs = load_departments(gateway.settings.adapters_dir)
    except ConfigurationError:
        return {}
    return {c.department: c.publication.severity_default for c in configs if c.publication.severity_default}


def deliver_withdrawals(gateway: Gateway, departments: Iterable[str]) -> list[str]:
    """Push each department's outbox now: the withdrawals just queued, and whatever waits before them."""
    delivered = []
    for department in sorted(set(departments)):
        with gateway.store.reader() as session:
            category = session.scalar(select(OutboxItem.category).where(
                OutboxItem.department == department, OutboxItem.status == OutboxStatus.PENDING).limit(1))
        if category is None:
            continue
        config = delivery_department(gateway, department, category)
        push(gateway.context(config), gateway.sink(config))
        delivered.append(department)
    return delivered
