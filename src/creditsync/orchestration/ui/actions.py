"""终止公示 by hand from the console: the lifecycle's operator withdrawal (creditsync.lifecycle.operations),
the same as ``creditsync withdraw``; the audit entry names the Airflow user."""

from __future__ import annotations

from creditsync.audit import AuditTrail
from creditsync.lifecycle import RunScope
from creditsync.lifecycle.operations import withdraw as withdraw_record
from creditsync.lifecycle.withdrawals import TakenDown
from creditsync.store import Store


def withdraw(store: Store, business_key: str, reason: str, trail: AuditTrail, run_id: str) -> TakenDown:
    """Queue 终止公示 for a record; ``run_id`` names the action in the trail and the outbox."""
    return withdraw_record(store, RunScope("(console)", run_id, trail), business_key, reason, mode="console")
