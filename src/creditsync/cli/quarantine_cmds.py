"""``creditsync quarantine``: list what could not be published, report it to the department as XLSX,
re-drive it once fixed, or close an entry by hand. ``creditsync quarantine`` alone lists."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape

from creditsync.cli.output import EXIT_OK, console, gateway_errors, print_json, safe_text

if TYPE_CHECKING:
    from creditsync.cli.store_access import StoreAccess
    from creditsync.quarantine import QuarantineView

app = typer.Typer(help="Records that could not be published: list, report, re-drive, resolve.",
                  invoke_without_command=True)


class ListFormat(StrEnum):
    table = "table"
    json = "json"  # one JSON document: a list of entries
    jsonl = "jsonl"  # one entry per line, for streaming into other tools
    csv = "csv"  # one row per problem, every field neutralised for spreadsheets


DEPARTMENT = typer.Option(None, "--department", "-d", help="Only this department.")
CATEGORY = typer.Option(None, "--category", "-c", help="Only this category (penalty, license).")
STAGE = typer.Option(None, "--stage", "-s", help="source | mapping | validation | platform")
ALL = typer.Option(False, "--all", help="Include entries closed since (fixed or resolved).")
FORMAT = typer.Option(ListFormat.table, "--format", "-f")
LIMIT = typer.Option(100, "--limit", help="The newest N entries; 0 = all.")
CSV_COLUMNS = ("id", "department", "category", "stage", "source_key", "document_no", "subject_name",
               "field", "field_title", "message", "created_at", "resolved_at", "resolution")


def _gateway() -> StoreAccess:
    from creditsync.cli.store_access import StoreAccess

    return StoreAccess.open()


@app.callback()
def _default(ctx: typer.Context, department: str = DEPARTMENT, category: str = CATEGORY, stage: str = STAGE,
             include_resolved: bool = ALL, output: ListFormat = FORMAT, limit: int = LIMIT) -> None:
    """Without a subcommand: the same as ``quarantine list``."""
    if ctx.invoked_subcommand is None:
        list_cmd(department, category, stage, include_resolved, output, limit)


@app.command("list")
def list_cmd(department: str = DEPARTMENT, category: str = CATEGORY, stage: str = STAGE,
             include_resolved: bool = ALL, output: ListFormat = FORMAT, limit: int = LIMIT) -> None:
    """Invalid and rejected records with every reason, ours and the platform's (ID numbers masked)."""
    from sqlalchemy import func, select

    from creditsync.quarantine import Describer, QuarantineFilter, entries
    from creditsync.store.tables import quarantine

    filters = QuarantineFilter(department, category, stage, include_resolved, limit or None)
    with gateway_errors():
        gateway = _gateway()
        with gateway.store.read_connection() as connection:  # Core: no ORM, no models to load
            views = list(entries(connection, filters, Describer(gateway.settings)))
            total = connection.scalar(select(func.count()).select_from(quarantine)) or 0
    if output is ListFormat.json:
        sys.stdout.write(safe_text(json.dumps([_local(view.as_dict()) for view in views], ensure_ascii=False,
                                              indent=2, default=str)) + "\n")
    elif output is ListFormat.jsonl:
        for view in views:
            print_json(_local(view.as_dict()))
    elif output is ListFormat.csv:
        _write_csv(views)
    else:
        _print_table(views, total)


def _local(data: dict[str, Any]) -> dict[str, Any]:
    """An entry's times in the display zone, ISO with the offset (creditsync.display_time)."""
    from creditsync.display_time import local_iso

    return data | {"created_at": local_iso(data["created_at"]), "resolved_at": local_iso(data["resolved_at"])}


def _print_table(views: Iterable[QuarantineView], total: int) -> None:
    """Three columns that wrap, so the list stays readable in an 80-column terminal."""
    from rich.table import Table

    table = Table(show_lines=True)
    table.add_column("id", no_wrap=True)
    table.add_column("record", overflow="fold")  # long values wrap; they are never cut off
    table.add_column("problems", overflow="fold")
    shown = 0
    for view in views:
        state = "closed" if view.resolved_at else "open"
        record = "\n".join(part for part in (f"{view.department} · {view.category}",
                                               f"source {view.source_key}" if view.source_key else "",
                                               view.document_no or "", view.subject_name or "") if part)
        reasons = "\n".join(f"{p.field_label}: {p.message}" for p in view.problems)
        if view.resolved_at:
            reasons += f"\n(closed: {view.resolution})"
        table.add_row(f"{view.id}\n{state}\n{view.stage}", escape(safe_text(record)),
                      escape(safe_text(reasons)))
        shown += 1
    console.print(table)
    console.print(f"{shown} shown, {total} in quarantine history")


def _write_csv(views: Iterable[QuarantineView]) -> None:
    """One row per problem; department data cannot become a formula in a spreadsheet. Times in the
    display zone with their offset (creditsync.display_time)."""
    from creditsync.display_time import local_iso
    from creditsync.export_safety import neutralise_row

    writer = csv.writer(sys.stdout)
    writer.writerow(CSV_COLUMNS)
    for view in views:
        data = view.as_dict()
        for problem in data["errors"] or [{}]:
            writer.writerow(neutralise_row(
                [data["id"], data["department"], data["category"], data["stage"],
                 data["source_key"], data["document_no"], data["subject_name"],
                 problem.get("field"), problem.get("title"), safe_text(str(problem.get("message") or "")),
                 local_iso(data["created_at"]), local_iso(data["resolved_at"]), data["resolution"]]))


