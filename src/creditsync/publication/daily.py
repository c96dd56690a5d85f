"""The daily publication run (the ``display__expiry`` DAG and the commands): pull the platform's
repairs, end what is past its display period, deliver the withdrawals, settle what was confirmed."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from sqlalchemy import select

from creditsync.publication.expiry import ExpiryReport, expire, settle_withdrawals
from creditsync.publication.repair_feed import PullReport, RepairFeedClient, pull_repairs
from creditsync.publication.severity import Severity
from creditsync.store.models import OutboxItem
from creditsync.store.states import OutboxStatus

if TYPE_CHECKING:
    from creditsync.pipeline.runner import Gateway


@dataclass
class DailyReport:
    repairs: PullReport
    expiry: ExpiryReport
    settled: list[str]


def daily_run(gateway: Gateway, today: date,
              severity_defaults: Mapping[str, Severity | str] | None = None) -> DailyReport:
    client = gateway.platform_client()
    repairs = pull_repairs(gateway.store, RepairFeedClient.like(client))
    expiry = expire(gateway.store, today, severity_defaults=severity_defaults)
    deliver_withdrawals(gateway, expiry.departments)
    return DailyReport(repairs, expiry, settle_withdrawals(gateway.store))


def deliver_withdrawals(gateway: Gateway, departments: Iterable[str]) -> None:
    """Push each department's outbox now: the withdrawals just queued, and whatever waits before them
    (a department's outbox goes in order, as its own push step sends it)."""
    from creditsync.pipeline import push
    from creditsync.pipeline.runner import handover_department

    client = None
    for department in departments:
        with gateway.store.reader() as session:
            category = session.scalar(select(OutboxItem.category).where(
                OutboxItem.department == department, OutboxItem.status == OutboxStatus.PENDING).limit(1))
        if category is None:
            continue
        client = client or gateway.platform_client()
        push(gateway.context(handover_department(gateway, department, category)), client)
