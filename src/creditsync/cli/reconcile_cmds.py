"""``creditsync reconcile``: compare what the platform holds with what the gateway believes, and repair.

Exit 0 consistent (after the repairs, with --repair), 1 not, 2 usage error, 3 platform unreachable."""

from __future__ import annotations

from dataclasses import asdict
from enum import StrEnum
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from creditsync.cli.output import EXIT_INVALID, EXIT_OK, console, gateway_errors, print_json

if TYPE_CHECKING:
    from creditsync.departments import DepartmentConfig
    from creditsync.pipeline.reconcile import ReconcileReport
    from creditsync.pipeline.runner import Gateway


class ReportFormat(StrEnum):
    table = "table"
    json = "json"


def register(app: typer.Typer) -> None:
    app.command("reconcile")(reconcile_cmd)


def reconcile_cmd(
    department: str = typer.Argument(..., help="Department id, e.g. market_supervision"),
    category: list[str] = typer.Option(None, "--category", "-c", help="Only these categories."),
    repair: bool = typer.Option(False, "--repair/--check-only",
                                help="Repair what differs (each repair audited), or only report it."),
    output: ReportFormat = typer.Option(ReportFormat.table, "--format", "-f"),
    limit: int = typer.Option(50, "--limit", help="Show at most this many differences."),
) -> None:
    """Query the platform back for in-flight items and delivered records; report (or repair) the
    differences. Streams the department in chunks; one request per delivered record."""
    from creditsync.pipeline.context import new_cli_run_id
    from creditsync.pipeline.reconcile import reconcile
    from creditsync.pipeline.runner import Gateway

    with gateway_errors():
        gateway = Gateway.open()
        try:
            config, categories = _department(gateway, department, category)
            run_id = new_cli_run_id(department).replace("cli__", "reconcile__", 1)
            report = reconcile(gateway.context(config, run_id), gateway.sink(config), categories,
                               repair=repair)
        finally:
            gateway.store.dispose()
    _show(report, output, limit)
    raise typer.Exit(EXIT_OK if report.consistent else EXIT_INVALID)


def _department(gateway: Gateway, department: str,
                chosen: list[str] | None) -> tuple[DepartmentConfig, list[str]]:
    """Its configuration (or, for files handed over without one, a minimal one: reconciliation reads no
    source) and the categories to check: the chosen ones, else every one it is configured for or has
    records of. A department neither configured nor in the store is a typo, not a consistent one."""
    from sqlalchemy import select

    from creditsync.exceptions import ConfigurationError
    from creditsync.pipeline.runner import handover_department
    from creditsync.schema import CATEGORIES
    from creditsync.store.models import Record

    if unknown := [c for c in chosen or [] if c not in CATEGORIES]:
        raise ConfigurationError(f"unknown category {unknown[0]!r}; known: {', '.join(CATEGORIES)}")
    with gateway.store.reader() as session:
        held = set(session.scalars(select(Record.category).where(Record.department == department).distinct()))
    try:
        config = gateway.department(department)
    except ConfigurationError:
        if not held:
            raise ConfigurationError(f"unknown department {department!r}: not configured and no records "
                                     "in the store") from None
        config = handover_department(gateway, department, sorted(held)[0])
    categories = list(chosen) if chosen else sorted(held | {s.category for s in config.streams})
    return config, categories


def _show(report: ReconcileReport, output: ReportFormat, limit: int) -> None:
    if output is ReportFormat.json:
        print_json({"run_id": report.run_id, "repair": report.repair, "consistent": report.consistent,
                    "in_flight": asdict(report.in_flight), "delivered": asdict(report.delivered),
                    "awaiting_reread": report.awaiting_reread, "findings_total": report.findings_total,
                    "findings": [asdict(f) for f in report.findings[:limit]]})
        return
    summary = Table("check", "checked", "matching", "repaired", "unresolved", title="reconciliation")
    for name, tally in (("in-flight outbox items", report.in_flight),
                        ("delivered records", report.delivered)):
        summary.add_row(name, *(str(n) for n in (tally.checked, tally.matching, tally.repaired,
                                                 tally.unresolved)))
    summary.add_row("awaiting re-read from the source", "", "", "", str(report.awaiting_reread))
    console.print(summary)
    if report.findings:
        table = Table("business key", "problem", "platform id", "action", title="differences")
        for finding in report.findings[:limit]:
            table.add_row(finding.business_key, finding.problem, finding.platform_id or "", finding.action)
        console.print(table)
        console.print(f"{min(limit, len(report.findings))} of {report.findings_total} differences shown")
    verdict = "[green]consistent[/green]" if report.consistent else "[red]not consistent[/red]"
    hint = "" if report.repair or report.consistent else " (run again with --repair to fix)"
    console.print(f"{verdict}{hint}")
