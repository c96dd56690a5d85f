"""Syncing departments and inspecting the gateway's state from the shell."""

from __future__ import annotations

import typer
from rich.table import Table
from sqlalchemy import func, select

from creditsync.cli.output import EXIT_INVALID, EXIT_OK, console, gateway_errors


def register(app: typer.Typer) -> None:
    app.command("sync")(sync)
    app.command("departments")(departments)
    app.command("quarantine")(quarantine)


def sync(
    department: str = typer.Argument(..., help="Department id, e.g. market_supervision"),
    category: list[str] = typer.Option(None, "--category", "-c", help="Only these streams."),
    dry_run: bool = typer.Option(False, "--dry-run",
                                 help="Pull and stage only; map, store and push nothing."),
) -> None:
    """Run one department's sync exactly as its DAG does, without Airflow."""
    from creditsync.pipeline.runner import Gateway, sync_department

    with gateway_errors():
        gateway = Gateway.open()
        result = sync_department(gateway, department, categories=category or None, dry_run=dry_run)
    console.print_json(data=result)
    summary = result.get("report", {})
    raise typer.Exit(EXIT_INVALID if summary.get("quarantined") else EXIT_OK)


def departments() -> None:
    """List the configured departments and their DAG ids."""
    from creditsync.departments import load_departments
    from creditsync.settings import load_settings

    with gateway_errors():
        configs = load_departments(load_settings().adapters_dir)
    table = Table("DAG", "department", "source", "streams", "schedule")
    for config in configs:
        table.add_row(f"sync__{config.department}", config.name, config.source.kind,
                      ", ".join(s.category for s in config.streams), str(config.schedule))
    console.print(table)


def quarantine(
    department: str = typer.Option(None, "--department", "-d"),
    include_resolved: bool = typer.Option(False, "--all", help="Include entries fixed since."),
    limit: int = typer.Option(100, "--limit"),
) -> None:
    """Records that could not be published, with every reason (ID numbers masked)."""
    from creditsync.pipeline.runner import Gateway
    from creditsync.store.models import QuarantineItem

    with gateway_errors():
        gateway = Gateway.open()
        with gateway.store.reader() as session:
            query = select(QuarantineItem).order_by(QuarantineItem.id.desc()).limit(limit)
            if department:
                query = query.where(QuarantineItem.department == department)
            if not include_resolved:
                query = query.where(QuarantineItem.resolved_at.is_(None))
            rows = session.scalars(query).all()
            total = session.scalar(select(func.count()).select_from(QuarantineItem)) or 0
    table = Table("id", "department", "category", "source key", "stage", "reasons", show_lines=True)
    for row in rows:
        reasons = "\n".join(f"{e['field']}: {e['message']}" for e in row.errors)
        table.add_row(str(row.id), row.department, row.category, row.source_key or "", row.stage, reasons)
    console.print(table)
    console.print(f"{len(rows)} shown, {total} in quarantine history")
