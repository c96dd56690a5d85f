"""Reconciliation: what the platform holds against what the gateway believes, and the repairs.

``creditsync reconcile DEPARTMENT`` (read-only unless ``--repair``). Two passes, each streamed in chunks:

1. **In flight**: outbox items still pending after an attempt. Their keys are asked back
   (docs/platform-protocol.md §3.2). A key the platform knows was committed there while its answer was
   lost (a dropped connection, a killed pusher): it is settled exactly as the receipt would have been
   (:mod:`creditsync.pipeline.receipts`), plus a ``reconciled`` entry saying how it was found. An
   unknown key is still owed: the next push sends it, with the same key.
2. **Delivered**: each published, withdrawn or repaired record's platform copy (§3.3) must exist, show
   the same state, and hold the content last acknowledged (its hash is the record's ``mapped_hash``).
   Repairs:
   unknown id, but the platform accepted one of the record's keys under another existing id → adopt it;
   unknown id otherwise → queue it again as a new row; other content → queue the acknowledged content
   again as a correction; withdrawn there only → the platform stopped the display itself (信用修复, or
   the display period ended): that stands, and the record becomes ``repaired``, which a later re-sync
   never publishes again (credit-data-standard §8.3); withdrawn here only → queue the withdrawal again.
   Queued items get a fresh idempotency key: the old one would only replay the platform's old answer.
   A payload that held an ID number is masked once acknowledged and cannot be resent as stored; such a
   record is marked to be re-read from the source instead, and stays unresolved until then.

Each repair is one transaction with its ``reconciled`` audit entry (which names the actor). Resending
an in-flight item with its own key would settle it just as well (the platform answers ``duplicate``
with the original id); this pass lets an auditor see, and settle, what is still open without pushing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from creditsync.audit.events import AuditEvent
from creditsync.hashing import content_hash
from creditsync.lifecycle import ChangeSet
from creditsync.lifecycle.receipts import Sent, apply_answers
from creditsync.lifecycle.resend import resend_current, sendable_content
from creditsync.lifecycle.stored import load_records
from creditsync.lifecycle.withdrawals import adopt_platform_ids, repair_record, withdraw_again
from creditsync.pipeline.context import SyncContext
from creditsync.privacy import REREAD_MARK
from creditsync.sinks.base import Receipt, Sink
from creditsync.store.bulk import lock_department
from creditsync.store.models import OutboxItem, Record

CHUNK = 500
FINDINGS_KEPT = 1000  # the counts cover everything; this many findings are kept to show
DELIVERED = ("published", "withdrawn", "repaired", "expired")


class Repair(StrEnum):
    """What is done about a difference (with ``--repair``; otherwise what would be done)."""

    SETTLE = "settle"  # store the answer the query-back found, as the receipt would have been
    ADOPT_ID = "adopt_platform_id"  # the platform holds the record under another id
    NEVER_REPUBLISH = "never_republish"  # the platform's own withdrawal stands: state repaired
    REQUEUE_WITHDRAWAL = "requeue_withdrawal"
    REQUEUE = "requeue"  # the acknowledged content again (a new row if missing, else a correction)
    REREAD = "reread"  # the same, but the stored payload is masked: from the source's next read
    BY_HAND = "check_by_hand"  # the id names another record: nothing automatic is safe


@dataclass
class Tally:
    checked: int = 0
    matching: int = 0
    repaired: int = 0
    unresolved: int = 0


@dataclass(frozen=True)
class Finding:
    business_key: str
    problem: str  # answer_lost | missing | content_differs | withdrawn_there | published_there | other_record
    platform_id: str | None
    action: Repair


@dataclass
class ReconcileReport:
    run_id: str
    repair: bool
    in_flight: Tally = field(default_factory=Tally)
    delivered: Tally = field(default_factory=Tally)
    awaiting_reread: int = 0  # marked by an earlier reconciliation, not re-read from the source yet
    findings: list[Finding] = field(default_factory=list)
    findings_total: int = 0

    @property
    def consistent(self) -> bool:
        return not (self.in_flight.unresolved or self.delivered.unresolved or self.awaiting_reread)

    def note(self, tally: Tally, finding: Finding, repaired: bool) -> None:
        self.findings_total += 1
        if len(self.findings) < FINDINGS_KEPT:
            self.findings.append(finding)
        if repaired:
            tally.repaired += 1
        else:
            tally.unresolved += 1


def reconcile(ctx: SyncContext, client: Sink, categories: list[str], *,
              repair: bool) -> ReconcileReport:
    report = ReconcileReport(ctx.run_id, repair)
    for category in categories:
        _settle_in_flight(ctx, client, category, report)
        report.awaiting_reread += _awaiting_reread(ctx, category)
        if not client.can_read_copies:  # a folder or a one-way table: the in-flight pass is all there is
            continue
        for chunk in _delivered(ctx, category):
            copies = client.records([r.platform_id for r in chunk if r.platform_id])
            for record in chunk:
                _check_record(ctx, client, record, report, copies.get(record.platform_id or ""))
    if repair:
        with ctx.store.transaction() as session:
            ctx.audit.append(session, AuditEvent.RECONCILIATION, department=ctx.name, run_id=ctx.run_id,
                             categories=categories, in_flight=vars(report.in_flight),
                             delivered=vars(report.delivered), awaiting_reread=report.awaiting_reread,
                             consistent=report.consistent)
    return report


# -- 1. in flight ------------------------------------------------------------------------------------

def _settle_in_flight(ctx: SyncContext, client: Sink, category: str,
                      report: ReconcileReport) -> None:
    after = 0
    while chunk := _in_flight_chunk(ctx, category, after):
        after = chunk[-1].id
        found = client.query(category, [item.idempotency_key for item in chunk])
        report.in_flight.checked += len(chunk)
        report.in_flight.matching += sum(item.idempotency_key not in found for item in chunk)
        for item in chunk:
            if (receipt := found.get(item.idempotency_key)) is not None:
                _answer_lost(ctx, item, receipt, report)


def _in_flight_chunk(ctx: SyncContext, category: str, after: int) -> list[OutboxItem]:
    with ctx.store.reader() as session:
        return list(session.scalars(select(OutboxItem).where(
            OutboxItem.department == ctx.name, OutboxItem.category == category,
            OutboxItem.status == "pending", OutboxItem.attempts > 0, OutboxItem.id > after)
            .order_by(OutboxItem.id).limit(CHUNK)))


def _answer_lost(ctx: SyncContext, item: OutboxItem, receipt: Receipt, report: ReconcileReport) -> None:
    finding = Finding(item.business_key, "answer_lost", receipt.platform_id, Repair.SETTLE)
    if not report.repair:
        report.note(report.in_flight, finding, repaired=False)
        return
    sent = Sent(item.id, item.idempotency_key, item.business_key, item.category, item.action, item.version,
                attempts=item.attempts, created_at=item.created_at)
    with ctx.store.transaction() as session:
        lock_department(session, ctx.name)
        changes = ChangeSet(ctx.scope)
        applied = apply_answers(session, changes, [sent], {item.idempotency_key: receipt},
                                batch_id=f"{ctx.run_id}#reconcile")
        if not applied.acked + applied.rejected:  # a push answered it meanwhile
            report.in_flight.matching += 1
            return
        _audit(changes, item.business_key, item.category, finding, idempotency_key=item.idempotency_key,
               status=receipt.status, attempts=item.attempts)
        changes.apply(session)
    report.note(report.in_flight, finding, repaired=True)


# -- 2. delivered ------------------------------------------------------------------------------------

def _delivered(ctx: SyncContext, category: str) -> Iterator[list[Record]]:
    """Records the platform has answered for, a chunk at a time (keyset pagination by business key):
    their platform copies are then read back with one request per chunk of ids."""
    after = ""
    while True:
        with ctx.store.reader() as session:
            chunk = list(session.scalars(select(Record).where(
                Record.department == ctx.name, Record.category == category, Record.state.in_(DELIVERED),
                Record.business_key > after).order_by(Record.business_key).limit(CHUNK)))
        if not chunk:
            return
        yield chunk
        after = chunk[-1].business_key


def _awaiting_reread(ctx: SyncContext, category: str) -> int:
    with ctx.store.reader() as session:
        return session.scalar(select(func.count()).select_from(Record).where(
            Record.department == ctx.name, Record.category == category,
            Record.mapped_hash == REREAD_MARK)) or 0


def _check_record(ctx: SyncContext, client: Sink, record: Record, report: ReconcileReport,
                  copy: dict[str, Any] | None) -> None:
    report.delivered.checked += 1
    problem = _problem(record, copy)
    if problem is None:
        report.delivered.matching += 1
        return
    if problem == "missing" and (adopted := _accepted_elsewhere(ctx, client, record)):
        _repair(ctx, record, report, Finding(record.business_key, problem, adopted, Repair.ADOPT_ID))
        return
    _repair(ctx, record, report, Finding(record.business_key, problem, record.platform_id,
                                         _remedy(ctx, record, problem)))


def _problem(record: Record, copy: dict[str, Any] | None) -> str | None:
    if copy is None:
        # Withdrawn here and absent there: nothing is displayed either way, which is what counts.
        return "missing" if record.state == "published" else None
    if copy.get("business_key") != record.business_key or copy.get("category") != record.category:
        return "other_record"
    there = copy.get("status")
    if record.state == "published" and there == "withdrawn":
        return "withdrawn_there"
    if record.state != "published" and there != "withdrawn":
        return "published_there"
    if record.state == "published" and content_hash(copy.get("data") or {}) != record.mapped_hash:
        return "content_differs"
    return None


def _accepted_elsewhere(ctx: SyncContext, client: Sink, record: Record) -> str | None:
    """The id under which the platform accepted one of the record's upserts, if that row exists."""
    with ctx.store.reader() as session:
        keys = list(session.scalars(select(OutboxItem.idempotency_key).where(
            OutboxItem.business_key == record.business_key, OutboxItem.action == "upsert",
            OutboxItem.attempts > 0).order_by(OutboxItem.id.desc())))
    found = client.query(record.category, keys) if keys else {}
    for key in keys:  # the newest first
        receipt = found.get(key)
        if receipt and receipt.platform_id and receipt.platform_id != record.platform_id \
                and client.record(receipt.platform_id) is not None:
            return receipt.platform_id
    return None


