"""``creditsync relink``: a department's new ids for its decisions, from a two-column CSV (old id, new
id), when its system is replaced or re-keyed. Without it, each new id's row whose content also changed
would be held as a second claim on its 文书号. Exit 0 done, 2 refused (a bad mapping, no reason, a
record altered outside the gateway)."""

from __future__ import annotations

import csv
from pathlib import Path

import typer

from creditsync.cli.output import console, errors, gateway_errors, print_json
from creditsync.cli.publication_cmds import Format
from creditsync.exceptions import ConfigurationError


def register(app: typer.Typer) -> None:
    app.command("relink")(relink_cmd)


def relink_cmd(
    department: str = typer.Argument(..., help="The department whose ids changed."),
    mapping: Path = typer.Argument(..., exists=True, dir_okay=False,
                                   help="CSV: old id, new id per row (a header old_id,new_id is skipped)."),
    reason: str = typer.Option(..., "--reason", help="Why (kept in the audit trail)."),
    category: str | None = typer.Option(None, "--category", help="Only this category's records (needed "
                                        "where the department's ids repeat across categories)."),
    output: Format = typer.Option(Format.table, "--format", "-f"),
) -> None:
    """Link the records a department's old ids name to its new ids (audited, one entry a record)."""
    from rich.progress import Progress

    from creditsync.audit import AuditTrail
    from creditsync.lifecycle import RunScope, now, operations
    from creditsync.lifecycle.relink import check_mapping
    from creditsync.pipeline.runner import Gateway

    with gateway_errors():
        pairs = read_pairs(mapping)
        ids = check_mapping(pairs)
        gateway = Gateway.open()
        try:
            gateway.department(department)  # a department the gateway knows, else exit 2 naming it
            scope = RunScope(department, f"relink__{now().strftime('%Y%m%dT%H%M%S%f')}", AuditTrail())
            with Progress(console=errors, transient=True) as progress:
                bar = progress.add_task(f"relinking {department}", total=len(ids))
                done = operations.relink(gateway.store, scope, category, ids, reason,
                                         progress=lambda n: progress.update(bar, completed=n))
        finally:
            gateway.store.dispose()
    if output is Format.json:
        print_json({"moved": done.moved, "unknown": done.unknown, "refused": done.refused})
        return
    console.print(f"{department}: {_count(done.moved, 'record')} linked to the new ids; "
                  f"{_count(len(done.unknown), 'old id')} naming no record (or linked already); "
                  f"{len(done.refused)} refused")
    for old, why in list(done.refused.items())[:20]:
        console.print(f"  ✗ {old}: {why}")
    if done.moved:
        console.print(f"Read the department again so that held rows of the new ids go through: "
                      f"creditsync quarantine redrive {department} --from-start --reason …")


def _count(n: int, what: str) -> str:
    return f"{n} {what}" if n == 1 else f"{n} {what}s"


def read_pairs(path: Path) -> list[tuple[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = [[cell.strip() for cell in row] for row in csv.reader(handle) if any(c.strip() for c in row)]
    if rows and [cell.lower() for cell in rows[0][:2]] == ["old_id", "new_id"]:
        rows = rows[1:]
    bad = [number for number, row in enumerate(rows, start=1) if len(row) != 2]
    if bad:
        raise ConfigurationError(f"{path.name}: rows {bad[:10]} do not have two columns (old id, new id)")
    return [(row[0], row[1]) for row in rows]
