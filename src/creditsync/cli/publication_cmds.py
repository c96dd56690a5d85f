"""``creditsync expire`` (公示期满) and ``creditsync repair`` (信用修复): the publication rules that take a
record off display (creditsync.publication). Exit 0 done, 2 usage error, 3 delivery incomplete (the
withdrawals stay queued and go with the department's next push)."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from creditsync.cli.output import EXIT_USAGE, console, errors, gateway_errors, print_json

if TYPE_CHECKING:
    from creditsync.pipeline.runner import Gateway

app = typer.Typer()


class Format(StrEnum):
    table = "table"
    json = "json"


@app.command("expire")
def expire_cmd(
    dry_run: bool = typer.Option(False, "--dry-run", help="List what would be withdrawn; change nothing."),
    today: str = typer.Option(None, "--today", metavar="DATE",
                              help="Run as of this day (YYYY-MM-DD; default: today in Asia/Shanghai)."),
    deliver: bool = typer.Option(True, "--deliver/--queue-only",
                                 help="Send the withdrawals now, or leave them to the next sync's push."),
    output: Format = typer.Option(Format.table, "--format", "-f"),
) -> None:
    """Withdraw every record whose display period is over (终止公示, reason 公示期满), audited."""
    from creditsync.pipeline.daily import deliver_withdrawals, severity_defaults
    from creditsync.publication.expiry import expire
    from creditsync.schema.values import shanghai_today

    day = _day(today, "--today") or shanghai_today()
    with gateway_errors():
        gateway = _gateway()
        try:
            report = expire(gateway.store, day, dry_run=dry_run, severity_defaults=severity_defaults(gateway))
            if deliver and not dry_run:
                deliver_withdrawals(gateway, report.departments)
        finally:
            gateway.store.dispose()
    if output is Format.json:
        print_json({"today": report.today, "run_id": report.run_id, "dry_run": report.dry_run,
                    "periods_filled": report.periods_filled, "tampered": report.tampered,
                    "expired": [vars(r) for r in report.expired]})
        return
    table = Table("business key", "文书号", "last display day", "action",
                  title=f"display over as of {report.today}" + (" (dry run)" if dry_run else ""))
    for row in report.expired:
        table.add_row(row.business_key, row.document_no, row.display_until.isoformat(),
                      "withdrawal queued" if row.queued else "ended (never on the platform)")
    console.print(table)
    console.print(f"{len(report.expired)} record(s) past their display period; "
                  f"{report.periods_filled} display period(s) computed"
                  + (f"; {report.tampered} record(s) altered outside the gateway left alone (see the "
                     "quarantine)" if report.tampered else ""))


@app.command("repair")
def repair_cmd(
    record: str = typer.Argument(None, metavar="KEY|文书号", help="The record: business key or 文书号."),
    decision_no: str = typer.Option(None, "--decision-no", help="The repair decision's number."),
    reason: str = typer.Option(None, "--reason", help="Why display stops (from the decision)."),
    decided_on: str = typer.Option(None, "--decided-on", metavar="DATE", help="The decision's date."),
    pull: bool = typer.Option(False, "--pull", help="Apply the repairs the platform's feed reports."),
    deliver: bool = typer.Option(True, "--deliver/--queue-only",
                                 help="Send the withdrawal now, or leave it to the next sync's push."),
    output: Format = typer.Option(Format.table, "--format", "-f"),
) -> None:
    """Record a credit repair decision (信用修复): display stops at once and for good, audited with the
    decision number; or, with --pull, apply those the platform granted."""
    if pull == bool(record):
        errors.print("give either a record (KEY|文书号 with --decision-no and --reason) or --pull")
        raise typer.Exit(EXIT_USAGE)
    with gateway_errors():
        gateway = _gateway()
        try:
            if pull:
                _pull(gateway, output)
            else:
                _repair_one(gateway, record, decision_no, reason, _day(decided_on, "--decided-on"),
                            deliver, output)
        finally:
            gateway.store.dispose()


def _repair_one(gateway: Gateway, target: str, decision_no: str | None, reason: str | None,
                decided_on: date | None, deliver: bool, output: Format) -> None:
    from creditsync.audit import AuditTrail
    from creditsync.lifecycle import RunScope, now
    from creditsync.lifecycle.withdrawals import find_record
    from creditsync.pipeline.daily import deliver_withdrawals
    from creditsync.publication.repair import RepairDecision, repair

    decision = RepairDecision(decision_no or "", reason or "", decided_on)
    scope = RunScope("(repair)", f"repair__{now().strftime('%Y%m%dT%H%M%S%f')}", AuditTrail())
    outcome = repair(gateway.store, scope, target, decision)
    if deliver:  # also what an earlier run of this command queued and could not deliver
        with gateway.store.reader() as session:
            deliver_withdrawals(gateway, [find_record(session, outcome.business_key).department])
    if output is Format.json:
        print_json(vars(outcome))
        return
    verb = "already recorded" if outcome.already_repaired else "repaired"
    sent = " (withdrawal queued)" if outcome.withdrawal_queued else ""
    console.print(f"{outcome.business_key} ({outcome.document_no}): {verb}, decision {decision.decision_no}"
                  f"{sent}; was {outcome.previous_state}")


def _pull(gateway: Gateway, output: Format) -> None:
    from creditsync.publication.repair_feed import RepairFeedClient, pull_repairs

    report = pull_repairs(gateway.store, RepairFeedClient.like(gateway.platform_client()))
    if output is Format.json:
        print_json({"since": report.since, "received": report.received, "cursor": report.cursor,
                    "applied": [vars(o) for o in report.applied],
                    "unmatched": [n.model_dump(mode="json") for n in report.unmatched]})
        return
    console.print(f"{report.received} repair(s) from the platform since {report.since or 'the start'}: "
                  f"{len(report.applied)} applied, {len(report.unmatched)} for records the gateway "
                  "does not hold")


def _gateway() -> Gateway:
    from creditsync.pipeline.runner import Gateway

    return Gateway.open()


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)", param_hint=option) from None