def _remedy(ctx: SyncContext, record: Record, problem: str) -> Repair:
    fixed = {"withdrawn_there": Repair.NEVER_REPUBLISH, "published_there": Repair.REQUEUE_WITHDRAWAL,
             "other_record": Repair.BY_HAND}
    if problem in fixed:
        return fixed[problem]
    with ctx.store.reader() as session:
        content = _acknowledged_content(ctx, session, record)
    return Repair.REQUEUE if content is not None else Repair.REREAD


# -- repairs -----------------------------------------------------------------------------------------

def _repair(ctx: SyncContext, record: Record, report: ReconcileReport, finding: Finding) -> None:
    if not report.repair or finding.action is Repair.BY_HAND:
        report.note(report.delivered, finding, repaired=False)
        return
    with ctx.store.transaction() as session:
        lock_department(session, ctx.name)
        changes = ChangeSet(ctx.scope)
        stored = load_records(session, ctx.scope.sealer, {record.business_key}, lock=True)
        row = stored.rows.get(record.business_key)
        if row is None or (row["state"], row["platform_id"]) != (record.state, record.platform_id):
            report.delivered.matching += 1  # changed meanwhile (a sync ran), or altered: seen next time
            return
        details = _apply(session, changes, stored, row, finding)
        _audit(changes, row["business_key"], row["category"], finding, **details)
        changes.apply(session)
    report.note(report.delivered, finding, repaired=finding.action is not Repair.REREAD)