@app.command("report")
def report_cmd(
    department: str = typer.Argument(..., help="Department id, e.g. market_supervision"),
    output: Path = typer.Option(..., "--output", "-o", help="The workbook to write (.xlsx)."),
    include_resolved: bool = typer.Option(False, "--all", help="Include entries closed since."),
) -> None:
    """Write the department's rejection report (XLSX): one sheet per category, and how to fix it."""
    from creditsync.quarantine import Describer, write_report

    if output.suffix.lower() != ".xlsx":
        raise typer.BadParameter("the report is an .xlsx workbook", param_hint="--output")
    with gateway_errors():
        gateway = _gateway()
        name = _department_name(gateway, department)
        with gateway.store.reader() as session:
            _check_known(session, department, configured=name is not None)
            summary = write_report(session, department, name or department, output,
                                   describer=Describer(gateway.settings), include_resolved=include_resolved)
    counts = ", ".join(f"{c}: {summary.records[c]} records, {summary.problems[c]} problems"
                       for c in summary.records) or "nothing to correct"
    console.print(f"wrote {output} ({counts})")


def _check_known(session: object, department: str, configured: bool) -> None:
    """A department neither configured nor ever seen in the store is a typo: say so (exit 2) rather
    than write an empty report that reads as "nothing to correct"."""
    from sqlalchemy import exists, select
    from sqlalchemy.orm import Session

    from creditsync.exceptions import ConfigurationError
    from creditsync.store.models import QuarantineItem, Record

    assert isinstance(session, Session)
    if configured:
        return
    seen = session.scalar(select(exists().where(Record.department == department))) or session.scalar(
        select(exists().where(QuarantineItem.department == department)))
    if not seen:
        raise ConfigurationError(f"unknown department {department!r}: not configured and nothing of it "
                                 "in the store (see `creditsync departments`)")


def _department_name(gateway: StoreAccess, department: str) -> str | None:
    """The configured Chinese name; ``None`` for a department without a file (handed-over files only)."""
    from creditsync.exceptions import ConfigurationError

    try:
        return gateway.department(department).name
    except ConfigurationError:
        return None


@app.command("redrive")
def redrive_cmd(
    department: str = typer.Argument(..., help="Department id"),
    category: list[str] = typer.Option(None, "--category", "-c", help="Only these streams (default: all)."),
    since_cursor: str = typer.Option(None, "--since-cursor", help="Re-read from this cursor value."),
    from_start: bool = typer.Option(False, "--from-start", help="Re-read the whole source."),
    platform_rejected: bool = typer.Option(False, "--platform-rejected",
                                           help="Send the platform's rejections again (its rule was fixed)."),
    reason: str = typer.Option("", "--reason", help="Why (kept in the audit trail)."),
) -> None:
    """Once the department has fixed its data: re-read its source on the next sync (the cursor goes
    back; unchanged records are not sent twice), and/or re-queue the platform's rejections."""
    from creditsync.audit import AuditTrail
    from creditsync.quarantine import RedriveRequest, redrive

    if since_cursor is not None and from_start:
        raise typer.BadParameter("give --since-cursor or --from-start, not both")
    reset = since_cursor is not None or from_start
    with gateway_errors():
        gateway = _gateway()
        categories = _categories(gateway, department, category, needs_source=reset)
        request = RedriveRequest(department, categories, reason or "(no reason given)", reset, since_cursor,
                                 platform_rejected)
        done = redrive(gateway.store, request, AuditTrail())
    for change in done.cursors:
        cancelled = f"; cancelled the pending advance of {', '.join(change.cancelled_runs)}" * bool(
            change.cancelled_runs)
        console.print(f"{change.category}: cursor {change.before or '(start)'} → {change.after or '(start)'}"
                      f"{cancelled}")
    if platform_rejected:
        console.print(f"re-queued {len(done.requeued)} rejected record(s) for the next push")
    if done.reread:
        hint = "" if done.cursors else " (re-drive the source too: --from-start or --since-cursor)"
        console.print(f"{len(done.reread)} record(s) held an ID number and go again when next read{hint}")
    console.print(f"recorded as manual_redrive ({done.run_id}); the next sync of {department} does the rest")
    raise typer.Exit(EXIT_OK)


def _categories(gateway: StoreAccess, department: str, asked: list[str] | None, *,
                needs_source: bool) -> list[str]:
    """The department's streams (checked); a department without a source file (handed-over files only)
    can have its platform rejections re-queued, but has no cursor to reset."""
    from creditsync.exceptions import ConfigurationError
    from creditsync.schema import CATEGORIES

    try:
        streams = [s.category for s in gateway.department(department).streams]
    except ConfigurationError:
        if needs_source:
            raise
        streams = list(CATEGORIES)
    unknown = sorted(set(asked or []) - set(streams))
    if unknown:
        raise ConfigurationError(f"{department} has no stream {', '.join(unknown)} "
                                 f"(streams: {', '.join(streams)})")
    return list(asked or streams)


@app.command("resolve")
def resolve_cmd(
    entry_id: int = typer.Argument(..., metavar="ID", help="Quarantine entry id (see `quarantine list`)."),
    reason: str = typer.Option(..., "--reason", help="Why it is closed (kept in the audit trail)."),
) -> None:
    """Close one entry by hand, e.g. when the record was settled outside the gateway."""
    from creditsync.audit import AuditTrail
    from creditsync.quarantine import resolve

    with gateway_errors():
        gateway = _gateway()
        item = resolve(gateway.store, entry_id, reason, AuditTrail())
    console.print(f"quarantine entry {item.id} closed: {escape(item.resolution or '')}")