def _apply(session: Session, changes: ChangeSet, stored: Any, row: dict[str, Any],
           finding: Finding) -> dict[str, Any]:
    """Change the record (and queue what must go again); the audit details of the change."""
    key = row["business_key"]
    details: dict[str, Any] = {"state_before": row["state"], "platform_id_before": row["platform_id"]}
    if finding.action is Repair.ADOPT_ID:
        adopt_platform_ids(changes, stored, {key: str(finding.platform_id)})
    elif finding.action is Repair.NEVER_REPUBLISH:
        repair_record(changes, stored, key, decision_no=None, platform_acted=True, found_by="reconciliation")
    elif finding.action is Repair.REQUEUE_WITHDRAWAL:
        details["idempotency_key"] = withdraw_again(changes, stored, key)
    else:
        missing = finding.problem == "missing"
        details["idempotency_key"] = resend_current(session, changes, stored, key, reason="reconciliation",
                                                    new_row=missing)
        if details["idempotency_key"] is None:  # sent again once re-read; not on display meanwhile
            row = changes.record(key) or row
            changes.write_record({**row, "state": "pending", **({"platform_id": None} if missing else {})})
    return details


def _acknowledged_content(ctx: SyncContext, session: Session, record: Record) -> dict[str, Any] | None:
    """The content the platform acknowledged for the record's version, if it can be sent again."""
    acked = session.scalar(select(OutboxItem.id).where(
        OutboxItem.business_key == record.business_key, OutboxItem.action == "upsert",
        OutboxItem.version == record.version, OutboxItem.status == "acked").limit(1))
    if acked is None:
        return None
    row = {column: getattr(record, column) for column in ("business_key", "version", "mapped_hash")}
    return sendable_content(session, ChangeSet(ctx.scope), row)


def _audit(changes: ChangeSet, business_key: str, category: str, finding: Finding, **details: Any) -> None:
    changes.event(AuditEvent.RECONCILED, category=category, business_key=business_key,
                  problem=finding.problem,
                  action=str(finding.action), platform_id=finding.platform_id, **details)
